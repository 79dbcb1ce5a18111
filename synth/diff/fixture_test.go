package diff_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/meshgen/meshgen/observe/snapshot"
	"github.com/meshgen/meshgen/synth/diff"
	"github.com/meshgen/meshgen/synth/policyset"
)

var (
	first = time.Date(2026, 11, 13, 12, 0, 0, 0, time.UTC)
	last  = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
)

// shopSnapshot is the traffic of testdata/shop: web/frontend calls cart
// (GET /api/items 1204 times, POST /api/cart 300 times) and catalog (GET
// /products 500 times); prometheus scrapes cart's /metrics 100 times.
func shopSnapshot() *snapshot.Snapshot {
	s := snapshot.New()
	s.Inventory = snapshot.Inventory{
		Origin: snapshot.InventoryFile,
		Namespaces: []snapshot.Namespace{
			{Name: "monitoring", MeshMode: snapshot.MeshSidecar},
			{Name: "shop", MeshMode: snapshot.MeshSidecar},
			{Name: "web", MeshMode: snapshot.MeshSidecar},
		},
		Workloads: []snapshot.Workload{
			{Namespace: "shop", Name: "cart", Kind: "Deployment", Selector: map[string]string{"app": "cart"}, Labels: map[string]string{"app": "cart"}, ServiceAccount: "cart", Ports: []snapshot.ContainerPort{{Port: 8080}}, MeshMode: snapshot.MeshSidecar},
			{Namespace: "shop", Name: "catalog", Kind: "Deployment", Selector: map[string]string{"app": "catalog"}, Labels: map[string]string{"app": "catalog"}, ServiceAccount: "catalog", Ports: []snapshot.ContainerPort{{Port: 9090}}, MeshMode: snapshot.MeshSidecar},
			{Namespace: "web", Name: "frontend", Kind: "Deployment", Selector: map[string]string{"app": "frontend"}, Labels: map[string]string{"app": "frontend"}, ServiceAccount: "frontend", MeshMode: snapshot.MeshSidecar},
		},
		Services: []snapshot.Service{
			{Namespace: "shop", Name: "cart", Selector: map[string]string{"app": "cart"}, Ports: []snapshot.ServicePort{{Port: 80, TargetPort: 8080}}, Workloads: []string{"cart"}},
			{Namespace: "shop", Name: "catalog", Selector: map[string]string{"app": "catalog"}, Ports: []snapshot.ServicePort{{Port: 80, TargetPort: 9090}}, Workloads: []string{"catalog"}},
		},
	}
	edge := func(src, wl string, port int, method, path string, n int64) snapshot.Edge {
		return snapshot.Edge{
			Source:      snapshot.Source{Principal: src, IdentityFrom: snapshot.IdentityCertificate},
			Destination: snapshot.Destination{Namespace: "shop", Workload: wl, Service: wl + ".shop.svc.cluster.local"},
			Reporter:    snapshot.ReporterDestination,
			Port:        port, Protocol: snapshot.ProtocolHTTP, Method: method, Path: path,
			Counts:    snapshot.Counts{Requests: n, MTLS: n},
			FirstSeen: first, LastSeen: last,
			Evidence: []string{snapshot.EvidenceEnvoyLog},
		}
	}
	s.Edges = []snapshot.Edge{
		edge("cluster.local/ns/web/sa/frontend", "cart", 8080, "GET", "/api/items", 1204),
		edge("cluster.local/ns/web/sa/frontend", "cart", 8080, "POST", "/api/cart", 300),
		edge("cluster.local/ns/web/sa/frontend", "catalog", 9090, "GET", "/products", 500),
		edge("cluster.local/ns/monitoring/sa/prometheus", "cart", 8080, "GET", "/metrics", 100),
	}
	snapshot.SortEdges(s.Edges)
	s.Metadata.TrustDomains = []string{"cluster.local"}
	return s
}

func loadObjects(t *testing.T, dir string) []diff.Object {
	t.Helper()
	_, objs, err := policyset.LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir(%s): %v", dir, err)
	}
	return diff.FromFiles(objs)
}

func shopReport(t *testing.T, withSnapshot bool) *diff.Report {
	t.Helper()
	in := diff.Input{
		Proposed:     loadObjects(t, "testdata/shop/proposed"),
		Deployed:     loadObjects(t, "testdata/shop/deployed"),
		ProposedName: "proposed/",
		DeployedName: "deployed/",
	}
	if withSnapshot {
		in.Snapshot, in.ObservationsName = shopSnapshot(), "observations.json"
	}
	rep, err := diff.Compute(in)
	if err != nil {
		t.Fatalf("Compute: %v", err)
	}
	return rep
}

// TestFixtureFile checks that testdata/shop/observations.json (which the
// command tests read) is shopSnapshot.
func TestFixtureFile(t *testing.T) {
	got, err := snapshot.ReadFile("testdata/shop/observations.json")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(shopSnapshot(), got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("testdata/shop/observations.json differs from shopSnapshot (-code +file):\n%s", diff)
	}
}
