package prometheus

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The Istio metrics read. Both carry the same source and destination labels
// (istio-semantics 4.2, 4.4); only HTTP and gRPC requests have response codes.
const (
	metricRequests = "istio_requests_total"
	metricTCP      = "istio_tcp_connections_opened_total"
)

var metrics = []string{metricRequests, metricTCP}

// reporterMatcher selects the server-side series. reporter="source" is never
// read: its source identity is not from a certificate the server checked, its
// connection_security_policy is "unknown" for Envoy, and the same traffic is
// reported again by the destination (or waypoint), so reading it would count
// every call twice.
const reporterMatcher = `reporter=~"destination|waypoint"`

// Labels computed in the query.
const (
	// classLabel is the response class: "2xx" ... "5xx", or "401"/"403"
	// separately (gRPC PERMISSION_DENIED and UNAUTHENTICATED count as 403 and
	// 401), absent when there was no response code (TCP, or 0).
	classLabel = "meshgen_response_class"
	// deniedLabel is "true" on series that ztunnel marked response_flags="DENY",
	// a connection refused by an AuthorizationPolicy.
	deniedLabel = "meshgen_policy_denied"
)

// groupLabels are the labels every query sums by: one result series per
// distinct combination.
var groupLabels = []string{
	"reporter",
	"source_principal",
	"source_workload",
	"source_workload_namespace",
	"destination_workload",
	"destination_workload_namespace",
	"destination_principal",
	"destination_service",
	"destination_app",
	"request_protocol",
	"connection_security_policy",
	classLabel,
	deniedLabel,
}

// shard is the part of the metrics one query reads: one destination
// namespace, optionally one destination workload in it.
type shard struct {
	// nsOp and ns match destination_workload_namespace.
	nsOp, ns string
	// wlOp and wl match destination_workload; wlOp "" matches any.
	wlOp, wl string
}

// unknownNamespace is the label value Istio writes when it does not know the
// destination namespace.
const unknownNamespace = "unknown"

func namespaceShard(ns string) shard { return shard{nsOp: "=", ns: ns} }

// unknownNamespaceShard reads series whose destination namespace is "unknown"
// or missing; they are counted and reported, never turned into edges.
func unknownNamespaceShard() shard { return shard{nsOp: "=~", ns: unknownNamespace + "|"} }

func (s shard) isUnknownNamespace() bool { return s.nsOp == "=~" }

// withWorkload narrows a namespace shard to one destination workload; "" reads
// the series that have no destination_workload label.
func (s shard) withWorkload(wl string) shard {
	s.wlOp, s.wl = "=", wl
	return s
}

func (s shard) isWorkload() bool { return s.wlOp != "" }

// String names the shard in errors.
func (s shard) String() string {
	var b strings.Builder
	if s.isUnknownNamespace() {
		b.WriteString("unknown destination namespace")
	} else {
		fmt.Fprintf(&b, "destination namespace %s", s.ns)
	}
	switch {
	case s.isWorkload() && s.wl == "":
		b.WriteString(", series without destination_workload")
	case s.isWorkload():
		fmt.Fprintf(&b, ", destination workload %s", s.wl)
	}
	return b.String()
}

// selector is the series selector of the shard for one metric.
func (s shard) selector(metric string) string {
	var b strings.Builder
	b.WriteString(metric)
	b.WriteString("{")
	b.WriteString(reporterMatcher)
	b.WriteString(",destination_workload_namespace")
	b.WriteString(s.nsOp)
	b.WriteString(strconv.Quote(s.ns))
	if s.isWorkload() {
		b.WriteString(",destination_workload")
		b.WriteString(s.wlOp)
		b.WriteString(strconv.Quote(s.wl))
	}
	b.WriteString("}")
	return b.String()
}

// discoverySelector matches every series Learn may read, for the label-values
// lookups that find the shards.
func discoverySelector(metric string) string {
	return metric + "{" + reporterMatcher + "}"
}

// buildQuery returns the range query for one metric and shard at the given
// step. Evaluated at time t it gives, per group, the calls (requests or
// connections) counted in (t-step, t]:
//
//	sum by (<groupLabels>) (label_replace(...(
//	  (S - S offset <step>) >= 0 or S
//	)...))
//
// where S is the shard's selector. Per raw series, S - S offset step is the
// exact growth of the counter between the last samples at or before t-step
// and t: summed over steps that tile the window it telescopes to the growth
// over the window, with no extrapolation. Where that difference is missing or
// negative, "or S" takes the counter's current value instead:
//
//   - a series with no sample in the 5 minutes before t-step (Prometheus's
//     lookback) was born in the step: Istio creates its counters at the first
//     call, so the whole value is new calls;
//   - a series whose value fell was reset (the proxy restarted): the calls
//     since the restart are its current value. Calls between the last sample
//     before the restart and the restart are lost, as with any counter.
//
// increase(S[step]) is not used because it extrapolates each step from its
// own samples (so the sum over steps is not the growth over the window and is
// not a whole number), and it never counts a counter's first value: a caller
// that made one call per proxy lifetime would have no edge at all.
//
// The known inaccuracy goes the other way: a series with a gap in its
// samples longer than the lookback (Prometheus or the target down for more
// than five minutes) looks newly born when it comes back, and its whole value
// is counted again. Edges are still right; counts may be too high.
func buildQuery(metric string, s shard, step time.Duration) string {
	sel := s.selector(metric)
	expr := "(" + sel + " - " + sel + " offset " + promDuration(step) + ") >= 0 or " + sel
	if metric == metricRequests {
		expr = labelReplace(expr, classLabel, "${1}xx", "response_code", "([1-5])[0-9][0-9]")
		expr = labelReplace(expr, classLabel, "$1", "response_code", "(401|403)")
		expr = labelReplace(expr, classLabel, "403", "grpc_response_status", "7")
		expr = labelReplace(expr, classLabel, "401", "grpc_response_status", "16")
	}
	expr = labelReplace(expr, deniedLabel, "true", "response_flags", "DENY")
	return "sum by (" + strings.Join(groupLabels, ", ") + ") (" + expr + ")"
}

func labelReplace(expr, dst, replacement, src, regex string) string {
	return "label_replace(" + expr + ", " + strconv.Quote(dst) + ", " + strconv.Quote(replacement) + ", " +
		strconv.Quote(src) + ", " + strconv.Quote(regex) + ")"
}

// promDuration formats d as a PromQL duration: whole minutes or seconds.
func promDuration(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

// humanDuration formats d for messages: "6m", "1h30m", "90s".
func humanDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
