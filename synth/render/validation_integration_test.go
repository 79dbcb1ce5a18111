package render_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshgen/meshgen/hack/testenv"
)

// scenariosDir holds the golden emit scenarios; their want/ trees are what
// meshgen emit writes (TestEmitScenarios in cmd/meshgen keeps them so).
const scenariosDir = "../../testdata/scenarios"

// TestGoldenManifestsAreValid sends every manifest of every golden scenario
// to a real kube-apiserver with Istio's CRDs (server-side dry-run: schema and
// CEL rules) and to istioctl validate (Istio's webhook validation): both must
// accept all of them.
func TestGoldenManifestsAreValid(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(scenariosDir, "*", "want", "*", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return filepath.Base(f) == "kustomization.yaml" })
	if len(files) == 0 {
		t.Fatal("no golden manifests found")
	}
	kube := testenv.Kube(t)
	if err := testenv.IstioctlValidate(t, files...); err != nil {
		t.Errorf("istioctl rejected a golden manifest: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err = kube.DryRunApply(ctx, b)
		cancel()
		if err != nil {
			t.Errorf("kube-apiserver rejected %s: %v", rel(f), err)
		}
	}
}

// TestStreamIsValid checks the stdout form (one multi-document stream with
// comments) of a result whose values need quoting.
func TestStreamIsValid(t *testing.T) {
	res := mustSynthesize(t, trickySnapshot())
	b := mustStream(t, res)
	kube := testenv.Kube(t)
	f := filepath.Join(t.TempDir(), "stream.yaml")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := testenv.IstioctlValidate(t, f); err != nil {
		t.Errorf("istioctl rejected the stream: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := kube.DryRunApply(ctx, b); err != nil {
		t.Errorf("kube-apiserver rejected the stream: %v", err)
	}
	if !bytes.Contains(b, []byte("---\n")) {
		t.Errorf("stream has a single document; want several")
	}
}

func rel(f string) string { return strings.TrimPrefix(f, scenariosDir+"/") }
