package eval

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// Replay decides an observed edge along its path, using the inventory:
//   - destination in sidecar mode (or unknown mode): one Sidecar hop with the edge's source principal.
//   - ambient, edge reported by a waypoint (Reporter "waypoint"): a Waypoint hop (client principal, Service
//     from Destination.Service) then a Ztunnel hop whose principal is the waypoint's principal
//     (idx.ServiceWaypoint(...).Principal(trustDomain)).
//   - ambient, other edges: one Ztunnel hop with the edge's source principal as recorded.
//   - mesh mode "none": no hop, Outcome Allow, Note says nothing enforces policy.
//
// Port 0 (metrics-only edge): tries every idx.TargetPorts(...) of the destination and takes the best outcome
// (Allow > Unknown > Deny); with no known port, Port stays 0 (unknown). Plaintext edges (no principal) are
// replayed as plaintext (PeerAuthentication applies).
//
// At a waypoint the port is the Service port the request was addressed to:
// the waypoint's listener sees the Service VIP and port (its
// DOWNSTREAM_LOCAL_ADDRESS, e.g. istio issue 43476's access log
// "10.96.34.189:8000 ... inbound-vip|8000|http|httpbin.test..."). This is
// INFERRED (ref 1.7 and 8.1 leave it unconfirmed); Service ports are found
// from the edge's target port through the Service's port mapping.
func Replay(ps *PolicySet, idx *snapshot.Index, trustDomain string, e *snapshot.Edge) Verdict {
	return ps.compiled().replay(idx, trustDomain, e)
}

func (c *compiledSet) replay(idx *snapshot.Index, trustDomain string, e *snapshot.Edge) Verdict {
	return replayEdge(idx, trustDomain, e, c.decide)
}

// decider decides one request at one point: compiledSet.decide, or in
// classes.go a recorder of the requests a replay decides.
type decider func(p Point, req Request) Decision

// replayEdge is Replay with the decisions made by decide.
func replayEdge(idx *snapshot.Index, trustDomain string, e *snapshot.Edge, decide decider) Verdict {
	if trustDomain == "" {
		trustDomain = DefaultTrustDomain
	}
	ns, wl := e.Destination.Namespace, e.Destination.Workload
	mode := idx.MeshMode(ns, wl)
	if mode == snapshot.MeshNone {
		return Verdict{Outcome: Allow, Note: "destination is not in the mesh: nothing enforces policy"}
	}
	w := idx.Workload(ns, wl)
	base := Request{
		Principal:        e.Source.Principal,
		SourceIP:         e.Source.IP,
		Namespace:        ns,
		Service:          serviceName(idx, ns, e.Destination.Service),
		Protocol:         e.Protocol,
		Method:           e.Method,
		Path:             e.Path,
		PathIsPrefix:     e.PathPrefix,
		LabelsIncomplete: w == nil || (w.Inferred && len(w.Labels) == 0),
	}
	if e.Protocol == snapshot.ProtocolTCP {
		base.Method, base.Path, base.PathIsPrefix = "", "", false
	}
	if w != nil {
		base.WorkloadLabels = w.Labels
	}
	if base.Principal != "" {
		if _, ns, _, ok := splitPrincipal(base.Principal); ok {
			base.SourceNamespace = ns
		}
	}

	ports := []int{e.Port}
	if e.Port == 0 {
		if tp := idx.TargetPorts(ns, wl); len(tp) > 0 {
			ports = tp
		}
	}
	var best Verdict
	var tried []string
	for i, port := range ports {
		var v Verdict
		switch {
		case mode == snapshot.MeshAmbient && e.Reporter == snapshot.ReporterWaypoint:
			v = replayWaypoint(idx, trustDomain, e, w, base, port, decide)
		case mode == snapshot.MeshAmbient:
			req := base
			req.Port = port
			v = verdictOf(Hop{Point: Ztunnel, Request: req, Decision: decide(Ztunnel, req)})
		default:
			req := base
			req.Port = port
			v = verdictOf(Hop{Point: Sidecar, Request: req, Decision: decide(Sidecar, req)})
		}
		if len(ports) > 1 {
			tried = append(tried, fmt.Sprintf("%d (%s)", port, v.Outcome))
		}
		if i == 0 || rank(v.Outcome) < rank(best.Outcome) {
			best = v
		}
	}
	if len(tried) > 0 {
		best.Note = joinNotes("port unknown: tried "+strings.Join(tried, ", "), best.Note)
	}
	if best.Outcome == Unknown && e.Protocol != snapshot.ProtocolTCP && e.Method == "" && e.Path == "" {
		best.Note = joinNotes("metrics-only evidence: no method or path", best.Note)
	}
	return best
}

// replayWaypoint builds the two hops of a request through a waypoint.
func replayWaypoint(idx *snapshot.Index, trustDomain string, e *snapshot.Edge, w *snapshot.Workload, base Request, targetPort int, decide decider) Verdict {
	var wp snapshot.WaypointRef
	var ok bool
	if base.Service != "" {
		wp, ok = idx.ServiceWaypoint(base.Namespace, base.Service)
	}
	if !ok {
		wp, ok = idx.WorkloadWaypoint(base.Namespace, e.Destination.Workload)
	}

	var notes []string
	wreq := base
	wreq.WorkloadLabels, wreq.LabelsIncomplete = nil, false // waypoints take no selector policy
	if ok {
		wreq.WaypointName, wreq.WaypointNamespace = wp.Name, wp.Namespace
	}
	var svcPorts []int
	if targetPort != 0 && base.Service != "" {
		if s := idx.Service(base.Namespace, base.Service); s != nil {
			for _, sp := range s.Ports {
				if idx.ResolveTargetPort(w, sp) == targetPort {
					svcPorts = append(svcPorts, sp.Port)
				}
			}
		}
	}
	if len(svcPorts) == 0 {
		svcPorts = []int{0}
		if targetPort != 0 {
			notes = append(notes, fmt.Sprintf("Service port for target port %d unknown at the waypoint", targetPort))
		}
	}
	var wh Hop
	for i, sp := range svcPorts {
		r := wreq
		r.Port = sp
		h := Hop{Point: Waypoint, Request: r, Decision: decide(Waypoint, r)}
		if i == 0 || rank(h.Decision.Outcome) < rank(wh.Decision.Outcome) {
			wh = h
		}
	}

	zreq := base
	zreq.Port = targetPort
	zreq.SourceIP = ""
	var zh Hop
	if ok {
		zreq.Principal = wp.Principal(trustDomain)
		zreq.SourceNamespace = wp.Namespace
		zh = Hop{Point: Ztunnel, Request: zreq, Decision: decide(Ztunnel, zreq)}
		if !wp.Known {
			notes = append(notes, fmt.Sprintf("waypoint %s/%s is not in the inventory: assumed service account %s", wp.Namespace, wp.Name, wp.ServiceAccount))
		}
	} else {
		zreq.Principal, zreq.SourceNamespace = "", ""
		zh = Hop{Point: Ztunnel, Request: zreq, Decision: Decision{
			Outcome: Unknown,
			Reason:  "could not be decided: the waypoint in front of the destination is not known, so neither is the identity ztunnel sees",
			Rule:    -1,
		}}
	}
	v := verdictOf(wh, zh)
	v.Note = strings.Join(notes, "; ")
	return v
}

// serviceName returns the name of the Service a host names in ns.
func serviceName(idx *snapshot.Index, ns, host string) string {
	if host == "" {
		return ""
	}
	if s := idx.ServiceByHost(host); s != nil && s.Namespace == ns {
		return s.Name
	}
	name, rest, _ := strings.Cut(host, ".")
	if rest != "" {
		sns, _, _ := strings.Cut(rest, ".")
		if sns != ns {
			return ""
		}
	}
	return name
}

func verdictOf(hops ...Hop) Verdict {
	v := Verdict{Outcome: Allow, Hops: hops}
	for _, h := range hops {
		if rank(h.Decision.Outcome) > rank(v.Outcome) {
			v.Outcome = h.Decision.Outcome
		}
	}
	return v
}

// rank orders outcomes from best to worst.
func rank(o Outcome) int {
	switch o {
	case Allow:
		return 0
	case Unknown:
		return 1
	default:
		return 2
	}
}

func joinNotes(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// portString renders a port, "?" when unknown.
func portString(p int) string {
	if p == 0 {
		return "?"
	}
	return strconv.Itoa(p)
}
