package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshgen/meshgen/synth/eval"
)

// The check fixtures: testdata/check/snapshot.json with good/ (admits every
// observed edge) and broken/ (batch/job missing from cart, an HTTP field on
// the TCP port of db, and STRICT mTLS although legacy/cron calls db in
// plaintext). Golden outputs are in testdata/check/golden; -update rewrites
// them (the flag is declared in emit_test.go).
const checkDir = "testdata/check"

func runMeshgen(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, streams{in: strings.NewReader(""), out: &out, errOut: &errOut})
	return code, out.String(), errOut.String()
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join(checkDir, "golden", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("reading golden file: %v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("output differs from %s (-want +got):\n%s", p, diff)
	}
}

func TestCheckCommand(t *testing.T) {
	snap := filepath.Join(checkDir, "snapshot.json")
	good := filepath.Join(checkDir, "good")
	broken := filepath.Join(checkDir, "broken")
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		golden     string // compare stdout with this golden file
		wantStderr string // substring of stderr
	}{
		{name: "good policies: nothing denied", args: []string{"--policies", good}, wantCode: 0, golden: "good.txt"},
		{name: "broken policies: exactly the broken edges", args: []string{"--policies", broken}, wantCode: 1, golden: "broken.txt",
			wantStderr: "meshgen: 3 observed edges would be denied"},
		{name: "broken policies as markdown", args: []string{"--policies", broken, "-o", "markdown"}, wantCode: 1, golden: "broken.md"},
		{name: "broken policies as json", args: []string{"--policies", broken, "-o", "json"}, wantCode: 1, golden: "broken.json"},
		{name: "baseline", args: []string{"--policies", broken, "--baseline", good, "-o", "markdown"}, wantCode: 1, golden: "broken-baseline.md"},
		{name: "--min-requests leaves out small pairs", args: []string{"--policies", broken, "--min-requests", "6"}, wantCode: 1, golden: "broken-min-requests.txt"},
		{name: "negative --min-requests", args: []string{"--policies", good, "--min-requests", "-1"}, wantCode: 2, wantStderr: "--min-requests: -1 is negative"},
		{name: "missing --observations", args: []string{"--policies", good}, wantCode: 2, wantStderr: "--observations is required"},
		{name: "neither --policies nor --cluster", args: []string{"--observations", snap}, wantCode: 2, wantStderr: "one of --policies or --cluster is required"},
		{name: "both --policies and --cluster", args: []string{"--policies", good, "--cluster"}, wantCode: 2, wantStderr: "--policies and --cluster cannot be used together"},
		{name: "--context without --cluster", args: []string{"--policies", good, "--context", "x"}, wantCode: 2, wantStderr: "--kubeconfig and --context need --cluster"},
		{name: "bad -o fails at parse time", args: []string{"--policies", good, "-o", "yaml"}, wantCode: 2,
			wantStderr: `invalid argument "yaml" for "-o, --output" flag: "yaml" is not one of text, json, markdown`},
		{name: "unknown field in a policy names file and line", args: []string{"--policies", filepath.Join(checkDir, "badpolicy")}, wantCode: 2,
			wantStderr: `--policies: testdata/check/badpolicy/shop.yaml:10: unknown field "principal" in spec.rules[0].from[0].source`},
		{name: "missing snapshot", args: []string{"--policies", good, "--observations", filepath.Join(checkDir, "nope.json")}, wantCode: 3, wantStderr: "--observations: opening snapshot"},
		{name: "bad trust domain", args: []string{"--policies", good, "--trust-domain", "spiffe://x"}, wantCode: 2, wantStderr: "--trust-domain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"check"}, tc.args...)
			if !strings.Contains(strings.Join(tc.args, " "), "--observations") && !strings.HasPrefix(tc.name, "missing --observations") {
				args = append(args, "--observations", snap)
			}
			code, stdout, stderr := runMeshgen(t, args...)
			if code != tc.wantCode {
				t.Errorf("meshgen %s exited %d, want %d; stderr:\n%s", strings.Join(args, " "), code, tc.wantCode, stderr)
			}
			if tc.golden != "" {
				checkGolden(t, tc.golden, stdout)
			}
			if !strings.Contains(stderr, tc.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tc.wantStderr)
			}
		})
	}
}

// TestCheckJSONStable decodes the JSON report into the documented struct and
// checks the findings by field.
func TestCheckJSONStable(t *testing.T) {
	code, stdout, _ := runMeshgen(t, "check", "--observations", filepath.Join(checkDir, "snapshot.json"),
		"--policies", filepath.Join(checkDir, "broken"), "-o", "json")
	if code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	var rep eval.Report
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("decoding the JSON report: %v", err)
	}
	type row struct {
		Source, Dest string
		Port         int
		Point        eval.Point
		Policy       string
	}
	var got []row
	for _, f := range rep.Denied {
		got = append(got, row{f.Source.String(), f.Destination.Namespace + "/" + f.Destination.Workload, f.Port, f.Point, f.Policy})
	}
	want := []row{
		{"cluster.local/ns/batch/sa/job", "shop/cart", 8080, eval.Sidecar, ""},
		{"cluster.local/ns/shop/sa/cart", "shop/db", 5432, eval.Sidecar, ""},
		{"plaintext legacy/cron 10.1.2.3", "shop/db", 5432, eval.Sidecar, "shop/default"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("denied findings (-want +got):\n%s", diff)
	}
	if rep.Kind != "CheckReport" || rep.APIVersion != "meshgen.dev/v1alpha1" {
		t.Errorf("report header = %s %s", rep.APIVersion, rep.Kind)
	}
}

func TestCheckTemplateDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "check.txt.tmpl"), []byte("{{len .Denied}} denied, {{len .Undecided}} undecided\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := runMeshgen(t, "check", "--observations", filepath.Join(checkDir, "snapshot.json"),
		"--policies", filepath.Join(checkDir, "broken"), "--template-dir", dir)
	if code != 1 || stdout != "3 denied, 1 undecided\n" {
		t.Errorf("with --template-dir: exit %d, stdout %q; want 1 and %q", code, stdout, "3 denied, 1 undecided\n")
	}
	// The markdown template is not overridden in dir: the embedded one is used.
	code, stdout, _ = runMeshgen(t, "check", "--observations", filepath.Join(checkDir, "snapshot.json"),
		"--policies", filepath.Join(checkDir, "broken"), "--template-dir", dir, "-o", "markdown")
	if code != 1 || !strings.HasPrefix(stdout, "# meshgen check") {
		t.Errorf("markdown with --template-dir lacking it: exit %d, stdout starts %q", code, stdout[:min(len(stdout), 40)])
	}
	// A broken override is bad input naming the file.
	if err := os.WriteFile(filepath.Join(dir, "check.txt.tmpl"), []byte("{{.Nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runMeshgen(t, "check", "--observations", filepath.Join(checkDir, "snapshot.json"),
		"--policies", filepath.Join(checkDir, "good"), "--template-dir", dir)
	if code != 2 || !strings.Contains(stderr, filepath.Join(dir, "check.txt.tmpl")) {
		t.Errorf("broken override: exit %d, stderr %q; want 2 naming the file", code, stderr)
	}
}

// TestCheckClusterFlags covers the --cluster plumbing without a server (the
// reading itself is tested against a real kube-apiserver in synth/policyset).
func TestCheckClusterFlags(t *testing.T) {
	snap := filepath.Join(checkDir, "snapshot.json")
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := `apiVersion: v1
kind: Config
clusters:
- name: nowhere
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u
  user: {token: x}
contexts:
- name: nowhere
  context: {cluster: nowhere, user: u}
current-context: nowhere
`
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runMeshgen(t, "check", "--observations", snap, "--cluster", "--kubeconfig", kubeconfig)
	if code != 3 || !strings.Contains(stderr, "--cluster: listing authorizationpolicies.security.istio.io in all namespaces") {
		t.Errorf("check --cluster (unreachable): exit %d, stderr %q; want 3 and the listing error", code, stderr)
	}
	code, _, stderr = runMeshgen(t, "check", "--observations", snap, "--cluster", "--kubeconfig", kubeconfig, "--context", "missing")
	if code != 2 || !strings.Contains(stderr, `context "missing" does not exist`) {
		t.Errorf("check --cluster --context missing: exit %d, stderr %q; want 2 naming the context", code, stderr)
	}
}
