package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckOnEmittedScenarios replays every golden scenario's snapshot
// against the policies emit writes for it: no observed, allowed request may be
// denied. check gets the emit flags that change what counts as observed
// (--min-requests leaves pairs out on purpose; --trust-domain and
// --trust-domain-alias describe the mesh).
func TestCheckOnEmittedScenarios(t *testing.T) {
	dirs, err := os.ReadDir(scenariosDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join(scenariosDir, d.Name())
		t.Run(d.Name(), func(t *testing.T) {
			out := t.TempDir()
			if cfg, err := os.ReadFile(filepath.Join(dir, "meshgen.yaml")); err == nil {
				if err := os.WriteFile(filepath.Join(out, "meshgen.yaml"), cfg, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			snap := filepath.Join(dir, "snapshot.json")
			extra := scenarioArgs(t, dir)
			args := append([]string{"emit", "--observations", snap, "--out", out}, extra...)
			if code, _, stderr := runMeshgen(t, args...); code != 0 {
				t.Fatalf("meshgen %v exited %d:\n%s", args, code, stderr)
			}
			check := []string{"check", "--observations", snap, "--policies", out}
			for _, a := range extra {
				if strings.HasPrefix(a, "--min-requests") || strings.HasPrefix(a, "--trust-domain") {
					check = append(check, a)
				}
			}
			code, stdout, stderr := runMeshgen(t, check...)
			if code != 0 {
				t.Errorf("meshgen %v exited %d, want 0 (nothing observed denied):\n%s%s", check, code, stdout, stderr)
			}
			if !strings.Contains(stdout, "no observed edge would be denied") {
				t.Errorf("meshgen %v output lacks the all-clear:\n%s", check, stdout)
			}
		})
	}
}
