package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// demoDir holds the bundled demo mesh, which the learn tests read.
var demoDir = filepath.Join("..", "..", "examples", "demo")

func TestLearnUsageErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "obs.json")
	damaged := filepath.Join(dir, "damaged.json")
	if err := os.WriteFile(damaged, []byte(`{"apiVersion": "meshgen.dev/v1alpha1", "kind": "ObservationSnapshot", "edges": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	logs := filepath.Join(demoDir, "logs", "ztunnel.log.gz")
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{name: "nothing to learn from", args: []string{"learn", "-o", out}, wantCode: 2, wantErr: "nothing to learn from"},
		{name: "bad window", args: []string{"learn", "--prometheus", "http://127.0.0.1:1", "--window", "7x", "-o", out}, wantCode: 2, wantErr: "--window"},
		{name: "zero window", args: []string{"learn", "--prometheus", "http://127.0.0.1:1", "--window", "0s", "-o", out}, wantCode: 2, wantErr: "--window"},
		{name: "bad end", args: []string{"learn", "--prometheus", "http://127.0.0.1:1", "--end", "yesterday", "-o", out}, wantCode: 2, wantErr: "--end"},
		{name: "header without value", args: []string{"learn", "--prometheus", "http://127.0.0.1:1", "--prometheus-header", "X-Scope-OrgID", "-o", out}, wantCode: 2, wantErr: "--prometheus-header"},
		{name: "credentials in the URL", args: []string{"learn", "--prometheus", "http://user:secret@127.0.0.1:1", "-o", out}, wantCode: 2, wantErr: "--prometheus"},
		{name: "since without from-pods", args: []string{"learn", "--access-log", logs, "--since", "1h", "-o", out}, wantCode: 2, wantErr: "--since needs --from-pods"},
		{name: "inventory and cluster", args: []string{"learn", "--access-log", logs, "--inventory", "x.json", "--cluster", "-o", out}, wantCode: 2, wantErr: "cannot be used together"},
		{name: "namespace and exclude", args: []string{"learn", "--access-log", logs, "--namespace", "a", "--exclude-namespace", "b", "-o", out}, wantCode: 2, wantErr: "cannot be used together"},
		{name: "bad log format", args: []string{"learn", "--access-log", logs, "--log-format", "apache", "-o", out}, wantCode: 2, wantErr: "--log-format"},
		{name: "missing log file", args: []string{"learn", "--access-log", filepath.Join(dir, "none.log"), "-o", out}, wantCode: 2, wantErr: "none.log"},
		{name: "missing inventory file", args: []string{"learn", "--access-log", logs, "--inventory", filepath.Join(dir, "none.json"), "-o", out}, wantCode: 2, wantErr: "--inventory"},
		{name: "damaged snapshot to merge", args: []string{"learn", "--access-log", logs, "--merge", "-o", damaged}, wantCode: 2, wantErr: "damaged snapshot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runMeshgen(t, tc.args...)
			if code != tc.wantCode {
				t.Errorf("meshgen %v exited %d, want %d; stderr:\n%s", tc.args, code, tc.wantCode, stderr)
			}
			if !strings.Contains(stderr, tc.wantErr) {
				t.Errorf("meshgen %v stderr = %q, want it to contain %q", tc.args, stderr, tc.wantErr)
			}
			if lines := strings.Count(strings.TrimSpace(stderr), "\n") + 1; lines != 1 {
				t.Errorf("meshgen %v printed %d lines on stderr, want a one-line error:\n%s", tc.args, lines, stderr)
			}
			if stdout != "" {
				t.Errorf("meshgen %v stdout = %q, want nothing", tc.args, stdout)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("meshgen %v wrote %s, want nothing written", tc.args, out)
			}
		})
	}
}

func TestLearnUnreachablePrometheusWritesNothing(t *testing.T) {
	// A port nothing listens on: connection refused, which is not retried.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	out := filepath.Join(t.TempDir(), "obs.json")
	code, _, stderr := runMeshgen(t, "learn", "--prometheus", "http://"+addr, "--window", "1h", "-o", out)
	if code != exitRuntime {
		t.Errorf("learn against an unreachable Prometheus exited %d, want %d; stderr:\n%s", code, exitRuntime, stderr)
	}
	if !strings.Contains(stderr, "prometheus") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("stderr = %q, want one line about prometheus", stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("learn wrote %s after failing", out)
	}
}

func TestLearnMergeKeepsExistingFileOnFailure(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "obs.json")
	logs := filepath.Join(demoDir, "logs", "ztunnel.log.gz")
	inv := filepath.Join(demoDir, "inventory.json")
	if code, _, stderr := runMeshgen(t, "learn", "--access-log", logs, "--inventory", inv, "-o", out); code != 0 {
		t.Fatalf("learn exited %d: %s", code, stderr)
	}
	before, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// The second run fails on a missing log file: the snapshot must stay as it was.
	code, _, _ := runMeshgen(t, "learn", "--access-log", logs, "--access-log", filepath.Join(dir, "gone.log"), "--inventory", inv, "--merge", "-o", out)
	if code == 0 {
		t.Fatal("learn with a missing log file succeeded")
	}
	after, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Error("a failed learn --merge changed the existing snapshot")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after a failed run, want only the snapshot (no temporary files)", len(entries))
	}
}
