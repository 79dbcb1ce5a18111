package policyset

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	securityapi "istio.io/api/security/v1beta1"
	typeapi "istio.io/api/type/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	securityv1beta1 "istio.io/client-go/pkg/apis/security/v1beta1"
	"istio.io/client-go/pkg/clientset/versioned"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshgen/meshgen/hack/testenv"
	"github.com/meshgen/meshgen/synth/eval"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestFromCluster creates policies through both served versions in a real
// kube-apiserver with Istio's CRDs and reads them back as v1.
func TestFromCluster(t *testing.T) {
	k := testenv.Kube(t)
	ns := k.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := versioned.NewForConfig(k.Config)
	if err != nil {
		t.Fatal(err)
	}

	cartSpec := securityapi.AuthorizationPolicy{
		Selector: &typeapi.WorkloadSelector{MatchLabels: map[string]string{"app": "cart"}},
		Rules: []*securityapi.Rule{{
			From: []*securityapi.Rule_From{{Source: &securityapi.Source{Principals: []string{"cluster.local/ns/shop/sa/web"}}}},
			To:   []*securityapi.Rule_To{{Operation: &securityapi.Operation{Ports: []string{"8080"}, Methods: []string{"GET"}, Paths: []string{"/cart/{*}"}}}},
		}},
	}
	denySpec := securityapi.AuthorizationPolicy{
		Action: securityapi.AuthorizationPolicy_DENY,
		Rules:  []*securityapi.Rule{{To: []*securityapi.Rule_To{{Operation: &securityapi.Operation{Paths: []string{"/admin/*"}}}}}},
	}
	strict := securityapi.PeerAuthentication{Mtls: &securityapi.PeerAuthentication_MutualTLS{Mode: securityapi.PeerAuthentication_MutualTLS_STRICT}}
	ports := securityapi.PeerAuthentication{
		Selector:      &typeapi.WorkloadSelector{MatchLabels: map[string]string{"app": "cart"}},
		PortLevelMtls: map[uint32]*securityapi.PeerAuthentication_MutualTLS{9102: {Mode: securityapi.PeerAuthentication_MutualTLS_PERMISSIVE}},
	}
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: ns} }
	if _, err := c.SecurityV1().AuthorizationPolicies(ns).Create(ctx, &securityv1.AuthorizationPolicy{ObjectMeta: meta("cart"), Spec: *cartSpec.DeepCopy()}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating a v1 AuthorizationPolicy: %v", err)
	}
	if _, err := c.SecurityV1beta1().AuthorizationPolicies(ns).Create(ctx, &securityv1beta1.AuthorizationPolicy{ObjectMeta: meta("deny-admin"), Spec: *denySpec.DeepCopy()}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating a v1beta1 AuthorizationPolicy: %v", err)
	}
	if _, err := c.SecurityV1beta1().PeerAuthentications(ns).Create(ctx, &securityv1beta1.PeerAuthentication{ObjectMeta: meta("default"), Spec: *strict.DeepCopy()}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating a v1beta1 PeerAuthentication: %v", err)
	}
	if _, err := c.SecurityV1().PeerAuthentications(ns).Create(ctx, &securityv1.PeerAuthentication{ObjectMeta: meta("cart-ports"), Spec: *ports.DeepCopy()}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating a v1 PeerAuthentication: %v", err)
	}

	ps, err := FromCluster(ctx, c, []string{ns})
	if err != nil {
		t.Fatalf("FromCluster() error: %v", err)
	}
	gotAP := map[string]*securityapi.AuthorizationPolicy{}
	for _, ap := range ps.AuthorizationPolicies {
		gotAP[ap.Name] = &ap.Spec
	}
	wantAP := map[string]*securityapi.AuthorizationPolicy{"cart": &cartSpec, "deny-admin": &denySpec}
	if diff := cmp.Diff(wantAP, gotAP, protocmp.Transform()); diff != "" {
		t.Errorf("FromCluster() AuthorizationPolicies (-want +got):\n%s", diff)
	}
	gotPA := map[string]*securityapi.PeerAuthentication{}
	for _, pa := range ps.PeerAuthentications {
		gotPA[pa.Name] = &pa.Spec
		if pa.CreationTimestamp.IsZero() {
			t.Errorf("PeerAuthentication %s has no creationTimestamp", pa.Name)
		}
	}
	wantPA := map[string]*securityapi.PeerAuthentication{"default": &strict, "cart-ports": &ports}
	if diff := cmp.Diff(wantPA, gotPA, protocmp.Transform()); diff != "" {
		t.Errorf("FromCluster() PeerAuthentications (-want +got):\n%s", diff)
	}

	// The set read back decides as the objects say.
	req := eval.Request{Namespace: ns, WorkloadLabels: map[string]string{"app": "cart"}, Port: 9102, Protocol: "http", Method: "GET", Path: "/cart/1"}
	if d := ps.Decide(eval.Sidecar, req); d.Outcome != eval.Deny || !strings.Contains(d.Reason, "no ALLOW rule matched") {
		t.Errorf("Decide(plaintext HTTP to 9102) = %s (%s), want deny by the ALLOW policy (port 9102 is PERMISSIVE)", d.Outcome, d.Reason)
	}
	req.Port = 8080
	if d := ps.Decide(eval.Sidecar, req); d.Outcome != eval.Deny || d.Policy != ns+"/default" {
		t.Errorf("Decide(plaintext HTTP to 8080) = %s (%s, %s), want deny by STRICT %s/default", d.Outcome, d.Reason, d.Policy, ns)
	}
	req.Principal = "cluster.local/ns/shop/sa/web"
	if d := ps.Decide(eval.Sidecar, req); d.Outcome != eval.Allow || d.Policy != ns+"/cart" {
		t.Errorf("Decide(web HTTP GET /cart/1) = %s (%s), want allow by %s/cart", d.Outcome, d.Reason, ns)
	}
	req.Protocol, req.Method, req.Path = "tcp", "", ""
	if d := ps.Decide(eval.Sidecar, req); d.Outcome != eval.Deny || d.Policy != ns+"/deny-admin" {
		t.Errorf("Decide(web TCP to 8080) = %s (%s), want deny by the paths-only DENY, widened on TCP", d.Outcome, d.Reason)
	}
}

// TestFromClusterForbidden reads with a token that may list
// PeerAuthentications but not AuthorizationPolicies.
func TestFromClusterForbidden(t *testing.T) {
	k := testenv.Kube(t)
	ns := k.Namespace(t)
	cfg, _ := k.RestrictedConfig(t, ns, []rbacv1.PolicyRule{{
		APIGroups: []string{"security.istio.io"},
		Resources: []string{"peerauthentications"},
		Verbs:     []string{"get", "list"},
	}})
	c, err := versioned.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = FromCluster(ctx, c, []string{ns})
	if err == nil {
		t.Fatal("FromCluster() with a token that may not list authorizationpolicies = nil error")
	}
	want := `listing authorizationpolicies.security.istio.io in namespace ` + ns + `: permission denied: the credentials need verb "list" on resource "authorizationpolicies" in API group "security.istio.io"`
	if !strings.Contains(err.Error(), want) {
		t.Errorf("FromCluster() error = %q, want it to contain %q", err, want)
	}
}
