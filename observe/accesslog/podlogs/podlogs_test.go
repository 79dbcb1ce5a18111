package podlogs

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/meshgen/meshgen/observe/accesslog"
	"github.com/meshgen/meshgen/observe/snapshot"
)

func pod(ns, name string, labels map[string]string, phase corev1.PodPhase, containers ...string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Status:     corev1.PodStatus{Phase: phase},
	}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c, Image: "example.com/" + c})
	}
	return p
}

// owned makes p a Deployment's pod: owned by ReplicaSet <deploy>-<hash>.
func owned(p *corev1.Pod, deploy, hash string) *corev1.Pod {
	p.GenerateName = deploy + "-" + hash + "-"
	p.Labels["pod-template-hash"] = hash
	p.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: deploy + "-" + hash, Controller: new(true)}}
	return p
}

// The fake clientset's GetLogs does not tell the reactor which pod is
// asked for (the action has the namespace and the PodLogOptions only), so
// each proxy here lives in a namespace of its own.
var logs = map[string]string{
	// cart's sidecar: the kubelet's --timestamps prefix, then Envoy's line.
	// The pod's address is not in the inventory: the destination is the pod.
	"shop": "2026-11-01T10:00:01.100000000Z 2026-11-01T10:00:01.000000Z\tinfo\tEnvoy proxy is ready\n" +
		`2026-11-01T10:00:02.100000000Z [2026-11-01T10:00:02.000Z] "GET /cart/items?x=1 HTTP/1.1" 200 - via_upstream - "-" 0 10 1 1 "-" "curl" "id" "cart:80" "10.1.0.77:8080" inbound|8080|| 127.0.0.6:1 10.1.0.77:8080 10.1.0.10:2 outbound_.80_._.cart.shop.svc.cluster.local default` + "\n",
	"mall":         `2026-11-01T10:00:03.100000000Z [2026-11-01T10:00:03.000Z] "GET /shelf/1 HTTP/1.1" 200 - via_upstream - "-" 0 10 1 1 "-" "curl" "id" "shelf:80" "envoy://connect_originate/10.2.0.10:8080" inbound-vip|80|http|shelf.mall.svc.cluster.local envoy://internal_client_address/ 10.96.5.5:80 10.1.0.10:3 - default` + "\n",
	"istio-system": "2026-11-01T10:00:04.100000000Z 2026-11-01T10:00:04.000000Z\tinfo\taccess\tconnection complete\tsrc.addr=10.1.0.10:4 src.workload=\"web-6d4cf56db6-x7k2p\" src.namespace=\"shop\" src.identity=\"spiffe://cluster.local/ns/shop/sa/web\" dst.addr=10.2.0.10:15008 dst.hbone_addr=10.2.0.10:8080 dst.service=\"shelf.mall.svc.cluster.local\" dst.workload=\"shelf-6c7d8f9b5-mnpqr\" dst.namespace=\"mall\" dst.identity=\"spiffe://cluster.local/ns/mall/sa/shelf\" direction=\"inbound\" bytes_sent=1 bytes_recv=1 duration=\"1ms\"\n",
}

func fixture() (*fake.Clientset, *[]corev1.PodLogOptions, *sync.Mutex) {
	objs := []runtime.Object{
		owned(pod("shop", "cart-5f6d7c8b9-bcdfg", map[string]string{"app": "cart"}, corev1.PodRunning, "cart", "istio-proxy"), "cart", "5f6d7c8b9"),
		// Not injected, and not running: no logs to read.
		pod("shop", "batch-x", map[string]string{}, corev1.PodRunning, "batch"),
		pod("shop", "cart-pending", map[string]string{}, corev1.PodPending, "cart", "istio-proxy"),
		pod("mall", "waypoint-7d8f9c6b5-qrstv", map[string]string{labelManaged: meshController}, corev1.PodRunning, "istio-proxy"),
		pod("istio-system", "ztunnel-x8kzt", map[string]string{"app": "ztunnel"}, corev1.PodRunning, "istio-proxy"),
		// istiod is not a proxy.
		pod("istio-system", "istiod-5c8d-bcdfg", map[string]string{"app": "istiod"}, corev1.PodRunning, "discovery"),
	}
	c := fake.NewClientset(objs...)
	var mu sync.Mutex
	var seen []corev1.PodLogOptions
	c.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "log" {
			return false, nil, nil
		}
		opts := a.(k8stesting.GenericAction).GetValue().(*corev1.PodLogOptions)
		mu.Lock()
		seen = append(seen, *opts)
		mu.Unlock()
		return true, &runtime.Unknown{Raw: []byte(logs[a.GetNamespace()])}, nil
	})
	return c, &seen, &mu
}

func TestInputs(t *testing.T) {
	client, seen, mu := fixture()
	cfg := DefaultConfig()
	cfg.Namespaces = []string{"shop", "mall", "istio-system"}
	cfg.Since = 90 * time.Minute
	in, err := Inputs(context.Background(), client, cfg)
	if err != nil {
		t.Fatalf("Inputs() = %v", err)
	}
	var got []string
	for _, i := range in {
		got = append(got, i.Name+" "+string(i.Pod.Role)+" "+i.Pod.Workload)
	}
	want := []string{
		"pod/shop/cart-5f6d7c8b9-bcdfg/istio-proxy sidecar cart",
		"pod/mall/waypoint-7d8f9c6b5-qrstv/istio-proxy waypoint ",
		"pod/istio-system/ztunnel-x8kzt/istio-proxy ztunnel ",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Inputs() mismatch (-want +got):\n%s", diff)
	}

	// The inventory knows the callers and the waypoint's backend, not
	// cart's pod address.
	inv := snapshot.Inventory{Workloads: []snapshot.Workload{
		{Namespace: "shop", Name: "web", ServiceAccount: "web", PodIPs: []string{"10.1.0.10"}},
		{Namespace: "shop", Name: "cart", ServiceAccount: "cart"},
		{Namespace: "mall", Name: "shelf", ServiceAccount: "shelf", PodIPs: []string{"10.2.0.10"}},
	}}
	lcfg := accesslog.DefaultConfig()
	lcfg.Inventory = snapshot.NewIndex(&inv)
	lcfg.OpenInputs = DefaultConcurrency
	lcfg.End = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	res, err := accesslog.Learn(context.Background(), lcfg, in)
	if err != nil {
		t.Fatalf("Learn() = %v", err)
	}
	type edge struct{ Src, Dst, Reporter, Evidence string }
	var edges []edge
	for _, e := range res.Snapshot.Edges {
		edges = append(edges, edge{e.Source.Principal + " " + e.Source.IdentityFrom, e.Destination.Namespace + "/" + e.Destination.Workload,
			e.Reporter, strings.Join(e.Evidence, ",")})
	}
	wantEdges := []edge{
		{"cluster.local/ns/shop/sa/web certificate", "mall/shelf", "destination", "ztunnel-log"},
		{"cluster.local/ns/shop/sa/web pod-ip", "mall/shelf", "waypoint", "waypoint-log"},
		{"cluster.local/ns/shop/sa/web pod-ip", "shop/cart", "destination", "envoy-log"},
	}
	if diff := cmp.Diff(wantEdges, edges); diff != "" {
		t.Errorf("Learn(pod logs) edges mismatch (-want +got):\n%s", diff)
	}
	var kinds []string
	for _, s := range res.Snapshot.Metadata.Sources {
		kinds = append(kinds, s.Location+" "+s.Kind)
	}
	if diff := cmp.Diff([]string{
		"pod/shop/cart-5f6d7c8b9-bcdfg/istio-proxy envoy-log",
		"pod/mall/waypoint-7d8f9c6b5-qrstv/istio-proxy waypoint-log",
		"pod/istio-system/ztunnel-x8kzt/istio-proxy ztunnel-log",
	}, kinds); diff != "" {
		t.Errorf("sources mismatch (-want +got):\n%s", diff)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(*seen) != 3 {
		t.Fatalf("GetLogs called %d times, want 3", len(*seen))
	}
	for _, o := range *seen {
		if o.Container != "istio-proxy" || !o.Timestamps || o.SinceSeconds == nil || *o.SinceSeconds != 5400 || o.Follow {
			t.Errorf("GetLogs options = %+v, want container istio-proxy, timestamps, sinceSeconds 5400, no follow", o)
		}
	}
}

// TestFakeDefaultLogs pins down what the fake clientset's GetLogs returns
// without a reactor ("fake logs"): one line that is not an access log.
func TestFakeDefaultLogs(t *testing.T) {
	client := fake.NewClientset(pod("shop", "a", map[string]string{}, corev1.PodRunning, "istio-proxy"))
	cfg := DefaultConfig()
	cfg.Ztunnel = false
	in, err := Inputs(context.Background(), client, cfg)
	if err != nil || len(in) != 1 {
		t.Fatalf("Inputs() = %d inputs, %v; want 1", len(in), err)
	}
	res, err := accesslog.Learn(context.Background(), accesslog.DefaultConfig(), in)
	if err != nil {
		t.Fatalf("Learn() = %v", err)
	}
	if s := res.Inputs[0]; s.Lines != 1 || s.Malformed != 1 {
		t.Errorf("Learn(fake logs) = %d lines, %d malformed; want 1 and 1", s.Lines, s.Malformed)
	}
}

func TestPermissionErrors(t *testing.T) {
	forbidden := func(verb, resource string) error {
		return apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "", nil)
	}
	t.Run("list pods", func(t *testing.T) {
		client, _, _ := fixture()
		client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, forbidden("list", "pods")
		})
		_, err := Inputs(context.Background(), client, Config{Namespaces: []string{"shop"}, Sidecars: true, Container: DefaultContainer})
		if err == nil || !strings.Contains(err.Error(), `meshgen needs "list" on "pods" in namespace shop`) || !IsPermission(err) {
			t.Errorf("Inputs() = %v, want an error naming list pods in namespace shop", err)
		}
	})
	t.Run("get pods/log", func(t *testing.T) {
		client, _, _ := fixture()
		client.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
			if a.GetSubresource() != "log" {
				return false, nil, nil
			}
			return true, nil, forbidden("get", "pods/log")
		})
		cfg := DefaultConfig()
		cfg.Namespaces = []string{"shop"}
		cfg.Ztunnel = false
		in, err := Inputs(context.Background(), client, cfg)
		if err != nil {
			t.Fatalf("Inputs() = %v", err)
		}
		_, err = accesslog.Learn(context.Background(), accesslog.DefaultConfig(), in)
		if err == nil || !strings.Contains(err.Error(), `reading the logs of pod shop/cart-5f6d7c8b9-bcdfg container istio-proxy`) ||
			!strings.Contains(err.Error(), `meshgen needs "get" on "pods/log" in namespace shop`) || !IsPermission(err) {
			t.Errorf("Learn() = %v, want an error naming get pods/log for the pod", err)
		}
	})
}

func TestWorkloadName(t *testing.T) {
	job := pod("ns", "backup-28391234-bcdfg", map[string]string{}, corev1.PodRunning, "c")
	job.GenerateName = "backup-28391234-"
	job.OwnerReferences = []metav1.OwnerReference{{Kind: "Job", Name: "backup-28391234", Controller: new(true)}}
	sts := pod("ns", "db-0", map[string]string{}, corev1.PodRunning, "c")
	sts.GenerateName = "db-"
	sts.OwnerReferences = []metav1.OwnerReference{{Kind: "StatefulSet", Name: "db", Controller: new(true)}}
	env := pod("ns", "x-1", map[string]string{}, corev1.PodRunning, "c")
	env.Spec.Containers = append(env.Spec.Containers, corev1.Container{Name: "istio-proxy", Env: []corev1.EnvVar{{Name: "ISTIO_META_WORKLOAD_NAME", Value: "custom"}}})
	for _, tc := range []struct {
		p    *corev1.Pod
		want string
	}{
		{owned(pod("ns", "web-6d4cf56db6-x7k2p", map[string]string{}, corev1.PodRunning, "c"), "web", "6d4cf56db6"), "web"},
		{job, "backup"}, {sts, "db"}, {env, "custom"},
		{pod("ns", "bare", map[string]string{}, corev1.PodRunning, "c"), "bare"},
	} {
		if got := WorkloadName(tc.p); got != tc.want {
			t.Errorf("WorkloadName(%s) = %q, want %q", tc.p.Name, got, tc.want)
		}
	}
}
