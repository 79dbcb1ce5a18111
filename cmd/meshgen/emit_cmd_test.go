package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sidecarSnapshot is a golden scenario's snapshot used by the command tests.
var sidecarSnapshot = filepath.Join(scenariosDir, "sidecar-mesh", "snapshot.json")

func TestEmitUsageErrors(t *testing.T) {
	damaged := filepath.Join(t.TempDir(), "damaged.json")
	if err := os.WriteFile(damaged, []byte("{\n  \"apiVersion\": \"meshgen.dev/v1alpha1\",\n  \"kind\": \"ObservationSnapshot\",\n  \"edges\": [\n    {\"source\": "), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{name: "no observations", args: []string{"emit"}, wantCode: 2, wantErr: "--observations is required"},
		{name: "bad mode", args: []string{"emit", "--observations", sidecarSnapshot, "--mode", "mesh"}, wantCode: 2, wantErr: "--mode"},
		{name: "bad istio version", args: []string{"emit", "--observations", sidecarSnapshot, "--istio-version", "two"}, wantCode: 2, wantErr: "--istio-version"},
		{name: "bad plaintext", args: []string{"emit", "--observations", sidecarSnapshot, "--plaintext", "open"}, wantCode: 2, wantErr: "--plaintext"},
		{name: "negative min-requests", args: []string{"emit", "--observations", sidecarSnapshot, "--min-requests", "-1"}, wantCode: 2, wantErr: "--min-requests"},
		{name: "spiffe trust domain", args: []string{"emit", "--observations", sidecarSnapshot, "--trust-domain", "spiffe://cluster.local"}, wantCode: 2, wantErr: "--trust-domain"},
		{name: "unknown flag", args: []string{"emit", "--observations", sidecarSnapshot, "--bogus"}, wantCode: 2, wantErr: "unknown flag"},
		{name: "missing snapshot", args: []string{"emit", "--observations", filepath.Join(t.TempDir(), "none.json")}, wantCode: 3, wantErr: "--observations"},
		{name: "damaged snapshot", args: []string{"emit", "--observations", damaged}, wantCode: 2, wantErr: "damaged snapshot"},
		{name: "missing config", args: []string{"emit", "--observations", sidecarSnapshot, "--config", filepath.Join(t.TempDir(), "meshgen.yaml")}, wantCode: 2, wantErr: "meshgen.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runMeshgen(t, tc.args...)
			if code != tc.wantCode || !strings.Contains(stderr, tc.wantErr) {
				t.Errorf("meshgen %s = exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, stderr, tc.wantCode, tc.wantErr)
			}
		})
	}
}

// TestEmitDamagedSnapshotWritesNothing checks that a bad input leaves --out
// as it was.
func TestEmitDamagedSnapshotWritesNothing(t *testing.T) {
	dir := t.TempDir()
	damaged := filepath.Join(dir, "damaged.json")
	if err := os.WriteFile(damaged, []byte(`{"apiVersion": "meshgen.dev/v1alpha1", "kind": "ObservationSnapshot", "edges": [{"source": {"principal": "spiffe://x"}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, _, stderr := runMeshgen(t, "emit", "--observations", damaged, "--out", out)
	if code != 2 {
		t.Fatalf("emit of a damaged snapshot = exit %d (%s), want 2", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("emit of a damaged snapshot created %s", out)
	}
}

func TestEmitConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		config  string
		wantErr string
	}{
		{name: "unknown key", config: "emit:\n  minRequests: 2\n  colour: blue\n", wantErr: "line 3: field colour not found"},
		{name: "bad mode", config: "namespaces:\n  shop:\n    mode: hybrid\n", wantErr: `line 3: mode "hybrid"`},
		{name: "bad type", config: "emit:\n  dryRun: maybe\n", wantErr: "line 2"},
		{name: "wrong kind", config: "apiVersion: meshgen.dev/v1alpha1\nkind: Policy\n", wantErr: `kind "Policy"`},
		{name: "bad exclusion", config: "exclude:\n  workloads: [cart]\n", wantErr: "namespace/workload"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			cfg := filepath.Join(out, "meshgen.yaml")
			if err := os.WriteFile(cfg, []byte(tc.config), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := runMeshgen(t, "emit", "--observations", sidecarSnapshot, "--out", out)
			if code != 2 || !strings.Contains(stderr, cfg) || !strings.Contains(stderr, tc.wantErr) {
				t.Errorf("emit with meshgen.yaml %q = exit %d, stderr %q; want exit 2 naming %s and %q", tc.config, code, stderr, cfg, tc.wantErr)
			}
			entries, _ := os.ReadDir(out)
			if len(entries) != 1 {
				t.Errorf("emit with a bad meshgen.yaml wrote into --out: %v", entries)
			}
		})
	}
}

// TestEmitStdout checks that --out - and no --out print the same
// multi-document stream, and that it holds every file of the directory form.
func TestEmitStdout(t *testing.T) {
	code, dash, stderr := runMeshgen(t, "emit", "--observations", sidecarSnapshot, "--out", "-")
	if code != 0 {
		t.Fatalf("emit --out - = exit %d: %s", code, stderr)
	}
	if !strings.HasPrefix(stderr, "meshgen emit: ") {
		t.Errorf("emit --out - summary on stderr = %q, want it to start with %q", stderr, "meshgen emit: ")
	}
	code, none, _ := runMeshgen(t, "emit", "--observations", sidecarSnapshot)
	if code != 0 {
		t.Fatalf("emit without --out = exit %d", code)
	}
	if diff := cmp.Diff(dash, none); diff != "" {
		t.Errorf("emit --out - and emit without --out differ (-dash +none):\n%s", diff)
	}
	want := readTree(t, filepath.Join(scenariosDir, "sidecar-mesh", "want"))
	docs := strings.Split(dash, "---\n")
	var objects int
	for name, b := range want {
		if strings.HasSuffix(name, "kustomization.yaml") {
			continue
		}
		objects++
		if !strings.Contains(dash, b) {
			t.Errorf("stdout stream lacks the content of %s", name)
		}
	}
	if len(docs) != objects {
		t.Errorf("stdout stream has %d documents, want %d", len(docs), objects)
	}
}

// TestEmitFlagsBeatConfig checks the precedence: defaults, then meshgen.yaml,
// then the flags the user set (which also override the file's per-namespace
// setting).
func TestEmitFlagsBeatConfig(t *testing.T) {
	out := t.TempDir()
	cfg := "emit:\n  minRequests: 1000000\nnamespaces:\n  shop:\n    minRequests: 1000000\n"
	if err := os.WriteFile(filepath.Join(out, "meshgen.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runMeshgen(t, "emit", "--observations", sidecarSnapshot, "--out", out)
	if code != 0 || !strings.Contains(stderr, "below --min-requests") || strings.Contains(stderr, "authorizationpolicy/") {
		t.Errorf("emit with minRequests 1000000 in meshgen.yaml: exit %d, summary:\n%s\nwant everything below --min-requests", code, stderr)
	}
	code, _, stderr = runMeshgen(t, "emit", "--observations", sidecarSnapshot, "--out", out, "--min-requests", "1")
	if code != 0 || strings.Contains(stderr, "below --min-requests") || !strings.Contains(stderr, "authorizationpolicy/cart") {
		t.Errorf("emit --min-requests 1 over meshgen.yaml: exit %d, summary:\n%s\nwant the flag to win", code, stderr)
	}
}

// TestEmitLeavesOtherFiles checks that emit touches only the files it
// writes, and that a second run gives the same bytes.
func TestEmitLeavesOtherFiles(t *testing.T) {
	out := t.TempDir()
	mine := filepath.Join(out, "shop", "my-extra-policy.yaml")
	if err := os.MkdirAll(filepath.Dir(mine), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mine, []byte("hand-written\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runMeshgen(t, "emit", "--observations", sidecarSnapshot, "--out", out); code != 0 {
		t.Fatalf("emit = exit %d: %s", code, stderr)
	}
	first := readTree(t, out)
	if first["shop/my-extra-policy.yaml"] != "hand-written\n" {
		t.Errorf("emit changed a file it did not write: %q", first["shop/my-extra-policy.yaml"])
	}
	if code, _, stderr := runMeshgen(t, "emit", "--observations", sidecarSnapshot, "--out", out); code != 0 {
		t.Fatalf("second emit = exit %d: %s", code, stderr)
	}
	if diff := cmp.Diff(first, readTree(t, out)); diff != "" {
		t.Errorf("second emit changed the output (-first +second):\n%s", diff)
	}
}
