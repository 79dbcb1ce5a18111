package snapshot

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// edgeTo is an edge from web to dst with the given path and evidence.
func edgeTo(dst, path string, requests int64, evidence ...string) Edge {
	return Edge{
		Source:      Source{Principal: "cluster.local/ns/shop/sa/web", Namespace: "shop", Workload: "web", IdentityFrom: IdentityCertificate},
		Destination: Destination{Namespace: "shop", Workload: dst},
		Reporter:    ReporterDestination, Protocol: ProtocolHTTP, Port: 8080, Method: "GET", Path: path,
		Counts: Counts{Requests: requests}, FirstSeen: t0, LastSeen: t0, Evidence: evidence,
	}
}

// Normalize and CanonicalEdges skip rebuilding edges that are already
// canonical; every other input must still come out sorted, merged and with
// evidence sets.
func TestNormalizeEdges(t *testing.T) {
	tests := []struct {
		name string
		in   []Edge
		want []Edge
	}{
		{
			name: "already canonical",
			in:   []Edge{edgeTo("cart", "/a", 1, EvidenceEnvoyLog), edgeTo("cart", "/b", 2, EvidenceEnvoyLog, EvidencePrometheus), edgeTo("orders", "/a", 3)},
			want: []Edge{edgeTo("cart", "/a", 1, EvidenceEnvoyLog), edgeTo("cart", "/b", 2, EvidenceEnvoyLog, EvidencePrometheus), edgeTo("orders", "/a", 3)},
		},
		{
			name: "out of order",
			in:   []Edge{edgeTo("orders", "/a", 3), edgeTo("cart", "/b", 2), edgeTo("cart", "/a", 1)},
			want: []Edge{edgeTo("cart", "/a", 1), edgeTo("cart", "/b", 2), edgeTo("orders", "/a", 3)},
		},
		{
			name: "sorted with equal keys",
			in:   []Edge{edgeTo("cart", "/a", 1, EvidenceEnvoyLog), edgeTo("cart", "/a", 4, EvidencePrometheus), edgeTo("cart", "/b", 2)},
			want: []Edge{edgeTo("cart", "/a", 5, EvidenceEnvoyLog, EvidencePrometheus), edgeTo("cart", "/b", 2)},
		},
		{
			name: "sorted with unsorted evidence",
			in:   []Edge{edgeTo("cart", "/a", 1, EvidencePrometheus, EvidenceEnvoyLog), edgeTo("cart", "/b", 2)},
			want: []Edge{edgeTo("cart", "/a", 1, EvidenceEnvoyLog, EvidencePrometheus), edgeTo("cart", "/b", 2)},
		},
		{
			name: "sorted with repeated evidence",
			in:   []Edge{edgeTo("cart", "/a", 1, EvidenceEnvoyLog, EvidenceEnvoyLog)},
			want: []Edge{edgeTo("cart", "/a", 1, EvidenceEnvoyLog)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			s.Edges = tc.in
			in := slices.Clone(tc.in)
			got := CanonicalEdges(in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("CanonicalEdges() (-want +got):\n%s", diff)
			}
			if len(got) > 0 && &got[0] == &in[0] {
				t.Errorf("CanonicalEdges() returned its argument; want a copy")
			}
			s.Normalize()
			if diff := cmp.Diff(tc.want, s.Edges); diff != "" {
				t.Errorf("Normalize() edges (-want +got):\n%s", diff)
			}
		})
	}
}
