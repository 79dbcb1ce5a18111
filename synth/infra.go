package synth

import (
	"slices"
	"strings"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// Labels that Istio and the Gateway API put on gateway pods.
const (
	labelIstioGatewayName = "istio.io/gateway-name"
	labelK8sGatewayName   = "gateway.networking.k8s.io/gateway-name"
	labelK8sGatewayClass  = "gateway.networking.k8s.io/gateway-class-name"
	waypointClass         = "istio-waypoint"
)

// Labels used in rule evidence to flag what a caller is.
const (
	labelScrape       = "metrics scrape"
	labelGateway      = "ingress gateway"
	labelWaypoint     = "waypoint"
	labelControlPlane = "control plane"
	labelCrossNS      = "cross-namespace"
	labelDefaultSA    = "default service account"
	labelSharedSA     = "shared service account"
	labelClientSide   = "reported by the client only"
	labelAlias        = "trust domain alias: ztunnel does not rewrite aliases"
)

// infra recognises infrastructure workloads: scrapers, gateways, waypoints and
// the control plane.
type infra struct {
	idx      *snapshot.Index
	scrapers []Matcher
	gateways []Matcher
	root     string
	// bySA maps (namespace, service account) to the workloads running as it.
	bySA map[[2]string][]string
	// waypoints are (namespace, name) of known waypoints.
	waypoints map[[2]string]*snapshot.Waypoint
}

func newInfra(idx *snapshot.Index, opts *Options) *infra {
	in := &infra{
		idx:       idx,
		scrapers:  opts.Scrapers,
		gateways:  opts.Gateways,
		root:      opts.rootNamespace(),
		bySA:      map[[2]string][]string{},
		waypoints: map[[2]string]*snapshot.Waypoint{},
	}
	if len(in.scrapers) == 0 {
		in.scrapers = DefaultScrapers
	}
	if len(in.gateways) == 0 {
		in.gateways = DefaultGateways
	}
	inv := idx.Inventory()
	for i := range inv.Workloads {
		w := &inv.Workloads[i]
		if w.ServiceAccount != "" {
			k := [2]string{w.Namespace, w.ServiceAccount}
			in.bySA[k] = append(in.bySA[k], w.Name)
		}
	}
	for k := range in.bySA {
		slices.Sort(in.bySA[k])
		in.bySA[k] = slices.Compact(in.bySA[k])
	}
	for i := range inv.Waypoints {
		wp := &inv.Waypoints[i]
		in.waypoints[[2]string{wp.Namespace, wp.Name}] = wp
	}
	return in
}

// workloadsOf returns the workloads that run as the principal's service
// account, according to the inventory.
func (in *infra) workloadsOf(principal string) []string {
	p, err := snapshot.ParsePrincipal(principal)
	if err != nil {
		return nil
	}
	return in.bySA[[2]string{p.Namespace, p.ServiceAccount}]
}

// callerWorkloads returns (namespace, workload names) of a caller: recorded on
// the edge, else looked up by service account.
func (in *infra) callerWorkloads(src snapshot.Source) (string, []string) {
	ns := src.Namespace
	if p, err := snapshot.ParsePrincipal(src.Principal); err == nil {
		if ns == "" {
			ns = p.Namespace
		}
		if src.Workload == "" {
			return ns, in.workloadsOf(src.Principal)
		}
	}
	if src.Workload != "" {
		return ns, []string{src.Workload}
	}
	if w := in.idx.WorkloadByIP(src.IP); w != nil {
		return w.Namespace, []string{w.Name}
	}
	return ns, nil
}

// isScraper reports whether a caller is a metrics scraper.
func (in *infra) isScraper(src snapshot.Source) bool {
	ns, names := in.callerWorkloads(src)
	return matchAny(in.scrapers, ns, names, src.Principal)
}

// isGatewayCaller reports whether a caller is an ingress gateway.
func (in *infra) isGatewayCaller(src snapshot.Source) bool {
	ns, names := in.callerWorkloads(src)
	if matchAny(in.gateways, ns, names, src.Principal) {
		return true
	}
	for _, n := range names {
		if in.isGatewayWorkload(ns, n) {
			return true
		}
	}
	return false
}

// isControlPlaneCaller reports whether a caller is istiod.
func (in *infra) isControlPlaneCaller(src snapshot.Source) bool {
	ns, names := in.callerWorkloads(src)
	for _, n := range names {
		if in.isControlPlaneWorkload(ns, n) {
			return true
		}
	}
	return false
}

func matchAny(ms []Matcher, ns string, names []string, principal string) bool {
	if len(names) == 0 {
		names = []string{""}
	}
	for _, m := range ms {
		for _, n := range names {
			if m.matches(ns, n, principal) {
				return true
			}
		}
	}
	return false
}

// isGatewayWorkload reports whether a workload is an ingress gateway: matched
// by the gateway matchers, or labelled as a gateway that is not a waypoint.
func (in *infra) isGatewayWorkload(ns, name string) bool {
	if matchAny(in.gateways, ns, []string{name}, "") {
		return true
	}
	w := in.idx.Workload(ns, name)
	if w == nil || in.isWaypointWorkload(ns, name) {
		return false
	}
	return w.Labels[labelIstioGatewayName] != "" || w.Labels[labelK8sGatewayName] != ""
}

// isWaypointWorkload reports whether a workload is a waypoint proxy.
func (in *infra) isWaypointWorkload(ns, name string) bool {
	if in.waypoints[[2]string{ns, name}] != nil {
		return true
	}
	w := in.idx.Workload(ns, name)
	if w == nil {
		return false
	}
	if w.Labels[labelK8sGatewayClass] == waypointClass {
		return true
	}
	for _, l := range []string{labelIstioGatewayName, labelK8sGatewayName} {
		if g := w.Labels[l]; g != "" && in.waypoints[[2]string{ns, g}] != nil {
			return true
		}
	}
	return false
}

// isControlPlaneWorkload reports whether a workload is part of Istio's
// control plane (istiod, in any namespace; everything in the root namespace
// is skipped separately).
func (in *infra) isControlPlaneWorkload(_, name string) bool {
	return strings.HasPrefix(name, "istiod")
}

// waypointServes reports whether a waypoint handles traffic of the given kind
// ("service" or "workload"), from its istio.io/waypoint-for value.
func (in *infra) waypointServes(ref snapshot.WaypointRef, kind string) bool {
	wp := in.waypoints[[2]string{ref.Namespace, ref.Name}]
	forWhat := "service"
	if wp != nil && wp.For != "" {
		forWhat = wp.For
	}
	return forWhat == kind || forWhat == "all"
}
