package prometheus

import (
	"compress/gzip"
	"context"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meshgen/meshgen/hack/testenv"
	"github.com/meshgen/meshgen/observe/snapshot"
)

// meshT0 is t0 of testdata/genmesh.go. The window of the integration test is
// (t0, t0+60m]: the step is 1m and the points are at t0+1m, ..., t0+60m.
var meshT0 = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func m(minutes int) time.Time { return meshT0.Add(time.Duration(minutes) * time.Minute) }

func readMeshFixture(t *testing.T) []byte {
	t.Helper()
	f, err := os.Open("testdata/mesh.om.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantRealMesh is what Learn must read from testdata/mesh.om.gz, worked out
// by hand from the series described in testdata/genmesh.go. Each point at t
// counts the counter's growth since t-1m, or its whole value when the series
// was born in that minute or was reset.
//
//	R1  cart-a 200:  +10 at each of 1m..10m                   = 100
//	R2  cart-b 200:  +2 at 41m (30->32), +2 at 42m (32->34)    =   4
//	R3  cart-a 503:  born 20m30s with 3 -> 3 at 21m; +1 at 41m =   4
//	    web -> cart: 108 requests, 4 of them 5xx, 1m .. 42m
//	R4  plaintext:   +4 at 1m..5m (40->60); reset, 5 at 6m
//	                 (counter 5 at 6m after restarting at 5m15s);
//	                 +4 at 7m..10m (5->21)                     =  41, 1m .. 10m
//	R5  reporter="source" copy of R1: not read.
//	R6  payments OK: +20 at 31m..35m (500->600); the +10 at
//	                 60m30s is after the window                = 100
//	R7  payments PERMISSION_DENIED: born 50m with 2            =   2
//	    web -> payments: 102 requests, 2 unauthorized, 31m .. 50m
//	R8  cart -> ledger 403: +1 at 14m (7->8), +2 at 15m (8->10) = 3, 14m .. 15m
//	R9  waypoint web -> ledger: +5 at 25m                      =   5
//	R9b ztunnel waypoint -> ledger: +1 at 25m                  =   1
//	R10 ledger -> db: +1 at 3m (20->21), +4 at 45m (21->25); the
//	                 +5 at 61m is after the window             =   5, 3m .. 45m
//	R11 web -> db DENY: born 30m with 1                        =   1
//	R12 batch -> db plaintext: born 12m with 2, +1 at 13m      =   3, 12m .. 13m
//	R14 unknown destination: born 5m with 4: skipped, reported =   4
//	R15 legacy/orders: ended 5m before the window              =   0
func wantRealMesh(url string) *snapshot.Snapshot {
	cert := snapshot.IdentityCertificate
	webSrc := snapshot.Source{Principal: "cluster.local/ns/shop/sa/web", Namespace: "shop", Workload: "web", IdentityFrom: cert}
	cartSrc := snapshot.Source{Principal: "cluster.local/ns/shop/sa/cart", Namespace: "shop", Workload: "cart", IdentityFrom: cert}
	ledgerSrc := snapshot.Source{Principal: "cluster.local/ns/billing/sa/ledger", Namespace: "billing", Workload: "ledger", IdentityFrom: cert}
	waypointSrc := snapshot.Source{Principal: "cluster.local/ns/billing/sa/waypoint", Namespace: "billing", Workload: "waypoint", IdentityFrom: cert}
	dbDst := snapshot.Destination{Namespace: "billing", Workload: "db", Service: "db.billing.svc.cluster.local", Principal: "cluster.local/ns/billing/sa/db"}
	ledgerDst := snapshot.Destination{Namespace: "billing", Workload: "ledger", Service: "ledger.billing.svc.cluster.local", Principal: "cluster.local/ns/billing/sa/ledger"}
	paymentsDst := snapshot.Destination{Namespace: "billing", Workload: "payments", Service: "payments.billing.svc.cluster.local", Principal: "cluster.local/ns/billing/sa/payments"}
	cartDst := snapshot.Destination{Namespace: "shop", Workload: "cart", Service: "cart.shop.svc.cluster.local", Principal: "cluster.local/ns/shop/sa/cart"}
	ev := []string{"prometheus"}
	win := snapshot.Window{Start: m(0), End: m(60)}
	return &snapshot.Snapshot{
		APIVersion: snapshot.APIVersion,
		Kind:       snapshot.Kind,
		Metadata: snapshot.Metadata{
			Windows: []snapshot.Window{win},
			// 12 result series: shop requests 3 (R1+R2, R3, R4), billing
			// requests 4 (R6, R7, R8, R9), billing connections 4 (R9b, R10,
			// R11, R12), unknown requests 1 (R14).
			Sources:      []snapshot.SourceInfo{{Kind: "prometheus", Location: url, Window: &win, Records: 12}},
			TrustDomains: []string{"cluster.local"},
			Warnings: []string{
				"prometheus: calls were counted in steps of 1m; firstSeen and lastSeen are the ends of the first and last steps with calls, accurate to one step",
				"prometheus: inferred selector app=db for billing/db comes from ztunnel or waypoint metrics only, which report the canonical service name; check that it is a pod label",
				"prometheus: skipped 1 series (4 requests or connections) whose destination workload or namespace is unknown, for example traffic to a destination outside the mesh",
			},
		},
		Inventory: snapshot.Inventory{
			Origin:     snapshot.InventoryInferred,
			Namespaces: []snapshot.Namespace{{Name: "billing"}, {Name: "shop"}},
			Workloads: []snapshot.Workload{
				{Namespace: "billing", Name: "db", Selector: map[string]string{"app": "db"}, ServiceAccount: "db", Inferred: true},
				{Namespace: "billing", Name: "ledger", Selector: map[string]string{"app": "ledger"}, ServiceAccount: "ledger", Inferred: true},
				{Namespace: "billing", Name: "payments", Selector: map[string]string{"app": "payments"}, ServiceAccount: "payments", Inferred: true},
				{Namespace: "shop", Name: "cart", Selector: map[string]string{"app": "cart"}, ServiceAccount: "cart", Inferred: true},
			},
		},
		Edges: []snapshot.Edge{
			{Source: snapshot.Source{Namespace: "billing", Workload: "batch"}, Destination: dbDst, Reporter: "destination", Protocol: "tcp",
				Counts: snapshot.Counts{Requests: 3, Plaintext: 3}, FirstSeen: m(12), LastSeen: m(13), Evidence: ev},
			{Source: ledgerSrc, Destination: dbDst, Reporter: "destination", Protocol: "tcp",
				Counts: snapshot.Counts{Requests: 5, MTLS: 5}, FirstSeen: m(3), LastSeen: m(45), Evidence: ev},
			{Source: webSrc, Destination: dbDst, Reporter: "destination", Protocol: "tcp",
				Counts: snapshot.Counts{Requests: 1, MTLS: 1, Denied: 1}, FirstSeen: m(30), LastSeen: m(30), Evidence: ev},
			{Source: waypointSrc, Destination: ledgerDst, Reporter: "destination", Protocol: "tcp",
				Counts: snapshot.Counts{Requests: 1, MTLS: 1}, FirstSeen: m(25), LastSeen: m(25), Evidence: ev},
			{Source: cartSrc, Destination: ledgerDst, Reporter: "destination", Protocol: "http",
				Counts: snapshot.Counts{Requests: 3, MTLS: 3, Unauthorized: 3}, FirstSeen: m(14), LastSeen: m(15), Evidence: ev},
			{Source: webSrc, Destination: ledgerDst, Reporter: "waypoint", Protocol: "http",
				Counts: snapshot.Counts{Requests: 5, MTLS: 5}, FirstSeen: m(25), LastSeen: m(25), Evidence: ev},
			{Source: webSrc, Destination: paymentsDst, Reporter: "destination", Protocol: "grpc",
				Counts: snapshot.Counts{Requests: 102, MTLS: 102, Unauthorized: 2}, FirstSeen: m(31), LastSeen: m(50), Evidence: ev},
			{Source: snapshot.Source{}, Destination: cartDst, Reporter: "destination", Protocol: "http",
				Counts: snapshot.Counts{Requests: 41, Plaintext: 41}, FirstSeen: m(1), LastSeen: m(10), Evidence: ev},
			{Source: webSrc, Destination: cartDst, Reporter: "destination", Protocol: "http",
				Counts: snapshot.Counts{Requests: 108, MTLS: 108, ServerErrors: 4}, FirstSeen: m(1), LastSeen: m(42), Evidence: ev},
		},
	}
}

func TestLearnFromRealPrometheus(t *testing.T) {
	srv := testenv.Prometheus(t, readMeshFixture(t))
	config := func() Config {
		cfg := DefaultConfig()
		cfg.Endpoint = srv.URL
		cfg.Window = time.Hour
		cfg.End = m(60)
		cfg.QueryTimeout = 30 * time.Second
		return cfg
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("whole mesh", func(t *testing.T) {
		got, err := Learn(ctx, config())
		if err != nil {
			t.Fatalf("Learn() = %v", err)
		}
		if diff := cmp.Diff(wantRealMesh(srv.URL), got); diff != "" {
			t.Errorf("Learn() mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("split per workload", func(t *testing.T) {
		cfg := config()
		cfg.MaxSeriesPerQuery = 1
		cfg.Concurrency = 2
		got, err := Learn(ctx, cfg)
		if err != nil {
			t.Fatalf("Learn() = %v", err)
		}
		want := wantRealMesh(srv.URL)
		if diff := cmp.Diff(want.Edges, got.Edges); diff != "" {
			t.Errorf("edges read per workload mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want.Inventory, got.Inventory); diff != "" {
			t.Errorf("inventory read per workload mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("namespace filter", func(t *testing.T) {
		cfg := config()
		cfg.Namespaces = []string{"billing"}
		got, err := Learn(ctx, cfg)
		if err != nil {
			t.Fatalf("Learn() = %v", err)
		}
		var want []snapshot.Edge
		for _, e := range wantRealMesh(srv.URL).Edges {
			if e.Destination.Namespace == "billing" {
				want = append(want, e)
			}
		}
		if diff := cmp.Diff(want, got.Edges); diff != "" {
			t.Errorf("edges of billing mismatch (-want +got):\n%s", diff)
		}
		for _, w := range got.Metadata.Warnings {
			if strings.Contains(w, "skipped") {
				t.Errorf("with --namespace the unknown destinations are not read, but a warning says %q", w)
			}
		}
	})

	t.Run("window in the middle", func(t *testing.T) {
		// (t0+20m, t0+40m]: R3 is born at 20m30s (3 at 21m), R6 grows by
		// 100 from 30m to 35m, R9 and R9b at 25m, R11 born at 30m; R2's +2
		// at 41m and R3's +1 at 41m are outside.
		cfg := config()
		cfg.Window = 20 * time.Minute
		cfg.End = m(40)
		got, err := Learn(ctx, cfg)
		if err != nil {
			t.Fatalf("Learn() = %v", err)
		}
		type summary struct {
			src, dst, reporter string
			counts             snapshot.Counts
			first, last        time.Time
		}
		var gotSum []summary
		for _, e := range got.Edges {
			gotSum = append(gotSum, summary{e.Source.Workload, e.Destination.Workload, e.Reporter, e.Counts, e.FirstSeen, e.LastSeen})
		}
		wantSum := []summary{
			{"web", "db", "destination", snapshot.Counts{Requests: 1, MTLS: 1, Denied: 1}, m(30), m(30)},
			{"waypoint", "ledger", "destination", snapshot.Counts{Requests: 1, MTLS: 1}, m(25), m(25)},
			{"web", "ledger", "waypoint", snapshot.Counts{Requests: 5, MTLS: 5}, m(25), m(25)},
			{"web", "payments", "destination", snapshot.Counts{Requests: 100, MTLS: 100}, m(31), m(35)},
			{"web", "cart", "destination", snapshot.Counts{Requests: 3, MTLS: 3, ServerErrors: 3}, m(21), m(21)},
		}
		if diff := cmp.Diff(wantSum, gotSum, cmp.AllowUnexported(summary{})); diff != "" {
			t.Errorf("edges of (20m, 40m] mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestLearnUnreachablePrometheus(t *testing.T) {
	// A port that nothing listens on: the connection is refused, which is
	// not retried, so the run fails at once instead of backing off.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	cfg := DefaultConfig()
	cfg.Endpoint = "http://" + addr
	cfg.End = meshT0
	var sr sleepRecorder
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := learn(ctx, cfg, sr.hooks(meshT0))
	if err == nil {
		t.Fatalf("learn() from an unreachable prometheus = %d edges, want an error", len(got.Edges))
	}
	if !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "listing the destination namespaces") {
		t.Errorf("learn() error = %q, want a refused connection while listing the namespaces", err)
	}
	if ctx.Err() != nil {
		t.Errorf("learn() ran into the test's 30s deadline")
	}
	if waits := sr.recorded(); len(waits) != 0 {
		t.Errorf("learn() backed off %v before failing, want no retries", waits)
	}
}
