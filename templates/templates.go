package templates

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"text/template"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

//go:embed *.tmpl
var embedded embed.FS

// Names lists the embedded templates.
func Names() []string {
	entries, _ := fs.ReadDir(embedded, ".")
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// Load returns the template called name (e.g. "check.txt.tmpl"): the file of
// that name in dir when dir is not empty and holds one, else the embedded
// template. An override that does not parse is an error naming the file.
func Load(name, dir string) (*template.Template, error) {
	text, src, err := source(name, dir)
	if err != nil {
		return nil, err
	}
	t, err := template.New(name).Funcs(Funcs()).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("parsing template %s: %w", src, err)
	}
	return t, nil
}

func source(name, dir string) (text, src string, err error) {
	if dir != "" {
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		switch {
		case err == nil:
			return string(b), p, nil
		case !errors.Is(err, fs.ErrNotExist):
			return "", "", fmt.Errorf("reading template %s: %w", p, err)
		}
	}
	b, err := embedded.ReadFile(name)
	if err != nil {
		return "", "", fmt.Errorf("no template named %s", name)
	}
	return string(b), "embedded " + name, nil
}

// Render executes the template called name (see Load) with data into w.
func Render(w io.Writer, name, dir string, data any) error {
	t, err := Load(name, dir)
	if err != nil {
		return err
	}
	if err := t.Execute(w, data); err != nil {
		return fmt.Errorf("rendering template %s: %w", name, err)
	}
	return nil
}

// Funcs are the functions every template may use.
func Funcs() template.FuncMap {
	return template.FuncMap{
		// plural returns singular when n is 1, else plural.
		"plural": func(n any, singular, plural string) string {
			if fmt.Sprint(n) == "1" {
				return singular
			}
			return plural
		},
		// mdcell escapes a value for a Markdown table cell.
		"mdcell": func(s any) string {
			r := strings.NewReplacer("|", `\|`, "\n", " ", "`", "'")
			return r.Replace(fmt.Sprint(s))
		},
		// commas renders an integer with thousands separators: 1,204.
		"commas": commas,
		// chomp removes trailing newlines.
		"chomp": func(text string) string { return strings.TrimRight(text, "\n") },
		// add sums integers.
		"add": func(n ...int) int {
			s := 0
			for _, x := range n {
				s += x
			}
			return s
		},
		// first returns the first n elements of a slice (all when n <= 0).
		"first": func(n int, list any) (any, error) {
			v := reflect.ValueOf(list)
			if v.Kind() != reflect.Slice {
				return nil, fmt.Errorf("first: %T is not a slice", list)
			}
			if n <= 0 || v.Len() <= n {
				return list, nil
			}
			return v.Slice(0, n).Interface(), nil
		},
		// more returns how many elements of a slice first n leaves out.
		"more": func(n int, list any) (int, error) {
			v := reflect.ValueOf(list)
			if v.Kind() != reflect.Slice {
				return 0, fmt.Errorf("more: %T is not a slice", list)
			}
			if n <= 0 || v.Len() <= n {
				return 0, nil
			}
			return v.Len() - n, nil
		},
		// when renders a time (or *time.Time) as "2026-11-20 12:00 UTC".
		"when": func(t any) string {
			switch x := t.(type) {
			case time.Time:
				return x.UTC().Format("2006-01-02 15:04 MST")
			case *time.Time:
				if x != nil {
					return x.UTC().Format("2006-01-02 15:04 MST")
				}
			}
			return "?"
		},
		// indent prefixes every line of text with n spaces.
		"indent": func(n int, text string) string {
			pad := strings.Repeat(" ", n)
			lines := strings.SplitAfter(text, "\n")
			for i, l := range lines {
				if l != "" {
					lines[i] = pad + l
				}
			}
			return strings.Join(lines, "")
		},
		// color wraps text in the ANSI colour name (red, green, yellow,
		// cyan, bold), and colordiff colours the lines of a unified diff,
		// when the command colours its output; as defined here they return
		// text unchanged (meshgen diff replaces them for a terminal).
		"color":     func(_ string, text any) string { return fmt.Sprint(text) },
		"colordiff": func(text string) string { return text },
	}
}

// commas renders an integer with thousands separators.
func commas(n any) string {
	s := fmt.Sprint(n)
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return s
	}
	return Commas(i)
}

var english = message.NewPrinter(language.English)

// Commas renders an integer with thousands separators, as the reports print
// counts: 1234567 is "1,234,567".
func Commas(n int64) string { return english.Sprintf("%d", n) }
