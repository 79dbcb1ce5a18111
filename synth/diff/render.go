package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/template"

	"github.com/meshgen/meshgen/templates"
)

// Output formats.
const (
	FormatText     = "text"
	FormatMarkdown = "markdown"
	FormatJSON     = "json"
)

// Template names (in templates/, overridable with --template-dir).
const (
	TextTemplate     = "diff.txt.tmpl"
	MarkdownTemplate = "diff.md.tmpl"
)

// GitHubBodyLimit is the size limit of a GitHub pull-request body, in
// characters.
const GitHubBodyLimit = 65536

// RenderOptions control Render.
type RenderOptions struct {
	Format      string
	TemplateDir string // "" for the embedded templates
	Color       bool   // ANSI colours (text only)
	// MaxBytes bounds the Markdown output (0: GitHubBodyLimit); see Render.
	MaxBytes int
}

// View is the data the templates get: the report and how to show it.
type View struct {
	*Report
	// Limit is the number of items (objects, access changes, graph edges)
	// shown per section, 0 for all; the templates say how many were left out.
	Limit int
	// Truncated is set when Limit was lowered to fit MaxBytes.
	Truncated bool
	// Definition is AccessDefinition.
	Definition string
}

// TemplateError is an error executing or parsing a template; with an
// override directory it is the user's input.
type TemplateError struct{ Err error }

func (e *TemplateError) Error() string { return e.Err.Error() }
func (e *TemplateError) Unwrap() error { return e.Err }

// Render writes the report in o.Format. JSON is the Report itself. Text and
// Markdown come from the templates diff.txt.tmpl and diff.md.tmpl (data:
// View). The Markdown is made to fit o.MaxBytes (a pull-request body): when
// the whole report is longer, it is rendered again with fewer items per
// section (the template notes what it leaves out), and as a last resort cut
// at a line with a note.
func Render(w io.Writer, rep *Report, o RenderOptions) error {
	var b []byte
	var err error
	switch o.Format {
	case FormatJSON:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("encoding the report: %w", err)
		}
		b = buf.Bytes()
	case FormatText:
		b, err = execute(TextTemplate, o, View{Report: rep, Definition: AccessDefinition})
	case FormatMarkdown:
		b, err = markdown(rep, o)
	default:
		return fmt.Errorf("output format %q is not text, markdown or json", o.Format)
	}
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

func markdown(rep *Report, o RenderOptions) ([]byte, error) {
	limit := o.MaxBytes
	if limit <= 0 {
		limit = GitHubBodyLimit
	}
	var out []byte
	for i, items := range []int{0, 100, 50, 20, 10, 5, 2, 1} {
		b, err := execute(MarkdownTemplate, o, View{Report: rep, Limit: items, Truncated: i > 0, Definition: AccessDefinition})
		if err != nil {
			return nil, err
		}
		out = b
		if len([]rune(string(b))) <= limit {
			return b, nil
		}
	}
	return cut(out, limit), nil
}

// cut shortens Markdown to at most limit characters at a line boundary,
// closes an open code fence and <details>, and says so.
func cut(b []byte, limit int) []byte {
	note := "\n\n**The report was cut here**: it is longer than a pull-request body may be (%d characters). Run `meshgen diff -o json` for all of it.\n"
	note = fmt.Sprintf(note, limit)
	budget := limit - len([]rune(note)) - 64 // room for the closing tags
	runes := []rune(string(b))
	if budget < 0 {
		budget = 0
	}
	if len(runes) > budget {
		runes = runes[:budget]
	}
	s := string(runes)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[:i+1]
	}
	var tail strings.Builder
	if f := openFence(s); f != "" {
		tail.WriteString(f + "\n")
	}
	for range strings.Count(s, "<details>") - strings.Count(s, "</details>") {
		tail.WriteString("</details>\n")
	}
	return []byte(s + tail.String() + note)
}

// openFence returns the fence of the code block s ends in, "" when none.
func openFence(s string) string {
	open := ""
	for _, line := range strings.Split(s, "\n") {
		t := strings.TrimSpace(line)
		if !strings.HasPrefix(t, "```") {
			continue
		}
		ticks := t[:len(t)-len(strings.TrimLeft(t, "`"))]
		switch {
		case open == "":
			open = ticks
		case len(ticks) >= len(open) && strings.TrimLeft(t, "`") == "":
			open = ""
		}
	}
	return open
}

func execute(name string, o RenderOptions, v View) ([]byte, error) {
	t, err := templates.Load(name, o.TemplateDir)
	if err != nil {
		return nil, &TemplateError{err}
	}
	t.Funcs(viewFuncs(o.Color))
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return nil, &TemplateError{fmt.Errorf("rendering template %s: %w", name, err)}
	}
	return b.Bytes(), nil
}

var ansi = map[string]string{
	"red":    "\x1b[31m",
	"green":  "\x1b[32m",
	"yellow": "\x1b[33m",
	"cyan":   "\x1b[36m",
	"bold":   "\x1b[1m",
}

const ansiReset = "\x1b[0m"

func viewFuncs(color bool) template.FuncMap {
	paint := func(name string, text any) string {
		s := fmt.Sprint(text)
		if code, ok := ansi[name]; ok && color && s != "" {
			return code + s + ansiReset
		}
		return s
	}
	return template.FuncMap{
		"color": paint,
		"colordiff": func(text string) string {
			if !color {
				return text
			}
			lines := strings.SplitAfter(text, "\n")
			for i, l := range lines {
				body := strings.TrimSuffix(l, "\n")
				nl := l[len(body):]
				switch {
				case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
					lines[i] = paint("bold", body) + nl
				case strings.HasPrefix(l, "+"):
					lines[i] = paint("green", body) + nl
				case strings.HasPrefix(l, "-"):
					lines[i] = paint("red", body) + nl
				case strings.HasPrefix(l, "@@"):
					lines[i] = paint("cyan", body) + nl
				}
			}
			return strings.Join(lines, "")
		},
	}
}

// Fence returns a Markdown code fence longer than any run of backticks in
// text, so that the text cannot close it.
func (View) Fence(text string) string {
	longest, run := 0, 0
	for _, r := range text {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

// Mermaid renders a namespace's graph of who may call whom under the
// proposed policies as a Mermaid flowchart: solid arrows for access kept,
// thick green ones for access gained, dashed red ones for access lost
// where traffic was observed (the traffic that would break). Lost pairs
// without observed traffic are left out (that is the tightening meshgen is
// for), and so are edges past Limit (the graph says how many).
func (v View) Mermaid(n Namespace) string {
	if n.Access == nil {
		return ""
	}
	var edges []GraphEdge
	for _, e := range n.Access.Graph {
		if e.State != EdgeLost || e.Requests > 0 {
			edges = append(edges, e)
		}
	}
	limit := v.Limit
	if limit <= 0 || limit > 200 {
		limit = 200 // beyond this Mermaid renders nothing readable
	}
	omitted := 0
	if len(edges) > limit {
		omitted = len(edges) - limit
		edges = edges[:limit]
	}
	if len(edges) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("graph LR\n")
	ids := map[string]string{}
	id := func(name string) string {
		if s, ok := ids[name]; ok {
			return s
		}
		s := fmt.Sprintf("n%d", len(ids))
		ids[name] = s
		fmt.Fprintf(&b, "  %s[\"%s\"]\n", s, MermaidText(name))
		return s
	}
	var styles []string
	for i, e := range edges {
		from, to := id(e.From), id(e.To)
		switch e.State {
		case EdgeGained:
			fmt.Fprintf(&b, "  %s ==>|\"new\"| %s\n", from, to)
			styles = append(styles, fmt.Sprintf("  linkStyle %d stroke:#2da44e", i))
		case EdgeLost:
			fmt.Fprintf(&b, "  %s -.->|\"would break: %s requests\"| %s\n", from, MermaidText(templates.Commas(e.Requests)), to)
			styles = append(styles, fmt.Sprintf("  linkStyle %d stroke:#cf222e", i))
		default:
			fmt.Fprintf(&b, "  %s --> %s\n", from, to)
		}
	}
	for _, s := range styles {
		b.WriteString(s + "\n")
	}
	if omitted > 0 {
		fmt.Fprintf(&b, "  more[\"%d more not shown\"]\n", omitted)
	}
	return b.String()
}

// MermaidText escapes text for a quoted Mermaid label: Mermaid reads
// #name; and #number; as entity codes, and quotes, pipes and angle
// brackets would end the label or be read as HTML.
func MermaidText(s string) string {
	r := strings.NewReplacer(
		"#", "#35;",
		`"`, "#quot;",
		"|", "#124;",
		"<", "#lt;",
		">", "#gt;",
		"&", "#amp;",
		"\n", " ",
	)
	return r.Replace(s)
}
