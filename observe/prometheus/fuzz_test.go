package prometheus

import (
	"math"
	"strings"
	"testing"

	"github.com/prometheus/common/model"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// FuzzParseBasicAuth: any file content either parses into credentials that
// validate, with no line break in them, or is rejected.
func FuzzParseBasicAuth(f *testing.F) {
	for _, s := range []string{"user:pw\n", "user\npw\n", "u:p:w", "user\r\npw\r\n", "", "\n\n", ":", "a\nb\nc", "u\x00:p"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ba, err := parseBasicAuth(b)
		if err != nil {
			return
		}
		if ba.Username == "" || ba.Password == "" || strings.ContainsAny(ba.Username, ":\r\n") || strings.ContainsAny(ba.Password, "\r\n") {
			t.Fatalf("parseBasicAuth(%q) = %+v, which should have been rejected", b, ba)
		}
	})
}

// FuzzAddStream: whatever label values and point values Prometheus sends, the
// result is a valid snapshot whose principals are usable identities.
func FuzzAddStream(f *testing.F) {
	f.Add("destination", webSPIFFE, "shop", "web", "cart", "shop", cartSPIFFE, "cart.shop.svc.cluster.local",
		"cart", "v1", "http", "mutual_tls", "2xx", "", 3.0, 0.0)
	f.Add("waypoint", "unknown", "unknown", "unknown", "unknown", "unknown", "unknown", "unknown",
		"unknown", "unknown", "grpc", "none", "403", "true", 1.0, 2.5)
	f.Add("destination", "spiffe://", "", "", "cart", "shop", "spiffe://a/ns//sa/b", "",
		"", "", "tcp", "unknown", "", "true", math.Inf(1), -1.0)
	f.Add("source", "spiffe://td/ns/a/sa/*", "a", "b", "c", "d", "x", "y", "z", "w", "websocket", "", "5xx", "", 1e300, 1e300)
	f.Fuzz(func(t *testing.T, reporter, srcP, srcNS, srcWL, dstWL, dstNS, dstP, dstSvc, app, version, proto, csp, class, denied string, v1, v2 float64) {
		l := map[string]string{
			"reporter": reporter, "source_principal": srcP, "source_workload_namespace": srcNS, "source_workload": srcWL,
			"destination_workload": dstWL, "destination_workload_namespace": dstNS, "destination_principal": dstP,
			"destination_service": dstSvc, "destination_app": app, "destination_version": version,
			"request_protocol": proto, "connection_security_policy": csp, classLabel: class, deniedLabel: denied,
		}
		a := newAccumulator()
		for _, metric := range metrics {
			a.addMatrix(metric, model.Matrix{stream(l, v1, v2), stream(l, v2)})
		}
		s := snapshot.New()
		s.Edges = a.edges.Edges()
		s.Inventory, _ = a.inventory()
		s.Normalize()
		if err := s.Validate(); err != nil {
			t.Fatalf("labels %q, values %v %v: invalid snapshot: %v", l, v1, v2, err)
		}
		for _, e := range s.Edges {
			for _, p := range []string{e.Source.Principal, e.Destination.Principal} {
				if p != "" && p != snapshot.NormalizePrincipal(p) {
					t.Fatalf("principal %q is not in normal form", p)
				}
			}
			if e.Source.Principal == "" && e.Source.IdentityFrom != "" || e.Source.Principal != "" && e.Source.IdentityFrom != snapshot.IdentityCertificate {
				t.Fatalf("source %+v: IdentityFrom does not match the principal", e.Source)
			}
			if e.Source.Namespace == "unknown" || e.Source.Workload == "unknown" || e.Destination.Service == "unknown" {
				t.Fatalf("edge %+v carries the value unknown", e)
			}
		}
		for _, w := range s.Inventory.Workloads {
			for k, v := range w.Selector {
				if v == "" || v == "unknown" {
					t.Fatalf("workload %s/%s: selector %s=%q", w.Namespace, w.Name, k, v)
				}
			}
		}
	})
}
