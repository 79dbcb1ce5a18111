package testenv

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

var apGVR = schema.GroupVersionResource{Group: "security.istio.io", Version: "v1", Resource: "authorizationpolicies"}

func TestPrometheusAnswersOverBackfilledData(t *testing.T) {
	// Two samples ten minutes apart, in November 2023: older than any default retention.
	om := []byte(`# HELP istio_requests Requests.
# TYPE istio_requests counter
istio_requests_total{source_workload="frontend",destination_workload="backend"} 10 1700000000
istio_requests_total{source_workload="frontend",destination_workload="backend"} 42 1700000600
istio_requests_total{source_workload="other",destination_workload="backend"} 7 1700000600
# EOF
`)
	p := Prometheus(t, om)
	if want := time.Unix(1700000000, 0).UTC(); !p.Start.Equal(want) {
		t.Errorf("Start = %s, want %s", p.Start, want)
	}
	if want := time.Unix(1700000600, 0).UTC(); !p.End.Equal(want) {
		t.Errorf("End = %s, want %s", p.End, want)
	}
	tests := []struct {
		name  string
		query string
		at    int64
		want  string
	}{
		{name: "raw sample", query: `istio_requests_total{source_workload="frontend"}`, at: 1700000600, want: "42"},
		{name: "earlier sample", query: `istio_requests_total{source_workload="frontend"}`, at: 1700000000, want: "10"},
		{name: "difference over ten minutes", query: `istio_requests_total{source_workload="frontend"} - istio_requests_total{source_workload="frontend"} offset 10m`, at: 1700000600, want: "32"},
		// increase extrapolates towards the window's start, but for a counter no further than where
		// it would have been zero: 10/32 of the 10m between samples, 3.125m. 32 * 13.125/10 = 42.
		{name: "increase over the range", query: `sum(increase(istio_requests_total{source_workload="frontend"}[15m]))`, at: 1700000600, want: "42"},
		{name: "sum across series", query: `sum(istio_requests_total)`, at: 1700000600, want: "49"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := queryScalar(t, p.URL, tc.query, tc.at)
			if got != tc.want {
				t.Errorf("query %s at %d = %s, want %s", tc.query, tc.at, got, tc.want)
			}
		})
	}
}

// queryScalar runs an instant query that must return exactly one series and returns its value.
func queryScalar(t *testing.T, base, query string, at int64) string {
	t.Helper()
	v := url.Values{"query": {query}, "time": {time.Unix(at, 0).Format(time.RFC3339)}}
	resp, err := http.Get(base + "/api/v1/query?" + v.Encode())
	if err != nil {
		t.Fatalf("querying prometheus: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decoding query response: %v", err)
	}
	if body.Status != "success" || len(body.Data.Result) != 1 {
		t.Fatalf("query %s: status %s (%s), %d series, want success with 1 series", query, body.Status, body.Error, len(body.Data.Result))
	}
	s, _ := body.Data.Result[0].Value[1].(string)
	return s
}

const validPolicy = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: backend-allow
  namespace: NS
spec:
  selector:
    matchLabels:
      app: backend
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/shop/sa/frontend"]
    to:
    - operation:
        methods: ["GET"]
        paths: ["/api/{*}"]
        ports: ["8080"]
`

func TestKubeJudgesAuthorizationPolicies(t *testing.T) {
	k := Kube(t)
	ns := k.Namespace(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		yaml    string
		wantErr string // substring of the server's rejection; empty: accepted
	}{
		{name: "valid", yaml: validPolicy},
		{
			name: "selector and targetRefs",
			yaml: validPolicy + `  targetRefs:
  - kind: Service
    group: ""
    name: backend
`,
			wantErr: "only one of targetRefs or selector can be set",
		},
		{
			name:    "unknown field",
			yaml:    strings.Replace(validPolicy, "  action: ALLOW", "  action: ALLOW\n  actions: DENY", 1),
			wantErr: ".spec.actions: field not declared in schema",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := k.DryRunApply(ctx, []byte(strings.ReplaceAll(tc.yaml, "NS", ns)))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("DryRunApply(%s) = %v, want accepted", tc.name, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("DryRunApply(%s) = %v, want an error containing %q", tc.name, err, tc.wantErr)
			}
		})
	}

	// A dry run stores nothing; Apply does.
	dyn, err := dynamic.NewForConfig(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(apGVR).Namespace(ns).Get(ctx, "backend-allow", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("getting a dry-run applied policy: err = %v, want NotFound", err)
	}
	if err := k.Apply(t, ctx, []byte(strings.ReplaceAll(validPolicy, "NS", ns))); err != nil {
		t.Fatalf("Apply(valid policy) = %v", err)
	}
	got, err := dyn.Resource(apGVR).Namespace(ns).Get(ctx, "backend-allow", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting the applied policy: %v", err)
	}
	if a, _, _ := unstructured.NestedString(got.Object, "spec", "action"); a != "ALLOW" {
		t.Errorf("applied policy has spec.action %q, want ALLOW", a)
	}

	// The admin kubeconfig works too.
	cfg, err := clientcmd.BuildConfigFromFlags("", k.Kubeconfig)
	if err != nil {
		t.Fatalf("loading %s: %v", k.Kubeconfig, err)
	}
	dyn2, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dyn2.Resource(apGVR).Namespace(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("listing policies with the admin kubeconfig: %v", err)
	}
}

func TestKubeApplyReportsServerMessage(t *testing.T) {
	k := Kube(t)
	ns := k.Namespace(t)
	bad := strings.ReplaceAll(validPolicy, "NS", ns) + "  targetRefs:\n  - kind: Service\n    group: \"\"\n    name: backend\n"
	err := k.Apply(t, context.Background(), []byte("# leading comment\n---\n"+bad))
	if err == nil || !strings.Contains(err.Error(), "only one of targetRefs or selector can be set") || !strings.Contains(err.Error(), "document 2 at line 3 (AuthorizationPolicy "+ns+"/backend-allow)") {
		t.Errorf("Apply(policy with selector and targetRefs) = %v, want the server's message naming document 2", err)
	}
}

func TestRestrictedConfigIsForbiddenToList(t *testing.T) {
	k := Kube(t)
	ns := k.Namespace(t)
	ctx := context.Background()
	if err := k.Apply(t, ctx, []byte(strings.ReplaceAll(validPolicy, "NS", ns))); err != nil {
		t.Fatal(err)
	}
	cfg, kubeconfig := k.RestrictedConfig(t, ns, []rbacv1.PolicyRule{{
		APIGroups: []string{"security.istio.io"},
		Resources: []string{"authorizationpolicies"},
		Verbs:     []string{"get"},
	}})
	fromFile, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatalf("loading %s: %v", kubeconfig, err)
	}
	for _, c := range []struct {
		name string
		cfg  *rest.Config
	}{{name: "rest.Config", cfg: cfg}, {name: "kubeconfig", cfg: fromFile}} {
		t.Run(c.name, func(t *testing.T) {
			dyn, err := dynamic.NewForConfig(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			// get is granted: the token authenticates and the role is in effect.
			if _, err := dyn.Resource(apGVR).Namespace(ns).Get(ctx, "backend-allow", metav1.GetOptions{}); err != nil {
				t.Errorf("get with the restricted token: %v, want allowed", err)
			}
			_, err = dyn.Resource(apGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
			if !apierrors.IsForbidden(err) {
				t.Errorf("list with the restricted token: err = %v, want Forbidden", err)
			}
		})
	}
}

func TestIstioctlValidate(t *testing.T) {
	dir := t.TempDir()
	write := func(name, yaml string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(yaml, "NS", "shop")), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	valid := write("valid.yaml", validPolicy)
	tests := []struct {
		name    string
		yaml    string
		wantErr string // substring of istioctl's output; empty: valid
	}{
		{name: "valid", yaml: validPolicy},
		{name: "bad path template", yaml: strings.Replace(validPolicy, "/api/{*}", "/a/{**}/b/{*}", 1), wantErr: "{**}"},
		{name: "empty principal", yaml: strings.Replace(validPolicy, `["cluster.local/ns/shop/sa/frontend"]`, `[""]`, 1), wantErr: "empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := write(strings.ReplaceAll(tc.name, " ", "-")+".yaml", tc.yaml)
			err := IstioctlValidate(t, f)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("IstioctlValidate(%s) = %v, want valid", tc.name, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("IstioctlValidate(%s) = %v, want an error containing %q", tc.name, err, tc.wantErr)
			}
		})
	}
	// Several files: the first invalid one is reported.
	bad := write("bad.yaml", strings.Replace(validPolicy, "/api/{*}", "/a/{**}/b/{*}", 1))
	if err := IstioctlValidate(t, valid, bad); err == nil || !strings.Contains(err.Error(), "bad.yaml") {
		t.Errorf("IstioctlValidate(valid, bad) = %v, want an error naming bad.yaml", err)
	}
}
