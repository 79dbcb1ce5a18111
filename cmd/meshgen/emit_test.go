package main

import (
	"bytes"
	"context"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshgen/meshgen/synth/repo"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/scenarios")

// scenariosDir holds the golden emit scenarios: each directory has
// snapshot.json (input), optionally args.txt (extra flags, one per line) and
// meshgen.yaml (copied into --out), and the expected output: want/ (the
// --out tree) and summary.txt (stderr).
const scenariosDir = "../../testdata/scenarios"

func TestEmitScenarios(t *testing.T) {
	dirs, err := os.ReadDir(scenariosDir)
	if err != nil {
		t.Fatalf("reading scenarios: %v", err)
	}
	if len(dirs) == 0 {
		t.Fatal("no scenarios")
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		t.Run(d.Name(), func(t *testing.T) {
			runScenario(t, filepath.Join(scenariosDir, d.Name()))
		})
	}
}

func runScenario(t *testing.T, dir string) {
	out := t.TempDir()
	if cfg, err := os.ReadFile(filepath.Join(dir, "meshgen.yaml")); err == nil {
		if err := os.WriteFile(filepath.Join(out, "meshgen.yaml"), cfg, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"emit", "--observations", filepath.Join(dir, "snapshot.json"), "--out", out}
	args = append(args, scenarioArgs(t, dir)...)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, streams{in: strings.NewReader(""), out: &stdout, errOut: &stderr})
	if code != 0 {
		t.Fatalf("meshgen %s exited %d:\n%s", strings.Join(args, " "), code, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("meshgen emit --out DIR wrote to stdout:\n%s", stdout.String())
	}
	got := readTree(t, out)
	delete(got, "meshgen.yaml")
	wantDir := filepath.Join(dir, "want")
	if *update {
		if err := os.RemoveAll(wantDir); err != nil {
			t.Fatal(err)
		}
		for name, b := range got {
			p := filepath.Join(wantDir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(b), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "summary.txt"), stderr.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := readTree(t, wantDir)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("emit output tree (-want +got):\n%s", diff)
	}
	wantSum, err := os.ReadFile(filepath.Join(dir, "summary.txt"))
	if err != nil {
		t.Fatalf("reading the golden summary: %v", err)
	}
	if diff := cmp.Diff(string(wantSum), stderr.String()); diff != "" {
		t.Errorf("emit summary (-want +got):\n%s", diff)
	}
}

// scenarioArgs reads args.txt: one flag per line, blank lines and #
// comments ignored.
func scenarioArgs(t *testing.T, dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, "args.txt"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		args = append(args, line)
	}
	return args
}

// readTree reads every file under dir into a map by slash-separated
// relative path. A missing dir is an empty tree. meshgen's state directory
// (.meshgen/, checksums that follow the files) is left out; synth/repo's
// tests cover it.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	tree := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == dir {
				return fs.SkipDir
			}
			return err
		}
		if d.IsDir() {
			if p != dir && d.Name() == repo.StateDir {
				return fs.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		tree[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatalf("reading %s: %v", dir, err)
	}
	return tree
}
