package synth_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/meshgen/meshgen/hack/testenv"
	"github.com/meshgen/meshgen/synth"
	"github.com/meshgen/meshgen/synth/render"
)

// validationSeeds is how many random snapshots' outputs go to the real
// servers; each costs an istioctl run.
const validationSeeds = 30

// TestRandomOutputsAreValid sends the output for random snapshots (the
// property tests' generator) to a real kube-apiserver with Istio's CRDs
// (server-side dry-run) and to istioctl validate: both must accept it.
func TestRandomOutputsAreValid(t *testing.T) {
	kube := testenv.Kube(t)
	dir := t.TempDir()
	var files []string
	for seed := range uint64(validationSeeds) {
		r := rand.New(rand.NewPCG(seed, 0x76616c69))
		g := defaultGen
		g.maxEdges = 80
		snap := randomSnapshot(r, g)
		res, err := synth.Synthesize(snap, randomOptions(r))
		if err != nil {
			t.Fatalf("seed %d: Synthesize() error: %v", seed, err)
		}
		b, err := render.Stream(res, render.Options{Comments: true, Command: "meshgen emit"})
		if err != nil {
			t.Fatalf("seed %d: Stream() error: %v", seed, err)
		}
		if len(b) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err = kube.DryRunApply(ctx, b)
		cancel()
		if err != nil {
			t.Errorf("seed %d: kube-apiserver rejected the output: %v\n%s", seed, err, b)
		}
		f := filepath.Join(dir, fmt.Sprintf("seed-%d.yaml", seed))
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if err := testenv.IstioctlValidate(t, files...); err != nil {
		t.Errorf("istioctl rejected an output: %v", err)
	}
}
