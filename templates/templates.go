package templates

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/template"
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
	}
}
