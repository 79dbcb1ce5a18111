package synth

import (
	"slices"
	"time"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// evAcc accumulates the evidence of edges. Metric edges (port 0) and edges
// with a port (from logs) often count the same requests twice, so requests
// are summed per kind and the larger sum is reported.
type evAcc struct {
	metricRequests int64
	portRequests   int64
	first, last    time.Time
	kinds          []string
	idFrom         []string
	edges          int
}

func (a *evAcc) add(e *snapshot.Edge, requests int64) {
	a.edges++
	if e.Port == 0 && e.Method == "" && e.Path == "" {
		a.metricRequests += requests
	} else {
		a.portRequests += requests
	}
	if !e.FirstSeen.IsZero() && (a.first.IsZero() || e.FirstSeen.Before(a.first)) {
		a.first = e.FirstSeen
	}
	if e.LastSeen.After(a.last) {
		a.last = e.LastSeen
	}
	a.kinds = addSorted(a.kinds, e.Evidence...)
	if e.Source.IdentityFrom != "" {
		a.idFrom = addSorted(a.idFrom, e.Source.IdentityFrom)
	}
}

func (a *evAcc) merge(b *evAcc) {
	a.metricRequests += b.metricRequests
	a.portRequests += b.portRequests
	a.edges += b.edges
	if !b.first.IsZero() && (a.first.IsZero() || b.first.Before(a.first)) {
		a.first = b.first
	}
	if b.last.After(a.last) {
		a.last = b.last
	}
	a.kinds = addSorted(a.kinds, b.kinds...)
	a.idFrom = addSorted(a.idFrom, b.idFrom...)
}

func (a *evAcc) requests() int64 { return max(a.metricRequests, a.portRequests) }

func (a *evAcc) evidence() Evidence {
	return Evidence{
		Requests:     a.requests(),
		FirstSeen:    a.first.UTC(),
		LastSeen:     a.last.UTC(),
		Kinds:        slices.Clone(a.kinds),
		IdentityFrom: slices.Clone(a.idFrom),
	}
}

func addSorted(set []string, vs ...string) []string {
	for _, v := range vs {
		if v == "" {
			continue
		}
		i, found := slices.BinarySearch(set, v)
		if !found {
			set = slices.Insert(set, i, v)
		}
	}
	return set
}

// isServerSide reports whether the edge was observed by the destination's
// side (its proxy, its ztunnel, or its waypoint).
func isServerSide(e *snapshot.Edge) bool {
	return e.Reporter == snapshot.ReporterDestination || e.Reporter == snapshot.ReporterWaypoint
}

// isMetricOnly reports whether the edge carries no port, method or path
// (metric evidence).
func isMetricOnly(e *snapshot.Edge) bool {
	return e.Port == 0 && e.Method == "" && e.Path == ""
}

// hasL7 reports whether the edge carries a method or a path.
func hasL7(e *snapshot.Edge) bool {
	return e.Protocol != snapshot.ProtocolTCP && (e.Method != "" || e.Path != "")
}

// plaintextRequests is the part of an edge's requests that arrived without a
// client certificate, as the server saw it. Requests of unknown transport
// security from a caller without a principal count as plaintext, since no
// principal rule can admit them.
func plaintextRequests(e *snapshot.Edge) int64 {
	if !isServerSide(e) {
		return 0
	}
	n := e.Counts.Plaintext
	if e.Source.Principal == "" {
		n += max(0, e.Counts.Requests-e.Counts.MTLS-e.Counts.Plaintext)
	}
	return min(n, e.Counts.Requests)
}

// principalRequests is the part of an edge's allowed requests that a
// principal rule admits: requests with the caller's certificate.
func principalRequests(e *snapshot.Edge) int64 {
	if e.Source.Principal == "" {
		return 0
	}
	return max(0, e.Counts.Allowed()-plaintextRequests(e))
}

// unidentifiedRequests are mTLS requests from a caller whose principal is
// not known: no rule can name them.
func unidentifiedRequests(e *snapshot.Edge) int64 {
	if e.Source.Principal != "" || !isServerSide(e) {
		return 0
	}
	return e.Counts.MTLS
}

// istioPorts are ports served by Istio's own agent and proxy, which
// AuthorizationPolicy does not govern.
var istioPorts = map[int]bool{
	15000: true, 15001: true, 15004: true, 15006: true, 15008: true, 15009: true,
	15020: true, 15021: true, 15053: true, 15090: true,
}
