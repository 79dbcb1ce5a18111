package inventory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/meshgen/meshgen/observe/badinput"
	"github.com/meshgen/meshgen/observe/snapshot"
)

// Small builders for test objects.

func ns(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

func sa(namespace, name string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
}

type podOpt func(*corev1.Pod)

func pod(namespace, name string, labels map[string]string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func ownedBy(kind, name string) podOpt {
	return func(p *corev1.Pod) {
		yes := true
		p.GenerateName = name + "-"
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: name, Controller: &yes}}
	}
}

func ips(addrs ...string) podOpt {
	return func(p *corev1.Pod) {
		for _, a := range addrs {
			p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: a})
		}
		if len(addrs) > 0 {
			p.Status.PodIP = addrs[0]
		}
	}
}

func serviceAccount(name string) podOpt {
	return func(p *corev1.Pod) { p.Spec.ServiceAccountName = name }
}

func phase(ph corev1.PodPhase) podOpt {
	return func(p *corev1.Pod) { p.Status.Phase = ph }
}

func ports(ps ...corev1.ContainerPort) podOpt {
	return func(p *corev1.Pod) { p.Spec.Containers[0].Ports = ps }
}

// sidecar injects an istio-proxy container as Istio's injector does.
func sidecar(workloadName string, native bool) podOpt {
	return func(p *corev1.Pod) {
		c := corev1.Container{
			Name:  "istio-proxy",
			Args:  []string{"proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local"},
			Env:   []corev1.EnvVar{{Name: "ISTIO_META_WORKLOAD_NAME", Value: workloadName}},
			Ports: []corev1.ContainerPort{{Name: "http-envoy-prom", ContainerPort: 15090, Protocol: "TCP"}},
		}
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations["sidecar.istio.io/status"] = `{"containers":["istio-proxy"]}`
		if native {
			always := corev1.ContainerRestartPolicyAlways
			c.RestartPolicy = &always
			p.Spec.InitContainers = append(p.Spec.InitContainers, c)
			return
		}
		p.Spec.Containers = append(p.Spec.Containers, c)
	}
}

func tcpPort(name string, port int32) corev1.ContainerPort {
	return corev1.ContainerPort{Name: name, ContainerPort: port, Protocol: corev1.ProtocolTCP}
}

func template(labels map[string]string, sa string, ps ...corev1.ContainerPort) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{ServiceAccountName: sa, Containers: []corev1.Container{{Name: "app", Ports: ps}}},
	}
}

func deployment(namespace, name string, match map[string]string, tmpl corev1.PodTemplateSpec) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec:       appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: match}, Template: tmpl},
	}
}

func replicaSet(namespace, name, deploy string, match map[string]string, tmpl corev1.PodTemplateSpec) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec:       appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: match}, Template: tmpl},
	}
	if deploy != "" {
		yes := true
		rs.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: deploy, Controller: &yes}}
	}
	return rs
}

func service(namespace, name string, selector, labels map[string]string, ps ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels},
		Spec:       corev1.ServiceSpec{Selector: selector, Ports: ps},
	}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func readCluster(t *testing.T, objs ...runtime.Object) *Result {
	t.Helper()
	res, err := FromCluster(context.Background(), fake.NewClientset(objs...), Options{})
	if err != nil {
		t.Fatalf("FromCluster() error: %v", err)
	}
	return res
}

func workloadOf(t *testing.T, inv snapshot.Inventory, namespace, name string) snapshot.Workload {
	t.Helper()
	w := snapshot.NewIndex(&inv).Workload(namespace, name)
	if w == nil {
		var have []string
		for _, w := range inv.Workloads {
			have = append(have, w.Namespace+"/"+w.Name)
		}
		t.Fatalf("no workload %s/%s; have %v", namespace, name, have)
	}
	return *w
}

func TestWorkloadNaming(t *testing.T) {
	app := map[string]string{"app": "reviews"}
	hash := func(h string) map[string]string { return merge(app, map[string]string{"pod-template-hash": h}) }
	tests := []struct {
		name     string
		objs     []runtime.Object
		wantName string
		wantKind string
	}{
		{
			name: "Deployment through its ReplicaSet's owner",
			objs: []runtime.Object{
				deployment("ns1", "reviews", app, template(app, "")),
				replicaSet("ns1", "reviews-5d9f7c6b8", "reviews", hash("5d9f7c6b8"), template(hash("5d9f7c6b8"), "")),
				pod("ns1", "reviews-5d9f7c6b8-abcde", hash("5d9f7c6b8"), ownedBy("ReplicaSet", "reviews-5d9f7c6b8")),
			},
			wantName: "reviews", wantKind: "Deployment",
		},
		{
			name: "Deployment whose ReplicaSet is not listed: pod-template-hash stripped",
			objs: []runtime.Object{
				pod("ns1", "reviews-v2-5d9f7c6b8-abcde", hash("5d9f7c6b8"), ownedBy("ReplicaSet", "reviews-v2-5d9f7c6b8")),
			},
			wantName: "reviews-v2", wantKind: "Deployment",
		},
		{
			name: "ReplicaSet without pod-template-hash is its own workload",
			objs: []runtime.Object{
				pod("ns1", "cache-x1y2z", app, ownedBy("ReplicaSet", "cache")),
			},
			wantName: "cache", wantKind: "ReplicaSet",
		},
		{
			name:     "StatefulSet",
			objs:     []runtime.Object{pod("ns1", "db-2", app, ownedBy("StatefulSet", "db"))},
			wantName: "db", wantKind: "StatefulSet",
		},
		{
			name:     "DaemonSet",
			objs:     []runtime.Object{pod("ns1", "agent-7xk2p", app, ownedBy("DaemonSet", "agent"))},
			wantName: "agent", wantKind: "DaemonSet",
		},
		{
			name:     "Job",
			objs:     []runtime.Object{pod("ns1", "migrate-h2v7c", app, ownedBy("Job", "migrate"))},
			wantName: "migrate", wantKind: "Job",
		},
		{
			name:     "Job of a CronJob: the 8-10 digit schedule suffix is stripped",
			objs:     []runtime.Object{pod("ns1", "report-29322660-5pz8d", app, ownedBy("Job", "report-29322660"))},
			wantName: "report", wantKind: "CronJob",
		},
		{
			name:     "Job with a 7 digit suffix is not a CronJob's",
			objs:     []runtime.Object{pod("ns1", "batch-1234567-5pz8d", app, ownedBy("Job", "batch-1234567"))},
			wantName: "batch-1234567", wantKind: "Job",
		},
		{
			name:     "bare pod",
			objs:     []runtime.Object{pod("ns1", "debug", app)},
			wantName: "debug", wantKind: "Pod",
		},
		{
			name:     "owned pod without generateName is its own workload (Istio looks no further)",
			objs:     []runtime.Object{pod("ns1", "named", app, ownedBy("StatefulSet", "db"), func(p *corev1.Pod) { p.GenerateName = "" })},
			wantName: "named", wantKind: "Pod",
		},
		{
			name: "sidecar pod: the injected ISTIO_META_WORKLOAD_NAME wins",
			objs: []runtime.Object{
				pod("ns1", "reviews-5d9f7c6b8-abcde", merge(hash("5d9f7c6b8"), map[string]string{"service.istio.io/workload-name": "ignored"}),
					ownedBy("ReplicaSet", "reviews-5d9f7c6b8"), sidecar("reviews-injected", false)),
			},
			wantName: "reviews-injected", wantKind: "Deployment",
		},
		{
			name: "ambient pod: service.istio.io/workload-name overrides",
			objs: []runtime.Object{
				pod("ns1", "reviews-5d9f7c6b8-abcde", merge(hash("5d9f7c6b8"), map[string]string{"service.istio.io/workload-name": "reviews-api"}),
					ownedBy("ReplicaSet", "reviews-5d9f7c6b8")),
			},
			wantName: "reviews-api", wantKind: "Deployment",
		},
		{
			name: "Argo Rollout",
			objs: []runtime.Object{
				pod("ns1", "shop-7b9c5d-abcde", merge(app, map[string]string{"rollouts-pod-template-hash": "7b9c5d"}), ownedBy("ReplicaSet", "shop-7b9c5d")),
			},
			wantName: "shop", wantKind: "Rollout",
		},
		{
			name:     "Deployment without pods",
			objs:     []runtime.Object{deployment("ns1", "idle", app, template(app, ""))},
			wantName: "idle", wantKind: "Deployment",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := readCluster(t, append(tt.objs, ns("ns1", nil))...)
			if len(res.Inventory.Workloads) != 1 {
				t.Fatalf("workloads = %+v, want exactly one", res.Inventory.Workloads)
			}
			w := res.Inventory.Workloads[0]
			if w.Name != tt.wantName || w.Kind != tt.wantKind {
				t.Errorf("workload = %s (%s), want %s (%s)", w.Name, w.Kind, tt.wantName, tt.wantKind)
			}
		})
	}
}

func TestMeshMode(t *testing.T) {
	app := map[string]string{"app": "a"}
	tests := []struct {
		name     string
		nsLabels map[string]string
		objs     []runtime.Object
		want     string
	}{
		{name: "plain", objs: []runtime.Object{pod("ns1", "p", app)}, want: "none"},
		{name: "injected sidecar", objs: []runtime.Object{pod("ns1", "p", app, sidecar("p", false))}, want: "sidecar"},
		{name: "injected native sidecar", objs: []runtime.Object{pod("ns1", "p", app, sidecar("p", true))}, want: "sidecar"},
		{
			name: "status annotation alone",
			objs: []runtime.Object{pod("ns1", "p", app, func(p *corev1.Pod) {
				p.Annotations = map[string]string{"sidecar.istio.io/status": "{}"}
			})},
			want: "sidecar",
		},
		{
			name:     "injection namespace, pod not injected: the pod is the truth",
			nsLabels: map[string]string{"istio-injection": "enabled"},
			objs:     []runtime.Object{pod("ns1", "p", app)},
			want:     "none",
		},
		{name: "ambient namespace", nsLabels: map[string]string{"istio.io/dataplane-mode": "ambient"}, objs: []runtime.Object{pod("ns1", "p", app)}, want: "ambient"},
		{
			name:     "ambient namespace, pod opted out",
			nsLabels: map[string]string{"istio.io/dataplane-mode": "ambient"},
			objs:     []runtime.Object{pod("ns1", "p", map[string]string{"app": "a", "istio.io/dataplane-mode": "none"})},
			want:     "none",
		},
		{
			name: "ambient pod in a plain namespace",
			objs: []runtime.Object{pod("ns1", "p", map[string]string{"app": "a", "istio.io/dataplane-mode": "ambient"})},
			want: "ambient",
		},
		{
			name:     "sidecar wins over ambient",
			nsLabels: map[string]string{"istio.io/dataplane-mode": "ambient"},
			objs:     []runtime.Object{pod("ns1", "p", app, sidecar("p", false))},
			want:     "sidecar",
		},
		{
			name:     "host network pod is not captured",
			nsLabels: map[string]string{"istio.io/dataplane-mode": "ambient"},
			objs:     []runtime.Object{pod("ns1", "p", app, func(p *corev1.Pod) { p.Spec.HostNetwork = true })},
			want:     "none",
		},
		// Templates, for controllers without pods.
		{
			name:     "template in an injection namespace",
			nsLabels: map[string]string{"istio-injection": "enabled"},
			objs:     []runtime.Object{deployment("ns1", "d", app, template(app, ""))},
			want:     "sidecar",
		},
		{
			name:     "template opted out of injection",
			nsLabels: map[string]string{"istio-injection": "enabled"},
			objs:     []runtime.Object{deployment("ns1", "d", app, template(map[string]string{"app": "a", "sidecar.istio.io/inject": "false"}, ""))},
			want:     "none",
		},
		{
			name:     "revision label on the namespace",
			nsLabels: map[string]string{"istio.io/rev": "canary"},
			objs:     []runtime.Object{deployment("ns1", "d", app, template(app, ""))},
			want:     "sidecar",
		},
		{
			name:     "revision label, injection disabled",
			nsLabels: map[string]string{"istio.io/rev": "canary", "istio-injection": "disabled"},
			objs:     []runtime.Object{deployment("ns1", "d", app, template(app, ""))},
			want:     "none",
		},
		{
			name: "template asks for injection",
			objs: []runtime.Object{deployment("ns1", "d", app, template(map[string]string{"app": "a", "sidecar.istio.io/inject": "true"}, ""))},
			want: "sidecar",
		},
		{
			name:     "template in an ambient namespace",
			nsLabels: map[string]string{"istio.io/dataplane-mode": "ambient"},
			objs:     []runtime.Object{deployment("ns1", "d", app, template(app, ""))},
			want:     "ambient",
		},
		{
			name:     "template opted out of ambient",
			nsLabels: map[string]string{"istio.io/dataplane-mode": "ambient"},
			objs:     []runtime.Object{deployment("ns1", "d", app, template(map[string]string{"app": "a", "istio.io/dataplane-mode": "none"}, ""))},
			want:     "none",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := readCluster(t, append(tt.objs, ns("ns1", tt.nsLabels))...)
			if len(res.Inventory.Workloads) != 1 {
				t.Fatalf("workloads = %+v, want one", res.Inventory.Workloads)
			}
			if got := res.Inventory.Workloads[0].MeshMode; got != tt.want {
				t.Errorf("MeshMode = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNamespaceMeshMode(t *testing.T) {
	tests := []struct {
		labels map[string]string
		want   string
	}{
		{nil, "none"},
		{map[string]string{"istio-injection": "enabled"}, "sidecar"},
		{map[string]string{"istio-injection": "disabled"}, "none"},
		{map[string]string{"istio.io/rev": "1-28"}, "sidecar"},
		{map[string]string{"istio.io/rev": "1-28", "istio-injection": "disabled"}, "none"},
		{map[string]string{"istio.io/dataplane-mode": "ambient"}, "ambient"},
		{map[string]string{"istio.io/dataplane-mode": "ambient", "istio-injection": "enabled"}, "sidecar"},
		{map[string]string{"istio.io/dataplane-mode": "ambient", "istio-injection": "disabled"}, "ambient"},
	}
	for _, tt := range tests {
		if got := namespaceMeshMode(tt.labels); got != tt.want {
			t.Errorf("namespaceMeshMode(%v) = %q, want %q", tt.labels, got, tt.want)
		}
	}
}

func TestWorkloadDetails(t *testing.T) {
	app := map[string]string{"app": "pay"}
	res := readCluster(t,
		ns("ns1", nil), sa("ns1", "default"), sa("ns1", "pay"),
		// No service account set: "default".
		pod("ns1", "lonely", map[string]string{"run": "lonely"}, ips("10.0.0.1")),
		// Two running pods and one pending one; the pending one's IP is not recorded.
		pod("ns1", "pay-1", app, ownedBy("StatefulSet", "pay"), serviceAccount("pay"), ips("10.0.0.2", "fd00::2"),
			ports(tcpPort("http", 8080), corev1.ContainerPort{ContainerPort: 9000, Protocol: corev1.ProtocolUDP})),
		pod("ns1", "pay-2", app, ownedBy("StatefulSet", "pay"), serviceAccount("pay"), ips("10.0.0.3"), ports(tcpPort("http", 8080))),
		pod("ns1", "pay-3", app, ownedBy("StatefulSet", "pay"), serviceAccount("pay"), phase(corev1.PodPending), ips("10.0.0.4")),
	)
	want := []snapshot.Workload{
		{
			Namespace: "ns1", Name: "lonely", Kind: "Pod",
			Selector: map[string]string{"run": "lonely"}, Labels: map[string]string{"run": "lonely"},
			ServiceAccount: "default", PodIPs: []string{"10.0.0.1"}, MeshMode: "none",
		},
		{
			// The StatefulSet object is not listed: the selector is the
			// labels its pods share.
			Namespace: "ns1", Name: "pay", Kind: "StatefulSet",
			Selector: app, Labels: app, ServiceAccount: "pay",
			Ports: []snapshot.ContainerPort{
				{Name: "http", Port: 8080, Protocol: "TCP"},
				{Port: 9000, Protocol: "UDP"},
			},
			PodIPs:   []string{"10.0.0.2", "10.0.0.3", "fd00::2"},
			MeshMode: "none",
		},
	}
	if diff := cmp.Diff(want, res.Inventory.Workloads); diff != "" {
		t.Errorf("workloads mismatch (-want +got):\n%s", diff)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings = %q, want none", res.Warnings)
	}
}

func TestContainerPorts(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	p := pod("ns1", "p", map[string]string{"app": "p"}, ports(tcpPort("http", 8080)), sidecar("p", true), func(p *corev1.Pod) {
		p.Spec.InitContainers = append(p.Spec.InitContainers,
			corev1.Container{Name: "setup", Ports: []corev1.ContainerPort{tcpPort("setup", 7000)}},
			corev1.Container{Name: "log-shipper", RestartPolicy: &always, Ports: []corev1.ContainerPort{tcpPort("logs", 2020)}},
		)
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "metrics", Ports: []corev1.ContainerPort{tcpPort("metrics", 9102)}})
	})
	res := readCluster(t, ns("ns1", nil), p)
	// The app containers and the native sidecar log-shipper; not the classic
	// init container (it has exited before traffic arrives) nor istio-proxy's
	// 15090 (the proxy's, not the app's).
	want := []snapshot.ContainerPort{
		{Name: "logs", Port: 2020, Protocol: "TCP"},
		{Name: "http", Port: 8080, Protocol: "TCP"},
		{Name: "metrics", Port: 9102, Protocol: "TCP"},
	}
	if diff := cmp.Diff(want, res.Inventory.Workloads[0].Ports); diff != "" {
		t.Errorf("ports mismatch (-want +got):\n%s", diff)
	}
}

func TestSelectors(t *testing.T) {
	web := map[string]string{"app": "web"}
	tests := []struct {
		name     string
		objs     []runtime.Object
		workload string
		want     map[string]string
		wantWarn string
	}{
		{
			name: "matchLabels of the Deployment",
			objs: []runtime.Object{
				deployment("ns1", "web", web, template(merge(web, map[string]string{"version": "v1"}), "")),
			},
			workload: "web",
			want:     web,
		},
		{
			name: "matchExpressions: the template labels",
			objs: []runtime.Object{
				&appsv1.Deployment{
					ObjectMeta: metav1.ObjectMeta{Namespace: "ns1", Name: "web"},
					Spec: appsv1.DeploymentSpec{
						Selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web", "www"}}}},
						Template: template(map[string]string{"app": "web", "tier": "front"}, ""),
					},
				},
			},
			workload: "web",
			want:     map[string]string{"app": "web", "tier": "front"},
		},
		{
			name: "orphaned ReplicaSet: pod-template-hash is never used",
			objs: []runtime.Object{
				replicaSet("ns1", "web-5d9f7c6b8", "", merge(web, map[string]string{"pod-template-hash": "5d9f7c6b8"}),
					template(merge(web, map[string]string{"pod-template-hash": "5d9f7c6b8"}), "")),
				pod("ns1", "web-5d9f7c6b8-abcde", merge(web, map[string]string{"pod-template-hash": "5d9f7c6b8"}), ownedBy("ReplicaSet", "web-5d9f7c6b8")),
			},
			workload: "web",
			want:     web,
		},
		{
			name: "StatefulSet pod labels: per-pod keys are dropped",
			objs: []runtime.Object{
				pod("ns1", "db-0", map[string]string{
					"app": "db", "controller-revision-hash": "db-5c8f", "statefulset.kubernetes.io/pod-name": "db-0",
					"apps.kubernetes.io/pod-index": "0", "security.istio.io/tlsMode": "istio",
				}, ownedBy("StatefulSet", "db")),
			},
			workload: "db",
			want:     map[string]string{"app": "db"},
		},
		{
			name: "DaemonSet pod labels: pod-template-generation is dropped",
			objs: []runtime.Object{
				pod("ns1", "agent-x", map[string]string{"app": "agent", "controller-revision-hash": "1", "pod-template-generation": "3"}, ownedBy("DaemonSet", "agent")),
			},
			workload: "agent",
			want:     map[string]string{"app": "agent"},
		},
		{
			name: "overlapping Deployment selector: the narrower template labels",
			objs: []runtime.Object{
				deployment("ns1", "web", web, template(merge(web, map[string]string{"role": "frontend"}), "")),
				deployment("ns1", "web-canary", map[string]string{"app": "web", "track": "canary"}, template(map[string]string{"app": "web", "track": "canary"}, "")),
			},
			workload: "web",
			want:     map[string]string{"app": "web", "role": "frontend"},
			wantWarn: "the selector of Deployment ns1/web (app=web) also selects pods of ns1/web-canary; recorded the narrower app=web,role=frontend instead",
		},
		{
			name: "no exclusive selector: left empty",
			objs: []runtime.Object{
				pod("ns1", "a", web),
				pod("ns1", "b", web),
			},
			workload: "a",
			want:     nil,
			wantWarn: "workload ns1/a (Pod): no label set selects exactly its pods (its labels also select ns1/b); selector left empty, so no workload-scoped policy can be written for it",
		},
		{
			name: "a bare pod named like a Deployment without pods: the Deployment's selector is not used",
			objs: []runtime.Object{
				deployment("ns1", "web", web, template(web, "")),
				pod("ns1", "web", map[string]string{"run": "web"}),
			},
			workload: "web",
			want:     map[string]string{"run": "web"},
			wantWarn: "workload ns1/web is named by a Pod and by a Deployment; Istio reports both under one name, recorded as Pod",
		},
		{
			name:     "no labels at all: left empty",
			objs:     []runtime.Object{pod("ns1", "bare", nil)},
			workload: "bare",
			want:     nil,
			wantWarn: "workload ns1/bare (Pod): its pods share no label that can select them; selector left empty, so no workload-scoped policy can be written for it",
		},
		{
			name: "CronJob: per-run job names are dropped",
			objs: []runtime.Object{
				pod("ns1", "report-29322660-a", map[string]string{"app": "report", "job-name": "report-29322660", "batch.kubernetes.io/job-name": "report-29322660"}, ownedBy("Job", "report-29322660")),
			},
			workload: "report",
			want:     map[string]string{"app": "report"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := readCluster(t, append(tt.objs, ns("ns1", nil))...)
			w := workloadOf(t, res.Inventory, "ns1", tt.workload)
			if diff := cmp.Diff(tt.want, w.Selector); diff != "" {
				t.Errorf("selector mismatch (-want +got):\n%s", diff)
			}
			if tt.wantWarn != "" && !contains(res.Warnings, tt.wantWarn) {
				t.Errorf("warnings = %q, want one %q", res.Warnings, tt.wantWarn)
			}
			if tt.wantWarn == "" && len(res.Warnings) > 0 {
				t.Errorf("warnings = %q, want none", res.Warnings)
			}
		})
	}
}

func TestServicesAndWaypoints(t *testing.T) {
	objs := fixtureObjects(t)
	res, err := FromCluster(context.Background(), fake.NewClientset(objs...), Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := snapshot.NewIndex(&res.Inventory)

	// Named targetPort: resolved through the workload's container port names.
	svc := x.Service("payments", "api")
	api := x.Workload("payments", "api")
	if got := x.ResolveTargetPort(api, svc.Ports[0]); got != 9090 {
		t.Errorf("ResolveTargetPort(payments/api grpc) = %d, want 9090", got)
	}
	if got := x.TargetPorts("shop", "web"); !cmp.Equal(got, []int{8080, 9102}) {
		t.Errorf("TargetPorts(shop/web) = %v, want [8080 9102]", got)
	}

	tests := []struct {
		name string
		got  func() (snapshot.WaypointRef, bool)
		want snapshot.WaypointRef
		ok   bool
	}{
		{
			name: "Service label beats the namespace's",
			got:  func() (snapshot.WaypointRef, bool) { return x.ServiceWaypoint("payments", "api") },
			want: snapshot.WaypointRef{Namespace: "payments", Name: "api-waypoint", ServiceAccount: "api-waypoint"},
			ok:   true,
		},
		{
			name: "namespace label, known waypoint with its service account",
			got:  func() (snapshot.WaypointRef, bool) { return x.ServiceWaypoint("payments", "waypoint") },
			want: snapshot.WaypointRef{Namespace: "payments", Name: "waypoint", ServiceAccount: "waypoint", Known: true},
			ok:   true,
		},
		{
			name: "pod label",
			got:  func() (snapshot.WaypointRef, bool) { return x.WorkloadWaypoint("payments", "api") },
			want: snapshot.WaypointRef{Namespace: "payments", Name: "waypoint", ServiceAccount: "waypoint", Known: true},
			ok:   true,
		},
		{
			name: "no waypoint in a sidecar namespace",
			got:  func() (snapshot.WaypointRef, bool) { return x.ServiceWaypoint("shop", "web") },
			ok:   false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.got()
			if ok != tt.ok || got != tt.want {
				t.Errorf("got %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestWaypointDetection(t *testing.T) {
	yes := true
	wpLabels := func(extra map[string]string) map[string]string {
		return merge(map[string]string{
			"gateway.networking.k8s.io/gateway-name":       "wp",
			"gateway.networking.k8s.io/gateway-class-name": "istio-waypoint",
			"gateway.istio.io/managed":                     "istio.io-mesh-controller",
			"istio.io/dataplane-mode":                      "none",
		}, extra)
	}
	waypointPod := func(name string, labels map[string]string, sa string) *corev1.Pod {
		return pod("ns1", name, labels, serviceAccount(sa), func(p *corev1.Pod) {
			p.Spec.Containers = []corev1.Container{{
				Name: "istio-proxy", Args: []string{"proxy", "waypoint"},
				Env:   []corev1.EnvVar{{Name: "ISTIO_META_WORKLOAD_NAME", Value: strings.TrimSuffix(name, "-abc-x")}},
				Ports: []corev1.ContainerPort{tcpPort("status-port", 15021)},
			}}
			p.GenerateName = strings.TrimSuffix(name, "x")
			p.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: strings.TrimSuffix(name, "-x"), Controller: &yes}}
		})
	}
	tests := []struct {
		name string
		objs []runtime.Object
		want []snapshot.Waypoint
	}{
		{
			name: "current labels, waypoint-for from the Gateway's labels",
			objs: []runtime.Object{waypointPod("wp-abc-x", wpLabels(map[string]string{"istio.io/waypoint-for": "workload", "pod-template-hash": "abc"}), "wp-sa")},
			want: []snapshot.Waypoint{{Namespace: "ns1", Name: "wp", ServiceAccount: "wp-sa", For: "workload"}},
		},
		{
			name: "no waypoint-for: Istio's default, service",
			objs: []runtime.Object{waypointPod("wp-abc-x", wpLabels(map[string]string{"pod-template-hash": "abc"}), "wp")},
			want: []snapshot.Waypoint{{Namespace: "ns1", Name: "wp", ServiceAccount: "wp", For: "service"}},
		},
		{
			name: "before Istio 1.24: istio.io/gateway-name",
			objs: []runtime.Object{waypointPod("old-abc-x", map[string]string{
				"istio.io/gateway-name": "old", "gateway.istio.io/managed": "istio.io-mesh-controller", "pod-template-hash": "abc",
			}, "old")},
			want: []snapshot.Waypoint{{Namespace: "ns1", Name: "old", ServiceAccount: "old", For: "service"}},
		},
		{
			name: "a Deployment without pods",
			objs: []runtime.Object{
				deployment("ns1", "wp", map[string]string{"gateway.networking.k8s.io/gateway-name": "wp"}, template(wpLabels(nil), "wp")),
			},
			want: []snapshot.Waypoint{{Namespace: "ns1", Name: "wp", ServiceAccount: "wp", For: "service"}},
		},
		{
			name: "an ingress Gateway is not a waypoint",
			objs: []runtime.Object{pod("ns1", "gw", map[string]string{
				"gateway.networking.k8s.io/gateway-name": "gw", "gateway.istio.io/managed": "istio.io-gateway-controller",
				"gateway.networking.k8s.io/gateway-class-name": "istio",
			})},
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := readCluster(t, append(tt.objs, ns("ns1", nil))...)
			if diff := cmp.Diff(tt.want, res.Inventory.Waypoints); diff != "" {
				t.Errorf("waypoints mismatch (-want +got):\n%s", diff)
			}
			if len(res.Inventory.Workloads) != 1 {
				t.Errorf("workloads = %+v, want the waypoint recorded as one workload", res.Inventory.Workloads)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	app := map[string]string{"app": "a"}
	res := readCluster(t,
		ns("ns1", nil), sa("ns1", "default"),
		pod("ns1", "a-1", app, ownedBy("StatefulSet", "a"), serviceAccount("ghost"), sidecar("a", false)),
		pod("ns1", "a-2", app, ownedBy("StatefulSet", "a"), serviceAccount("ghost")),
		service("ns1", "a", app, nil, corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}),
		pod("ns2", "stray", map[string]string{"run": "stray"}),
	)
	want := []string{
		`namespace ns2 is not in the inventory input: the mesh mode and waypoint its labels set are unknown`,
		`pods of workload ns1/a differ in mesh modes ("sidecar": 1, "none": 1); recorded "sidecar"`,
		`Service ns1/a port 80 targets the container port named "http", which workload ns1/a does not declare`,
		`workload ns1/a uses service account "ghost", which does not exist in namespace ns1`,
	}
	for _, w := range want {
		if !contains(res.Warnings, w) {
			t.Errorf("warnings = %q\nwant one %q", res.Warnings, w)
		}
	}
}

// pagedClient serves lists in pages of the requested size, and records the
// requests, so that pagination is checked against what a real API server does.
func pagedClient(t *testing.T, expireOnce bool, objs ...runtime.Object) (*fake.Clientset, *[]string) {
	client := fake.NewClientset(objs...)
	var calls []string
	expired := false
	client.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		la := a.(k8stesting.ListActionImpl)
		opts := la.ListOptions
		calls = append(calls, fmt.Sprintf("limit=%d continue=%q", opts.Limit, opts.Continue))
		if expireOnce && !expired && opts.Continue != "" {
			expired = true
			return true, nil, apierrors.NewResourceExpired("the continue token is too old")
		}
		all, err := client.Tracker().List(schema.GroupVersionResource{Version: "v1", Resource: "pods"}, schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, la.Namespace)
		if err != nil {
			return true, nil, err
		}
		items := all.(*corev1.PodList).Items
		start := 0
		if opts.Continue != "" {
			fmt.Sscanf(opts.Continue, "%d", &start)
		}
		end := min(start+int(opts.Limit), len(items))
		page := &corev1.PodList{Items: items[start:end]}
		if end < len(items) {
			page.Continue = fmt.Sprint(end)
		}
		return true, page, nil
	})
	return client, &calls
}

func TestPagination(t *testing.T) {
	var objs []runtime.Object
	objs = append(objs, ns("ns1", nil))
	for i := range 5 {
		objs = append(objs, pod("ns1", fmt.Sprintf("p%d", i), map[string]string{"run": fmt.Sprint(i)}))
	}
	for _, expire := range []bool{false, true} {
		t.Run(fmt.Sprintf("expire=%v", expire), func(t *testing.T) {
			client, calls := pagedClient(t, expire, objs...)
			res, err := FromCluster(context.Background(), client, Options{PageSize: 2})
			if err != nil {
				t.Fatalf("FromCluster() error: %v", err)
			}
			if len(res.Inventory.Workloads) != 5 {
				t.Errorf("got %d workloads, want 5", len(res.Inventory.Workloads))
			}
			want := []string{`limit=2 continue=""`, `limit=2 continue="2"`, `limit=2 continue="4"`}
			if expire {
				// The second page's token has expired: the list starts over.
				want = []string{`limit=2 continue=""`, `limit=2 continue="2"`, `limit=2 continue=""`, `limit=2 continue="2"`, `limit=2 continue="4"`}
			}
			if diff := cmp.Diff(want, *calls); diff != "" {
				t.Errorf("pod list requests mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPermissionErrors(t *testing.T) {
	forbid := func(resource, namespace string) *fake.Clientset {
		client := fake.NewClientset(ns("shop", nil), ns("other", nil))
		client.PrependReactor("list", resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
			if a.GetNamespace() != namespace {
				return false, nil, nil
			}
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "", errors.New(`User "system:serviceaccount:shop:meshgen" cannot list resource "`+resource+`"`))
		})
		client.PrependReactor("get", "namespaces", func(a k8stesting.Action) (bool, runtime.Object, error) {
			if resource != "namespaces" {
				return false, nil, nil
			}
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, "shop", errors.New("no"))
		})
		return client
	}
	tests := []struct {
		name       string
		client     *fake.Clientset
		namespaces []string
		want       string
	}{
		{
			name:       "pods in one namespace",
			client:     forbid("pods", "shop"),
			namespaces: []string{"shop"},
			want:       `listing pods in namespace shop: forbidden: meshgen needs "list" on "pods"`,
		},
		{
			name:   "replicasets in all namespaces",
			client: forbid("replicasets", ""),
			want:   `listing replicasets in all namespaces: forbidden: meshgen needs "list" on "replicasets"`,
		},
		{
			name:       "getting a namespace",
			client:     forbid("namespaces", "x"),
			namespaces: []string{"shop"},
			want:       `getting namespaces: forbidden: meshgen needs "get" on "namespaces"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromCluster(context.Background(), tt.client, Options{Namespaces: tt.namespaces})
			if err == nil || err.Error() != tt.want {
				t.Fatalf("FromCluster() error = %v, want %q", err, tt.want)
			}
			if !IsPermission(err) || !apierrors.IsForbidden(err) {
				t.Errorf("error %v: IsPermission, IsForbidden = %v, %v; want true, true", err, IsPermission(err), apierrors.IsForbidden(err))
			}
			if badinput.Is(err) {
				t.Errorf("error %v is marked bad input; a missing permission is a runtime failure", err)
			}
		})
	}
}

func TestUnknownNamespace(t *testing.T) {
	_, err := FromCluster(context.Background(), fake.NewClientset(ns("shop", nil)), Options{Namespaces: []string{"shpo"}})
	if err == nil || !badinput.Is(err) || !strings.Contains(err.Error(), "shpo") {
		t.Errorf("FromCluster(namespaces=shpo) error = %v, want a bad-input error naming shpo", err)
	}
}

func TestRestrictedNamespaces(t *testing.T) {
	res := readCluster(t) // empty cluster
	if len(res.Inventory.Workloads) != 0 || len(res.Inventory.Namespaces) != 0 {
		t.Errorf("empty cluster gave %+v", res.Inventory)
	}
	client := fake.NewClientset(ns("a", nil), ns("b", nil), pod("a", "pa", map[string]string{"x": "1"}), pod("b", "pb", map[string]string{"x": "1"}))
	got, err := FromCluster(context.Background(), client, Options{Namespaces: []string{"b"}})
	if err != nil {
		t.Fatal(err)
	}
	want := snapshot.Inventory{
		Origin:     "cluster",
		Namespaces: []snapshot.Namespace{{Name: "b", MeshMode: "none"}},
		Workloads: []snapshot.Workload{{
			Namespace: "b", Name: "pb", Kind: "Pod", Selector: map[string]string{"x": "1"}, Labels: map[string]string{"x": "1"},
			ServiceAccount: "default", MeshMode: "none",
		}},
	}
	if diff := cmp.Diff(want, got.Inventory); diff != "" {
		t.Errorf("FromCluster(namespaces=b) mismatch (-want +got):\n%s", diff)
	}
}

func TestClientFromKubeconfig(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/kubeconfig"
	kubeconfig := `apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster:
    server: https://127.0.0.1:6443
users:
- name: u1
  user:
    token: abc
contexts:
- name: one
  context: {cluster: c1, user: u1}
- name: two
  context: {cluster: c1, user: u1, namespace: shop}
current-context: one
`
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", "")
	if _, cfg, err := ClientFromKubeconfig(path, "two"); err != nil || cfg.Host != "https://127.0.0.1:6443" || cfg.BearerToken != "abc" {
		t.Errorf("ClientFromKubeconfig(%q, two) = %v, %v; want the c1 cluster with token abc", path, cfg, err)
	}
	if got := KubeconfigContext(path, ""); got != "one" {
		t.Errorf("KubeconfigContext(%q, \"\") = %q, want one", path, got)
	}
	if got := KubeconfigContext(path, "two"); got != "two" {
		t.Errorf("KubeconfigContext(%q, two) = %q, want two", path, got)
	}
	for _, tc := range []struct{ path, context, want string }{
		{path, "three", `context "three" does not exist`},
		{dir + "/missing", "", "missing"},
	} {
		_, _, err := ClientFromKubeconfig(tc.path, tc.context)
		if err == nil || !badinput.Is(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ClientFromKubeconfig(%q, %q) error = %v, want a bad-input error containing %q", tc.path, tc.context, err, tc.want)
		}
	}
}
