package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshgen/meshgen/synth/diff"
)

// The shop fixture of synth/diff: proposed and deployed policy directories
// and the traffic (see synth/diff/compute_test.go for what they hold).
var (
	shopDir      = filepath.Join("..", "..", "synth", "diff", "testdata", "shop")
	shopProposed = filepath.Join(shopDir, "proposed")
	shopDeployed = filepath.Join(shopDir, "deployed")
	shopSnap     = filepath.Join(shopDir, "observations.json")
)

func TestDiffUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{name: "no policies", args: []string{"diff", "--against", shopDeployed}, wantCode: 2, wantErr: "--policies is required"},
		{name: "no other side", args: []string{"diff", "--policies", shopProposed}, wantCode: 2, wantErr: "one of --cluster or --against is required"},
		{name: "both sides", args: []string{"diff", "--policies", shopProposed, "--against", shopDeployed, "--cluster"}, wantCode: 2, wantErr: "--cluster and --against cannot be used together"},
		{name: "context without cluster", args: []string{"diff", "--policies", shopProposed, "--against", shopDeployed, "--context", "x"}, wantCode: 2, wantErr: "--kubeconfig and --context need --cluster"},
		{name: "all namespaces without cluster", args: []string{"diff", "--policies", shopProposed, "--against", shopDeployed, "-A"}, wantCode: 2, wantErr: "--all-namespaces needs --cluster"},
		{name: "bad output", args: []string{"diff", "--policies", shopProposed, "--against", shopDeployed, "-o", "yaml"}, wantCode: 2, wantErr: `"yaml" is not one of text, markdown, json`},
		{name: "bad color", args: []string{"diff", "--policies", shopProposed, "--against", shopDeployed, "--color", "sometimes"}, wantCode: 2, wantErr: "--color"},
		{name: "spiffe trust domain", args: []string{"diff", "--policies", shopProposed, "--against", shopDeployed, "--trust-domain", "spiffe://x"}, wantCode: 2, wantErr: "--trust-domain"},
		{name: "missing policies", args: []string{"diff", "--policies", filepath.Join(t.TempDir(), "none"), "--against", shopDeployed}, wantCode: 2, wantErr: "--policies"},
		{name: "missing observations", args: []string{"diff", "--policies", shopProposed, "--against", shopDeployed, "--observations", filepath.Join(t.TempDir(), "none.json")}, wantCode: 3, wantErr: "--observations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runMeshgen(t, tc.args...)
			if code != tc.wantCode || !strings.Contains(stderr, tc.wantErr) {
				t.Errorf("meshgen %s = exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, stderr, tc.wantCode, tc.wantErr)
			}
		})
	}
}

// TestDiffAgainstExitCodes checks kubectl diff's exit codes: 1 with
// differences, 0 without.
func TestDiffAgainstExitCodes(t *testing.T) {
	code, stdout, stderr := runMeshgen(t, "diff", "--policies", shopProposed, "--against", shopDeployed, "--observations", shopSnap, "-o", "json")
	if code != 1 {
		t.Fatalf("diff of different sets = exit %d (%s), want 1", code, stderr)
	}
	if !strings.Contains(stderr, "3 objects differ; 300 observed requests would be denied") {
		t.Errorf("stderr = %q, want the one-line summary", stderr)
	}
	var rep diff.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("-o json is not a report: %v\n%s", err, stdout)
	}
	if rep.Kind != "DiffReport" || rep.Summary.BreakingRequests != 300 || rep.Proposed != shopProposed || rep.Deployed != shopDeployed || rep.Observations != shopSnap {
		t.Errorf("report = %+v", rep)
	}

	code, stdout, stderr = runMeshgen(t, "diff", "--policies", shopProposed, "--against", shopProposed)
	if code != 0 || stderr != "" || !strings.Contains(stdout, "no differences") {
		t.Errorf("diff of a set with itself = exit %d, stdout %q, stderr %q; want 0 and \"no differences\"", code, stdout, stderr)
	}
}

func TestDiffMarkdownAndColor(t *testing.T) {
	_, md, _ := runMeshgen(t, "diff", "--policies", shopProposed, "--against", shopDeployed, "--observations", shopSnap, "-o", "markdown")
	for _, want := range []string{"## meshgen diff", "**Would break: 300 observed requests**", "<details open>", "```mermaid\ngraph LR\n", "```diff\n"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	// The output is not a terminal: auto means no colour; always colours.
	_, plain, _ := runMeshgen(t, "diff", "--policies", shopProposed, "--against", shopDeployed)
	_, colored, _ := runMeshgen(t, "diff", "--policies", shopProposed, "--against", shopDeployed, "--color", "always")
	if strings.Contains(plain, "\x1b[") || !strings.Contains(colored, "\x1b[32m+") {
		t.Errorf("--color auto to a buffer coloured (%v) or --color always did not (%v)", strings.Contains(plain, "\x1b["), !strings.Contains(colored, "\x1b[32m+"))
	}
}

func TestDiffUseColor(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tc := range []struct {
		color, output, noColor string
		want                   bool
	}{
		{color: "always", output: "text", want: true},
		{color: "always", output: "text", noColor: "1", want: true}, // the flag beats the environment
		{color: "always", output: "markdown", want: false},
		{color: "never", output: "text", want: false},
		{color: "auto", output: "text", want: false}, // a file is not a terminal
	} {
		t.Setenv("NO_COLOR", tc.noColor)
		o := &diffOptions{color: tc.color, output: tc.output}
		if got := o.useColor(f); got != tc.want {
			t.Errorf("useColor(--color %s, -o %s, NO_COLOR=%q) = %v, want %v", tc.color, tc.output, tc.noColor, got, tc.want)
		}
	}
}

func TestDiffTemplateDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "diff.md.tmpl"), []byte("breaking={{.Summary.BreakingRequests}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := runMeshgen(t, "diff", "--policies", shopProposed, "--against", shopDeployed, "--observations", shopSnap, "-o", "markdown", "--template-dir", dir)
	if code != 1 || stdout != "breaking=300\n" {
		t.Errorf("diff with an override template = exit %d, %q", code, stdout)
	}
	if err := os.WriteFile(filepath.Join(dir, "diff.md.tmpl"), []byte("{{.Nope}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runMeshgen(t, "diff", "--policies", shopProposed, "--against", shopDeployed, "-o", "markdown", "--template-dir", dir)
	if code != 2 || stdout != "" || !strings.Contains(stderr, "--template-dir") || !strings.Contains(stderr, "Nope") {
		t.Errorf("diff with a broken override template = exit %d, stdout %q, stderr %q; want 2 naming --template-dir and the field", code, stdout, stderr)
	}
}

func TestDiffNamespaceFlag(t *testing.T) {
	code, stdout, _ := runMeshgen(t, "diff", "--policies", shopProposed, "--against", shopDeployed, "--namespace", "elsewhere", "-o", "json")
	var rep diff.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if code != 0 || len(rep.Namespaces) != 1 || rep.Namespaces[0].Name != "elsewhere" {
		t.Errorf("diff --namespace elsewhere = exit %d, namespaces %+v", code, rep.Namespaces)
	}
}
