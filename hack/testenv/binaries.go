package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

const modulePath = "github.com/meshgen/meshgen"

// installHint is what a test failure or skip tells the reader to run.
const installHint = "run `make tools` in the meshgen checkout to install or build it"

var (
	rootOnce sync.Once
	rootDir  string
	rootErr  error
)

// moduleRoot returns the directory of meshgen's go.mod, found by walking up from the working
// directory (a test's working directory is its package directory).
func moduleRoot() (string, error) {
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			rootErr = fmt.Errorf("finding meshgen's module root: %w", err)
			return
		}
		rootDir, rootErr = findModuleRoot(dir)
	})
	return rootDir, rootErr
}

// findModuleRoot walks up from dir to the first go.mod that declares meshgen's module, so that the
// nested tool modules under hack/tools are passed over.
func findModuleRoot(dir string) (string, error) {
	want := []byte("module " + modulePath)
	for d := dir; ; {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			for _, line := range bytes.Split(b, []byte("\n")) {
				if bytes.Equal(bytes.TrimSpace(line), want) {
					return d, nil
				}
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("finding meshgen's module root: %w", err)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("finding meshgen's module root: no go.mod declaring %s above %s", modulePath, dir)
		}
		d = parent
	}
}

// binDir is the ignored directory where `make tools` puts the test binaries.
func binDir() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "bin"), nil
}

// lookBinary finds name in meshgen's bin/ directory, then in $PATH.
func lookBinary(name string) (string, error) {
	dir, err := binDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, name)
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return p, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found in %s or $PATH; %s", name, dir, installHint)
}

// inCI reports whether missing servers must fail tests rather than skip them.
func inCI() bool { return os.Getenv("CI") == "true" }

// missing ends the test because a server cannot be had: a failure under CI=true, a skip otherwise.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if inCI() {
		t.Fatalf(format+" (CI=true: a missing test server is a failure)", args...)
	}
	t.Skipf(format, args...)
}

// skipShort skips integration tests under `go test -short` (make test-unit).
func skipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped in -short mode (it needs real servers)")
	}
}

// requireBinaries returns the paths of the named binaries, or ends the test (see missing).
func requireBinaries(t testing.TB, names ...string) []string {
	t.Helper()
	paths := make([]string, len(names))
	for i, n := range names {
		p, err := lookBinary(n)
		if err != nil {
			missing(t, "%v", err)
			return nil
		}
		paths[i] = p
	}
	return paths
}
