package render_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	k8syaml "sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/observe/snapshot"
	"github.com/meshgen/meshgen/synth"
	"github.com/meshgen/meshgen/synth/render"
)

// trickyValues are strings that YAML 1.1 or 1.2 would read as something else
// when written plainly, or that break lines and comments.
var trickyValues = []string{"y", "Y", "no", "on", "off", "true", "False", "~", "null", "1e3", "0x1F", "0123", "8080",
	"-", ":", "- x", "a: b", "#x", "&a", "*a", "!tag", "%x", "@x", "`x", "|", ">", "'", "\"", "x\ny", "tab\there", "back\\slash", " lead", "trail ", "é", "\u2028", "{a}", "[a]"}

// trickySnapshot builds a snapshot whose values need quoting everywhere they
// reach the output: selector labels, principals' namespaces and paths.
func trickySnapshot() *snapshot.Snapshot {
	s := snapshot.New()
	labels := map[string]string{"app": "cart"}
	for i, v := range trickyValues {
		if !strings.Contains(v, "*") { // selectors never hold wildcards
			labels["k"+strings.Repeat("x", i)] = v
		}
	}
	s.Inventory = snapshot.Inventory{
		Origin:     snapshot.InventoryCluster,
		Namespaces: []snapshot.Namespace{{Name: "shop", MeshMode: snapshot.MeshSidecar}},
		Workloads: []snapshot.Workload{{Namespace: "shop", Name: "cart", Selector: labels, Labels: labels,
			ServiceAccount: "cart", Ports: []snapshot.ContainerPort{{Port: 8080}}}},
	}
	t0 := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	for i, v := range trickyValues {
		s.Edges = append(s.Edges, snapshot.Edge{
			Source:      snapshot.Source{Principal: "cluster.local/ns/web/sa/frontend", IdentityFrom: snapshot.IdentityCertificate},
			Destination: snapshot.Destination{Namespace: "shop", Workload: "cart"},
			Reporter:    snapshot.ReporterDestination, Port: 8080, Protocol: snapshot.ProtocolHTTP, Method: "GET",
			Path:   "/p" + strings.Repeat("x", i) + "/" + v,
			Counts: snapshot.Counts{Requests: 1, MTLS: 1}, FirstSeen: t0, LastSeen: t0, Evidence: []string{snapshot.EvidenceEnvoyLog},
		})
	}
	return s
}

func TestStreamRoundTrip(t *testing.T) {
	res, err := synth.Synthesize(trickySnapshot(), synth.DefaultOptions())
	if err != nil {
		t.Fatalf("Synthesize() error: %v", err)
	}
	for _, comments := range []bool{true, false} {
		b, err := render.Stream(res, render.Options{Comments: comments, Command: "meshgen emit --observations=\"x\ny\""})
		if err != nil {
			t.Fatalf("Stream() error: %v", err)
		}
		docs := splitDocs(b)
		var want []*synth.Policy
		for _, n := range res.Namespaces {
			want = append(want, n.Policies...)
		}
		if len(docs) != len(want) {
			t.Fatalf("Stream() wrote %d documents, want %d:\n%s", len(docs), len(want), b)
		}
		for i, p := range want {
			checkRoundTrip(t, p, docs[i])
		}
		if !comments && bytes.Contains(b, []byte("#")) && !bytes.Contains(b, []byte(`"#x"`)) {
			t.Errorf("Stream(Comments: false) has a comment:\n%s", b)
		}
	}
}

// checkRoundTrip parses doc as Kubernetes does (sigs.k8s.io/yaml, YAML 1.1
// via JSON) and compares the object with the policy it was rendered from.
func checkRoundTrip(t *testing.T, p *synth.Policy, doc []byte) {
	t.Helper()
	opts := []cmp.Option{protocmp.Transform()}
	if p.AuthorizationPolicy != nil {
		got := &securityv1.AuthorizationPolicy{}
		if err := k8syaml.UnmarshalStrict(doc, got); err != nil {
			t.Fatalf("parsing %s back: %v\n%s", p.Name(), err, doc)
		}
		if diff := cmp.Diff(p.AuthorizationPolicy, got, opts...); diff != "" {
			t.Errorf("round trip of %s (-want +got):\n%s\n%s", p.Name(), diff, doc)
		}
		return
	}
	got := &securityv1.PeerAuthentication{}
	if err := k8syaml.UnmarshalStrict(doc, got); err != nil {
		t.Fatalf("parsing %s back: %v\n%s", p.Name(), err, doc)
	}
	if diff := cmp.Diff(p.PeerAuthentication, got, opts...); diff != "" {
		t.Errorf("round trip of %s (-want +got):\n%s\n%s", p.Name(), diff, doc)
	}
}

func splitDocs(b []byte) [][]byte {
	var out [][]byte
	for _, d := range bytes.Split(b, []byte("\n---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			out = append(out, d)
		}
	}
	return out
}

func TestPlainHasNoComments(t *testing.T) {
	res, err := synth.Synthesize(trickySnapshot(), synth.DefaultOptions())
	if err != nil {
		t.Fatalf("Synthesize() error: %v", err)
	}
	for _, n := range res.Namespaces {
		for _, p := range n.Policies {
			b, err := render.Plain(p)
			if err != nil {
				t.Fatalf("Plain(%s) error: %v", p.Name(), err)
			}
			for _, line := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(strings.TrimSpace(line), "#") {
					t.Errorf("Plain(%s) has a comment line %q", p.Name(), line)
				}
			}
			checkRoundTrip(t, p, b)
		}
	}
}

func TestFilesLayout(t *testing.T) {
	res, err := synth.Synthesize(trickySnapshot(), synth.DefaultOptions())
	if err != nil {
		t.Fatalf("Synthesize() error: %v", err)
	}
	files, err := render.Files(res, render.Options{Comments: true, Command: "meshgen emit"})
	if err != nil {
		t.Fatalf("Files() error: %v", err)
	}
	var names []string
	for name := range files {
		names = append(names, name)
	}
	want := []string{"shop/authorizationpolicy-cart.yaml", "shop/kustomization.yaml", "shop/peerauthentication-default.yaml"}
	if diff := cmp.Diff(want, names, cmpSorted()); diff != "" {
		t.Errorf("Files() names (-want +got):\n%s", diff)
	}
	wantKust := `# Generated by meshgen (app.kubernetes.io/managed-by: meshgen); it is rewritten on the next emit.
# Namespace shop: the policies meshgen wrote.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- authorizationpolicy-cart.yaml
- peerauthentication-default.yaml
`
	if got := string(files["shop/kustomization.yaml"]); got != wantKust {
		t.Errorf("kustomization.yaml =\n%s\nwant\n%s", got, wantKust)
	}
	for name, b := range files {
		if !bytes.HasPrefix(b, []byte(render.ManagedMarker)) {
			t.Errorf("%s does not start with the managed marker:\n%s", name, b)
		}
	}
}

func cmpSorted() cmp.Option {
	return cmp.Transformer("sort", func(in []string) []string {
		out := append([]string(nil), in...)
		for i := range out {
			for j := i + 1; j < len(out); j++ {
				if out[j] < out[i] {
					out[i], out[j] = out[j], out[i]
				}
			}
		}
		return out
	})
}

func mustSynthesize(t *testing.T, s *snapshot.Snapshot) *synth.Result {
	t.Helper()
	res, err := synth.Synthesize(s, synth.DefaultOptions())
	if err != nil {
		t.Fatalf("Synthesize() error: %v", err)
	}
	return res
}

func mustStream(t *testing.T, res *synth.Result) []byte {
	t.Helper()
	b, err := render.Stream(res, render.Options{Comments: true, Command: "meshgen emit"})
	if err != nil {
		t.Fatalf("Stream() error: %v", err)
	}
	return b
}
