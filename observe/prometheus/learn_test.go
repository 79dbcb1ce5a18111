package prometheus

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meshgen/meshgen/observe/badinput"
	"github.com/meshgen/meshgen/observe/snapshot"
)

// tEnd is the end of the window in the fake-server tests. With a 10m window
// the step is 1m and the ten points are at tEnd-9m, ..., tEnd.
var tEnd = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// at returns the time of point i (0..9).
func at(i int) time.Time { return tEnd.Add(time.Duration(i-9) * time.Minute) }

// point returns ten values, all zero except those given as index, value pairs.
func point(iv ...float64) []float64 {
	v := make([]float64, 10)
	for i := 0; i < len(iv); i += 2 {
		v[int(iv[i])] = iv[i+1]
	}
	return v
}

const (
	webSPIFFE      = "spiffe://cluster.local/ns/shop/sa/web"
	cartSPIFFE     = "spiffe://cluster.local/ns/shop/sa/cart"
	web            = "cluster.local/ns/shop/sa/web"
	cart           = "cluster.local/ns/shop/sa/cart"
	ledgerSPIFFE   = "spiffe://cluster.local/ns/billing/sa/ledger"
	paymentsSPIFFE = "spiffe://cluster.local/ns/billing/sa/payments"
)

// meshSeries is a small mesh as the fake's result series (already summed by
// the group labels, as Prometheus would answer).
func meshSeries() []fakeSeries {
	webToCart := func(class string, v []float64) fakeSeries {
		return fakeSeries{metricRequests, labels(
			"reporter", "destination", "source_principal", webSPIFFE, "source_workload", "web", "source_workload_namespace", "shop",
			"destination_workload", "cart", "destination_workload_namespace", "shop", "destination_principal", cartSPIFFE,
			"destination_service", "cart.shop.svc.cluster.local", "destination_app", "cart", "destination_version", "v1",
			"request_protocol", "http", "connection_security_policy", "mutual_tls", classLabel, class), v}
	}
	return []fakeSeries{
		// A, B: web -> cart over mTLS, 8 answered 2xx and 2 answered 5xx.
		webToCart("2xx", point(1, 3, 2, 4, 8, 1)),
		webToCart("5xx", point(2, 2)),
		// C: a plaintext caller the sidecar knows nothing about.
		{metricRequests, labels(
			"reporter", "destination", "source_principal", "unknown", "source_workload", "unknown", "source_workload_namespace", "unknown",
			"destination_workload", "cart", "destination_workload_namespace", "shop", "destination_principal", cartSPIFFE,
			"destination_service", "cart.shop.svc.cluster.local", "destination_app", "cart", "destination_version", "v1",
			"request_protocol", "http", "connection_security_policy", "none", classLabel, "2xx"),
			[]float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
		// D: ztunnel's inbound plaintext: connection_security_policy unknown,
		// source workload known from its address.
		{metricTCP, labels(
			"reporter", "destination", "source_principal", "unknown", "source_workload", "batch", "source_workload_namespace", "shop",
			"destination_workload", "db", "destination_workload_namespace", "shop", "destination_principal", "spiffe://cluster.local/ns/shop/sa/db",
			"destination_service", "db.shop.svc.cluster.local", "destination_app", "db", "destination_version", "latest",
			"request_protocol", "tcp", "connection_security_policy", "unknown"),
			point(5, 5)},
		// E: a waypoint in front of ledger reports web's calls.
		{metricRequests, labels(
			"reporter", "waypoint", "source_principal", webSPIFFE, "source_workload", "web", "source_workload_namespace", "shop",
			"destination_workload", "ledger", "destination_workload_namespace", "billing", "destination_principal", ledgerSPIFFE,
			"destination_service", "ledger.billing.svc.cluster.local", "destination_app", "ledger-canonical", "destination_version", "latest",
			"request_protocol", "http", "connection_security_policy", "mutual_tls", classLabel, "2xx"),
			point(9, 7)},
		// F: cart -> ledger, every call answered 403.
		{metricRequests, labels(
			"reporter", "destination", "source_principal", cartSPIFFE, "source_workload", "cart", "source_workload_namespace", "shop",
			"destination_workload", "ledger", "destination_workload_namespace", "billing", "destination_principal", ledgerSPIFFE,
			"destination_service", "ledger.billing.svc.cluster.local", "destination_app", "ledger", "destination_version", "v2",
			"request_protocol", "http", "connection_security_policy", "mutual_tls", classLabel, "403"),
			point(0, 2)},
		// G: web -> payments over gRPC, 4 OK and 1 UNAUTHENTICATED.
		{metricRequests, labels(
			"reporter", "destination", "source_principal", webSPIFFE, "source_workload", "web", "source_workload_namespace", "shop",
			"destination_workload", "payments", "destination_workload_namespace", "billing", "destination_principal", paymentsSPIFFE,
			"destination_service", "payments.billing.svc.cluster.local", "destination_app", "payments", "destination_version", "unknown",
			"request_protocol", "grpc", "connection_security_policy", "mutual_tls", classLabel, "2xx"),
			point(3, 4)},
		{metricRequests, labels(
			"reporter", "destination", "source_principal", webSPIFFE, "source_workload", "web", "source_workload_namespace", "shop",
			"destination_workload", "payments", "destination_workload_namespace", "billing", "destination_principal", paymentsSPIFFE,
			"destination_service", "payments.billing.svc.cluster.local", "destination_app", "payments", "destination_version", "unknown",
			"request_protocol", "grpc", "connection_security_policy", "mutual_tls", classLabel, "401"),
			point(3, 1)},
		// H: ztunnel denied web's connections to billing/db.
		{metricTCP, labels(
			"reporter", "destination", "source_principal", webSPIFFE, "source_workload", "web", "source_workload_namespace", "shop",
			"destination_workload", "db", "destination_workload_namespace", "billing", "destination_principal", "spiffe://cluster.local/ns/billing/sa/db",
			"destination_service", "db.billing.svc.cluster.local", "destination_app", "db", "destination_version", "latest",
			"request_protocol", "tcp", "connection_security_policy", "mutual_tls", deniedLabel, "true"),
			point(5, 3)},
		// I: ledger -> billing/db had no new connections in the window.
		{metricTCP, labels(
			"reporter", "destination", "source_principal", ledgerSPIFFE, "source_workload", "ledger", "source_workload_namespace", "billing",
			"destination_workload", "db", "destination_workload_namespace", "billing", "destination_principal", "spiffe://cluster.local/ns/billing/sa/db",
			"destination_service", "db.billing.svc.cluster.local", "destination_app", "db", "destination_version", "latest",
			"request_protocol", "tcp", "connection_security_policy", "mutual_tls"),
			point()},
		// J: a destination Istio could not name.
		{metricRequests, labels(
			"reporter", "destination", "source_principal", webSPIFFE, "source_workload", "web", "source_workload_namespace", "shop",
			"destination_workload", "unknown", "destination_workload_namespace", "unknown",
			"request_protocol", "http", "connection_security_policy", "mutual_tls", classLabel, "2xx"),
			point(2, 6)},
	}
}

func testConfig(endpoint string) Config {
	cfg := DefaultConfig()
	cfg.Endpoint = endpoint
	cfg.Window = 10 * time.Minute
	cfg.End = tEnd
	return cfg
}

func prom() []string { return []string{snapshot.EvidencePrometheus} }

func isBadInput(err error) bool { return badinput.Is(err) }

// wantMeshSnapshot is the snapshot of meshSeries, worked out by hand.
func wantMeshSnapshot(location string) *snapshot.Snapshot {
	webSrc := snapshot.Source{Principal: web, Namespace: "shop", Workload: "web", IdentityFrom: snapshot.IdentityCertificate}
	cartSrc := snapshot.Source{Principal: cart, Namespace: "shop", Workload: "cart", IdentityFrom: snapshot.IdentityCertificate}
	win := snapshot.Window{Start: tEnd.Add(-10 * time.Minute), End: tEnd}
	return &snapshot.Snapshot{
		APIVersion: snapshot.APIVersion,
		Kind:       snapshot.Kind,
		Metadata: snapshot.Metadata{
			Windows:      []snapshot.Window{win},
			Sources:      []snapshot.SourceInfo{{Kind: "prometheus", Location: location, Window: &win, Records: 11}},
			TrustDomains: []string{"cluster.local"},
			Warnings: []string{
				"prometheus: calls were counted in steps of 1m; firstSeen and lastSeen are the ends of the first and last steps with calls, accurate to one step",
				"prometheus: inferred selector app=db for billing/db comes from ztunnel or waypoint metrics only, which report the canonical service name; check that it is a pod label",
				"prometheus: inferred selector app=db for shop/db comes from ztunnel or waypoint metrics only, which report the canonical service name; check that it is a pod label",
				"prometheus: skipped 1 series (6 requests or connections) whose destination workload or namespace is unknown, for example traffic to a destination outside the mesh",
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
				{Namespace: "shop", Name: "db", Selector: map[string]string{"app": "db"}, ServiceAccount: "db", Inferred: true},
			},
		},
		Edges: []snapshot.Edge{
			{
				Source:      webSrc,
				Destination: snapshot.Destination{Namespace: "billing", Workload: "db", Service: "db.billing.svc.cluster.local", Principal: "cluster.local/ns/billing/sa/db"},
				Reporter:    "destination", Protocol: "tcp",
				Counts:    snapshot.Counts{Requests: 3, MTLS: 3, Denied: 3},
				FirstSeen: at(5), LastSeen: at(5), Evidence: prom(),
			},
			{
				Source:      cartSrc,
				Destination: snapshot.Destination{Namespace: "billing", Workload: "ledger", Service: "ledger.billing.svc.cluster.local", Principal: "cluster.local/ns/billing/sa/ledger"},
				Reporter:    "destination", Protocol: "http",
				Counts:    snapshot.Counts{Requests: 2, MTLS: 2, Unauthorized: 2},
				FirstSeen: at(0), LastSeen: at(0), Evidence: prom(),
			},
			{
				Source:      webSrc,
				Destination: snapshot.Destination{Namespace: "billing", Workload: "ledger", Service: "ledger.billing.svc.cluster.local", Principal: "cluster.local/ns/billing/sa/ledger"},
				Reporter:    "waypoint", Protocol: "http",
				Counts:    snapshot.Counts{Requests: 7, MTLS: 7},
				FirstSeen: at(9), LastSeen: at(9), Evidence: prom(),
			},
			{
				Source:      webSrc,
				Destination: snapshot.Destination{Namespace: "billing", Workload: "payments", Service: "payments.billing.svc.cluster.local", Principal: "cluster.local/ns/billing/sa/payments"},
				Reporter:    "destination", Protocol: "grpc",
				Counts:    snapshot.Counts{Requests: 5, MTLS: 5, Unauthorized: 1},
				FirstSeen: at(3), LastSeen: at(3), Evidence: prom(),
			},
			{
				Source:      snapshot.Source{},
				Destination: snapshot.Destination{Namespace: "shop", Workload: "cart", Service: "cart.shop.svc.cluster.local", Principal: cart},
				Reporter:    "destination", Protocol: "http",
				Counts:    snapshot.Counts{Requests: 10, Plaintext: 10},
				FirstSeen: at(0), LastSeen: at(9), Evidence: prom(),
			},
			{
				Source:      webSrc,
				Destination: snapshot.Destination{Namespace: "shop", Workload: "cart", Service: "cart.shop.svc.cluster.local", Principal: cart},
				Reporter:    "destination", Protocol: "http",
				Counts:    snapshot.Counts{Requests: 10, MTLS: 10, ServerErrors: 2},
				FirstSeen: at(1), LastSeen: at(8), Evidence: prom(),
			},
			{
				Source:      snapshot.Source{Namespace: "shop", Workload: "batch"},
				Destination: snapshot.Destination{Namespace: "shop", Workload: "db", Service: "db.shop.svc.cluster.local", Principal: "cluster.local/ns/shop/sa/db"},
				Reporter:    "destination", Protocol: "tcp",
				Counts:    snapshot.Counts{Requests: 5, Plaintext: 5},
				FirstSeen: at(5), LastSeen: at(5), Evidence: prom(),
			},
		},
	}
}

func TestLearn(t *testing.T) {
	f := newFakeProm(t, meshSeries())
	var sr sleepRecorder
	got, err := learn(context.Background(), testConfig(f.URL()), sr.hooks(tEnd))
	if err != nil {
		t.Fatalf("learn() = %v", err)
	}
	if diff := cmp.Diff(wantMeshSnapshot(f.URL()), got); diff != "" {
		t.Errorf("learn() mismatch (-want +got):\n%s", diff)
	}

	// One query per metric for each of shop, billing and the unknown shard.
	var wantQueries []string
	for _, s := range []shard{namespaceShard("billing"), namespaceShard("shop"), unknownNamespaceShard()} {
		for _, m := range metrics {
			wantQueries = append(wantQueries, buildQuery(m, s, time.Minute))
		}
	}
	slices.Sort(wantQueries)
	if diff := cmp.Diff(wantQueries, f.queries()); diff != "" {
		t.Errorf("queries sent mismatch (-want +got):\n%s", diff)
	}
	for _, r := range f.recorded() {
		if r.path != "/api/v1/query_range" {
			continue
		}
		want := map[string]string{
			"start":   "1780314660", // tEnd - 9m
			"end":     "1780315200",
			"step":    "60",
			"timeout": "2m0s",
		}
		for k, v := range want {
			if got := r.form.Get(k); got != v {
				t.Errorf("query_range parameter %s = %q, want %q", k, got, v)
			}
		}
	}
}

func TestLearnZeroEndIsNow(t *testing.T) {
	f := newFakeProm(t, meshSeries())
	cfg := testConfig(f.URL())
	cfg.End = time.Time{}
	var sr sleepRecorder
	got, err := learn(context.Background(), cfg, sr.hooks(tEnd.Add(400*time.Millisecond)))
	if err != nil {
		t.Fatalf("learn() = %v", err)
	}
	want := []snapshot.Window{{Start: tEnd.Add(-10 * time.Minute), End: tEnd}}
	if diff := cmp.Diff(want, got.Metadata.Windows); diff != "" {
		t.Errorf("windows with End zero and now = tEnd+0.4s mismatch (-want +got):\n%s", diff)
	}
}

func TestLearnFilters(t *testing.T) {
	tests := []struct {
		name         string
		namespaces   []string
		exclude      []string
		wantShards   []shard
		wantWarnings []string
		wantErr      string
	}{
		{
			name:       "namespace",
			namespaces: []string{"billing"},
			wantShards: []shard{namespaceShard("billing")},
		},
		{
			name:       "namespace not found",
			namespaces: []string{"billing", "nope"},
			wantShards: []shard{namespaceShard("billing")},
			wantWarnings: []string{
				"prometheus: --namespace nope: no Istio request or connection metrics have this destination namespace in the window",
			},
		},
		{
			name:       "no namespace found",
			namespaces: []string{"nope"},
			wantErr:    "none of the namespaces given with --namespace (nope) has Istio request or connection metrics",
		},
		{
			name:       "exclude",
			exclude:    []string{"shop"},
			wantShards: []shard{namespaceShard("billing"), unknownNamespaceShard()},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeProm(t, meshSeries())
			cfg := testConfig(f.URL())
			cfg.Namespaces, cfg.ExcludeNamespaces = tc.namespaces, tc.exclude
			var sr sleepRecorder
			got, err := learn(context.Background(), cfg, sr.hooks(tEnd))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("learn() error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("learn() = %v", err)
			}
			var want []string
			for _, s := range tc.wantShards {
				for _, m := range metrics {
					want = append(want, buildQuery(m, s, time.Minute))
				}
			}
			slices.Sort(want)
			if diff := cmp.Diff(want, f.queries()); diff != "" {
				t.Errorf("queries mismatch (-want +got):\n%s", diff)
			}
			for _, e := range got.Edges {
				for _, ns := range append(tc.exclude, "") {
					if e.Destination.Namespace == ns {
						t.Errorf("edge to excluded namespace %q: %+v", ns, e)
					}
				}
				if len(tc.namespaces) > 0 && !slices.Contains(tc.namespaces, e.Destination.Namespace) {
					t.Errorf("edge to namespace %q not in --namespace %v", e.Destination.Namespace, tc.namespaces)
				}
			}
			for _, w := range tc.wantWarnings {
				if !slices.Contains(got.Metadata.Warnings, w) {
					t.Errorf("warnings = %q, want them to include %q", got.Metadata.Warnings, w)
				}
			}
		})
	}
}

func TestLearnNoMetrics(t *testing.T) {
	f := newFakeProm(t, nil)
	var sr sleepRecorder
	_, err := learn(context.Background(), testConfig(f.URL()), sr.hooks(tEnd))
	if err == nil || !strings.Contains(err.Error(), "has no istio_requests_total or istio_tcp_connections_opened_total series") {
		t.Fatalf("learn() with no metrics: error = %v, want one saying there are no series", err)
	}
}

func TestLearnResplit(t *testing.T) {
	tooManySamples := func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if r.URL.Path == "/api/v1/query_range" && strings.Contains(r.Form.Get("query"), `destination_workload_namespace="billing"}`) {
			writeAPIError(w, http.StatusUnprocessableEntity, "execution", "query processing would load too many samples into memory in query execution")
			return true
		}
		return false
	}
	tests := []struct {
		name      string
		maxSeries int
		intercept func(http.ResponseWriter, *http.Request, int) bool
		// wantSplit are the namespaces queried again per workload.
		wantSplit []string
	}{
		{name: "no split", maxSeries: 100},
		// billing has 4 request series and 2 connection series; shop 3 and 1.
		{name: "billing requests", maxSeries: 3, wantSplit: []string{"billing/" + metricRequests}},
		{name: "every namespace", maxSeries: 1, wantSplit: []string{
			"billing/" + metricRequests, "billing/" + metricTCP, "shop/" + metricRequests,
		}},
		{name: "refused as too large", maxSeries: 100, intercept: tooManySamples, wantSplit: []string{
			"billing/" + metricRequests, "billing/" + metricTCP,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeProm(t, meshSeries())
			f.intercept = tc.intercept
			cfg := testConfig(f.URL())
			cfg.MaxSeriesPerQuery = tc.maxSeries
			var sr sleepRecorder
			got, err := learn(context.Background(), cfg, sr.hooks(tEnd))
			if err != nil {
				t.Fatalf("learn() = %v", err)
			}
			want := wantMeshSnapshot(f.URL())
			if diff := cmp.Diff(want.Edges, got.Edges); diff != "" {
				t.Errorf("edges mismatch (-want +got):\n%s", diff)
			}

			var split []string
			for _, q := range f.queries() {
				if strings.Contains(q, `,destination_workload="`) {
					p := parseSelector(t, q)
					key := p.ns + "/" + p.metric
					if !slices.Contains(split, key) {
						split = append(split, key)
					}
				}
			}
			slices.Sort(split)
			if diff := cmp.Diff(tc.wantSplit, split); diff != "" {
				t.Errorf("namespaces split per workload mismatch (-want +got):\n%s", diff)
			}
			// A split namespace is queried for each of its workloads and for
			// the series without a workload.
			if slices.Contains(tc.wantSplit, "billing/"+metricRequests) {
				for _, wl := range []string{"", "ledger", "payments"} {
					q := buildQuery(metricRequests, namespaceShard("billing").withWorkload(wl), time.Minute)
					if !slices.Contains(f.queries(), q) {
						t.Errorf("no query for billing workload %q; queries:\n%s", wl, strings.Join(f.queries(), "\n"))
					}
				}
			}
		})
	}
}

func TestLearnWorkloadTooLargeFails(t *testing.T) {
	f := newFakeProm(t, meshSeries())
	f.intercept = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if r.URL.Path == "/api/v1/query_range" && strings.Contains(r.Form.Get("query"), `destination_workload_namespace="billing"`) {
			writeAPIError(w, http.StatusUnprocessableEntity, "execution", "the query exceeded the maximum number of series (limit: 10)")
			return true
		}
		return false
	}
	var sr sleepRecorder
	_, err := learn(context.Background(), testConfig(f.URL()), sr.hooks(tEnd))
	if err == nil {
		t.Fatal("learn() = nil error, want the refused workload query to fail the run")
	}
	for _, want := range []string{"destination namespace billing, ", "maximum number of series", "query: sum by ("} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("learn() error = %q, want it to contain %q", err, want)
		}
	}
}

func TestLearnRetries(t *testing.T) {
	tests := []struct {
		name string
		// fail answers the first failures requests to query_range badly.
		failures   int
		fail       func(w http.ResponseWriter)
		retries    int
		wantErr    []string
		wantSleeps []time.Duration
		// wantAttempts is the number of query_range requests for the shard.
		wantAttempts int
	}{
		{
			name:     "503 then success",
			failures: 2,
			fail: func(w http.ResponseWriter) {
				writeAPIError(w, http.StatusServiceUnavailable, "timeout", "query timed out in expression evaluation")
			},
			retries:      3,
			wantSleeps:   []time.Duration{250 * time.Millisecond, 500 * time.Millisecond},
			wantAttempts: 3,
		},
		{
			name:     "429 with Retry-After",
			failures: 1,
			fail: func(w http.ResponseWriter) {
				w.Header().Set("Retry-After", "7")
				http.Error(w, "slow down", http.StatusTooManyRequests)
			},
			retries:      3,
			wantSleeps:   []time.Duration{7 * time.Second},
			wantAttempts: 2,
		},
		{
			name:     "502 until the retries run out",
			failures: 100,
			fail: func(w http.ResponseWriter) {
				http.Error(w, "upstream connect error", http.StatusBadGateway)
			},
			retries:      3,
			wantSleeps:   []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second},
			wantAttempts: 4,
			wantErr: []string{
				"querying prometheus for destination namespace shop (istio_requests_total)",
				"502 Bad Gateway: upstream connect error (gave up after 4 attempts)",
				"; query: sum by (",
			},
		},
		{
			name:     "400 is not retried",
			failures: 100,
			fail: func(w http.ResponseWriter) {
				writeAPIError(w, http.StatusBadRequest, "bad_data", `1:1: parse error: unexpected "}"`)
			},
			retries:      3,
			wantAttempts: 1,
			wantErr:      []string{"querying prometheus for destination namespace shop (istio_requests_total): bad_data: 1:1: parse error"},
		},
		{
			name:     "no retries",
			failures: 100,
			fail: func(w http.ResponseWriter) {
				http.Error(w, "oops", http.StatusInternalServerError)
			},
			retries:      0,
			wantAttempts: 1,
			wantErr:      []string{"500 Internal Server Error: oops (gave up after 1 attempt)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeProm(t, meshSeries())
			var attempts atomic.Int64
			f.intercept = func(w http.ResponseWriter, r *http.Request, _ int) bool {
				if r.URL.Path != "/api/v1/query_range" || !strings.Contains(r.Form.Get("query"), `istio_requests_total{reporter=~"destination|waypoint",destination_workload_namespace="shop"}`) {
					return false
				}
				if attempts.Add(1) <= int64(tc.failures) {
					tc.fail(w)
					return true
				}
				return false
			}
			cfg := testConfig(f.URL())
			cfg.Retries = tc.retries
			cfg.Concurrency = 1 // one query in flight, so the fail-fast cancel cannot race
			var sr sleepRecorder
			got, err := learn(context.Background(), cfg, sr.hooks(tEnd))
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("learn() = nil error, want %q", tc.wantErr)
				}
				if got != nil {
					t.Errorf("learn() returned a snapshot with its error")
				}
				for _, want := range tc.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("learn() error = %q, want it to contain %q", err, want)
					}
				}
			} else if err != nil {
				t.Fatalf("learn() = %v", err)
			} else if diff := cmp.Diff(wantMeshSnapshot(f.URL()).Edges, got.Edges); diff != "" {
				t.Errorf("edges after retries mismatch (-want +got):\n%s", diff)
			}
			if got := attempts.Load(); got != int64(tc.wantAttempts) {
				t.Errorf("query_range requests for the shard = %d, want %d", got, tc.wantAttempts)
			}
			if diff := cmp.Diff(tc.wantSleeps, sr.recorded()); diff != "" {
				t.Errorf("backoff waits mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLearnWarningsAreErrors(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		wantErr string
	}{
		{name: "label values", path: "/api/v1/label/destination_workload_namespace/values",
			wantErr: "listing the destination namespaces in prometheus: prometheus answered with warnings, so the answer may be incomplete: store gateway 2 unreachable"},
		{name: "range query", path: "/api/v1/query_range",
			wantErr: "prometheus answered with warnings, so the answer may be incomplete: store gateway 2 unreachable; query: sum by"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeProm(t, meshSeries())
			f.intercept = func(w http.ResponseWriter, r *http.Request, _ int) bool {
				if r.URL.Path != tc.path {
					return false
				}
				if tc.path == "/api/v1/query_range" {
					writeSuccess(w, map[string]any{"resultType": "matrix", "result": []any{}}, []string{"store gateway 2 unreachable"})
				} else {
					writeSuccess(w, []string{"shop"}, []string{"store gateway 2 unreachable"})
				}
				return true
			}
			var sr sleepRecorder
			_, err := learn(context.Background(), testConfig(f.URL()), sr.hooks(tEnd))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("learn() error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestLearnFailedShardFailsRun(t *testing.T) {
	f := newFakeProm(t, meshSeries())
	f.intercept = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if r.URL.Path == "/api/v1/query_range" && strings.Contains(r.Form.Get("query"), `istio_tcp_connections_opened_total{reporter=~"destination|waypoint",destination_workload_namespace="billing"}`) {
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return true
		}
		return false
	}
	cfg := testConfig(f.URL())
	cfg.Retries = 1
	var sr sleepRecorder
	got, err := learn(context.Background(), cfg, sr.hooks(tEnd))
	if got != nil {
		t.Errorf("learn() returned a snapshot although a shard failed")
	}
	if err == nil {
		t.Fatal("learn() = nil error, want the failed shard's error")
	}
	want := "querying prometheus for destination namespace billing (istio_tcp_connections_opened_total): 503 Service Unavailable: store unavailable (gave up after 2 attempts); query: " +
		buildQuery(metricTCP, namespaceShard("billing"), time.Minute)
	if err.Error() != want {
		t.Errorf("learn() error =\n%s\nwant\n%s", err, want)
	}
}

func TestLearnPartialResponseParameter(t *testing.T) {
	f := newFakeProm(t, meshSeries())
	var sr sleepRecorder
	if _, err := learn(context.Background(), testConfig(f.URL()), sr.hooks(tEnd)); err != nil {
		t.Fatalf("learn() = %v", err)
	}
	reqs := f.recorded()
	if len(reqs) == 0 {
		t.Fatal("no requests recorded")
	}
	var posts, gets int
	for _, r := range reqs {
		switch r.method {
		case http.MethodPost:
			posts++
			if got := r.postForm["partial_response"]; !slices.Equal(got, []string{"false"}) {
				t.Errorf("%s %s: partial_response in the form body = %q, want [false]", r.method, r.path, got)
			}
			if r.postForm.Get("query") == "" {
				t.Errorf("%s %s: the form body lost its query parameter: %v", r.method, r.path, r.postForm)
			}
		case http.MethodGet:
			gets++
			if got := r.urlQuery["partial_response"]; !slices.Equal(got, []string{"false"}) {
				t.Errorf("%s %s: partial_response in the URL = %q, want [false]", r.method, r.path, got)
			}
		}
	}
	// client_golang sends range queries as POST and label values as GET.
	if posts == 0 || gets == 0 {
		t.Errorf("saw %d POST and %d GET requests, want both kinds", posts, gets)
	}
}

func TestLearnGetFallbackKeepsPartialResponse(t *testing.T) {
	f := newFakeProm(t, meshSeries())
	// A proxy that only allows GET: client_golang retries the request as a
	// GET with the parameters in the URL.
	f.intercept = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if r.Method == http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return true
		}
		return false
	}
	var sr sleepRecorder
	if _, err := learn(context.Background(), testConfig(f.URL()), sr.hooks(tEnd)); err != nil {
		t.Fatalf("learn() = %v", err)
	}
	for _, r := range f.recorded() {
		if r.method == http.MethodGet && r.path == "/api/v1/query_range" {
			if got := r.urlQuery["partial_response"]; !slices.Equal(got, []string{"false"}) {
				t.Errorf("GET %s: partial_response in the URL = %q, want [false]", r.path, got)
			}
		}
	}
}

func TestLearnAuthentication(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("first-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		modify func(*Config)
		// check is called with the Authorization header of request n (1-based).
		check func(t *testing.T, n int, r fakeRequest)
		// rotate rewrites the token file after the first request.
		rotate bool
	}{
		{
			name: "headers",
			modify: func(c *Config) {
				c.Headers = map[string]string{"X-Scope-OrgID": "tenant-a", "X-Custom": "1"}
			},
			check: func(t *testing.T, n int, r fakeRequest) {
				if got := r.header.Get("X-Scope-OrgID"); got != "tenant-a" {
					t.Errorf("request %d: X-Scope-OrgID = %q, want tenant-a", n, got)
				}
				if got := r.header.Get("X-Custom"); got != "1" {
					t.Errorf("request %d: X-Custom = %q, want 1", n, got)
				}
				if got := r.header.Get("Authorization"); got != "" {
					t.Errorf("request %d: Authorization = %q, want none", n, got)
				}
				if got := r.header.Get("User-Agent"); got != "meshgen" {
					t.Errorf("request %d: User-Agent = %q, want meshgen", n, got)
				}
			},
		},
		{
			name:   "bearer token read for every request",
			modify: func(c *Config) { c.BearerTokenFile = tokenFile },
			rotate: true,
			check: func(t *testing.T, n int, r fakeRequest) {
				want := "Bearer second-token"
				if n == 1 {
					want = "Bearer first-token"
				}
				if got := r.header.Get("Authorization"); got != want {
					t.Errorf("request %d: Authorization = %q, want %q", n, got, want)
				}
			},
		},
		{
			name:   "basic auth",
			modify: func(c *Config) { c.BasicAuth = &BasicAuth{Username: "meshgen", Password: "s3:cret"} },
			check: func(t *testing.T, n int, r fakeRequest) {
				// base64("meshgen:s3:cret")
				if got, want := r.header.Get("Authorization"), "Basic bWVzaGdlbjpzMzpjcmV0"; got != want {
					t.Errorf("request %d: Authorization = %q, want %q", n, got, want)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(tokenFile, []byte("first-token\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			f := newFakeProm(t, meshSeries())
			if tc.rotate {
				f.intercept = func(w http.ResponseWriter, r *http.Request, n int) bool {
					if n == 1 {
						if err := os.WriteFile(tokenFile, []byte("second-token"), 0o600); err != nil {
							t.Error(err)
						}
					}
					return false
				}
			}
			cfg := testConfig(f.URL())
			tc.modify(&cfg)
			var sr sleepRecorder
			if _, err := learn(context.Background(), cfg, sr.hooks(tEnd)); err != nil {
				t.Fatalf("learn() = %v", err)
			}
			reqs := f.recorded()
			if len(reqs) < 2 {
				t.Fatalf("%d requests recorded, want several", len(reqs))
			}
			for i, r := range reqs {
				tc.check(t, i+1, r)
			}
		})
	}
}

func TestLearnBearerTokenFileMissing(t *testing.T) {
	f := newFakeProm(t, meshSeries())
	cfg := testConfig(f.URL())
	cfg.BearerTokenFile = filepath.Join(t.TempDir(), "missing")
	var sr sleepRecorder
	_, err := learn(context.Background(), cfg, sr.hooks(tEnd))
	if err == nil || !strings.Contains(err.Error(), "reading --prometheus-bearer-token-file") || !isBadInput(err) {
		t.Fatalf("learn() error = %v, want a bad-input error about reading --prometheus-bearer-token-file", err)
	}
	if n := len(f.recorded()); n != 0 {
		t.Errorf("%d requests were sent, want none", n)
	}
}

func TestLearnInvalidConfig(t *testing.T) {
	cfg := testConfig("http://127.0.0.1:1")
	cfg.Window = 30 * time.Second
	var sr sleepRecorder
	_, err := learn(context.Background(), cfg, sr.hooks(tEnd))
	if err == nil || err.Error() != "--window must be at least 1m" || !isBadInput(err) {
		t.Fatalf("learn() error = %v, want the bad-input error --window must be at least 1m", err)
	}
}

func TestLearnContextCanceled(t *testing.T) {
	f := newFakeProm(t, meshSeries())
	ctx, cancel := context.WithCancel(context.Background())
	f.intercept = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.URL.Path == "/api/v1/query_range" {
			cancel()
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return true
		}
		return false
	}
	var sr sleepRecorder
	_, err := learn(ctx, testConfig(f.URL()), sr.hooks(tEnd))
	if err == nil {
		t.Fatal("learn() with a canceled context = nil error")
	}
	if len(sr.recorded()) != 0 {
		t.Errorf("slept %v after the context was canceled, want no retries", sr.recorded())
	}
}
