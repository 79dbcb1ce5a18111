package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Istioctl returns the path of an istioctl binary built from the istio.io/istio module (see
// hack/tools/istioctl).
func Istioctl(t testing.TB) string {
	t.Helper()
	skipShort(t)
	return requireBinaries(t, "istioctl")[0]
}

// IstioctlValidate runs `istioctl validate -f` on each file, offline, which applies Istio's own
// webhook validation (stricter than the CRD schema: path templates, empty values, ...). It returns
// nil when every file is valid, otherwise an error with istioctl's output for the first invalid file.
func IstioctlValidate(t testing.TB, files ...string) error {
	t.Helper()
	bin := Istioctl(t)
	// No cluster: istioctl must not pick up a kubeconfig from the environment.
	home := t.TempDir()
	env := append(os.Environ(), "HOME="+home, "KUBECONFIG="+filepath.Join(home, "no-kubeconfig"))
	for _, f := range files {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, bin, "validate", "-f", f)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			return fmt.Errorf("istioctl validate -f %s: %w\n%s", f, err, out)
		}
	}
	return nil
}
