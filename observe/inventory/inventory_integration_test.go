package inventory

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/hack/testenv"
	"github.com/meshgen/meshgen/observe/snapshot"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// cluster creates objects on a real API server the way the controllers would
// have: there is no controller manager or kubelet, so ReplicaSets and pods are
// created here with owner references, and pod status is set through the
// status subresource.
type cluster struct {
	t      *testing.T
	ctx    context.Context
	client kubernetes.Interface
}

func (c *cluster) labelNamespace(name string, labels map[string]string) {
	n, err := c.client.CoreV1().Namespaces().Get(c.ctx, name, metav1.GetOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	for k, v := range labels {
		n.Labels[k] = v
	}
	if _, err := c.client.CoreV1().Namespaces().Update(c.ctx, n, metav1.UpdateOptions{}); err != nil {
		c.t.Fatalf("labelling namespace %s: %v", name, err)
	}
}

func (c *cluster) serviceAccount(namespace, name string) {
	_, err := c.client.CoreV1().ServiceAccounts(namespace).Create(c.ctx, sa(namespace, name), metav1.CreateOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
}

func (c *cluster) service(s *corev1.Service) {
	if _, err := c.client.CoreV1().Services(s.Namespace).Create(c.ctx, s, metav1.CreateOptions{}); err != nil {
		c.t.Fatalf("creating Service %s/%s: %v", s.Namespace, s.Name, err)
	}
}

// deployment creates a Deployment, its ReplicaSet (named with hash) and one
// running pod per entry of podIPs.
func (c *cluster) deployment(namespace, name, hash string, tmpl corev1.PodTemplateSpec, podIPs [][]string, inject func(*corev1.Pod)) {
	t := c.t
	yes := true
	match := map[string]string{}
	for k, v := range tmpl.Labels {
		if k == "app" || k == "gateway.networking.k8s.io/gateway-name" {
			match[k] = v
		}
	}
	d, err := c.client.AppsV1().Deployments(namespace).Create(c.ctx, deployment(namespace, name, match, tmpl), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating Deployment %s/%s: %v", namespace, name, err)
	}
	rsTmpl := *tmpl.DeepCopy()
	rsTmpl.Labels = merge(tmpl.Labels, map[string]string{"pod-template-hash": hash})
	rs := replicaSet(namespace, name+"-"+hash, "", merge(match, map[string]string{"pod-template-hash": hash}), rsTmpl)
	rs.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID, Controller: &yes, BlockOwnerDeletion: &yes}}
	rs, err = c.client.AppsV1().ReplicaSets(namespace).Create(c.ctx, rs, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating ReplicaSet %s/%s: %v", namespace, rs.Name, err)
	}
	for i, addrs := range podIPs {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Namespace:       namespace,
				Name:            rs.Name + "-" + string(rune('a'+i)) + "x7q2",
				GenerateName:    rs.Name + "-",
				Labels:          rsTmpl.Labels,
				Annotations:     rsTmpl.Annotations,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: &yes, BlockOwnerDeletion: &yes}},
			},
			Spec: *rsTmpl.Spec.DeepCopy(),
		}
		if inject != nil {
			inject(p)
		}
		c.runningPod(p, addrs...)
	}
}

// runningPod creates a pod and marks it running with the given IPs.
func (c *cluster) runningPod(p *corev1.Pod, addrs ...string) {
	p, err := c.client.CoreV1().Pods(p.Namespace).Create(c.ctx, p, metav1.CreateOptions{})
	if err != nil {
		c.t.Fatalf("creating pod %s/%s: %v", p.Namespace, p.Name, err)
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.PodIP = addrs[0]
	p.Status.PodIPs = nil
	for _, a := range addrs {
		p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: a})
	}
	if _, err := c.client.CoreV1().Pods(p.Namespace).UpdateStatus(c.ctx, p, metav1.UpdateOptions{}); err != nil {
		c.t.Fatalf("setting the status of pod %s/%s: %v", p.Namespace, p.Name, err)
	}
}

func injectSidecar(workload string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Labels = merge(p.Labels, map[string]string{"security.istio.io/tlsMode": "istio", "service.istio.io/canonical-name": workload})
		p.Annotations = merge(p.Annotations, map[string]string{"sidecar.istio.io/status": `{"containers":["istio-proxy"],"revision":"default"}`})
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{
			Name:  "istio-proxy",
			Image: "docker.io/istio/proxyv2:1.28.1",
			Args:  []string{"proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local"},
			Env:   []corev1.EnvVar{{Name: "ISTIO_META_WORKLOAD_NAME", Value: workload}},
			Ports: []corev1.ContainerPort{{Name: "http-envoy-prom", ContainerPort: 15090}},
		})
	}
}

func appTemplate(labels map[string]string, sa, image string, ps ...corev1.ContainerPort) corev1.PodTemplateSpec {
	tmpl := template(labels, sa, ps...)
	tmpl.Spec.Containers[0].Image = image
	return tmpl
}

func TestFromClusterIntegration(t *testing.T) {
	k := testenv.Kube(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client, err := kubernetes.NewForConfig(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, ctx: ctx, client: client}

	side := k.Namespace(t)
	amb := k.Namespace(t)
	c.labelNamespace(side, map[string]string{"istio-injection": "enabled"})
	c.labelNamespace(amb, map[string]string{"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint"})

	// The sidecar namespace: a Deployment with two injected pods, a Service
	// with a named targetPort, a bare pod with no service account.
	// No controller manager: make the "default" service account its
	// ServiceAccount controller would.
	c.serviceAccount(side, "default")
	c.serviceAccount(side, "web")
	c.deployment(side, "web", "6d5f8b7c9", appTemplate(map[string]string{"app": "web", "version": "v1"}, "web", "registry.example.com/web:1", tcpPort("http", 8080)),
		[][]string{{"10.1.0.10", "fd00:1::a"}, {"10.1.0.11"}}, injectSidecar("web"))
	c.service(service(side, "web", map[string]string{"app": "web"}, nil, corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}))
	debug := pod(side, "debug", map[string]string{"run": "debug"})
	debug.Spec.Containers[0].Image = "busybox"
	c.runningPod(debug, "10.1.0.20")

	// The ambient namespace: an app whose pods bind the waypoint, and the
	// waypoint as istiod's gateway controller deploys it.
	c.serviceAccount(amb, "api")
	c.serviceAccount(amb, "waypoint")
	c.deployment(amb, "api", "7c8d9f6b5", appTemplate(map[string]string{"app": "api", "istio.io/use-waypoint": "waypoint"}, "api", "registry.example.com/api:1", tcpPort("grpc", 9090)),
		[][]string{{"10.2.0.10"}}, nil)
	wpLabels := map[string]string{
		"gateway.istio.io/managed":                     "istio.io-mesh-controller",
		"gateway.networking.k8s.io/gateway-class-name": "istio-waypoint",
		"gateway.networking.k8s.io/gateway-name":       "waypoint",
		"istio.io/dataplane-mode":                      "none",
		"istio.io/waypoint-for":                        "service",
		"sidecar.istio.io/inject":                      "false",
	}
	wpTmpl := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: wpLabels},
		Spec: corev1.PodSpec{ServiceAccountName: "waypoint", Containers: []corev1.Container{{
			Name: "istio-proxy", Image: "docker.io/istio/proxyv2:1.28.1",
			Args:  []string{"proxy", "waypoint", "--domain", "$(POD_NAMESPACE).svc.cluster.local"},
			Env:   []corev1.EnvVar{{Name: "ISTIO_META_WORKLOAD_NAME", Value: "waypoint"}},
			Ports: []corev1.ContainerPort{tcpPort("status-port", 15021), tcpPort("http-envoy-prom", 15090)},
		}}},
	}
	c.deployment(amb, "waypoint", "5b6c7d8e9f", wpTmpl, [][]string{{"10.2.0.20"}}, nil)
	grpc := "grpc"
	all := "all"
	c.service(service(amb, "api", map[string]string{"app": "api"}, nil, corev1.ServicePort{Name: "grpc", Port: 9090, TargetPort: intstr.FromString("grpc"), AppProtocol: &grpc}))
	c.service(service(amb, "waypoint", map[string]string{"gateway.networking.k8s.io/gateway-name": "waypoint"}, wpLabels,
		corev1.ServicePort{Name: "mesh", Port: 15008, AppProtocol: &all}))

	tcp := func(name string, port int) snapshot.ContainerPort {
		return snapshot.ContainerPort{Name: name, Port: port, Protocol: "TCP"}
	}
	want := snapshot.Inventory{
		Origin: snapshot.InventoryCluster,
		Namespaces: []snapshot.Namespace{
			{Name: amb, Labels: map[string]string{"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint", "kubernetes.io/metadata.name": amb}, MeshMode: "ambient", Waypoint: "waypoint"},
			{Name: side, Labels: map[string]string{"istio-injection": "enabled", "kubernetes.io/metadata.name": side}, MeshMode: "sidecar"},
		},
		Workloads: []snapshot.Workload{
			{
				Namespace: amb, Name: "api", Kind: "Deployment",
				Selector: map[string]string{"app": "api"}, Labels: map[string]string{"app": "api", "istio.io/use-waypoint": "waypoint"},
				ServiceAccount: "api", Ports: []snapshot.ContainerPort{tcp("grpc", 9090)}, PodIPs: []string{"10.2.0.10"},
				MeshMode: "ambient", Waypoint: "waypoint",
			},
			{
				Namespace: amb, Name: "waypoint", Kind: "Deployment",
				Selector: map[string]string{"gateway.networking.k8s.io/gateway-name": "waypoint"}, Labels: wpLabels,
				ServiceAccount: "waypoint", Ports: []snapshot.ContainerPort{tcp("status-port", 15021), tcp("http-envoy-prom", 15090)},
				PodIPs: []string{"10.2.0.20"}, MeshMode: "none",
			},
			{
				// No service account set, and the ServiceAccount admission
				// plugin is off here: "default".
				Namespace: side, Name: "debug", Kind: "Pod",
				Selector: map[string]string{"run": "debug"}, Labels: map[string]string{"run": "debug"},
				ServiceAccount: "default", PodIPs: []string{"10.1.0.20"}, MeshMode: "none",
			},
			{
				Namespace: side, Name: "web", Kind: "Deployment",
				Selector: map[string]string{"app": "web"}, Labels: map[string]string{"app": "web", "version": "v1"},
				ServiceAccount: "web", Ports: []snapshot.ContainerPort{tcp("http", 8080)},
				PodIPs: []string{"10.1.0.10", "10.1.0.11", "fd00:1::a"}, MeshMode: "sidecar",
			},
		},
		Services: []snapshot.Service{
			{
				Namespace: amb, Name: "api", Selector: map[string]string{"app": "api"},
				Ports:     []snapshot.ServicePort{{Name: "grpc", Port: 9090, TargetName: "grpc", Protocol: "TCP", AppProtocol: "grpc"}},
				Workloads: []string{"api"},
			},
			{
				// targetPort unset: the API server defaults it to the port.
				Namespace: amb, Name: "waypoint", Selector: map[string]string{"gateway.networking.k8s.io/gateway-name": "waypoint"},
				Ports:     []snapshot.ServicePort{{Name: "mesh", Port: 15008, TargetPort: 15008, Protocol: "TCP", AppProtocol: "all"}},
				Workloads: []string{"waypoint"},
			},
			{
				Namespace: side, Name: "web", Selector: map[string]string{"app": "web"},
				Ports:     []snapshot.ServicePort{{Name: "http", Port: 80, TargetName: "http", Protocol: "TCP"}},
				Workloads: []string{"web"},
			},
		},
		Waypoints: []snapshot.Waypoint{{Namespace: amb, Name: "waypoint", ServiceAccount: "waypoint", For: "service"}},
	}
	// Namespace names end in a random suffix, so sort the expectation the
	// way the inventory is sorted.
	norm := snapshot.New()
	norm.Inventory = want
	norm.Normalize()
	want = norm.Inventory

	// Through a kubeconfig file and a context, as the command line does.
	kc, _, err := ClientFromKubeconfig(k.Kubeconfig, testenv.KubeContext)
	if err != nil {
		t.Fatalf("ClientFromKubeconfig() error: %v", err)
	}
	if got := KubeconfigContext(k.Kubeconfig, ""); got != testenv.KubeContext {
		t.Errorf("KubeconfigContext() = %q, want %q", got, testenv.KubeContext)
	}
	res, err := FromCluster(ctx, kc, Options{Namespaces: []string{side, amb}, PageSize: 1})
	if err != nil {
		t.Fatalf("FromCluster() error: %v", err)
	}
	if diff := cmp.Diff(want, res.Inventory); diff != "" {
		t.Errorf("FromCluster() inventory mismatch (-want +got):\n%s", diff)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("FromCluster() warnings = %q, want none", res.Warnings)
	}

	// The same objects as kubectl prints them, read from a file.
	path := writeKubectlList(t, ctx, client, side, amb)
	fromFile, err := FromFile(path, Options{Namespaces: []string{side, amb}})
	if err != nil {
		t.Fatalf("FromFile() error: %v", err)
	}
	want.Origin = snapshot.InventoryFile
	if diff := cmp.Diff(want, fromFile.Inventory); diff != "" {
		t.Errorf("FromFile() inventory mismatch (-want +got):\n%s", diff)
	}
}

// writeKubectlList lists the namespaces' objects and writes them the way
// `kubectl get ... -o json` does: a v1 List with apiVersion and kind set on
// every item, indented with four spaces.
func writeKubectlList(t *testing.T, ctx context.Context, client kubernetes.Interface, namespaces ...string) string {
	t.Helper()
	var items []any
	add := func(apiVersion, kind string, obj any, err error) {
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		var list struct{ Items []map[string]any }
		if err := json.Unmarshal(b, &list); err != nil {
			t.Fatal(err)
		}
		for _, it := range list.Items {
			it["apiVersion"], it["kind"] = apiVersion, kind
			items = append(items, it)
		}
	}
	for _, n := range namespaces {
		o := metav1.ListOptions{}
		nsObj, err := client.CoreV1().Namespaces().Get(ctx, n, metav1.GetOptions{})
		add("v1", "Namespace", &corev1.NamespaceList{Items: []corev1.Namespace{*nsObj}}, err)
		l1, err := client.CoreV1().ServiceAccounts(n).List(ctx, o)
		add("v1", "ServiceAccount", l1, err)
		l2, err := client.CoreV1().Services(n).List(ctx, o)
		add("v1", "Service", l2, err)
		l3, err := client.AppsV1().Deployments(n).List(ctx, o)
		add("apps/v1", "Deployment", l3, err)
		l4, err := client.AppsV1().StatefulSets(n).List(ctx, o)
		add("apps/v1", "StatefulSet", l4, err)
		l5, err := client.AppsV1().DaemonSets(n).List(ctx, o)
		add("apps/v1", "DaemonSet", l5, err)
		l6, err := client.AppsV1().ReplicaSets(n).List(ctx, o)
		add("apps/v1", "ReplicaSet", l6, err)
		l7, err := client.CoreV1().Pods(n).List(ctx, o)
		add("v1", "Pod", l7, err)
	}
	b, err := json.MarshalIndent(map[string]any{"apiVersion": "v1", "items": items, "kind": "List", "metadata": map[string]any{"resourceVersion": ""}}, "", "    ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "inventory.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// permissionsFromDocs reads the rules of the ClusterRole in docs/permissions.md,
// so that the test checks the documented permissions, not a copy of them.
func permissionsFromDocs(t *testing.T) []rbacv1.PolicyRule {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "permissions.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	yamlText, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/permissions.md has no ```yaml block")
	}
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal([]byte(yamlText), &role); err != nil {
		t.Fatalf("decoding the ClusterRole in docs/permissions.md: %v", err)
	}
	if role.Kind != "ClusterRole" || len(role.Rules) == 0 {
		t.Fatalf("docs/permissions.md: got %s with %d rules, want a ClusterRole with rules", role.Kind, len(role.Rules))
	}
	return role.Rules
}

func TestPermissionsIntegration(t *testing.T) {
	k := testenv.Kube(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := kubernetes.NewForConfig(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	n := k.Namespace(t)
	c := &cluster{t: t, ctx: ctx, client: admin}
	c.serviceAccount(n, "app")
	p := pod(n, "app", map[string]string{"run": "app"}, serviceAccount("app"))
	p.Spec.Containers[0].Image = "busybox"
	c.runningPod(p, "10.3.0.1")

	documented := permissionsFromDocs(t)
	tests := []struct {
		name    string
		rules   []rbacv1.PolicyRule
		wantErr string
	}{
		{
			name:  "the documented permissions are enough",
			rules: documented,
		},
		{
			name:    "without list on pods",
			rules:   withoutResource(documented, "pods"),
			wantErr: `listing pods in namespace ` + n + `: forbidden: meshgen needs "list" on "pods"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The namespaced rules go into a Role in n; namespaces are
			// cluster-scoped, so that rule is granted by a ClusterRole.
			cfg, _ := k.RestrictedConfig(t, n, namespacedRules(tt.rules))
			restricted, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			grantNamespaceGet(t, ctx, admin, restricted, n)
			res, err := FromCluster(ctx, restricted, Options{Namespaces: []string{n}})
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("FromCluster() error = %v, want %q", err, tt.wantErr)
				}
				if !IsPermission(err) {
					t.Errorf("FromCluster() error %v is not a *PermissionError", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromCluster() error: %v", err)
			}
			if w := snapshot.NewIndex(&res.Inventory).Workload(n, "app"); w == nil || w.ServiceAccount != "app" {
				t.Errorf("FromCluster() workloads = %+v, want %s/app with service account app", res.Inventory.Workloads, n)
			}
		})
	}
}

func namespacedRules(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	return withoutResource(rules, "namespaces")
}

func withoutResource(rules []rbacv1.PolicyRule, resource string) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, r := range rules {
		r = *r.DeepCopy()
		var keep []string
		for _, res := range r.Resources {
			if res != resource {
				keep = append(keep, res)
			}
		}
		if len(keep) > 0 {
			r.Resources = keep
			out = append(out, r)
		}
	}
	return out
}

// grantNamespaceGet lets the restricted service account (the one the
// restricted client authenticates as) get namespace n, and waits until the
// grant is in effect.
func grantNamespaceGet(t *testing.T, ctx context.Context, admin, restricted kubernetes.Interface, n string) {
	t.Helper()
	sas, err := admin.CoreV1().ServiceAccounts(n).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var subjects []rbacv1.Subject
	for _, s := range sas.Items {
		if strings.HasPrefix(s.Name, "meshgen-restricted-") {
			subjects = append(subjects, rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: s.Name, Namespace: n})
		}
	}
	name := n + "-get-namespace"
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get"}, ResourceNames: []string{n}}},
	}
	if _, err := admin.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   subjects,
	}
	if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		if !strings.Contains(err.Error(), "already exists") {
			t.Fatal(err)
		}
		if _, err := admin.RbacV1().ClusterRoleBindings().Update(ctx, binding, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_ = admin.RbacV1().ClusterRoleBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
		_ = admin.RbacV1().ClusterRoles().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := restricted.CoreV1().Namespaces().Get(ctx, n, metav1.GetOptions{})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the grant to get namespace %s did not take effect: %v", n, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
