package prometheus

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// unknownValue is what Istio writes for a label it could not fill.
const unknownValue = "unknown"

// known returns v, or "" when Istio did not know the value.
func known(v model.LabelValue) string {
	if v == unknownValue {
		return ""
	}
	return string(v)
}

// accumulator folds query results into edges and inventory facts. It is not
// safe for concurrent use.
type accumulator struct {
	edges *snapshot.Builder
	// series is the number of result series read (SourceInfo.Records).
	series int64
	// skipped counts series whose destination workload or namespace is unknown.
	skippedSeries, skippedCalls int64
	// malformed counts series with label values that cannot be used.
	malformed        int64
	malformedExample string
	workloads        map[workloadKey]*workloadFacts
	namespaces       map[string]bool
}

type workloadKey struct{ namespace, name string }

// workloadFacts are the label values seen for one destination workload.
// Strong values come from Envoy sidecars (reporter="destination", HTTP or
// gRPC), which copy the pod's app label; weak values from ztunnel and
// waypoints, which may write the canonical service name instead.
type workloadFacts struct {
	strongApps, weakApps map[string]bool
	serviceAccounts      map[string]bool
}

func newAccumulator() *accumulator {
	return &accumulator{
		edges:      snapshot.NewBuilder(),
		workloads:  make(map[workloadKey]*workloadFacts),
		namespaces: make(map[string]bool),
	}
}

// addMatrix folds the result of one range query for metric.
func (a *accumulator) addMatrix(metric string, m model.Matrix) {
	for _, s := range m {
		a.addStream(metric, s)
	}
}

func (a *accumulator) addStream(metric string, s *model.SampleStream) {
	a.series++
	l := s.Metric

	total, first, last, ok := sumPoints(s.Values)
	if !ok {
		a.malformed++
		a.noteMalformed(fmt.Sprintf("a negative or non-finite value for %s", l))
		return
	}

	dstNS, dstWL := known(l["destination_workload_namespace"]), known(l["destination_workload"])
	if dstNS == "" || dstWL == "" {
		a.skippedSeries++
		a.skippedCalls += total
		return
	}

	reporter := string(l["reporter"])
	if reporter != snapshot.ReporterDestination && reporter != snapshot.ReporterWaypoint {
		// Never asked for; a server that ignores matchers would send them.
		a.malformed++
		a.noteMalformed(fmt.Sprintf("reporter %q", reporter))
		return
	}

	var srcPrincipal string
	if raw := string(l["source_principal"]); raw != "" && raw != unknownValue {
		srcPrincipal = snapshot.NormalizePrincipal(raw)
		if srcPrincipal == "" {
			a.malformed++
			a.noteMalformed(fmt.Sprintf("source_principal %q", raw))
			return
		}
	}
	dstPrincipal := snapshot.NormalizePrincipal(string(l["destination_principal"]))

	protocol := protocolOf(metric, l["request_protocol"])
	a.noteWorkload(dstNS, dstWL, l, reporter, protocol, dstPrincipal)
	a.namespaces[dstNS] = true
	srcNS := known(l["source_workload_namespace"])
	if srcNS != "" {
		a.namespaces[srcNS] = true
	}
	if total == 0 {
		return
	}

	e := snapshot.Edge{
		Source: snapshot.Source{
			Principal: srcPrincipal,
			Namespace: srcNS,
			Workload:  known(l["source_workload"]),
		},
		Destination: snapshot.Destination{
			Namespace: dstNS,
			Workload:  dstWL,
			Service:   known(l["destination_service"]),
			Principal: dstPrincipal,
		},
		Reporter:  reporter,
		Protocol:  protocol,
		Counts:    countsOf(l, total),
		FirstSeen: first,
		LastSeen:  last,
		Evidence:  []string{snapshot.EvidencePrometheus},
	}
	if srcPrincipal != "" {
		e.Source.IdentityFrom = snapshot.IdentityCertificate
	}
	a.edges.Add(e)
}

// sumPoints adds the points of one result series. Each point is the number of
// calls in one step; they are whole numbers by construction (differences and
// values of integer counters), so rounding only removes floating-point noise.
// first and last are the times of the first and last points above zero: the
// ends of the first and last steps with calls. ok is false when a point is
// negative or not finite, which the query never produces.
func sumPoints(ps []model.SamplePair) (total int64, first, last time.Time, ok bool) {
	var sum float64
	for _, p := range ps {
		v := float64(p.Value)
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return 0, time.Time{}, time.Time{}, false
		}
		if v > 0 {
			t := p.Timestamp.Time().UTC()
			if first.IsZero() {
				first = t
			}
			last = t
		}
		sum += v
	}
	if sum > math.MaxInt64/2 {
		return 0, time.Time{}, time.Time{}, false
	}
	return int64(math.Round(sum)), first, last, true
}

func protocolOf(metric string, v model.LabelValue) string {
	switch v {
	case "http":
		return snapshot.ProtocolHTTP
	case "grpc":
		return snapshot.ProtocolGRPC
	case "tcp":
		return snapshot.ProtocolTCP
	}
	if metric == metricTCP {
		return snapshot.ProtocolTCP
	}
	return ""
}

// countsOf splits total by the series' outcome labels.
//
// connection_security_policy as seen by the server: "mutual_tls" is mTLS.
// "none" is Envoy's (sidecar or waypoint) word for a connection without a
// client certificate. "unknown" on reporter="destination" comes from
// ztunnel's inbound plaintext path (HBONE is always "mutual_tls"), so it is
// plaintext as well; Envoy servers do not write it. (On reporter="source",
// never read here, "unknown" only means that the client did not know.) A
// missing label counts as neither.
func countsOf(l model.Metric, total int64) snapshot.Counts {
	c := snapshot.Counts{Requests: total}
	switch l["connection_security_policy"] {
	case "mutual_tls":
		c.MTLS = total
	case "none", unknownValue:
		c.Plaintext = total
	}
	if l[deniedLabel] == "true" {
		c.Denied = total
	}
	switch l[classLabel] {
	case "401", "403":
		c.Unauthorized = total
	case "5xx":
		c.ServerErrors = total
	}
	return c
}

func (a *accumulator) noteMalformed(what string) {
	if a.malformedExample == "" {
		a.malformedExample = what
	}
}

func (a *accumulator) noteWorkload(ns, name string, l model.Metric, reporter, protocol, principal string) {
	k := workloadKey{ns, name}
	f := a.workloads[k]
	if f == nil {
		f = &workloadFacts{
			strongApps: map[string]bool{}, weakApps: map[string]bool{},
			serviceAccounts: map[string]bool{},
		}
		a.workloads[k] = f
	}
	strong := reporter == snapshot.ReporterDestination && (protocol == snapshot.ProtocolHTTP || protocol == snapshot.ProtocolGRPC)
	if app := known(l["destination_app"]); app != "" {
		if strong {
			f.strongApps[app] = true
		} else {
			f.weakApps[app] = true
		}
	}
	if p, err := snapshot.ParsePrincipal(principal); err == nil && p.Namespace == ns {
		f.serviceAccounts[p.ServiceAccount] = true
	}
}

// inventory returns the inferred inventory and the warnings about its limits.
//
// What inference can and cannot know:
//   - only workloads that received traffic in the window (as destinations)
//     are listed, with no kind, ports, pod IPs, Services or waypoints;
//   - the selector is {app: destination_app} as the server's sidecar
//     reported it: the pod's app label. Nothing says that it selects only
//     this workload's pods (the versions of one app share it, and their
//     policies then admit each other's callers), but it keeps selecting the
//     pods of the next version; the version label is left out on purpose,
//     because a selector naming it would leave the next version's pods
//     without any policy;
//   - ztunnel and waypoints report the canonical service in this label,
//     which need not be a pod label: a workload seen only there gets an app
//     selector with a warning;
//   - a label that took more than one value in the window is left out, with
//     a warning;
//   - the service account comes from destination_principal, when it names
//     the workload's own namespace and is the same in every series;
//   - namespaces are those seen as a destination or a source, with no labels
//     or mesh mode.
func (a *accumulator) inventory() (snapshot.Inventory, []string) {
	inv := snapshot.Inventory{Origin: snapshot.InventoryInferred}
	var warnings []string
	for ns := range a.namespaces {
		inv.Namespaces = append(inv.Namespaces, snapshot.Namespace{Name: ns})
	}
	for k, f := range a.workloads {
		w := snapshot.Workload{Namespace: k.namespace, Name: k.name, Inferred: true}
		sel := map[string]string{}
		apps, weak := f.strongApps, false
		if len(apps) == 0 {
			apps, weak = f.weakApps, true
		}
		switch {
		case len(apps) == 1:
			sel["app"] = onlyKey(apps)
			if weak {
				warnings = append(warnings, fmt.Sprintf(
					"prometheus: inferred selector app=%s for %s/%s comes from ztunnel or waypoint metrics only, which report the canonical service name; check that it is a pod label",
					sel["app"], k.namespace, k.name))
			}
		case len(apps) > 1:
			warnings = append(warnings, fmt.Sprintf(
				"prometheus: %s/%s was reported with several destination_app values (%s); its inferred selector leaves app out",
				k.namespace, k.name, strings.Join(sortedSet(apps), ", ")))
		}
		if len(sel) > 0 {
			w.Selector = sel
		}
		switch {
		case len(f.serviceAccounts) == 1:
			w.ServiceAccount = onlyKey(f.serviceAccounts)
		case len(f.serviceAccounts) > 1:
			warnings = append(warnings, fmt.Sprintf(
				"prometheus: %s/%s was reported with several service accounts (%s); its inferred service account is left empty",
				k.namespace, k.name, strings.Join(sortedSet(f.serviceAccounts), ", ")))
		}
		inv.Workloads = append(inv.Workloads, w)
	}
	return inv, warnings
}

// warnings returns what the reader of the snapshot must know about the
// series that were read but not turned into edges.
func (a *accumulator) warnings() []string {
	var w []string
	if a.skippedSeries > 0 {
		w = append(w, fmt.Sprintf(
			"prometheus: skipped %d series (%d requests or connections) whose destination workload or namespace is unknown, for example traffic to a destination outside the mesh",
			a.skippedSeries, a.skippedCalls))
	}
	if a.malformed > 0 {
		w = append(w, fmt.Sprintf("prometheus: skipped %d series with unusable label values, for example %s", a.malformed, a.malformedExample))
	}
	return w
}

func onlyKey(m map[string]bool) string {
	for k := range m {
		return k
	}
	return ""
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
