package policyset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/meshgen/meshgen/observe/badinput"
	"github.com/meshgen/meshgen/synth/eval"
)

type objBrief struct {
	File       string
	Document   int
	Line       int
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	Skipped    bool
}

func briefs(objs []Object) []objBrief {
	var out []objBrief
	for _, o := range objs {
		out = append(out, objBrief{filepath.ToSlash(o.File), o.Document, o.Line, o.APIVersion, o.Kind, o.Namespace, o.Name, o.Skipped})
	}
	return out
}

func TestLoadDir(t *testing.T) {
	ps, objs, err := LoadDir("testdata/v1")
	if err != nil {
		t.Fatalf("LoadDir(testdata/v1) error: %v", err)
	}
	// kustomization.yaml, README.md and .hidden/ are not read; the empty
	// document yields no object; the Deployment is listed as skipped.
	want := []objBrief{
		{"testdata/v1/policies.yaml", 0, 2, "security.istio.io/v1", "AuthorizationPolicy", "shop", "cart", false},
		{"testdata/v1/policies.yaml", 1, 24, "security.istio.io/v1", "PeerAuthentication", "shop", "default", false},
		{"testdata/v1/policies.yaml", 3, 35, "apps/v1", "Deployment", "shop", "not-a-policy", true},
		{"testdata/v1/sub/cart-ports.yml", 0, 1, "security.istio.io/v1", "PeerAuthentication", "shop", "cart-ports", false},
	}
	if diff := cmp.Diff(want, briefs(objs)); diff != "" {
		t.Errorf("LoadDir(testdata/v1) objects (-want +got):\n%s", diff)
	}
	if got := Skipped(objs); got != 1 {
		t.Errorf("Skipped() = %d, want 1", got)
	}
	if len(ps.AuthorizationPolicies) != 1 || len(ps.PeerAuthentications) != 2 {
		t.Fatalf("LoadDir(testdata/v1) = %d AuthorizationPolicies, %d PeerAuthentications, want 1 and 2",
			len(ps.AuthorizationPolicies), len(ps.PeerAuthentications))
	}
	ap := ps.AuthorizationPolicies[0]
	if got := ap.Spec.GetRules()[0].GetTo()[0].GetOperation().GetPaths(); !cmp.Equal(got, []string{"/cart/{*}"}) {
		t.Errorf("paths = %q, want [/cart/{*}]", got)
	}
	if got := ap.Annotations["meshgen.dev/evidence"]; got != "3 edges" {
		t.Errorf("annotation = %q, want %q", got, "3 edges")
	}
	pa := ps.PeerAuthentications[1]
	if got := pa.Spec.GetPortLevelMtls()[9102].GetMode().String(); got != "PERMISSIVE" {
		t.Errorf("portLevelMtls[9102] = %s, want PERMISSIVE", got)
	}
	if got := pa.CreationTimestamp.UTC().Format("2006-01-02T15:04:05Z"); got != "2026-01-02T03:04:05Z" {
		t.Errorf("creationTimestamp = %s, want 2026-01-02T03:04:05Z", got)
	}
	if !strings.Contains(string(objs[0].Raw), "paths: [\"/cart/{*}\"]") {
		t.Errorf("Raw of the first object lacks its paths line:\n%s", objs[0].Raw)
	}
	// The set decides like Istio would.
	d := ps.Decide(eval.Sidecar, eval.Request{Namespace: "shop", WorkloadLabels: map[string]string{"app": "cart"},
		Port: 9102, Protocol: "tcp"})
	if d.Outcome != eval.Deny || !strings.Contains(d.Reason, "no ALLOW rule matched") {
		t.Errorf("Decide(plaintext to 9102) = %s (%s), want deny by the ALLOW policy", d.Outcome, d.Reason)
	}
}

func TestLoadDirV1beta1IsV1(t *testing.T) {
	ps1, _, err := LoadDir("testdata/v1")
	if err != nil {
		t.Fatal(err)
	}
	psb, objs, err := LoadDir("testdata/v1beta1")
	if err != nil {
		t.Fatal(err)
	}
	if objs[0].APIVersion != "security.istio.io/v1beta1" {
		t.Errorf("Object.APIVersion = %q, want the file's security.istio.io/v1beta1", objs[0].APIVersion)
	}
	if diff := cmp.Diff(ps1, psb, protocmp.Transform()); diff != "" {
		t.Errorf("v1 and v1beta1 load differently (-v1 +v1beta1):\n%s", diff)
	}
}

func TestLoadList(t *testing.T) {
	ps, objs, err := LoadDir("testdata/list/dump.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []objBrief{
		{"testdata/list/dump.yaml", 0, 4, "security.istio.io/v1", "AuthorizationPolicy", "istio-system", "allow-nothing", false},
		{"testdata/list/dump.yaml", 0, 15, "v1", "ConfigMap", "istio-system", "other", true},
	}
	if diff := cmp.Diff(want, briefs(objs)); diff != "" {
		t.Errorf("LoadDir(list) objects (-want +got):\n%s", diff)
	}
	if len(ps.AuthorizationPolicies) != 1 || ps.AuthorizationPolicies[0].ResourceVersion != "42" {
		t.Errorf("LoadDir(list) = %+v", ps.AuthorizationPolicies)
	}
}

func TestLoadErrors(t *testing.T) {
	const head = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: p\n  namespace: shop\n"
	tests := []struct {
		name  string
		files map[string]string
		want  string // the error, with DIR for the directory
	}{
		{
			name:  "unknown field in a rule",
			files: map[string]string{"a.yaml": head + "spec:\n  rules:\n  - from:\n    - source:\n        principal: [x]\n"},
			want:  `DIR/a.yaml:10: unknown field "principal" in spec.rules[0].from[0].source`,
		},
		{
			name:  "unknown field in the spec",
			files: map[string]string{"a.yaml": head + "spec:\n  selectors: {}\n"},
			want:  `DIR/a.yaml:7: unknown field "selectors" in spec`,
		},
		{
			name:  "unknown field in a PeerAuthentication port",
			files: map[string]string{"a.yaml": "apiVersion: security.istio.io/v1beta1\nkind: PeerAuthentication\nmetadata: {name: p, namespace: shop}\nspec:\n  selector: {matchLabels: {app: x}}\n  portLevelMtls:\n    8080:\n      mod: STRICT\n"},
			want:  `DIR/a.yaml:8: unknown field "mod" in spec.portLevelMtls[8080]`,
		},
		{
			name:  "unknown metadata field",
			files: map[string]string{"a.yaml": "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: p\n  namespace: shop\n  label: {a: b}\nspec: {}\n"},
			want:  `DIR/a.yaml:6: metadata: unknown field "label"`,
		},
		{
			name:  "metadata fields are case-sensitive",
			files: map[string]string{"a.yaml": "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  Name: p\n  namespace: shop\nspec: {}\n"},
			want:  `DIR/a.yaml:4: metadata: unknown field "Name"`,
		},
		{
			name:  "spec fields are case-sensitive",
			files: map[string]string{"a.yaml": head + "spec:\n  Action: DENY\n"},
			want:  `DIR/a.yaml:7: unknown field "Action" in spec`,
		},
		{
			name:  "unknown top-level field",
			files: map[string]string{"a.yaml": head + "specs: {}\n"},
			want:  `DIR/a.yaml:6: unknown field "specs"`,
		},
		{
			name:  "bad YAML",
			files: map[string]string{"a.yaml": head + "spec:\n  rules: [\n"},
			want:  "DIR/a.yaml:7: did not find expected node content",
		},
		{
			name:  "bad YAML in a second document",
			files: map[string]string{"a.yaml": head + "spec: {}\n---\nkind: X\n  bad: indent\n"},
			want:  "DIR/a.yaml:9: mapping values are not allowed in this context",
		},
		{
			name:  "invalid enum value",
			files: map[string]string{"a.yaml": head + "spec:\n  action: ALOW\n"},
			want:  `DIR/a.yaml:7: spec: invalid value for enum field action: "ALOW"`,
		},
		{
			name:  "wrong type",
			files: map[string]string{"a.yaml": head + "spec:\n  rules:\n  - to:\n    - operation:\n        ports: 8080\n"},
			want:  "DIR/a.yaml:10: spec.rules[0].to[0].operation.ports must be a list",
		},
		{
			name:  "no namespace",
			files: map[string]string{"a.yaml": "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: p\nspec: {}\n"},
			want:  "DIR/a.yaml:1: AuthorizationPolicy p has no metadata.namespace",
		},
		{
			name:  "unsupported version",
			files: map[string]string{"a.yaml": "apiVersion: security.istio.io/v1alpha1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: shop}\n"},
			want:  "DIR/a.yaml:1: AuthorizationPolicy shop/p: apiVersion security.istio.io/v1alpha1 is not supported (use security.istio.io/v1 or security.istio.io/v1beta1)",
		},
		{
			name:  "not a mapping",
			files: map[string]string{"a.yaml": "- a\n- b\n"},
			want:  "DIR/a.yaml:1: document 1 is not a Kubernetes object (a YAML mapping)",
		},
		{
			name:  "duplicate policy",
			files: map[string]string{"a.yaml": head + "spec: {}\n", "b.yaml": "# copy\n" + head + "spec: {}\n"},
			want:  "DIR/b.yaml:2: AuthorizationPolicy shop/p is also defined at DIR/a.yaml:1",
		},
		{
			name:  "duplicate field",
			files: map[string]string{"a.yaml": head + "spec:\n  action: DENY\n  action: ALLOW\n"},
			want:  `DIR/a.yaml:8: duplicate field "action" in spec`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, text := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, _, err := LoadDir(dir)
			if err == nil {
				t.Fatalf("LoadDir() = nil error, want %q", tc.want)
			}
			want := strings.ReplaceAll(tc.want, "DIR", dir)
			if err.Error() != want {
				t.Errorf("LoadDir() error = %q, want %q", err, want)
			}
			if !badinput.Is(err) {
				t.Errorf("LoadDir() error %q is not marked bad input", err)
			}
		})
	}
}

func TestLoadDirMissing(t *testing.T) {
	_, _, err := LoadDir(filepath.Join(t.TempDir(), "nope"))
	if err == nil || !badinput.Is(err) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("LoadDir(missing) = %v, want a bad-input error naming the path", err)
	}
}
