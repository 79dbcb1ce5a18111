package diff_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshgen/meshgen/synth/diff"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

func render(t *testing.T, rep *diff.Report, o diff.RenderOptions) string {
	t.Helper()
	var b bytes.Buffer
	if err := diff.Render(&b, rep, o); err != nil {
		t.Fatalf("Render(%+v): %v", o, err)
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("reading the golden file (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

// TestRenderGolden renders the shop report; the golden files were read
// against TestComputeShop's facts by hand.
func TestRenderGolden(t *testing.T) {
	rep := shopReport(t, true)
	golden(t, "shop.txt", render(t, rep, diff.RenderOptions{Format: diff.FormatText}))
	golden(t, "shop.md", render(t, rep, diff.RenderOptions{Format: diff.FormatMarkdown}))
	golden(t, "shop.json", render(t, rep, diff.RenderOptions{Format: diff.FormatJSON}))
	golden(t, "shop-no-observations.txt", render(t, shopReport(t, false), diff.RenderOptions{Format: diff.FormatText}))
}

func TestRenderJSONRoundTrip(t *testing.T) {
	rep := shopReport(t, true)
	var back diff.Report
	if err := json.Unmarshal([]byte(render(t, rep, diff.RenderOptions{Format: diff.FormatJSON})), &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rep, &back); diff != "" {
		t.Errorf("JSON round trip (-rendered +read back):\n%s", diff)
	}
}

func TestRenderColor(t *testing.T) {
	rep := shopReport(t, true)
	plain := render(t, rep, diff.RenderOptions{Format: diff.FormatText})
	colored := render(t, rep, diff.RenderOptions{Format: diff.FormatText, Color: true})
	if strings.Contains(plain, "\x1b[") {
		t.Errorf("text without Color has escape codes")
	}
	for _, want := range []string{"\x1b[31mWOULD BREAK", "\x1b[32m+        - cluster.local/ns/web/sa/admin\x1b[0m\n", "\x1b[31m-        - POST\x1b[0m\n", "\x1b[36m@@ "} {
		if !strings.Contains(colored, want) {
			t.Errorf("coloured text lacks %q", want)
		}
	}
	// Without the escape codes, the coloured text is the plain one.
	stripped := colored
	for _, c := range []string{"\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[36m", "\x1b[1m", "\x1b[0m"} {
		stripped = strings.ReplaceAll(stripped, c, "")
	}
	if diff := cmp.Diff(plain, stripped); diff != "" {
		t.Errorf("coloured text differs from the plain text beyond colours (-plain +stripped):\n%s", diff)
	}
	if md := render(t, rep, diff.RenderOptions{Format: diff.FormatMarkdown, Color: true}); strings.Contains(md, "\x1b[") {
		t.Errorf("Markdown has escape codes")
	}
}

// bigReport has many namespaces with long diffs.
func bigReport() *diff.Report {
	rep := &diff.Report{APIVersion: "meshgen.dev/v1alpha1", Kind: "DiffReport", Proposed: "p/", Deployed: "cluster:x", Namespaces: []diff.Namespace{}}
	for i := range 40 {
		ns := diff.Namespace{Name: fmt.Sprintf("ns-%02d", i), Objects: []diff.ObjectDiff{}, Unmanaged: []diff.Unmanaged{}, Access: &diff.Access{Gained: []diff.AccessChange{}, Lost: []diff.AccessChange{}, Uncertain: []diff.AccessChange{}, Graph: []diff.GraphEdge{}}}
		for j := range 30 {
			body := strings.Repeat(fmt.Sprintf("+  line of object %d with ``` fences\n", j), 40)
			ns.Objects = append(ns.Objects, diff.ObjectDiff{Kind: "AuthorizationPolicy", Namespace: ns.Name, Name: fmt.Sprintf("p%d", j), Change: diff.Added, Diff: "--- /dev/null\n+++ b\n" + body})
			ns.Access.Graph = append(ns.Access.Graph, diff.GraphEdge{From: fmt.Sprintf("cluster.local/ns/a/sa/c%d", j), To: ns.Name + "/w", State: diff.EdgeGained})
		}
		rep.Namespaces = append(rep.Namespaces, ns)
		rep.Summary.Added += 30
	}
	rep.Summary.Namespaces = 40
	return rep
}

func TestRenderMarkdownFitsLimit(t *testing.T) {
	rep := bigReport()
	for _, limit := range []int{diff.GitHubBodyLimit, 20000, 3000} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			md := render(t, rep, diff.RenderOptions{Format: diff.FormatMarkdown, MaxBytes: limit})
			if n := len([]rune(md)); n > limit {
				t.Errorf("Markdown is %d characters, over the limit of %d", n, limit)
			}
			if !strings.Contains(md, "per section to fit in a pull-request body") && !strings.Contains(md, "The report was cut here") {
				t.Errorf("a shortened report does not say so")
			}
			if o, c := strings.Count(md, "<details"), strings.Count(md, "</details>"); o != c {
				t.Errorf("<details> opened %d times, closed %d times", o, c)
			}
			// Every fence is closed: count opening and closing fence lines.
			open := ""
			for _, line := range strings.Split(md, "\n") {
				if !strings.HasPrefix(line, "```") {
					continue
				}
				ticks := line[:len(line)-len(strings.TrimLeft(line, "`"))]
				switch {
				case open == "":
					open = ticks
				case ticks == open && strings.TrimLeft(line, "`") == "":
					open = ""
				}
			}
			if open != "" {
				t.Errorf("a code fence %q is left open", open)
			}
		})
	}
	// The fences around diffs are longer than the backtick runs inside.
	md := render(t, rep, diff.RenderOptions{Format: diff.FormatMarkdown})
	if !strings.Contains(md, "````diff\n") {
		t.Errorf("a diff containing ``` is not fenced with ````")
	}
}

func TestMermaid(t *testing.T) {
	v := diff.View{}
	n := diff.Namespace{Name: "shop", Access: &diff.Access{Graph: []diff.GraphEdge{
		{From: `plaintext "odd"|<ns>#1`, To: "shop/cart", State: diff.EdgeKept},
		{From: "cluster.local/ns/web/sa/frontend", To: "shop/cart", State: diff.EdgeLost, Requests: 1204},
		{From: "cluster.local/ns/web/sa/old", To: "shop/cart", State: diff.EdgeLost},
		{From: "cluster.local/ns/web/sa/new", To: "shop/cart", State: diff.EdgeGained},
	}}}
	want := `graph LR
  n0["plaintext #quot;odd#quot;#124;#lt;ns#gt;#35;1"]
  n1["shop/cart"]
  n0 --> n1
  n2["cluster.local/ns/web/sa/frontend"]
  n2 -.->|"would break: 1,204 requests"| n1
  n3["cluster.local/ns/web/sa/new"]
  n3 ==>|"new"| n1
  linkStyle 1 stroke:#cf222e
  linkStyle 2 stroke:#2da44e
`
	if diff := cmp.Diff(want, v.Mermaid(n)); diff != "" {
		t.Errorf("Mermaid (-want +got):\n%s", diff)
	}
}

func TestRenderTemplateDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, diff.MarkdownTemplate), []byte("{{.Summary.BreakingRequests | commas}} at risk in {{len .Namespaces}} namespace(s)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := shopReport(t, true)
	if got := render(t, rep, diff.RenderOptions{Format: diff.FormatMarkdown, TemplateDir: dir}); got != "300 at risk in 1 namespace(s)\n" {
		t.Errorf("override template = %q", got)
	}
	// The text template is not overridden: the embedded one is used.
	if got := render(t, rep, diff.RenderOptions{Format: diff.FormatText, TemplateDir: dir}); !strings.HasPrefix(got, "meshgen diff: ") {
		t.Errorf("text with a directory lacking diff.txt.tmpl = %q", got)
	}
	if err := os.WriteFile(filepath.Join(dir, diff.TextTemplate), []byte("{{.NoSuchField}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	var te *diff.TemplateError
	if err := diff.Render(&bytes.Buffer{}, rep, diff.RenderOptions{Format: diff.FormatText, TemplateDir: dir}); !errors.As(err, &te) || !strings.Contains(err.Error(), "NoSuchField") {
		t.Errorf("bad override: error %v, want a TemplateError naming the field", err)
	}
}
