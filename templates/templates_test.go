package templates_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshgen/meshgen/synth/eval"
	"github.com/meshgen/meshgen/templates"
)

func TestEmbeddedTemplatesRender(t *testing.T) {
	rep := &eval.Report{Observations: "obs.json", Policies: "policies/", Denied: []eval.Finding{}, Undecided: []eval.Finding{}}
	for _, name := range templates.Names() {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := templates.Render(&b, name, "", rep); err != nil {
				t.Fatalf("Render(%s) error: %v", name, err)
			}
			if !strings.Contains(b.String(), "policies/") {
				t.Errorf("Render(%s) = %q, want it to name the policies", name, b.String())
			}
		})
	}
}

func TestOverride(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "check.txt.tmpl"), []byte(`{{plural 1 "edge" "edges"}} {{plural 2 "edge" "edges"}} {{mdcell "a|b"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := templates.Render(&b, "check.txt.tmpl", dir, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), `edge edges a\|b`; got != want {
		t.Errorf("Render(override) = %q, want %q", got, want)
	}
	// A name the directory lacks falls back to the embedded template.
	b.Reset()
	if err := templates.Render(&b, "check.md.tmpl", dir, &eval.Report{}); err != nil || !strings.HasPrefix(b.String(), "# meshgen check") {
		t.Errorf("Render(check.md.tmpl, dir without it) = %q, %v; want the embedded template", b.String(), err)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "check.txt.tmpl")
	if err := os.WriteFile(p, []byte("{{if}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := templates.Load("check.txt.tmpl", dir); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("Load(broken override) error = %v, want one naming %s", err, p)
	}
	if _, err := templates.Load("nope.tmpl", ""); err == nil || !strings.Contains(err.Error(), "no template named nope.tmpl") {
		t.Errorf("Load(nope.tmpl) error = %v", err)
	}
	if err := os.WriteFile(p, []byte("{{.NoSuchField}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := templates.Render(&b, "check.txt.tmpl", dir, &eval.Report{}); err == nil || !strings.Contains(err.Error(), "NoSuchField") {
		t.Errorf("Render(bad field) error = %v, want one naming the field", err)
	}
}
