package templates_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/meshgen/meshgen/synth/diff"
	"github.com/meshgen/meshgen/synth/eval"
	"github.com/meshgen/meshgen/templates"
)

func TestEmbeddedTemplatesRender(t *testing.T) {
	// Each template gets the data of its command: check's eval.Report, and
	// diff's diff.View (synth/diff's tests render that with real reports).
	checkRep := &eval.Report{Observations: "obs.json", Policies: "policies/", Denied: []eval.Finding{}, Undecided: []eval.Finding{}}
	diffView := diff.View{Report: &diff.Report{Proposed: "policies/", Deployed: "cluster:x", Namespaces: []diff.Namespace{}}}
	for _, name := range templates.Names() {
		t.Run(name, func(t *testing.T) {
			var data any = checkRep
			if strings.HasPrefix(name, "diff.") {
				data = diffView
			}
			var b bytes.Buffer
			if err := templates.Render(&b, name, "", data); err != nil {
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

func TestFuncs(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		data       any
		want       string
	}{
		{name: "commas", text: `{{commas 0}} {{commas 999}} {{commas 1204}} {{commas 1234567}} {{commas -1234}}`, want: "0 999 1,204 1,234,567 -1,234"},
		{name: "first and more", text: `{{first 2 .}} {{more 2 .}} {{first 0 .}} {{more 5 .}}`, data: []int{1, 2, 3}, want: "[1 2] 1 [1 2 3] 0"},
		{name: "add", text: `{{add 1 2 3}}`, want: "6"},
		{name: "chomp", text: `[{{chomp "a\n\n"}}]`, want: "[a]"},
		{name: "indent", text: `{{indent 2 "a\nb\n"}}`, want: "  a\n  b\n"},
		{name: "color is plain by default", text: `{{color "red" "x"}}{{colordiff "+y"}}`, want: "x+y"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := template.New(tc.name).Funcs(templates.Funcs()).Parse(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := tmpl.Execute(&b, tc.data); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("%s = %q, want %q", tc.text, b.String(), tc.want)
			}
		})
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
