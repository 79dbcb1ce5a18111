package synth_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	k8syaml "sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/observe/snapshot"
	"github.com/meshgen/meshgen/synth"
	"github.com/meshgen/meshgen/synth/render"
)

// FuzzEmit feeds snapshot files (seeded with the golden scenarios) through
// synthesis and rendering: whatever a snapshot holds, synthesis must not
// fail, every safety rule must hold, and the YAML must read back as the same
// objects.
func FuzzEmit(f *testing.F) {
	seeds, _ := filepath.Glob("../testdata/scenarios/*/snapshot.json")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		snap, err := snapshot.Read(bytes.NewReader(b))
		if err != nil {
			return
		}
		res, err := synth.Synthesize(snap, synth.DefaultOptions())
		if err != nil {
			t.Fatalf("Synthesize() error: %v", err)
		}
		for _, v := range checkSafety(snap, res) {
			t.Error(v)
		}
		out, err := render.Stream(res, render.Options{Comments: true})
		if err != nil {
			t.Fatalf("Stream() error: %v", err)
		}
		var want []*synth.Policy
		for _, n := range res.Namespaces {
			want = append(want, n.Policies...)
		}
		docs := bytes.Split(out, []byte("\n---\n"))
		if len(want) == 0 {
			return
		}
		if len(docs) != len(want) {
			t.Fatalf("%d documents for %d policies:\n%s", len(docs), len(want), out)
		}
		for i, p := range want {
			if p.AuthorizationPolicy != nil {
				got := &securityv1.AuthorizationPolicy{}
				if err := k8syaml.UnmarshalStrict(docs[i], got); err != nil {
					t.Fatalf("reading %s back: %v\n%s", p.Name(), err, docs[i])
				}
				if diff := cmp.Diff(p.AuthorizationPolicy, got, protocmp.Transform()); diff != "" {
					t.Errorf("round trip of %s (-want +got):\n%s", p.Name(), diff)
				}
				continue
			}
			got := &securityv1.PeerAuthentication{}
			if err := k8syaml.UnmarshalStrict(docs[i], got); err != nil {
				t.Fatalf("reading %s back: %v\n%s", p.Name(), err, docs[i])
			}
			if diff := cmp.Diff(p.PeerAuthentication, got, protocmp.Transform()); diff != "" {
				t.Errorf("round trip of %s (-want +got):\n%s", p.Name(), diff)
			}
		}
	})
}
