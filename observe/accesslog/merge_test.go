package accesslog

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// TestMergeWithPrometheus folds log evidence into a snapshot of metric
// evidence, as learn does with both: the same caller and destination keep
// separate edges (metrics have no port, method or path), the sources and
// windows of both are kept, and the result survives the snapshot codec.
func TestMergeWithPrometheus(t *testing.T) {
	prom := snapshot.New()
	w := snapshot.Window{Start: day.Add(-time.Hour), End: day.Add(time.Hour)}
	prom.Metadata.Windows = []snapshot.Window{w}
	prom.Metadata.Sources = []snapshot.SourceInfo{{Kind: snapshot.EvidencePrometheus, Location: "http://prometheus:9090", Window: &w, Records: 1}}
	prom.Inventory = *testInventory().Inventory()
	promEdge := snapshot.Edge{
		Source:      snapshot.Source{Principal: "cluster.local/ns/shop/sa/web", Namespace: "shop", Workload: "web", IdentityFrom: snapshot.IdentityCertificate},
		Destination: snapshot.Destination{Namespace: "shop", Workload: "cart", Service: "cart.shop.svc.cluster.local", Principal: "cluster.local/ns/shop/sa/cart"},
		Reporter:    snapshot.ReporterDestination, Protocol: snapshot.ProtocolHTTP,
		Counts:    snapshot.Counts{Requests: 40, MTLS: 40},
		FirstSeen: w.Start, LastSeen: w.End, Evidence: []string{snapshot.EvidencePrometheus},
	}
	prom.Edges = []snapshot.Edge{promEdge}

	logs := learnFiles(t, testConfig(), "sidecar-inbound.log", "ztunnel.log")
	merged := snapshot.New()
	merged.Merge(prom)
	merged.Merge(logs.Snapshot)
	if err := merged.Validate(); err != nil {
		t.Fatalf("merged snapshot is invalid: %v", err)
	}
	if got, want := len(merged.Edges), 1+len(logs.Snapshot.Edges); got != want {
		t.Errorf("merged %d edges, want %d (metric edges and log edges have different keys)", got, want)
	}
	var sawProm, sawLog bool
	for _, e := range merged.Edges {
		if e.Destination.Workload != "cart" || e.Source.Workload != "web" || e.Reporter != snapshot.ReporterDestination {
			continue
		}
		switch {
		case e.Port == 0:
			sawProm = cmp.Equal(e, promEdge)
		case e.Port == 8080 && e.Method == "GET" && e.Path == "/cart/items":
			sawLog = cmp.Equal(e.Evidence, []string{snapshot.EvidenceEnvoyLog}) && e.Counts.Requests == 3
		}
	}
	if !sawProm || !sawLog {
		t.Errorf("merged edges: metric edge kept %v, log edge GET /cart/items on 8080 kept %v; want both", sawProm, sawLog)
	}
	var kinds []string
	for _, s := range merged.Metadata.Sources {
		kinds = append(kinds, s.Kind)
	}
	if want := []string{snapshot.EvidencePrometheus, snapshot.EvidenceEnvoyLog, snapshot.EvidenceZtunnelLog}; !cmp.Equal(kinds, want) {
		t.Errorf("merged sources = %q, want %q", kinds, want)
	}
	if merged.Inventory.Origin != snapshot.InventoryFile || len(merged.Inventory.Workloads) == 0 {
		t.Errorf("merged inventory origin %q with %d workloads, want the file inventory", merged.Inventory.Origin, len(merged.Inventory.Workloads))
	}
	// The logs' windows (10:00:01 to 10:00:09) fall inside the metrics' window.
	if want := []snapshot.Window{w}; !cmp.Equal(merged.Metadata.Windows, want) {
		t.Errorf("merged windows = %v, want %v", merged.Metadata.Windows, want)
	}

	path := filepath.Join(t.TempDir(), "snap.json.gz")
	if err := snapshot.WriteFile(path, merged); err != nil {
		t.Fatalf("WriteFile() = %v", err)
	}
	back, err := snapshot.ReadFile(path)
	if err != nil {
		t.Fatalf("ReadFile() = %v", err)
	}
	if diff := cmp.Diff(merged, back); diff != "" {
		t.Errorf("ReadFile(WriteFile(merged)) mismatch (-want +got):\n%s", diff)
	}
}
