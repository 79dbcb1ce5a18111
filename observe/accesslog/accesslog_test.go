package accesslog

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// testInventory is the inventory behind the fixtures in testdata: a sidecar
// namespace "shop", an ambient namespace "mall" with a waypoint, and callers
// in "monitoring" and "istio-system".
func testInventory() *snapshot.Index {
	ports := func(pp ...snapshot.ContainerPort) []snapshot.ContainerPort { return pp }
	inv := snapshot.Inventory{
		Origin: snapshot.InventoryFile,
		Namespaces: []snapshot.Namespace{
			{Name: "shop", MeshMode: snapshot.MeshSidecar},
			{Name: "mall", MeshMode: snapshot.MeshAmbient, Waypoint: "waypoint"},
			{Name: "monitoring"}, {Name: "istio-system"},
		},
		Workloads: []snapshot.Workload{
			{Namespace: "shop", Name: "web", Kind: "Deployment", ServiceAccount: "web", PodIPs: []string{"10.1.0.10"},
				Ports: ports(snapshot.ContainerPort{Name: "http", Port: 8080})},
			{Namespace: "shop", Name: "cart", Kind: "Deployment", ServiceAccount: "cart", PodIPs: []string{"10.1.0.20", "10.1.0.21"},
				Ports: ports(snapshot.ContainerPort{Name: "http", Port: 8080}, snapshot.ContainerPort{Name: "grpc", Port: 9090})},
			{Namespace: "shop", Name: "orders", Kind: "Deployment", ServiceAccount: "orders", PodIPs: []string{"10.1.0.30"},
				Ports: ports(snapshot.ContainerPort{Name: "grpc", Port: 7070})},
			{Namespace: "shop", Name: "db", Kind: "StatefulSet", ServiceAccount: "db", PodIPs: []string{"10.1.0.40"}},
			{Namespace: "shop", Name: "legacy", Kind: "Deployment", ServiceAccount: "legacy", PodIPs: []string{"10.1.0.50"}, MeshMode: snapshot.MeshNone},
			{Namespace: "monitoring", Name: "prometheus", Kind: "StatefulSet", ServiceAccount: "prometheus", PodIPs: []string{"10.9.0.5"}},
			{Namespace: "istio-system", Name: "istio-ingressgateway", Kind: "Deployment", ServiceAccount: "istio-ingressgateway-service-account", PodIPs: []string{"10.0.0.5"}},
			{Namespace: "mall", Name: "shelf", Kind: "Deployment", ServiceAccount: "shelf", PodIPs: []string{"10.2.0.10"},
				Ports: ports(snapshot.ContainerPort{Name: "http", Port: 8080})},
			{Namespace: "mall", Name: "till", Kind: "Deployment", ServiceAccount: "till", PodIPs: []string{"10.2.0.20"}},
			{Namespace: "mall", Name: "kiosk", Kind: "Deployment", ServiceAccount: "kiosk", PodIPs: []string{"10.2.0.30"}},
			{Namespace: "mall", Name: "waypoint", Kind: "Deployment", ServiceAccount: "waypoint", PodIPs: []string{"10.2.0.99"}},
		},
		Services: []snapshot.Service{
			{Namespace: "shop", Name: "web", Ports: []snapshot.ServicePort{{Name: "http", Port: 80, TargetPort: 8080}}, Workloads: []string{"web"}},
			{Namespace: "shop", Name: "cart", Ports: []snapshot.ServicePort{{Name: "http", Port: 80, TargetPort: 8080}, {Name: "grpc", Port: 9090, TargetPort: 9090}}, Workloads: []string{"cart"}},
			{Namespace: "shop", Name: "orders", Ports: []snapshot.ServicePort{{Name: "grpc", Port: 7070, TargetPort: 7070}}, Workloads: []string{"orders"}},
			{Namespace: "shop", Name: "legacy", Ports: []snapshot.ServicePort{{Port: 80, TargetPort: 8080}}, Workloads: []string{"legacy"}},
			{Namespace: "mall", Name: "shelf", Ports: []snapshot.ServicePort{{Name: "http", Port: 80, TargetName: "http"}}, Workloads: []string{"shelf"}},
			{Namespace: "mall", Name: "till", Ports: []snapshot.ServicePort{{Port: 80, TargetPort: 8080}}, Workloads: []string{"till"}},
		},
		Waypoints: []snapshot.Waypoint{{Namespace: "mall", Name: "waypoint", ServiceAccount: "waypoint", For: "service"}},
	}
	return snapshot.NewIndex(&inv)
}

var day = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

// at is a time on the fixtures' day, ms milliseconds after 10:00.
func at(ms int) time.Time { return day.Add(time.Duration(ms) * time.Millisecond) }

// atZ is the time of a ztunnel fixture line: one microsecond after at(ms).
func atZ(ms int) time.Time { return at(ms).Add(time.Microsecond) }

// testConfig reads every line of the fixtures' day.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Inventory = testInventory()
	cfg.End = day.Add(24 * time.Hour)
	return cfg
}

func learnFiles(t *testing.T, cfg Config, names ...string) *Result {
	t.Helper()
	var paths []string
	for _, n := range names {
		paths = append(paths, filepath.Join("testdata", n))
	}
	in, err := Files(paths, nil)
	if err != nil {
		t.Fatalf("Files(%v) = %v", paths, err)
	}
	res, err := Learn(context.Background(), cfg, in)
	if err != nil {
		t.Fatalf("Learn(%v) = %v", names, err)
	}
	if err := res.Snapshot.Validate(); err != nil {
		t.Errorf("Learn(%v) made an invalid snapshot: %v", names, err)
	}
	return res
}

func learnString(t *testing.T, cfg Config, text string) *Result {
	t.Helper()
	in, err := Files([]string{"-"}, strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Learn(context.Background(), cfg, in)
	if err != nil {
		t.Fatalf("Learn() = %v", err)
	}
	if err := res.Snapshot.Validate(); err != nil {
		t.Errorf("Learn() made an invalid snapshot: %v", err)
	}
	return res
}

// Sources of the fixtures.
var (
	webPodIP   = snapshot.Source{Principal: "cluster.local/ns/shop/sa/web", Namespace: "shop", Workload: "web", IdentityFrom: snapshot.IdentityPodIP}
	webCert    = snapshot.Source{Principal: "cluster.local/ns/shop/sa/web", Namespace: "shop", Workload: "web", IdentityFrom: snapshot.IdentityCertificate}
	kioskPodIP = snapshot.Source{Principal: "cluster.local/ns/mall/sa/kiosk", Namespace: "mall", Workload: "kiosk", IdentityFrom: snapshot.IdentityPodIP}
	kioskCert  = snapshot.Source{Principal: "cluster.local/ns/mall/sa/kiosk", Namespace: "mall", Workload: "kiosk", IdentityFrom: snapshot.IdentityCertificate}
	prometheus = snapshot.Source{Namespace: "monitoring", Workload: "prometheus"}
	cartDst    = snapshot.Destination{Namespace: "shop", Workload: "cart", Service: "cart.shop.svc.cluster.local"}
)

type edgeSpec struct {
	src      snapshot.Source
	dst      snapshot.Destination
	reporter string
	port     int
	proto    string
	method   string
	path     string
	prefix   bool
	counts   snapshot.Counts
	first    time.Time
	last     time.Time // zero: same as first
	evidence string
}

func (s edgeSpec) edge() snapshot.Edge {
	last := s.last
	if last.IsZero() {
		last = s.first
	}
	return snapshot.Edge{
		Source: s.src, Destination: s.dst, Reporter: s.reporter, Port: s.port, Protocol: s.proto,
		Method: s.method, Path: s.path, PathPrefix: s.prefix, Counts: s.counts,
		FirstSeen: s.first, LastSeen: last, Evidence: []string{s.evidence},
	}
}

func wantEdges(specs ...edgeSpec) []snapshot.Edge {
	out := make([]snapshot.Edge, len(specs))
	for i, s := range specs {
		out[i] = s.edge()
	}
	snapshot.SortEdges(out)
	return out
}

func checkEdges(t *testing.T, got []snapshot.Edge, want []snapshot.Edge) {
	t.Helper()
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("edges mismatch (-want +got):\n%s", diff)
	}
}

func checkStats(t *testing.T, got InputStats, want InputStats) {
	t.Helper()
	want.Name = got.Name
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("input stats mismatch (-want +got):\n%s", diff)
	}
}

const (
	dest = snapshot.ReporterDestination
	wayp = snapshot.ReporterWaypoint
	srcR = snapshot.ReporterSource
	http = snapshot.ProtocolHTTP
	grpc = snapshot.ProtocolGRPC
	tcp  = snapshot.ProtocolTCP
	envE = snapshot.EvidenceEnvoyLog
	wayE = snapshot.EvidenceWaypointLog
	ztE  = snapshot.EvidenceZtunnelLog
)

func TestEnvoyTextInbound(t *testing.T) {
	res := learnFiles(t, testConfig(), "sidecar-inbound.log")
	checkEdges(t, res.Snapshot.Edges, wantEdges(
		// Three GETs with different query strings, one answered 503.
		edgeSpec{src: webPodIP, dst: cartDst, reporter: dest, port: 8080, proto: http, method: "GET", path: "/cart/items",
			counts: snapshot.Counts{Requests: 3, MTLS: 3, ServerErrors: 1}, first: at(1000), last: at(3000), evidence: envE},
		// gRPC by shape: POST over HTTP/2 to /pkg.Service/Method, on the grpc port.
		edgeSpec{src: snapshot.Source{Principal: "cluster.local/ns/shop/sa/orders", Namespace: "shop", Workload: "orders", IdentityFrom: snapshot.IdentityPodIP},
			dst: cartDst, reporter: dest, port: 9090, proto: grpc, method: "POST", path: "/shop.v1.Cart/AddItem",
			counts: snapshot.Counts{Requests: 1, MTLS: 1}, first: at(4000), evidence: envE},
		// Plaintext (no mTLS server name): no principal inferred; the authority
		// is an address, so no Service; the second cart pod.
		edgeSpec{src: prometheus, dst: snapshot.Destination{Namespace: "shop", Workload: "cart"}, reporter: dest, port: 8080, proto: http,
			method: "GET", path: "/metrics", counts: snapshot.Counts{Requests: 1, Plaintext: 1}, first: at(5000), evidence: envE},
		// Denied by an RBAC policy: not Unauthorized.
		edgeSpec{src: webPodIP, dst: cartDst, reporter: dest, port: 8080, proto: http, method: "DELETE", path: "/cart/items/3",
			counts: snapshot.Counts{Requests: 1, MTLS: 1, Denied: 1}, first: at(6000), evidence: envE},
		// 401 from the application.
		edgeSpec{src: webPodIP, dst: cartDst, reporter: dest, port: 8080, proto: http, method: "GET", path: "/cart/admin",
			counts: snapshot.Counts{Requests: 1, MTLS: 1, Unauthorized: 1}, first: at(7000), evidence: envE},
		// A caller the inventory does not know: kept, by address.
		edgeSpec{src: snapshot.Source{IP: "10.99.0.1"}, dst: cartDst, reporter: dest, port: 8080, proto: http, method: "GET", path: "/cart/items",
			counts: snapshot.Counts{Requests: 1, MTLS: 1}, first: at(8000), evidence: envE},
		// TCP.
		edgeSpec{src: webPodIP, dst: cartDst, reporter: dest, port: 6379, proto: tcp,
			counts: snapshot.Counts{Requests: 1, MTLS: 1}, first: at(9000), evidence: envE},
	))
	checkStats(t, res.Inputs[0], InputStats{Lines: 14, Records: 9, Envoy: 9, Skipped: 2, Malformed: 2, MalformedLines: []int64{12, 14}, UnresolvedSource: 1})
	si := res.Snapshot.Metadata.Sources
	if len(si) != 1 || si[0].Kind != envE || si[0].Records != 9 || si[0].Malformed != 2 ||
		si[0].Window == nil || !si[0].Window.Start.Equal(at(1000)) || !si[0].Window.End.Equal(at(9000)) {
		t.Errorf("Sources = %+v, want one envoy-log source with 9 records, 2 malformed, window 10:00:01 to 10:00:09", si)
	}
	if !hasWarning(res.Snapshot, "2 malformed lines skipped (line 12, 14;") {
		t.Errorf("Warnings = %q, want one naming malformed lines 12 and 14", res.Snapshot.Metadata.Warnings)
	}
}

func hasWarning(s *snapshot.Snapshot, sub string) bool {
	for _, w := range s.Metadata.Warnings {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

// clientSide are the edges of sidecar-client.log that are not superseded
// when the server's log is read too.
func clientSideKept() []edgeSpec {
	return []edgeSpec{
		// web → legacy: legacy has no sidecar, so only the client saw it.
		{src: webPodIP, dst: snapshot.Destination{Namespace: "shop", Workload: "legacy", Service: "legacy.shop.svc.cluster.local"},
			reporter: srcR, port: 8080, proto: http, method: "GET", path: "/legacy/report",
			counts: snapshot.Counts{Requests: 1}, first: at(2000), evidence: envE},
		// An inbound line in the same pod's log: the destination is the pod
		// named by the kubectl --prefix (its address is not in the
		// inventory), the caller the ingress gateway by its address.
		{src: snapshot.Source{Principal: "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account", Namespace: "istio-system",
			Workload: "istio-ingressgateway", IdentityFrom: snapshot.IdentityPodIP},
			dst:      snapshot.Destination{Namespace: "shop", Workload: "web", Service: "web.shop.svc.cluster.local"},
			reporter: dest, port: 8080, proto: http, method: "GET", path: "/",
			counts: snapshot.Counts{Requests: 1, MTLS: 1}, first: at(4000), evidence: envE},
	}
}

func TestEnvoyTextClientSide(t *testing.T) {
	t.Run("alone", func(t *testing.T) {
		res := learnFiles(t, testConfig(), "sidecar-client.log")
		checkEdges(t, res.Snapshot.Edges, wantEdges(append(clientSideKept(),
			// web → cart as the client saw it: kept, since no server-side line names cart.
			edgeSpec{src: webPodIP, dst: cartDst, reporter: srcR, port: 8080, proto: http, method: "GET", path: "/cart/items",
				counts: snapshot.Counts{Requests: 1}, first: at(990), evidence: envE})...))
		// The call to an external host through PassthroughCluster has no workload.
		checkStats(t, res.Inputs[0], InputStats{Lines: 4, Records: 4, Envoy: 3, UnresolvedDestination: 1})
		if res.Superseded != 0 {
			t.Errorf("Superseded = %d, want 0", res.Superseded)
		}
		if !hasWarning(res.Snapshot, "for example 93.184.216.34") {
			t.Errorf("Warnings = %q, want one about the unresolved destination 93.184.216.34", res.Snapshot.Metadata.Warnings)
		}
	})
	t.Run("with the server's log", func(t *testing.T) {
		res := learnFiles(t, testConfig(), "sidecar-inbound.log", "sidecar-client.log")
		var kept []snapshot.Edge
		for _, e := range res.Snapshot.Edges {
			if e.Reporter == srcR || e.Destination.Workload == "web" {
				kept = append(kept, e)
			}
		}
		checkEdges(t, kept, wantEdges(clientSideKept()...))
		if res.Superseded != 1 {
			t.Errorf("Superseded = %d, want 1 (web's record of its call to cart)", res.Superseded)
		}
	})
}

func TestRecommendedFormat(t *testing.T) {
	orders := snapshot.Destination{Namespace: "shop", Workload: "orders", Service: "orders.shop.svc.cluster.local", Principal: "cluster.local/ns/shop/sa/orders"}
	ordersNoSvc := orders
	ordersNoSvc.Service = ""
	ordersNoPrincipal := orders
	ordersNoPrincipal.Principal = ""
	res := learnFiles(t, testConfig(), "recommended.log")
	checkEdges(t, res.Snapshot.Edges, wantEdges(
		// gRPC by content type although the path has no package.
		edgeSpec{src: webCert, dst: orders, reporter: dest, port: 7070, proto: grpc, method: "POST", path: "/Health/Check",
			counts: snapshot.Counts{Requests: 1, MTLS: 1}, first: at(1000), evidence: envE},
		// Peer SAN "-": plaintext, no principal.
		edgeSpec{src: snapshot.Source{Namespace: "shop", Workload: "legacy"}, dst: ordersNoSvc, reporter: dest, port: 7070, proto: http,
			method: "GET", path: "/orders/42", counts: snapshot.Counts{Requests: 1, Plaintext: 1}, first: at(2000), evidence: envE},
		// A certificate from outside the inventory: the principal is enough.
		edgeSpec{src: snapshot.Source{Principal: "cluster.local/ns/partner/sa/sync", Namespace: "partner", IdentityFrom: snapshot.IdentityCertificate},
			dst: orders, reporter: dest, port: 7070, proto: http, method: "POST", path: "/orders",
			counts: snapshot.Counts{Requests: 1, MTLS: 1}, first: at(3000), evidence: envE},
		// The content type says JSON: not gRPC despite the shape.
		edgeSpec{src: webCert, dst: orders,
			reporter: dest, port: 7070, proto: http, method: "POST", path: "/pkg.Svc/Method",
			counts: snapshot.Counts{Requests: 1, MTLS: 1}, first: at(4000), evidence: envE},
		// A line in the default format in the same file.
		edgeSpec{src: webPodIP, dst: ordersNoPrincipal, reporter: dest, port: 7070, proto: http, method: "GET", path: "/orders",
			counts: snapshot.Counts{Requests: 1, MTLS: 1}, first: at(5000), evidence: envE},
	))
	checkStats(t, res.Inputs[0], InputStats{Lines: 5, Records: 5, Envoy: 5})
}

func TestEnvoyJSON(t *testing.T) {
	res := learnFiles(t, testConfig(), "envoy.json")
	checkEdges(t, res.Snapshot.Edges, wantEdges(
		edgeSpec{src: webPodIP, dst: cartDst, reporter: dest, port: 8080, proto: http, method: "GET", path: "/cart/items",
			counts: snapshot.Counts{Requests: 1, MTLS: 1}, first: at(1000), evidence: envE},
		// Escaped path, lower-case method.
		edgeSpec{src: webPodIP, dst: cartDst, reporter: dest, port: 8080, proto: http, method: "GET", path: "/cart/search",
			counts: snapshot.Counts{Requests: 1, MTLS: 1}, first: at(2000), evidence: envE},
		// A waypoint line in JSON.
		edgeSpec{src: kioskPodIP, dst: snapshot.Destination{Namespace: "mall", Workload: "shelf", Service: "shelf.mall.svc.cluster.local"},
			reporter: wayp, port: 8080, proto: http, method: "GET", path: "/shelf/1",
			counts: snapshot.Counts{Requests: 1}, first: at(3000), evidence: wayE},
		// requested_server_name null: plaintext; denied.
		edgeSpec{src: prometheus, dst: snapshot.Destination{Namespace: "shop", Workload: "cart"}, reporter: dest, port: 8080, proto: http,
			method: "GET", path: "/cart/items", counts: snapshot.Counts{Requests: 1, Plaintext: 1, Denied: 1}, first: at(6000), evidence: envE},
	))
	checkStats(t, res.Inputs[0], InputStats{Lines: 6, Records: 4, Envoy: 3, Waypoint: 1, Skipped: 1, Malformed: 1, MalformedLines: []int64{5}})
}

func TestWaypoint(t *testing.T) {
	shelf := snapshot.Destination{Namespace: "mall", Workload: "shelf", Service: "shelf.mall.svc.cluster.local"}
	till := snapshot.Destination{Namespace: "mall", Workload: "till", Service: "till.mall.svc.cluster.local"}
	res := learnFiles(t, testConfig(), "waypoint.log")
	checkEdges(t, res.Snapshot.Edges, wantEdges(
		// Target port from envoy://connect_originate/<pod>:<port>.
		edgeSpec{src: kioskPodIP, dst: shelf, reporter: wayp, port: 8080, proto: http, method: "GET", path: "/shelf/items",
			counts: snapshot.Counts{Requests: 1}, first: at(1000), evidence: wayE},
		// Denied before any upstream: Service port 80 → target port 8080.
		edgeSpec{src: kioskPodIP, dst: till, reporter: wayp, port: 8080, proto: http, method: "POST", path: "/till/pay",
			counts: snapshot.Counts{Requests: 1, Denied: 1}, first: at(2000), evidence: wayE},
		// ... through a named target port.
		edgeSpec{src: kioskPodIP, dst: shelf, reporter: wayp, port: 8080, proto: http, method: "DELETE", path: "/shelf/items/9",
			counts: snapshot.Counts{Requests: 1, Denied: 1}, first: at(3000), evidence: wayE},
		// The caller's identity from the filter state operator.
		edgeSpec{src: snapshot.Source{Principal: "cluster.local/ns/shop/sa/web", Namespace: "shop", IdentityFrom: snapshot.IdentityCertificate},
			dst: shelf, reporter: wayp, port: 8080, proto: http, method: "GET", path: "/shelf/items",
			counts: snapshot.Counts{Requests: 1, MTLS: 1}, first: at(4000), evidence: wayE},
		edgeSpec{src: kioskPodIP, dst: till, reporter: wayp, port: 8080, proto: tcp,
			counts: snapshot.Counts{Requests: 1}, first: at(5000), evidence: wayE},
	))
	// The CONNECT line is the waypoint's own HBONE hop: read, not an edge.
	checkStats(t, res.Inputs[0], InputStats{Lines: 6, Records: 6, Waypoint: 5})
	if k := res.Snapshot.Metadata.Sources[0].Kind; k != wayE {
		t.Errorf("source kind = %q, want %q", k, wayE)
	}
}

func ztunnelEdges() []edgeSpec {
	till := snapshot.Destination{Namespace: "mall", Workload: "till", Service: "till.mall.svc.cluster.local", Principal: "cluster.local/ns/mall/sa/till"}
	shelf := snapshot.Destination{Namespace: "mall", Workload: "shelf", Service: "shelf.mall.svc.cluster.local", Principal: "cluster.local/ns/mall/sa/shelf"}
	shelfNoID := shelf
	shelfNoID.Principal = ""
	return []edgeSpec{
		{src: kioskCert, dst: till, reporter: dest, port: 8080, proto: tcp, counts: snapshot.Counts{Requests: 1, MTLS: 1}, first: atZ(1000), evidence: ztE},
		{src: prometheus, dst: shelfNoID, reporter: dest, port: 8080, proto: tcp, counts: snapshot.Counts{Requests: 1, Plaintext: 1}, first: atZ(2000), evidence: ztE},
		{src: kioskCert, dst: shelf, reporter: dest, port: 8080, proto: tcp, counts: snapshot.Counts{Requests: 1, MTLS: 1, Denied: 1}, first: atZ(3000), evidence: ztE},
	}
}

func TestZtunnelText(t *testing.T) {
	shelf := snapshot.Destination{Namespace: "mall", Workload: "shelf", Service: "shelf.mall.svc.cluster.local", Principal: "cluster.local/ns/mall/sa/shelf"}
	specs := ztunnelEdges()
	// Line 10 is a second kiosk → till connection, to a pod the inventory
	// does not list and whose dst.namespace holds an app name: the workload
	// comes from the pod name, the namespace from dst.identity.
	specs[0].counts = snapshot.Counts{Requests: 2, MTLS: 2}
	specs[0].last = atZ(9000)
	specs = append(specs,
		// Through the waypoint: ztunnel sees the waypoint's identity.
		edgeSpec{src: snapshot.Source{Principal: "cluster.local/ns/mall/sa/waypoint", Namespace: "mall", Workload: "waypoint", IdentityFrom: snapshot.IdentityCertificate},
			dst: shelf, reporter: dest, port: 8080, proto: tcp, counts: snapshot.Counts{Requests: 1, MTLS: 1}, first: atZ(7000), evidence: ztE},
		// "connection failed" with a policy rejection: denied; no identity.
		edgeSpec{src: snapshot.Source{Namespace: "shop", Workload: "web"}, dst: snapshot.Destination{Namespace: "mall", Workload: "till"},
			reporter: dest, port: 8080, proto: tcp, counts: snapshot.Counts{Requests: 1, Denied: 1}, first: atZ(8000), evidence: ztE},
	)
	res := learnFiles(t, testConfig(), "ztunnel.log")
	checkEdges(t, res.Snapshot.Edges, wantEdges(specs...))
	// The outbound kiosk → till line is superseded by the inbound ones; the
	// outbound line to 10.100.0.1 names no workload.
	checkStats(t, res.Inputs[0], InputStats{Lines: 10, Records: 8, Ztunnel: 7, Skipped: 2, UnresolvedDestination: 1})
	if res.Superseded != 1 {
		t.Errorf("Superseded = %d, want 1", res.Superseded)
	}
}

func TestZtunnelJSON(t *testing.T) {
	specs := ztunnelEdges()
	specs[1].first = atZ(5000) // the older-format line
	res := learnFiles(t, testConfig(), "ztunnel.json")
	checkEdges(t, res.Snapshot.Edges, wantEdges(specs...))
	checkStats(t, res.Inputs[0], InputStats{Lines: 5, Records: 3, Ztunnel: 3, Skipped: 1, Malformed: 1, MalformedLines: []int64{5}})
}

func TestForcedFormat(t *testing.T) {
	for _, tc := range []struct {
		format, file string
		records      int64
		malformed    int64
	}{
		{FormatZtunnel, "ztunnel.log", 8, 0},
		{FormatZtunnelJSON, "ztunnel.json", 3, 1},
		{FormatEnvoy, "sidecar-inbound.log", 9, 2},
		{FormatEnvoyJSON, "envoy.json", 4, 1},
		// The wrong format: every access line is malformed, other log output
		// is still skipped.
		{FormatZtunnel, "sidecar-inbound.log", 0, 11},
		{FormatEnvoyJSON, "ztunnel.json", 0, 1},
	} {
		t.Run(tc.format+"/"+tc.file, func(t *testing.T) {
			cfg := testConfig()
			cfg.Format = tc.format
			res := learnFiles(t, cfg, tc.file)
			if got := res.Inputs[0]; got.Records != tc.records || got.Malformed != tc.malformed {
				t.Errorf("Learn(%s, --log-format %s) read %d records and %d malformed lines, want %d and %d",
					tc.file, tc.format, got.Records, got.Malformed, tc.records, tc.malformed)
			}
		})
	}
}
