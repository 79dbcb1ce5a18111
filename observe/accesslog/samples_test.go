package accesslog

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// samplesDir holds real third-party samples (see its README); tests that
// read it skip when a clone does not have it.
const samplesDir = "../../../shared/samples"

func sample(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(samplesDir, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("sample %s not available: %v", rel, err)
	}
	return p
}

func learnSample(t *testing.T, cfg Config, rel string) *Result {
	t.Helper()
	in, err := Files([]string{sample(t, rel)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Learn(context.Background(), cfg, in)
	if err != nil {
		t.Fatalf("Learn(%s) = %v", rel, err)
	}
	if err := res.Snapshot.Validate(); err != nil {
		t.Errorf("Learn(%s) made an invalid snapshot: %v", rel, err)
	}
	return res
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func certOf(p, workload string) snapshot.Source {
	pp, err := snapshot.ParsePrincipal(p)
	if err != nil {
		panic(err)
	}
	return snapshot.Source{Principal: p, Namespace: pp.Namespace, Workload: workload, IdentityFrom: snapshot.IdentityCertificate}
}

// TestSampleKialiZtunnel reads Kiali's ztunnel log with no inventory. Its
// quirk: some inbound lines have dst.namespace set to an app name
// ("productpage", "reviews", "details"); the namespace comes from
// dst.identity instead.
func TestSampleKialiZtunnel(t *testing.T) {
	cfg := DefaultConfig()
	res := learnSample(t, cfg, "kiali/ztunnel.log")
	const bi = "cluster.local/ns/bookinfo/sa/"
	pp := certOf(bi+"bookinfo-productpage", "productpage-v1")
	dst := func(wl, svc, principal string) snapshot.Destination {
		ns := "bookinfo"
		if svc == "mysqldb" {
			ns = "travel-agency"
		}
		return snapshot.Destination{Namespace: ns, Workload: wl, Service: svc + "." + ns + ".svc.cluster.local", Principal: principal}
	}
	productpage := dst("productpage-v1", "productpage", bi+"bookinfo-productpage")
	mysql := dst("mysqldb-v1", "mysqldb", "cluster.local/ns/travel-agency/sa/default")
	const ta = "cluster.local/ns/travel-agency/sa/default"
	mtls1 := snapshot.Counts{Requests: 1, MTLS: 1}
	checkEdges(t, res.Snapshot.Edges, wantEdges(
		edgeSpec{src: certOf("cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account", "istio-ingressgateway"), dst: productpage,
			reporter: dest, port: 9080, proto: tcp, counts: snapshot.Counts{Requests: 3, MTLS: 3},
			first: ts("2024-04-12T10:17:44.081519Z"), last: ts("2024-04-12T14:25:34.993735Z"), evidence: ztE},
		edgeSpec{src: pp, dst: dst("reviews-v3", "reviews", bi+"bookinfo-reviews"), reporter: dest, port: 9080, proto: tcp, counts: mtls1,
			first: ts("2024-04-12T14:25:33.985405Z"), evidence: ztE},
		edgeSpec{src: pp, dst: dst("details-v1", "details", bi+"bookinfo-details"), reporter: dest, port: 9080, proto: tcp, counts: mtls1,
			first: ts("2024-04-12T14:25:34.984574Z"), evidence: ztE},
		edgeSpec{src: pp, dst: dst("reviews-v2", "reviews", bi+"bookinfo-reviews"), reporter: dest, port: 9080, proto: tcp, counts: mtls1,
			first: ts("2024-04-12T14:25:34.992728Z"), evidence: ztE},
		edgeSpec{src: certOf(ta, "hotels-v1"), dst: mysql, reporter: dest, port: 3306, proto: tcp, counts: mtls1,
			first: ts("2024-07-02T13:41:03.203349Z"), evidence: ztE},
		edgeSpec{src: certOf(ta, "cars-v1"), dst: mysql, reporter: dest, port: 3306, proto: tcp, counts: mtls1,
			first: ts("2024-07-02T13:41:03.203504Z"), evidence: ztE},
		edgeSpec{src: certOf(ta, "insurances-v1"), dst: mysql, reporter: dest, port: 3306, proto: tcp, counts: mtls1,
			first: ts("2024-07-02T13:41:03.203549Z"), evidence: ztE},
		edgeSpec{src: certOf(bi+"bookinfo-gateway-istio", "bookinfo-gateway-istio"), dst: productpage, reporter: dest, port: 9080, proto: tcp,
			counts: snapshot.Counts{Requests: 3, MTLS: 3}, first: ts("2024-07-02T13:41:03.677333Z"), last: ts("2024-07-02T13:41:05.674467Z"), evidence: ztE},
		// Prometheus scrapes without mTLS: no identities; the namespace of
		// the destination from dst.service.
		edgeSpec{src: snapshot.Source{Namespace: "istio-system", Workload: "prometheus"}, dst: dst("productpage-v1", "productpage", ""),
			reporter: dest, port: 9080, proto: tcp, counts: snapshot.Counts{Requests: 1, Plaintext: 1},
			first: ts("2024-07-02T13:41:04.502606Z"), evidence: ztE},
		// Client side only: flights → mysqldb has no inbound line here.
		edgeSpec{src: certOf(ta, "flights-v1"), dst: mysql, reporter: srcR, port: 3306, proto: tcp, counts: snapshot.Counts{Requests: 1},
			first: ts("2024-07-02T13:41:03.203467Z"), evidence: ztE},
		// productpage → its waypoint (no ztunnel inbound line at a waypoint).
		edgeSpec{src: pp, dst: dst("waypoint", "details", bi+"waypoint"), reporter: srcR, port: 9080, proto: tcp, counts: snapshot.Counts{Requests: 3},
			first: ts("2024-07-02T13:41:03.669858Z"), last: ts("2024-07-02T13:41:05.668613Z"), evidence: ztE},
		edgeSpec{src: pp, dst: dst("waypoint", "reviews", bi+"waypoint"), reporter: srcR, port: 9080, proto: tcp, counts: snapshot.Counts{Requests: 3},
			first: ts("2024-07-02T13:41:03.676150Z"), last: ts("2024-07-02T13:41:05.673547Z"), evidence: ztE},
	))
	checkStats(t, res.Inputs[0], InputStats{Lines: 28, Records: 28, Ztunnel: 28})
	if res.Superseded != 8 {
		t.Errorf("Superseded = %d, want 8 outbound lines with a matching inbound line", res.Superseded)
	}
}

// TestSampleKialiWaypoint reads Kiali's waypoint log (lines prefixed by
// kubectl --timestamps) with an inventory that places the addresses in it.
func TestSampleKialiWaypoint(t *testing.T) {
	wl := func(name, sa string, ips ...string) snapshot.Workload {
		return snapshot.Workload{Namespace: "bookinfo", Name: name, ServiceAccount: sa, PodIPs: ips}
	}
	svc := func(name string, port int, wls ...string) snapshot.Service {
		return snapshot.Service{Namespace: "bookinfo", Name: name, Ports: []snapshot.ServicePort{{Port: port, TargetPort: port}}, Workloads: wls}
	}
	inv := snapshot.Inventory{
		Workloads: []snapshot.Workload{
			wl("productpage-v1", "bookinfo-productpage", "10.244.0.37"), wl("details-v1", "bookinfo-details", "10.244.0.32"),
			wl("ratings-v1", "bookinfo-ratings", "10.244.0.41", "10.244.0.43", "10.244.0.33"),
			wl("reviews-v1", "bookinfo-reviews", "10.244.0.34"), wl("reviews-v2", "bookinfo-reviews", "10.244.0.35"),
			wl("reviews-v3", "bookinfo-reviews", "10.244.0.36"), wl("bookinfo-gateway-istio", "bookinfo-gateway-istio", "10.244.0.39"),
		},
		Services: []snapshot.Service{svc("details", 9080, "details-v1"), svc("ratings", 9080, "ratings-v1"),
			svc("reviews", 9080, "reviews-v1", "reviews-v2", "reviews-v3"), svc("bookinfo-gateway-istio", 80, "bookinfo-gateway-istio")},
	}
	cfg := DefaultConfig()
	cfg.Inventory = snapshot.NewIndex(&inv)
	res := learnSample(t, cfg, "kiali/waypoint.log")
	const bi = "cluster.local/ns/bookinfo/sa/"
	podIP := func(sa, wl string) snapshot.Source {
		return snapshot.Source{Principal: bi + sa, Namespace: "bookinfo", Workload: wl, IdentityFrom: snapshot.IdentityPodIP}
	}
	pp := podIP("bookinfo-productpage", "productpage-v1")
	dst := func(wl, svc string) snapshot.Destination {
		return snapshot.Destination{Namespace: "bookinfo", Workload: wl, Service: svc + ".bookinfo.svc.cluster.local"}
	}
	get := func(src snapshot.Source, d snapshot.Destination, port int, path string, n int64, first, last string) edgeSpec {
		return edgeSpec{src: src, dst: d, reporter: wayp, port: port, proto: http, method: "GET", path: path,
			counts: snapshot.Counts{Requests: n}, first: ts(first), last: ts(last), evidence: wayE}
	}
	checkEdges(t, res.Snapshot.Edges, wantEdges(
		get(pp, dst("details-v1", "details"), 9080, "/details/0", 5, "2025-01-30T10:53:16.279Z", "2025-01-30T12:10:13.279Z"),
		get(podIP("bookinfo-reviews", "reviews-v2"), dst("ratings-v1", "ratings"), 9080, "/ratings/0", 2, "2025-01-30T10:53:16.283Z", "2025-01-30T10:53:19.288Z"),
		get(podIP("bookinfo-reviews", "reviews-v3"), dst("ratings-v1", "ratings"), 9080, "/ratings/0", 1, "2025-01-30T10:53:18.284Z", "2025-01-30T10:53:18.284Z"),
		// The upstream host names the reviews version the waypoint picked.
		get(pp, dst("reviews-v2", "reviews"), 9080, "/reviews/0", 2, "2025-01-30T10:53:16.282Z", "2025-01-30T10:53:19.285Z"),
		get(pp, dst("reviews-v1", "reviews"), 9080, "/reviews/0", 1, "2025-01-30T10:53:17.283Z", "2025-01-30T10:53:17.283Z"),
		get(pp, dst("reviews-v3", "reviews"), 9080, "/reviews/0", 1, "2025-01-30T10:53:18.282Z", "2025-01-30T10:53:18.282Z"),
		// A caller outside the inventory, by address.
		get(snapshot.Source{IP: "10.244.0.45"}, dst("bookinfo-gateway-istio", "bookinfo-gateway-istio"), 80, "/productpage", 4,
			"2025-01-30T10:53:16.275Z", "2025-01-30T10:53:19.275Z"),
	))
	checkStats(t, res.Inputs[0], InputStats{Lines: 16, Records: 16, Waypoint: 16, UnresolvedSource: 4})

	t.Run("no inventory", func(t *testing.T) {
		res := learnSample(t, DefaultConfig(), "kiali/waypoint.log")
		if len(res.Snapshot.Edges) != 0 {
			t.Errorf("Learn() = %d edges, want none: without an inventory no pod address names a workload", len(res.Snapshot.Edges))
		}
		checkStats(t, res.Inputs[0], InputStats{Lines: 16, Records: 16, UnresolvedDestination: 16})
		if k := res.Snapshot.Metadata.Sources[0].Kind; k != wayE {
			t.Errorf("source kind = %q, want %q", k, wayE)
		}
	})
}

// TestSampleIstioAccessLogTask reads the client (sleep) and server
// (httpbin) lines of Istio's access-log task: the server's line is the
// evidence, with the target port 80 behind Service port 8000.
func TestSampleIstioAccessLogTask(t *testing.T) {
	inv := snapshot.Inventory{
		Workloads: []snapshot.Workload{
			{Namespace: "foo", Name: "httpbin", ServiceAccount: "httpbin", PodIPs: []string{"10.44.1.27"}},
			{Namespace: "foo", Name: "sleep", ServiceAccount: "sleep", PodIPs: []string{"10.44.1.23"}},
		},
		Services: []snapshot.Service{{Namespace: "foo", Name: "httpbin", Ports: []snapshot.ServicePort{{Port: 8000, TargetPort: 80}}, Workloads: []string{"httpbin"}}},
	}
	cfg := DefaultConfig()
	cfg.Inventory = snapshot.NewIndex(&inv)
	res := learnSample(t, cfg, "istio.io/access-log-task.sleep-httpbin.log")
	checkEdges(t, res.Snapshot.Edges, wantEdges(edgeSpec{
		src: snapshot.Source{Principal: "cluster.local/ns/foo/sa/sleep", Namespace: "foo", Workload: "sleep", IdentityFrom: snapshot.IdentityPodIP},
		dst: snapshot.Destination{Namespace: "foo", Workload: "httpbin", Service: "httpbin.foo.svc.cluster.local"}, reporter: dest,
		port: 80, proto: http, method: "GET", path: "/status/418", counts: snapshot.Counts{Requests: 1, MTLS: 1},
		first: ts("2020-11-25T21:26:18.409Z"), evidence: envE}))
	if res.Superseded != 1 {
		t.Errorf("Superseded = %d, want 1 (sleep's own line)", res.Superseded)
	}
}

// TestSampleIstioZtunnel reads ztunnel lines copied from Istio's docs, where
// the tabs became runs of spaces.
func TestSampleIstioZtunnel(t *testing.T) {
	res := learnSample(t, DefaultConfig(), "istio.io/troubleshoot-ztunnel.bookinfo-curl.log")
	curl := certOf("cluster.local/ns/default/sa/curl", "curl")
	reviews := func(wl string) snapshot.Destination {
		return snapshot.Destination{Namespace: "default", Workload: wl, Service: "reviews.default.svc.cluster.local", Principal: "cluster.local/ns/default/sa/bookinfo-reviews"}
	}
	out := func(wl string, n int64, first, last string) edgeSpec {
		return edgeSpec{src: curl, dst: reviews(wl), reporter: srcR, port: 9080, proto: tcp, counts: snapshot.Counts{Requests: n},
			first: ts(first), last: ts(last), evidence: ztE}
	}
	checkEdges(t, res.Snapshot.Edges, wantEdges(
		edgeSpec{src: curl, dst: snapshot.Destination{Namespace: "default", Workload: "productpage-v1", Service: "productpage.default.svc.cluster.local",
			Principal: "cluster.local/ns/default/sa/bookinfo-productpage"}, reporter: dest, port: 9080, proto: tcp,
			counts: snapshot.Counts{Requests: 1, MTLS: 1}, first: ts("2024-05-04T09:59:05.028709Z"), evidence: ztE},
		out("reviews-v3", 2, "2024-05-04T10:11:04.964851Z", "2024-05-04T10:11:04.969578Z"),
		out("reviews-v1", 1, "2024-05-04T10:11:04.974720Z", "2024-05-04T10:11:04.974720Z"),
		out("reviews-v2", 1, "2024-05-04T10:11:04.979462Z", "2024-05-04T10:11:04.979462Z"),
	))
	checkStats(t, res.Inputs[0], InputStats{Lines: 6, Records: 6, Ztunnel: 6})

	res = learnSample(t, DefaultConfig(), "istio.io/verify-mtls-enabled.sleep-details.log")
	checkEdges(t, res.Snapshot.Edges, wantEdges(edgeSpec{
		src:      certOf("cluster.local/ns/default/sa/sleep", "sleep"),
		dst:      snapshot.Destination{Namespace: "default", Workload: "details-v1", Service: "details.default.svc.cluster.local", Principal: "cluster.local/ns/default/sa/bookinfo-details"},
		reporter: srcR, port: 9080, proto: tcp, counts: snapshot.Counts{Requests: 1}, first: ts("2024-08-21T15:32:05.754291Z"), evidence: ztE}))
}
