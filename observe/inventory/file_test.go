package inventory

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/meshgen/meshgen/observe/badinput"
	"github.com/meshgen/meshgen/observe/snapshot"
)

// fixtureInventory is the inventory of testdata/cluster.{json,yaml}, worked
// out by hand from the objects in the file.
func fixtureInventory(origin string) snapshot.Inventory {
	tcp := func(name string, port int) snapshot.ContainerPort {
		return snapshot.ContainerPort{Name: name, Port: port, Protocol: "TCP"}
	}
	return snapshot.Inventory{
		Origin: origin,
		Namespaces: []snapshot.Namespace{
			{Name: "default", Labels: map[string]string{"kubernetes.io/metadata.name": "default"}, MeshMode: "none"},
			{Name: "istio-system", Labels: map[string]string{"kubernetes.io/metadata.name": "istio-system"}, MeshMode: "none"},
			{Name: "payments", Labels: map[string]string{
				"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint", "kubernetes.io/metadata.name": "payments",
			}, MeshMode: "ambient", Waypoint: "waypoint"},
			{Name: "shop", Labels: map[string]string{"istio-injection": "enabled", "kubernetes.io/metadata.name": "shop"}, MeshMode: "sidecar"},
		},
		Workloads: []snapshot.Workload{
			{
				// Gateway pod: its proxy is the workload, so its ports count;
				// its ReplicaSet is not in the file, so the Deployment is
				// found by the name without the pod-template-hash.
				Namespace: "istio-system", Name: "istio-ingressgateway", Kind: "Deployment",
				Selector:       map[string]string{"app": "istio-ingressgateway", "istio": "ingressgateway"},
				Labels:         map[string]string{"app": "istio-ingressgateway", "istio": "ingressgateway", "sidecar.istio.io/inject": "true"},
				ServiceAccount: "istio-ingressgateway",
				Ports:          []snapshot.ContainerPort{tcp("http2", 8080), tcp("https", 8443), tcp("status-port", 15021), tcp("http-envoy-prom", 15090)},
				PodIPs:         []string{"10.244.1.7"},
				MeshMode:       "sidecar",
			},
			{
				Namespace: "istio-system", Name: "istiod", Kind: "Deployment",
				Selector: map[string]string{"istio": "pilot"},
				Labels: map[string]string{
					"app": "istiod", "install.operator.istio.io/owning-resource": "unknown", "istio": "pilot",
					"istio.io/dataplane-mode": "none", "istio.io/rev": "default", "operator.istio.io/component": "Pilot",
					"sidecar.istio.io/inject": "false",
				},
				ServiceAccount: "istiod",
				Ports:          []snapshot.ContainerPort{tcp("", 8080), tcp("", 15010), tcp("", 15017)},
				PodIPs:         []string{"10.244.1.5"},
				MeshMode:       "none",
			},
			{
				Namespace: "istio-system", Name: "ztunnel", Kind: "DaemonSet",
				Selector:       map[string]string{"app": "ztunnel"},
				Labels:         map[string]string{"app": "ztunnel", "istio.io/dataplane-mode": "none", "sidecar.istio.io/inject": "false"},
				ServiceAccount: "ztunnel",
				Ports:          []snapshot.ContainerPort{tcp("ztunnel-stats", 15020)},
				PodIPs:         []string{"10.244.1.4"},
				MeshMode:       "none",
			},
			{
				Namespace: "payments", Name: "api", Kind: "Deployment",
				Selector:       map[string]string{"app": "api"},
				Labels:         map[string]string{"app": "api", "istio.io/use-waypoint": "waypoint"},
				ServiceAccount: "api",
				Ports:          []snapshot.ContainerPort{tcp("grpc", 9090)},
				PodIPs:         []string{"10.244.1.50"},
				MeshMode:       "ambient",
				Waypoint:       "waypoint",
			},
			{
				Namespace: "payments", Name: "waypoint", Kind: "Deployment",
				Selector: map[string]string{"gateway.networking.k8s.io/gateway-name": "waypoint"},
				Labels: map[string]string{
					"gateway.istio.io/managed": "istio.io-mesh-controller", "gateway.networking.k8s.io/gateway-class-name": "istio-waypoint",
					"gateway.networking.k8s.io/gateway-name": "waypoint", "istio.io/dataplane-mode": "none", "istio.io/waypoint-for": "all",
					"service.istio.io/canonical-name": "waypoint", "service.istio.io/canonical-revision": "latest", "sidecar.istio.io/inject": "false",
				},
				ServiceAccount: "waypoint",
				Ports:          []snapshot.ContainerPort{tcp("metrics", 15020), tcp("status-port", 15021), tcp("http-envoy-prom", 15090)},
				PodIPs:         []string{"10.244.1.60"},
				MeshMode:       "none",
			},
			{
				// Scaled to zero, selector with matchExpressions: described by
				// its template.
				Namespace: "payments", Name: "worker", Kind: "Deployment",
				Selector:       map[string]string{"app": "worker", "istio.io/dataplane-mode": "none", "tier": "batch"},
				Labels:         map[string]string{"app": "worker", "istio.io/dataplane-mode": "none", "tier": "batch"},
				ServiceAccount: "default",
				MeshMode:       "none",
			},
			{
				Namespace: "shop", Name: "db", Kind: "StatefulSet",
				Selector:       map[string]string{"app": "db"},
				Labels:         map[string]string{"app": "db"},
				ServiceAccount: "db",
				Ports:          []snapshot.ContainerPort{tcp("tcp-postgres", 5432)},
				PodIPs:         []string{"10.244.1.14"},
				MeshMode:       "sidecar",
			},
			{
				Namespace: "shop", Name: "debug", Kind: "Pod",
				Selector:       map[string]string{"run": "debug", "sidecar.istio.io/inject": "false"},
				Labels:         map[string]string{"run": "debug", "sidecar.istio.io/inject": "false"},
				ServiceAccount: "default",
				PodIPs:         []string{"10.244.1.30"},
				MeshMode:       "none",
			},
			{
				// Completed: no pod IP is recorded.
				Namespace: "shop", Name: "migrate", Kind: "Job",
				Selector:       map[string]string{"batch.kubernetes.io/job-name": "migrate", "job-name": "migrate", "sidecar.istio.io/inject": "false"},
				Labels:         map[string]string{"batch.kubernetes.io/job-name": "migrate", "job-name": "migrate", "sidecar.istio.io/inject": "false"},
				ServiceAccount: "default",
				MeshMode:       "none",
			},
			{
				Namespace: "shop", Name: "report", Kind: "CronJob",
				Selector:       map[string]string{"app": "report"},
				Labels:         map[string]string{"app": "report"},
				ServiceAccount: "default",
				PodIPs:         []string{"10.244.1.40"},
				MeshMode:       "sidecar",
			},
			{
				// Two ReplicaSets mid-rollout: the template's version label
				// is not on the old pod, the selector is the Deployment's.
				Namespace: "shop", Name: "web", Kind: "Deployment",
				Selector:       map[string]string{"app": "web"},
				Labels:         map[string]string{"app": "web", "version": "v2"},
				ServiceAccount: "web",
				Ports:          []snapshot.ContainerPort{tcp("http", 8080), tcp("metrics", 9102)},
				PodIPs:         []string{"10.244.1.12", "10.244.1.19", "fd00:10:244:1::c"},
				MeshMode:       "sidecar",
			},
		},
		Services: []snapshot.Service{
			{Namespace: "default", Name: "kubernetes", Ports: []snapshot.ServicePort{{Name: "https", Port: 443, TargetPort: 6443, Protocol: "TCP"}}},
			{
				Namespace: "istio-system", Name: "istio-ingressgateway",
				Selector: map[string]string{"app": "istio-ingressgateway", "istio": "ingressgateway"},
				Ports: []snapshot.ServicePort{
					{Name: "http2", Port: 80, TargetPort: 8080, Protocol: "TCP"},
					{Name: "https", Port: 443, TargetPort: 8443, Protocol: "TCP"},
					{Name: "status-port", Port: 15021, TargetPort: 15021, Protocol: "TCP"},
				},
				Workloads: []string{"istio-ingressgateway"},
			},
			{
				Namespace: "istio-system", Name: "istiod",
				Selector: map[string]string{"app": "istiod", "istio": "pilot"},
				Ports: []snapshot.ServicePort{
					{Name: "https-webhook", Port: 443, TargetPort: 15017, Protocol: "TCP"},
					{Name: "grpc-xds", Port: 15010, TargetPort: 15010, Protocol: "TCP"},
					{Name: "https-dns", Port: 15012, TargetPort: 15012, Protocol: "TCP"},
					{Name: "http-monitoring", Port: 15014, TargetPort: 15014, Protocol: "TCP"},
				},
				Workloads: []string{"istiod"},
			},
			{
				Namespace: "payments", Name: "api",
				Selector:  map[string]string{"app": "api"},
				Ports:     []snapshot.ServicePort{{Name: "grpc", Port: 9090, TargetName: "grpc", Protocol: "TCP", AppProtocol: "grpc"}},
				Waypoint:  "api-waypoint",
				Workloads: []string{"api"},
			},
			{
				Namespace: "payments", Name: "waypoint",
				Selector: map[string]string{"gateway.networking.k8s.io/gateway-name": "waypoint"},
				Ports: []snapshot.ServicePort{
					{Name: "mesh", Port: 15008, TargetPort: 15008, Protocol: "TCP", AppProtocol: "all"},
					{Name: "status-port", Port: 15021, TargetPort: 15021, Protocol: "TCP", AppProtocol: "tcp"},
				},
				Workloads: []string{"waypoint"},
			},
			{
				Namespace: "shop", Name: "db",
				Selector:  map[string]string{"app": "db"},
				Ports:     []snapshot.ServicePort{{Name: "tcp-postgres", Port: 5432, TargetPort: 5432, Protocol: "TCP", AppProtocol: "tcp"}},
				Workloads: []string{"db"},
			},
			{
				Namespace: "shop", Name: "web",
				Selector:  map[string]string{"app": "web"},
				Ports:     []snapshot.ServicePort{{Name: "http", Port: 80, TargetName: "http", Protocol: "TCP"}},
				Workloads: []string{"web"},
			},
		},
		Waypoints: []snapshot.Waypoint{{Namespace: "payments", Name: "waypoint", ServiceAccount: "waypoint", For: "all"}},
	}
}

func TestFromFileFixtures(t *testing.T) {
	for _, name := range []string{"cluster.json", "cluster.yaml", "cluster.json.gz"} {
		t.Run(name, func(t *testing.T) {
			res, err := FromFile(filepath.Join("testdata", name), Options{})
			if err != nil {
				t.Fatalf("FromFile(%s) error: %v", name, err)
			}
			if diff := cmp.Diff(fixtureInventory(snapshot.InventoryFile), res.Inventory); diff != "" {
				t.Errorf("FromFile(%s) inventory mismatch (-want +got):\n%s", name, diff)
			}
			if len(res.Warnings) != 0 {
				t.Errorf("FromFile(%s) warnings = %q, want none", name, res.Warnings)
			}
			if res.Objects != 45 || res.Skipped != 0 {
				t.Errorf("FromFile(%s) objects, skipped = %d, %d, want 45, 0", name, res.Objects, res.Skipped)
			}
		})
	}
}

// fixtureObjects decodes the items of testdata/cluster.json into typed objects.
func fixtureObjects(t testing.TB) []runtime.Object {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "cluster.json"))
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Items []json.RawMessage }
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	var objs []runtime.Object
	for _, raw := range list.Items {
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(raw, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, obj)
	}
	return objs
}

// The same objects read from a file and from a cluster give the same
// inventory, apart from the origin.
func TestFileAndClusterAgree(t *testing.T) {
	objs := fixtureObjects(t)
	fromCluster, err := FromCluster(context.Background(), fake.NewClientset(objs...), Options{PageSize: 7})
	if err != nil {
		t.Fatalf("FromCluster() error: %v", err)
	}
	fromFile, err := FromFile(filepath.Join("testdata", "cluster.json"), Options{})
	if err != nil {
		t.Fatalf("FromFile() error: %v", err)
	}
	if fromCluster.Inventory.Origin != snapshot.InventoryCluster {
		t.Errorf("FromCluster() origin = %q, want %q", fromCluster.Inventory.Origin, snapshot.InventoryCluster)
	}
	fromCluster.Inventory.Origin = snapshot.InventoryFile
	if diff := cmp.Diff(fromFile.Inventory, fromCluster.Inventory); diff != "" {
		t.Errorf("inventories differ (-file +cluster):\n%s", diff)
	}
	if diff := cmp.Diff(fromFile.Warnings, fromCluster.Warnings); diff != "" {
		t.Errorf("warnings differ (-file +cluster):\n%s", diff)
	}
}

func TestFromFileNamespaces(t *testing.T) {
	res, err := FromFile(filepath.Join("testdata", "cluster.json"), Options{Namespaces: []string{"shop"}})
	if err != nil {
		t.Fatalf("FromFile() error: %v", err)
	}
	var got []string
	for _, w := range res.Inventory.Workloads {
		got = append(got, w.Namespace+"/"+w.Name)
	}
	for _, n := range res.Inventory.Namespaces {
		got = append(got, "ns:"+n.Name)
	}
	want := []string{"shop/db", "shop/debug", "shop/migrate", "shop/report", "shop/web", "ns:shop"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FromFile(namespaces=shop) mismatch (-want +got):\n%s", diff)
	}
}

func TestFromFileSingleObjectAndUnknownKinds(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		wantSkipped int64
		wantWarn    string
		wantWL      []string
	}{
		{
			name:   "single pod as JSON",
			in:     `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"solo","namespace":"ns1","labels":{"app":"solo"}},"spec":{"containers":[{"name":"c"}]},"status":{"phase":"Running","podIP":"10.0.0.9"}}`,
			wantWL: []string{"ns1/solo"},
		},
		{
			name:   "single pod as YAML",
			in:     "apiVersion: v1\nkind: Pod\nmetadata:\n  name: solo\n  namespace: ns1\nspec:\n  containers:\n  - name: c\n",
			wantWL: []string{"ns1/solo"},
		},
		{
			name: "unknown kinds are skipped and counted",
			in: `{"apiVersion":"v1","items":[
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"ns1"}},
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns1"},"spec":{"containers":[{"name":"c"}]}},
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b","namespace":"ns1"}},
{"apiVersion":"extensions/v1beta1","kind":"Deployment","metadata":{"name":"old","namespace":"ns1"}}
],"kind":"List","metadata":{"resourceVersion":""}}`,
			wantSkipped: 3,
			wantWarn:    "skipped 3 objects of kinds the inventory does not use (extensions/v1beta1 Deployment: 1, v1 ConfigMap: 2)",
			wantWL:      []string{"ns1/p"},
		},
		{
			name:   "YAML list with indented items and items: [] elsewhere",
			in:     "apiVersion: v1\nitems:\n  - apiVersion: v1\n    kind: Pod\n    metadata:\n      name: p\n      namespace: ns1\n    spec:\n      containers:\n      - name: c\n\n        image: x\nkind: List\n---\napiVersion: v1\nitems: []\nkind: List\n",
			wantWL: []string{"ns1/p"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := FromReader(strings.NewReader(tt.in), Options{})
			if err != nil {
				t.Fatalf("FromReader() error: %v", err)
			}
			var got []string
			for _, w := range res.Inventory.Workloads {
				got = append(got, w.Namespace+"/"+w.Name)
			}
			if diff := cmp.Diff(tt.wantWL, got); diff != "" {
				t.Errorf("workloads mismatch (-want +got):\n%s", diff)
			}
			if res.Skipped != tt.wantSkipped {
				t.Errorf("Skipped = %d, want %d", res.Skipped, tt.wantSkipped)
			}
			if tt.wantWarn != "" && !contains(res.Warnings, tt.wantWarn) {
				t.Errorf("warnings = %q, want one %q", res.Warnings, tt.wantWarn)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestFromFileDamaged(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "cluster.json"))
	if err != nil {
		t.Fatal(err)
	}
	goodYAML, err := os.ReadFile(filepath.Join("testdata", "cluster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The ingress gateway pod (items[35]) has its generateName on this line.
	podLine := 1 + bytes.Count(good[:bytes.Index(good, []byte(`"generateName": "istio-ingressgateway-7c9d5b6f48-"`))], []byte("\n"))
	tests := []struct {
		name string
		data []byte
		gz   bool
		// want are substrings of the error.
		want []string
	}{
		{
			name: "truncated JSON",
			data: good[:len(good)/2],
			want: []string{"cluster.json", "items[", "truncated"},
		},
		{
			name: "truncated gzip",
			data: good[:len(good)/2],
			gz:   true,
			want: []string{"truncated"},
		},
		{
			name: "wrong type in an item",
			data: bytes.Replace(good, []byte(`"generateName": "istio-ingressgateway-7c9d5b6f48-"`), []byte(`"generateName": 7`), 1),
			want: []string{"items[35]", "line " + strconv.Itoa(podLine), "decoding Pod", "generateName"},
		},
		{
			name: "syntax error in an item",
			data: bytes.Replace(good, []byte(`"generateName": "istio-ingressgateway-7c9d5b6f48-"`), []byte(`"generateName": "x" "y"`), 1),
			want: []string{"items[35]", "line " + strconv.Itoa(podLine), "invalid character"},
		},
		{
			name: "item without kind",
			data: []byte(`{"apiVersion":"v1","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}},` + "\n" + `{"metadata":{"name":"x"}}],"kind":"List"}`),
			want: []string{"items[1]", "line 2", "no kind"},
		},
		{
			name: "pod without namespace",
			data: []byte(`{"apiVersion":"v1","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}],"kind":"List"}`),
			want: []string{"items[0]", "Pod x has no metadata.namespace"},
		},
		{
			name: "not a list",
			data: []byte(`[1,2]`),
			want: []string{"cluster.json"},
		},
		{
			name: "empty",
			data: []byte("  \n"),
			want: []string{"empty"},
		},
		{
			name: "data after the list",
			data: append(append([]byte{}, good...), []byte(`{}`)...),
			want: []string{"unexpected data after the List"},
		},
		{
			name: "only unknown kinds",
			data: []byte(`{"apiVersion":"v1","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"b"}}],"kind":"List"}`),
			want: []string{"found no namespaces"},
		},
		{
			name: "YAML item with a type error",
			data: bytes.Replace(goodYAML, []byte("    generateName: istio-ingressgateway-7c9d5b6f48-\n"), []byte("    generateName: [1, 2]\n"), 1),
			want: []string{"items[35]", "line ", "decoding Pod"},
		},
		{
			name: "YAML broken indentation",
			data: []byte("apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: a\n   labels: x\nkind: List\n"),
			// The parser blames the mapping the bad line breaks (file line 6).
			want: []string{"items[0]", "line 6", "YAML"},
		},
		{
			name: "YAML flow items",
			data: []byte("apiVersion: v1\nitems: [{kind: Pod}]\nkind: List\n"),
			want: []string{"line 2", "flow style"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cluster.json")
			data := tt.data
			if tt.gz {
				var buf bytes.Buffer
				zw := gzip.NewWriter(&buf)
				zw.Write(data)
				zw.Close()
				data = buf.Bytes()
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := FromFile(path, Options{})
			if err == nil {
				t.Fatalf("FromFile() = nil error, want one containing %q", tt.want)
			}
			t.Logf("error: %v", err)
			if !badinput.Is(err) {
				t.Errorf("FromFile() error %v is not marked as bad input", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("FromFile() error = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestFromFileMissing(t *testing.T) {
	_, err := FromFile(filepath.Join(t.TempDir(), "nope.json"), Options{})
	if err == nil || !badinput.Is(err) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("FromFile(missing) error = %v, want a bad-input not-exist error", err)
	}
}
