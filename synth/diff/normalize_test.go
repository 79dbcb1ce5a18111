package diff_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshgen/meshgen/synth/diff"
	"github.com/meshgen/meshgen/synth/policyset"
)

// canonical parses one YAML object and returns its canonical form.
func canonical(t *testing.T, y string) string {
	t.Helper()
	objs, err := policyset.Parse("test.yaml", []byte(y))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(objs) != 1 {
		t.Fatalf("Parse returned %d objects", len(objs))
	}
	var v any = objs[0].AuthorizationPolicy
	if objs[0].PeerAuthentication != nil {
		v = objs[0].PeerAuthentication
	}
	b, err := diff.Canonical(v)
	if err != nil {
		t.Fatalf("Canonical: %v", err)
	}
	return string(b)
}

const baseAP = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: cart
  namespace: shop
  labels:
    app.kubernetes.io/managed-by: meshgen
spec:
  selector:
    matchLabels:
      app: cart
  action: ALLOW
  rules:
  - from:
    - source:
        principals: [cluster.local/ns/web/sa/a, cluster.local/ns/web/sa/b]
    to:
    - operation:
        ports: ["8080"]
        methods: [GET]
        paths: [/x]
  - from:
    - source:
        namespaces: [monitoring]
`

func TestCanonicalSame(t *testing.T) {
	for _, tc := range []struct {
		name, y string
	}{
		{name: "v1beta1", y: strings.Replace(baseAP, "security.istio.io/v1", "security.istio.io/v1beta1", 1)},
		{name: "action omitted", y: strings.Replace(baseAP, "  action: ALLOW\n", "", 1)},
		{name: "comments and flow style", y: "# a comment\n" + strings.Replace(baseAP, "  selector:\n    matchLabels:\n      app: cart\n", "  selector: {matchLabels: {app: cart}}  # the cart\n", 1)},
		{name: "key order", y: `kind: AuthorizationPolicy
apiVersion: security.istio.io/v1
spec:
  rules:
  - to:
    - operation: {paths: [/x], methods: [GET], ports: ["8080"]}
    from:
    - source: {principals: [cluster.local/ns/web/sa/a, cluster.local/ns/web/sa/b]}
  - from:
    - source: {namespaces: [monitoring]}
  action: ALLOW
  selector: {matchLabels: {app: cart}}
metadata:
  labels: {app.kubernetes.io/managed-by: meshgen}
  namespace: shop
  name: cart
`},
		{name: "rule and value order, duplicates", y: strings.Replace(strings.Replace(baseAP,
			"principals: [cluster.local/ns/web/sa/a, cluster.local/ns/web/sa/b]", "principals: [cluster.local/ns/web/sa/b, cluster.local/ns/web/sa/a, cluster.local/ns/web/sa/b]", 1),
			"  rules:\n", "  rules:\n  - from:\n    - source:\n        namespaces: [monitoring]\n", 1)},
		{name: "server fields", y: strings.Replace(baseAP, "  labels:\n", `  resourceVersion: "12"
  uid: 3a4c2b1e-0000-4000-8000-000000000001
  generation: 4
  creationTimestamp: "2026-11-01T10:00:00Z"
  managedFields:
  - manager: kubectl
    operation: Apply
    apiVersion: security.istio.io/v1
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: "{}"
    argocd.argoproj.io/tracking-id: "app:security.istio.io/AuthorizationPolicy:shop/cart"
  labels:
    kustomize.toolkit.fluxcd.io/name: policies
`, 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(canonical(t, baseAP), canonical(t, tc.y)); diff != "" {
				t.Errorf("Canonical differs from the base object (-base +this):\n%s", diff)
			}
		})
	}
}

func TestCanonicalDifferent(t *testing.T) {
	for _, tc := range []struct {
		name, y string
	}{
		{name: "other principal", y: strings.Replace(baseAP, "sa/b]", "sa/c]", 1)},
		{name: "deny", y: strings.Replace(baseAP, "action: ALLOW", "action: DENY", 1)},
		{name: "dry-run annotation", y: strings.Replace(baseAP, "  labels:\n", "  annotations:\n    istio.io/dry-run: \"true\"\n  labels:\n", 1)},
		{name: "user label", y: strings.Replace(baseAP, "managed-by: meshgen\n", "managed-by: meshgen\n    team: shop\n", 1)},
		{name: "no selector", y: strings.Replace(baseAP, "  selector:\n    matchLabels:\n      app: cart\n", "", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if canonical(t, baseAP) == canonical(t, tc.y) {
				t.Errorf("Canonical(%s) equals the base object's", tc.name)
			}
		})
	}
}

func TestCanonicalForm(t *testing.T) {
	// The canonical form itself, checked by hand: v1, sorted keys, explicit
	// action, sets sorted, server fields gone, empty selector dropped,
	// targetRef moved to targetRefs.
	y := `apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata:
  name: w
  namespace: shop
  resourceVersion: "7"
spec:
  selector: {}
  targetRef: {kind: Service, group: "", name: cart}
  rules:
  - to:
    - operation: {methods: [POST, GET]}
`
	want := `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: w
  namespace: shop
spec:
  action: ALLOW
  rules:
  - to:
    - operation:
        methods:
        - GET
        - POST
  targetRefs:
  - kind: Service
    name: cart
`
	if diff := cmp.Diff(want, canonical(t, y)); diff != "" {
		t.Errorf("Canonical (-want +got):\n%s", diff)
	}
}

func TestCanonicalPeerAuthentication(t *testing.T) {
	base := "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: default\n  namespace: shop\nspec:\n"
	same := [][2]string{
		{"  mtls: {mode: UNSET}\n", ""},
		{"  portLevelMtls:\n    8080: {mode: UNSET}\n", ""},
		{"  mtls: {mode: STRICT}\n  portLevelMtls:\n    8080: {mode: PERMISSIVE}\n    9090: {mode: DISABLE}\n", "  portLevelMtls:\n    9090: {mode: DISABLE}\n    8080: {mode: PERMISSIVE}\n  mtls: {mode: STRICT}\n"},
	}
	for _, p := range same {
		if a, b := canonical(t, base+p[0]), canonical(t, base+p[1]+"  selector: null\n"); a != b {
			t.Errorf("Canonical(%q) = %q, Canonical(%q) = %q; want equal", p[0], a, p[1], b)
		}
	}
	// For a PeerAuthentication an empty selector is not the same as none
	// (Istio treats them differently; see synth/eval).
	if canonical(t, base+"  selector: {}\n") == canonical(t, base) {
		t.Errorf("PeerAuthentication: selector {} and no selector have the same canonical form")
	}
}
