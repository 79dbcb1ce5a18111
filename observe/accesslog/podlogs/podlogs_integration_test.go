package podlogs

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/meshgen/meshgen/hack/testenv"
	"github.com/meshgen/meshgen/observe/accesslog"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestAgainstAPIServer lists proxies through a real kube-apiserver and
// checks what it answers for pods/log. There is no kubelet, so no log can
// be read: the test checks the refusals, which the API server gives
// before it would ask a kubelet.
func TestAgainstAPIServer(t *testing.T) {
	k := testenv.Kube(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := k.Namespace(t)
	admin := kubernetes.NewForConfigOrDie(k.Config)
	for _, p := range []*corev1.Pod{
		pod(ns, "cart-1", map[string]string{"app": "cart"}, "", "cart", "istio-proxy"),
		pod(ns, "waypoint-1", map[string]string{labelManaged: meshController}, "", "istio-proxy"),
		pod(ns, "plain-1", map[string]string{"app": "plain"}, "", "plain"),
	} {
		created, err := admin.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating pod %s: %v", p.Name, err)
		}
		created.Status.Phase = corev1.PodRunning
		if _, err := admin.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("marking pod %s running: %v", p.Name, err)
		}
	}
	cfg := DefaultConfig()
	cfg.Namespaces = []string{ns}
	cfg.Ztunnel = false

	t.Run("admin", func(t *testing.T) {
		in, err := Inputs(ctx, admin, cfg)
		if err != nil {
			t.Fatalf("Inputs() = %v", err)
		}
		var names []string
		for _, i := range in {
			names = append(names, i.Name+" "+string(i.Pod.Role))
		}
		if want := "pod/" + ns + "/cart-1/istio-proxy sidecar,pod/" + ns + "/waypoint-1/istio-proxy waypoint"; strings.Join(names, ",") != want {
			t.Errorf("Inputs() = %q, want %q", names, want)
		}
		// No node is assigned, so there is no kubelet to ask: the API server
		// answers an empty log (as it does for a pod not yet scheduled), and
		// the run says that the inputs had no records.
		res, err := accesslog.Learn(ctx, accesslog.DefaultConfig(), in)
		if err != nil {
			t.Fatalf("Learn() = %v", err)
		}
		for _, s := range res.Inputs {
			if s.Lines != 0 {
				t.Errorf("input %s has %d lines, want 0", s.Name, s.Lines)
			}
		}
		want := "access logs: 2 of 2 pod log streams had no access-log records: pod/" + ns + "/cart-1/istio-proxy, pod/" + ns + "/waypoint-1/istio-proxy"
		found := false
		for _, w := range res.Snapshot.Metadata.Warnings {
			found = found || w == want
		}
		if !found {
			t.Errorf("Warnings = %q, want %q", res.Snapshot.Metadata.Warnings, want)
		}
	})

	t.Run("no pods/log", func(t *testing.T) {
		rc, _ := k.RestrictedConfig(t, ns, []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}}})
		client := kubernetes.NewForConfigOrDie(rc)
		in, err := Inputs(ctx, client, cfg)
		if err != nil {
			t.Fatalf("Inputs() = %v", err)
		}
		_, err = accesslog.Learn(ctx, accesslog.DefaultConfig(), in)
		if err == nil || !IsPermission(err) || !strings.Contains(err.Error(), `meshgen needs "get" on "pods/log" in namespace `+ns) {
			t.Errorf("Learn() = %v, want a permission error naming get pods/log", err)
		}
	})

	t.Run("no list", func(t *testing.T) {
		rc, _ := k.RestrictedConfig(t, ns, []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}}})
		client := kubernetes.NewForConfigOrDie(rc)
		_, err := Inputs(ctx, client, cfg)
		if err == nil || !IsPermission(err) || !strings.Contains(err.Error(), `meshgen needs "list" on "pods" in namespace `+ns) {
			t.Errorf("Inputs() = %v, want a permission error naming list pods", err)
		}
	})
}
