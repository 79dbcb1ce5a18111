package prometheus

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/common/model"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// stream builds a result series with one point per minute from tEnd-9m.
func stream(l map[string]string, values ...float64) *model.SampleStream {
	m := model.Metric{}
	for k, v := range l {
		m[model.LabelName(k)] = model.LabelValue(v)
	}
	s := &model.SampleStream{Metric: m}
	for i, v := range values {
		s.Values = append(s.Values, model.SamplePair{Timestamp: model.TimeFromUnixNano(at(i).UnixNano()), Value: model.SampleValue(v)})
	}
	return s
}

// base are the labels of an mTLS HTTP call from web to cart; cases override them.
func base(kv ...string) map[string]string {
	l := labels(
		"reporter", "destination", "source_principal", webSPIFFE, "source_workload", "web", "source_workload_namespace", "shop",
		"destination_workload", "cart", "destination_workload_namespace", "shop", "destination_principal", cartSPIFFE,
		"destination_service", "cart.shop.svc.cluster.local", "request_protocol", "http",
		"connection_security_policy", "mutual_tls", classLabel, "2xx")
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "<absent>" {
			delete(l, kv[i])
			continue
		}
		l[kv[i]] = kv[i+1]
	}
	return l
}

func TestAddStream(t *testing.T) {
	webSrc := snapshot.Source{Principal: web, Namespace: "shop", Workload: "web", IdentityFrom: snapshot.IdentityCertificate}
	cartDst := snapshot.Destination{Namespace: "shop", Workload: "cart", Service: "cart.shop.svc.cluster.local", Principal: cart}
	edge := func(src snapshot.Source, dst snapshot.Destination, reporter, proto string, c snapshot.Counts, first, last int) snapshot.Edge {
		return snapshot.Edge{Source: src, Destination: dst, Reporter: reporter, Protocol: proto, Counts: c,
			FirstSeen: at(first), LastSeen: at(last), Evidence: []string{"prometheus"}}
	}
	tests := []struct {
		name          string
		metric        string
		labels        map[string]string
		values        []float64
		want          []snapshot.Edge
		wantSkipped   int64
		wantMalformed int64
	}{
		{
			name:   "mTLS HTTP call",
			metric: metricRequests, labels: base(), values: []float64{0, 2, 0, 3},
			want: []snapshot.Edge{edge(webSrc, cartDst, "destination", "http", snapshot.Counts{Requests: 5, MTLS: 5}, 1, 3)},
		},
		{
			// Counts are whole numbers; floating-point noise is rounded away.
			name:   "rounding",
			metric: metricRequests, labels: base(), values: []float64{0.1 + 0.2, 0.7 - 0.0000000001},
			want: []snapshot.Edge{edge(webSrc, cartDst, "destination", "http", snapshot.Counts{Requests: 1, MTLS: 1}, 0, 1)},
		},
		{
			name:   "plaintext from an unknown caller",
			metric: metricRequests,
			labels: base("source_principal", "unknown", "source_workload", "unknown", "source_workload_namespace", "unknown",
				"connection_security_policy", "none"),
			values: []float64{4},
			want:   []snapshot.Edge{edge(snapshot.Source{}, cartDst, "destination", "http", snapshot.Counts{Requests: 4, Plaintext: 4}, 0, 0)},
		},
		{
			name:   "ztunnel plaintext is unknown",
			metric: metricTCP,
			labels: base("source_principal", "unknown", "connection_security_policy", "unknown", "request_protocol", "tcp", classLabel, "<absent>"),
			values: []float64{0, 0, 1},
			want: []snapshot.Edge{edge(snapshot.Source{Namespace: "shop", Workload: "web"}, cartDst, "destination", "tcp",
				snapshot.Counts{Requests: 1, Plaintext: 1}, 2, 2)},
		},
		{
			name:   "no connection_security_policy",
			metric: metricRequests, labels: base("connection_security_policy", "<absent>"), values: []float64{2},
			want: []snapshot.Edge{edge(webSrc, cartDst, "destination", "http", snapshot.Counts{Requests: 2}, 0, 0)},
		},
		{
			name:   "waypoint",
			metric: metricRequests, labels: base("reporter", "waypoint"), values: []float64{1},
			want: []snapshot.Edge{edge(webSrc, cartDst, "waypoint", "http", snapshot.Counts{Requests: 1, MTLS: 1}, 0, 0)},
		},
		{
			name:   "denied by ztunnel",
			metric: metricTCP, labels: base("request_protocol", "tcp", classLabel, "<absent>", deniedLabel, "true"), values: []float64{3},
			want: []snapshot.Edge{edge(webSrc, cartDst, "destination", "tcp", snapshot.Counts{Requests: 3, MTLS: 3, Denied: 3}, 0, 0)},
		},
		{
			name:   "401",
			metric: metricRequests, labels: base(classLabel, "401"), values: []float64{1},
			want: []snapshot.Edge{edge(webSrc, cartDst, "destination", "http", snapshot.Counts{Requests: 1, MTLS: 1, Unauthorized: 1}, 0, 0)},
		},
		{
			name:   "other 4xx",
			metric: metricRequests, labels: base(classLabel, "4xx"), values: []float64{1},
			want: []snapshot.Edge{edge(webSrc, cartDst, "destination", "http", snapshot.Counts{Requests: 1, MTLS: 1}, 0, 0)},
		},
		{
			name:   "5xx",
			metric: metricRequests, labels: base(classLabel, "5xx", "request_protocol", "grpc"), values: []float64{2},
			want: []snapshot.Edge{edge(webSrc, cartDst, "destination", "grpc", snapshot.Counts{Requests: 2, MTLS: 2, ServerErrors: 2}, 0, 0)},
		},
		{
			name:   "unknown service and destination principal",
			metric: metricRequests, labels: base("destination_service", "unknown", "destination_principal", "unknown"), values: []float64{1},
			want: []snapshot.Edge{edge(webSrc, snapshot.Destination{Namespace: "shop", Workload: "cart"}, "destination", "http",
				snapshot.Counts{Requests: 1, MTLS: 1}, 0, 0)},
		},
		{
			name:   "TCP metric without request_protocol",
			metric: metricTCP, labels: base("request_protocol", "<absent>", classLabel, "<absent>"), values: []float64{1},
			want: []snapshot.Edge{edge(webSrc, cartDst, "destination", "tcp", snapshot.Counts{Requests: 1, MTLS: 1}, 0, 0)},
		},
		{
			name:   "unexpected request_protocol",
			metric: metricRequests, labels: base("request_protocol", "websocket"), values: []float64{1},
			want: []snapshot.Edge{edge(webSrc, cartDst, "destination", "", snapshot.Counts{Requests: 1, MTLS: 1}, 0, 0)},
		},
		{
			name:   "principal without spiffe prefix and another trust domain",
			metric: metricRequests, labels: base("source_principal", "td.example/ns/shop/sa/web"), values: []float64{1},
			want: []snapshot.Edge{edge(snapshot.Source{Principal: "td.example/ns/shop/sa/web", Namespace: "shop", Workload: "web", IdentityFrom: "certificate"},
				cartDst, "destination", "http", snapshot.Counts{Requests: 1, MTLS: 1}, 0, 0)},
		},
		{
			name:   "no calls in the window",
			metric: metricRequests, labels: base(), values: []float64{0, 0, 0},
		},
		{
			name:   "unknown destination workload",
			metric: metricRequests, labels: base("destination_workload", "unknown"), values: []float64{2, 3},
			wantSkipped: 1,
		},
		{
			name:   "missing destination namespace",
			metric: metricRequests, labels: base("destination_workload_namespace", "<absent>"), values: []float64{2},
			wantSkipped: 1,
		},
		{
			name:   "malformed source principal",
			metric: metricRequests, labels: base("source_principal", "spiffe://cluster.local/ns/shop"), values: []float64{1},
			wantMalformed: 1,
		},
		{
			name:   "wildcard in source principal",
			metric: metricRequests, labels: base("source_principal", "spiffe://cluster.local/ns/*/sa/web"), values: []float64{1},
			wantMalformed: 1,
		},
		{
			name:   "source reporter",
			metric: metricRequests, labels: base("reporter", "source"), values: []float64{1},
			wantMalformed: 1,
		},
		{
			name:   "negative point",
			metric: metricRequests, labels: base(), values: []float64{1, -1},
			wantMalformed: 1,
		},
		{
			name:   "NaN point",
			metric: metricRequests, labels: base(), values: []float64{math.NaN()},
			wantMalformed: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAccumulator()
			a.addMatrix(tc.metric, model.Matrix{stream(tc.labels, tc.values...)})
			if diff := cmp.Diff(tc.want, a.edges.Edges(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("edges mismatch (-want +got):\n%s", diff)
			}
			if a.series != 1 || a.skippedSeries != tc.wantSkipped || a.malformed != tc.wantMalformed {
				t.Errorf("series, skipped, malformed = %d, %d, %d, want 1, %d, %d", a.series, a.skippedSeries, a.malformed, tc.wantSkipped, tc.wantMalformed)
			}
		})
	}
}

func TestSkippedCallsWarning(t *testing.T) {
	a := newAccumulator()
	a.addMatrix(metricRequests, model.Matrix{
		stream(base("destination_workload", "unknown"), 2, 3),
		stream(base("destination_workload_namespace", "unknown"), 1),
		stream(base("source_principal", "spiffe://bad")),
	})
	want := []string{
		"prometheus: skipped 2 series (6 requests or connections) whose destination workload or namespace is unknown, for example traffic to a destination outside the mesh",
		`prometheus: skipped 1 series with unusable label values, for example source_principal "spiffe://bad"`,
	}
	if diff := cmp.Diff(want, a.warnings()); diff != "" {
		t.Errorf("warnings mismatch (-want +got):\n%s", diff)
	}
}

func TestInventory(t *testing.T) {
	a := newAccumulator()
	a.addMatrix(metricRequests, model.Matrix{
		// cart: sidecar says app=cart version v1 and v2 (a rollout in the window).
		stream(base("destination_app", "cart", "destination_version", "v1"), 1),
		stream(base("destination_app", "cart", "destination_version", "v2", classLabel, "5xx"), 1),
		// orders: two service accounts.
		stream(base("destination_workload", "orders", "destination_app", "orders",
			"destination_principal", "spiffe://cluster.local/ns/shop/sa/orders"), 1),
		stream(base("destination_workload", "orders", "destination_app", "orders", classLabel, "4xx",
			"destination_principal", "spiffe://cluster.local/ns/shop/sa/orders-v2"), 1),
		// search: a principal from another namespace is not its service account.
		stream(base("destination_workload", "search", "destination_app", "unknown", "destination_version", "unknown",
			"destination_principal", "spiffe://cluster.local/ns/other/sa/search"), 1),
		// mail: waypoint only, app and version are the canonical ones.
		stream(base("destination_workload", "mail", "reporter", "waypoint", "destination_app", "mail", "destination_version", "latest",
			"destination_principal", "spiffe://cluster.local/ns/shop/sa/mail"), 1),
		// two apps from sidecars.
		stream(base("destination_workload", "twoapps", "destination_app", "a", "destination_principal", "<absent>"), 1),
		stream(base("destination_workload", "twoapps", "destination_app", "b", "destination_principal", "<absent>", classLabel, "5xx"), 1),
	})
	inv, warnings := a.inventory()
	inv.Workloads = sortWorkloads(inv.Workloads)
	wantWorkloads := []snapshot.Workload{
		{Namespace: "shop", Name: "cart", Selector: map[string]string{"app": "cart"}, ServiceAccount: "cart", Inferred: true},
		{Namespace: "shop", Name: "mail", Selector: map[string]string{"app": "mail"}, ServiceAccount: "mail", Inferred: true},
		{Namespace: "shop", Name: "orders", Selector: map[string]string{"app": "orders"}, Inferred: true},
		{Namespace: "shop", Name: "search", Inferred: true},
		{Namespace: "shop", Name: "twoapps", Inferred: true},
	}
	if diff := cmp.Diff(wantWorkloads, inv.Workloads); diff != "" {
		t.Errorf("workloads mismatch (-want +got):\n%s", diff)
	}
	if inv.Origin != snapshot.InventoryInferred {
		t.Errorf("origin = %q, want inferred", inv.Origin)
	}
	wantWarnings := []string{
		"prometheus: inferred selector app=mail for shop/mail comes from ztunnel or waypoint metrics only, which report the canonical service name; check that it is a pod label",
		"prometheus: shop/orders was reported with several service accounts (orders, orders-v2); its inferred service account is left empty",
		"prometheus: shop/twoapps was reported with several destination_app values (a, b); its inferred selector leaves app out",
	}
	slices.Sort(warnings)
	if diff := cmp.Diff(wantWarnings, warnings); diff != "" {
		t.Errorf("warnings mismatch (-want +got):\n%s", diff)
	}
}

func TestSumPoints(t *testing.T) {
	ps := func(vs ...float64) []model.SamplePair {
		var out []model.SamplePair
		for i, v := range vs {
			out = append(out, model.SamplePair{Timestamp: model.TimeFromUnixNano(at(i).UnixNano()), Value: model.SampleValue(v)})
		}
		return out
	}
	tests := []struct {
		in          []model.SamplePair
		wantTotal   int64
		first, last int // -1: zero time
		wantOK      bool
	}{
		{in: ps(0, 0, 5, 0, 2, 0), wantTotal: 7, first: 2, last: 4, wantOK: true},
		{in: ps(0, 0), wantTotal: 0, first: -1, last: -1, wantOK: true},
		{in: nil, wantTotal: 0, first: -1, last: -1, wantOK: true},
		{in: ps(1e300), first: -1, last: -1, wantOK: false},
		{in: ps(math.Inf(1)), first: -1, last: -1, wantOK: false},
	}
	for _, tc := range tests {
		total, first, last, ok := sumPoints(tc.in)
		tm := func(i int) time.Time {
			if i < 0 {
				return time.Time{}
			}
			return at(i)
		}
		if total != tc.wantTotal || !first.Equal(tm(tc.first)) || !last.Equal(tm(tc.last)) || ok != tc.wantOK {
			t.Errorf("sumPoints(%v) = %d, %s, %s, %v, want %d, %s, %s, %v", tc.in, total, first, last, ok,
				tc.wantTotal, tm(tc.first), tm(tc.last), tc.wantOK)
		}
	}
}

func sortWorkloads(ws []snapshot.Workload) []snapshot.Workload {
	s := snapshot.Snapshot{Inventory: snapshot.Inventory{Workloads: ws}}
	s.Normalize()
	return s.Inventory.Workloads
}

// BenchmarkAddMatrix converts a large range-query answer into edges: 20,000
// result series (2,000 destination workloads with 10 callers each) of 240
// points, the size of one week at the default step.
func BenchmarkAddMatrix(b *testing.B) {
	const workloads, callers, points = 2000, 10, 240
	var m model.Matrix
	for w := range workloads {
		for c := range callers {
			l := base(
				"destination_workload", fmt.Sprintf("wl-%d", w),
				"destination_workload_namespace", fmt.Sprintf("ns-%d", w%50),
				"destination_principal", fmt.Sprintf("spiffe://cluster.local/ns/ns-%d/sa/wl-%d", w%50, w),
				"source_principal", fmt.Sprintf("spiffe://cluster.local/ns/ns-%d/sa/caller-%d", c, c),
				"source_workload", fmt.Sprintf("caller-%d", c),
				"destination_app", fmt.Sprintf("wl-%d", w), "destination_version", "v1")
			s := stream(l)
			for p := range points {
				s.Values = append(s.Values, model.SamplePair{Timestamp: model.Time(int64(p) * 60_000), Value: model.SampleValue(p % 3)})
			}
			m = append(m, s)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		a := newAccumulator()
		a.addMatrix(metricRequests, m)
		if a.edges.Len() != workloads*callers {
			b.Fatalf("%d edges, want %d", a.edges.Len(), workloads*callers)
		}
	}
}
