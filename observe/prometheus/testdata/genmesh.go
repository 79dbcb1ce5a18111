//go:build ignore

// genmesh writes mesh.om.gz, the OpenMetrics fixture of the integration test:
//
//	go run testdata/genmesh.go | gzip -9n > testdata/mesh.om.gz
//
// Each series is a counter scraped every 15s or 30s, described by the value
// it holds from each time on (seconds after t0 = 2026-06-01T00:00:00Z). The
// expected counts in prometheus_integration_test.go were worked out by hand
// from these descriptions, not from this program or from meshgen.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

const t0 = 1780272000 // 2026-06-01T00:00:00Z

type step struct {
	from  int // seconds after t0
	value int
}

type series struct {
	metric string
	labels map[string]string
	// scraped every interval seconds from first to last (inclusive).
	interval, first, last int
	// steps: the counter holds steps[i].value from steps[i].from on.
	steps []step
}

func (s series) valueAt(t int) int {
	v := -1
	for _, st := range s.steps {
		if st.from <= t {
			v = st.value
		}
	}
	return v
}

// ramp returns steps that add per every interval seconds in (from, to].
func ramp(start, from, to, interval, per int) []step {
	var out []step
	for t, v := from+interval, start+per; t <= to; t, v = t+interval, v+per {
		out = append(out, step{t, v})
	}
	return out
}

func concat(parts ...[]step) []step {
	var out []step
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

type workload struct{ ns, name, sa, app, version string }

var (
	web      = workload{"shop", "web", "web", "web", "v1"}
	cart     = workload{"shop", "cart", "cart", "cart", "v1"}
	ledger   = workload{"billing", "ledger", "ledger", "ledger", "v1"}
	payments = workload{"billing", "payments", "payments", "payments", "v1"}
	db       = workload{"billing", "db", "db", "db", "latest"}
	batch    = workload{"billing", "batch", "", "batch", "latest"} // no mesh identity
	waypoint = workload{"billing", "waypoint", "waypoint", "waypoint", "latest"}
	orders   = workload{"legacy", "orders", "orders", "orders", "v1"}
	nobody   = workload{"unknown", "unknown", "", "unknown", "unknown"}
)

func principal(w workload) string {
	if w.sa == "" {
		return "unknown"
	}
	return "spiffe://cluster.local/ns/" + w.ns + "/sa/" + w.sa
}

// istio returns the full Istio label set of a series, as a sidecar, waypoint
// or ztunnel writes it, plus the scrape's pod label.
func istio(reporter string, src, dst workload, proto, code, grpc, flags, csp, pod string) map[string]string {
	l := map[string]string{
		"reporter":                       reporter,
		"source_workload":                src.name,
		"source_workload_namespace":      src.ns,
		"source_principal":               principal(src),
		"source_app":                     src.app,
		"source_version":                 src.version,
		"source_canonical_service":       src.app,
		"source_canonical_revision":      src.version,
		"source_cluster":                 "Kubernetes",
		"destination_workload":           dst.name,
		"destination_workload_namespace": dst.ns,
		"destination_principal":          principal(dst),
		"destination_app":                dst.app,
		"destination_version":            dst.version,
		"destination_service":            dst.app + "." + dst.ns + ".svc.cluster.local",
		"destination_service_name":       dst.app,
		"destination_service_namespace":  dst.ns,
		"destination_canonical_service":  dst.app,
		"destination_canonical_revision": dst.version,
		"destination_cluster":            "Kubernetes",
		"request_protocol":               proto,
		"response_flags":                 flags,
		"connection_security_policy":     csp,
		"pod":                            pod,
	}
	if dst == nobody {
		l["destination_service"] = "unknown"
		l["destination_service_name"] = "unknown"
		l["destination_service_namespace"] = "unknown"
	}
	if code != "" {
		l["response_code"] = code
	}
	if grpc != "" {
		l["grpc_response_status"] = grpc
	}
	return l
}

var unknownCaller = workload{"unknown", "unknown", "", "unknown", "unknown"}

func all() []series {
	const req, tcp = "istio_requests_total", "istio_tcp_connections_opened_total"
	return []series{
		// R1 web -> cart, 200, on pod cart-a: 100 before the window, +5 every
		// 30s up to 200 at 10m.
		{req, istio("destination", web, cart, "http", "200", "", "-", "mutual_tls", "cart-a"), 30, -600, 3900,
			concat([]step{{-600, 100}}, ramp(100, 0, 600, 30, 5))},
		// R2 the same calls on pod cart-b, which is deleted at 45m: 30, then
		// +1 every 30s from 40m to 42m (34).
		{req, istio("destination", web, cart, "http", "200", "", "-", "mutual_tls", "cart-b"), 30, -600, 2700,
			concat([]step{{-600, 30}}, ramp(30, 2400, 2520, 30, 1))},
		// R3 web -> cart answered 503 on cart-a: born at 20m30s with 3, 4 at 40m30s.
		{req, istio("destination", web, cart, "http", "503", "", "-", "mutual_tls", "cart-a"), 30, 1230, 3900,
			[]step{{1230, 3}, {2430, 4}}},
		// R4 a plaintext caller of cart, scraped every 15s: 40, +1 every 15s
		// to 60 at 5m; the proxy restarts and the counter reads 2 at 5m15s,
		// then +1 every 15s to 21 at 10m.
		{req, istio("destination", unknownCaller, cart, "http", "200", "", "-", "none", "cart-a"), 15, -600, 3900,
			concat([]step{{-600, 40}}, ramp(40, 0, 300, 15, 1), []step{{315, 2}}, ramp(2, 315, 600, 15, 1))},
		// R5 web's own sidecar reports R1's calls as reporter="source"; never read.
		{req, istio("source", web, cart, "http", "200", "", "-", "unknown", "web-1"), 30, -600, 3900,
			concat([]step{{-600, 100}}, ramp(100, 0, 600, 30, 5))},
		// R6 web -> payments over gRPC, OK: 500, +10 every 30s from 30m to 35m
		// (600), and +10 more at 60m30s, after the window.
		{req, istio("destination", web, payments, "grpc", "200", "0", "-", "mutual_tls", "payments-1"), 30, -600, 3900,
			concat([]step{{-600, 500}}, ramp(500, 1800, 2100, 30, 10), []step{{3630, 610}})},
		// R7 web -> payments, PERMISSION_DENIED: born at 50m with 2.
		{req, istio("destination", web, payments, "grpc", "200", "7", "-", "mutual_tls", "payments-1"), 30, 3000, 3900,
			[]step{{3000, 2}}},
		// R8 cart -> ledger, every call answered 403: 7, then 8 at 14m, 9 at
		// 14m30s, 10 at 15m.
		{req, istio("destination", cart, ledger, "http", "403", "", "-", "mutual_tls", "ledger-1"), 30, -600, 3900,
			[]step{{-600, 7}, {840, 8}, {870, 9}, {900, 10}}},
		// R9 the waypoint in billing reports web -> ledger, scraped every 15s:
		// 50, then 55 at 25m.
		{req, istio("waypoint", web, ledger, "http", "200", "", "-", "mutual_tls", "waypoint-7c9f"), 15, -600, 3900,
			[]step{{-600, 50}, {1500, 55}}},
		// R9b ledger's ztunnel sees the waypoint's connection: 3, then 4 at 25m.
		{tcp, istio("destination", waypoint, ledger, "tcp", "", "", "-", "mutual_tls", "ztunnel-node1"), 30, -600, 3900,
			[]step{{-600, 3}, {1500, 4}}},
		// R10 ledger -> db through ztunnel: 20, 21 at 2m30s, 25 at 45m, and
		// 30 at 61m, after the window.
		{tcp, istio("destination", ledger, db, "tcp", "", "", "-", "mutual_tls", "ztunnel-node2"), 30, -600, 3900,
			[]step{{-600, 20}, {150, 21}, {2700, 25}, {3660, 30}}},
		// R11 web -> db refused by policy at ztunnel: born at 30m with 1.
		{tcp, istio("destination", web, db, "tcp", "", "", "DENY", "mutual_tls", "ztunnel-node2"), 30, 1800, 3900,
			[]step{{1800, 1}}},
		// R12 batch -> db in plaintext (ztunnel writes unknown): born at 12m
		// with 2, 3 at 12m30s.
		{tcp, istio("destination", batch, db, "tcp", "", "", "-", "unknown", "ztunnel-node2"), 30, 720, 3900,
			[]step{{720, 2}, {750, 3}}},
		// R14 a destination Istio could not name: born at 5m with 4.
		{req, istio("destination", web, nobody, "http", "200", "", "-", "mutual_tls", "gateway-1"), 30, 300, 3900,
			[]step{{300, 4}}},
		// R15 legacy/orders stopped 5m before the window: 5, 9 at -10m.
		{req, istio("destination", web, orders, "http", "200", "", "-", "mutual_tls", "orders-1"), 30, -1200, -300,
			[]step{{-1200, 5}, {-600, 9}}},
	}
}

func main() {
	var b strings.Builder
	byMetric := map[string][]series{}
	for _, s := range all() {
		byMetric[s.metric] = append(byMetric[s.metric], s)
	}
	for _, family := range []string{"istio_requests", "istio_tcp_connections_opened"} {
		fmt.Fprintf(&b, "# HELP %s meshgen test fixture.\n# TYPE %s counter\n", family, family)
		for _, s := range byMetric[family+"_total"] {
			keys := make([]string, 0, len(s.labels))
			for k := range s.labels {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var ls []string
			for _, k := range keys {
				ls = append(ls, fmt.Sprintf("%s=%q", k, s.labels[k]))
			}
			name := s.metric + "{" + strings.Join(ls, ",") + "}"
			for t := s.first; t <= s.last; t += s.interval {
				v := s.valueAt(t)
				if v < 0 {
					fmt.Fprintf(os.Stderr, "%s has no value at %d\n", name, t)
					os.Exit(1)
				}
				fmt.Fprintf(&b, "%s %d %d\n", name, v, t0+t)
			}
		}
	}
	b.WriteString("# EOF\n")
	os.Stdout.WriteString(b.String())
}
