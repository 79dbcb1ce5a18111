package synth

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	typev1beta1 "istio.io/api/type/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// waypointService is a Service of the destination whose traffic goes through
// a waypoint.
type waypointService struct {
	svc *snapshot.Service
	ref snapshot.WaypointRef
	// targets are the target ports of the Service on this workload; namable
	// are those whose Service port equals the target port.
	targets []int
	namable map[int]bool
}

// ambientSplit sorts a destination's included edges by where they are
// enforced.
type ambientSplit struct {
	// viaWaypoint[service][principal] are edges a waypoint reported.
	viaWaypoint map[string]map[string][]int
	// waypointPlaintext[service] are plaintext or unidentified edges a waypoint reported.
	waypointPlaintext map[string][]int
	// direct[principal] are edges the destination's ztunnel (or a client) reported.
	direct map[string][]int
	// unplaced are waypoint-reported edges for which no waypoint is known.
	unplaced []int
	// plaintext and unidentified are the edges that reach ztunnel without a principal.
	plaintext, unidentified []int
}

// waypointServices returns the Services of a namespace whose traffic a
// waypoint handles, by name, with the target ports they forward to.
func (s *synthesizer) waypointServices(ns string) map[string]*waypointService {
	out := map[string]*waypointService{}
	for i := range s.idx.Inventory().Services {
		svc := &s.idx.Inventory().Services[i]
		if svc.Namespace != ns {
			continue
		}
		ref, ok := s.idx.ServiceWaypoint(ns, svc.Name)
		if !ok || !s.infra.waypointServes(ref, "service") {
			continue
		}
		ws := &waypointService{svc: svc, ref: ref, namable: map[int]bool{}}
		workloads := s.idx.WorkloadsOfService(ns, svc.Name)
		if len(workloads) == 0 {
			workloads = []*snapshot.Workload{nil}
		}
		renamed := map[int]bool{}
		for _, p := range svc.Ports {
			for _, w := range workloads {
				t := s.idx.ResolveTargetPort(w, p)
				if t == 0 {
					continue
				}
				ws.targets = append(ws.targets, t)
				if p.Port != t {
					renamed[t] = true
				} else {
					ws.namable[t] = true
				}
			}
		}
		for t := range renamed {
			delete(ws.namable, t)
		}
		slices.Sort(ws.targets)
		ws.targets = slices.Compact(ws.targets)
		out[svc.Name] = ws
	}
	return out
}

// servicesOfEdge returns the waypoint Services an edge went through: the
// Service it names (when that Service has a waypoint), else, when it names
// none, every waypoint Service that selects the destination.
func (s *synthesizer) servicesOfEdge(d *dest, e *snapshot.Edge, wps map[string]*waypointService) []string {
	if e.Destination.Service != "" {
		if svc := s.idx.ServiceByHost(e.Destination.Service); svc != nil && svc.Namespace == d.ns {
			if wps[svc.Name] != nil {
				return []string{svc.Name}
			}
			return nil
		}
	}
	var out []string
	for _, svc := range s.idx.ServicesOf(d.ns, d.name) {
		if wps[svc.Name] != nil {
			out = append(out, svc.Name)
		}
	}
	return out
}

// splitAmbient sorts an ambient destination's included edges by where they
// are enforced: at a Service's waypoint, or at the workload's ztunnel.
func (s *synthesizer) splitAmbient(d *dest, wps map[string]*waypointService) *ambientSplit {
	sp := &ambientSplit{viaWaypoint: map[string]map[string][]int{}, waypointPlaintext: map[string][]int{}, direct: map[string][]int{}}
	add := func(svc, principal string, i int) {
		if sp.viaWaypoint[svc] == nil {
			sp.viaWaypoint[svc] = map[string][]int{}
		}
		sp.viaWaypoint[svc][principal] = append(sp.viaWaypoint[svc][principal], i)
	}
	for _, k := range sortedKeys(d.callers) {
		for _, i := range d.callers[k].edges {
			e := &s.edges[i]
			switch e.Reporter {
			case snapshot.ReporterWaypoint:
				svcs := s.servicesOfEdge(d, e, wps)
				if len(svcs) == 0 {
					sp.unplaced = append(sp.unplaced, i)
				}
				for _, svc := range svcs {
					add(svc, k, i)
				}
			case snapshot.ReporterSource:
				// A client-side report: replayed at ztunnel as the client, and
				// admitted at the waypoint too when the Service has one.
				sp.direct[k] = append(sp.direct[k], i)
				if e.Destination.Service != "" {
					for _, svc := range s.servicesOfEdge(d, e, wps) {
						add(svc, k, i)
					}
				}
			default:
				sp.direct[k] = append(sp.direct[k], i)
			}
		}
	}
	for _, group := range [][]int{d.plaintext, d.unidentified} {
		for _, i := range group {
			e := &s.edges[i]
			if e.Reporter != snapshot.ReporterWaypoint {
				continue
			}
			svcs := s.servicesOfEdge(d, e, wps)
			if len(svcs) == 0 && !slices.Contains(sp.unplaced, i) {
				sp.unplaced = append(sp.unplaced, i)
			}
			for _, svc := range svcs {
				sp.waypointPlaintext[svc] = append(sp.waypointPlaintext[svc], i)
			}
		}
	}
	for _, i := range d.plaintext {
		if s.edges[i].Reporter != snapshot.ReporterWaypoint {
			sp.plaintext = append(sp.plaintext, i)
		}
	}
	for _, i := range d.unidentified {
		if s.edges[i].Reporter != snapshot.ReporterWaypoint {
			sp.unidentified = append(sp.unidentified, i)
		}
	}
	return sp
}

// waypointPolicies writes, for each Service of a namespace bound to a
// waypoint, the L7 policy attached to it with targetRefs: one rule set for
// every caller the waypoint reported, whichever workload behind the Service
// answered.
func (s *synthesizer) waypointPolicies(ns string, dests []*dest, wps map[string]*waypointService) ([]*Policy, error) {
	var out []*Policy
	for _, svc := range sortedKeys(wps) {
		callers := map[string][]int{}
		var plaintext []int
		var owner *dest
		for _, d := range dests {
			if d.split == nil {
				continue
			}
			for p, idxs := range d.split.viaWaypoint[svc] {
				callers[p] = append(callers[p], idxs...)
				owner = cmp.Or(owner, d)
			}
			plaintext = append(plaintext, d.split.waypointPlaintext[svc]...)
		}
		if len(callers) == 0 && len(plaintext) == 0 {
			continue
		}
		if owner == nil {
			owner = &dest{ns: ns, nso: s.opts.forNamespace(ns)}
		}
		for p := range callers {
			slices.Sort(callers[p])
		}
		pols, err := s.waypointPolicy(owner, wps[svc], callers, plaintext)
		if err != nil {
			return nil, err
		}
		out = append(out, pols...)
	}
	return out, nil
}

// waypointPolicy writes the L7 policy of one Service at its waypoint. Ports
// are named only where the Service port equals the target port: whether a
// waypoint matches `ports` against the Service port or the target port is not
// confirmed (reference §1.7, §8.1).
func (s *synthesizer) waypointPolicy(d *dest, ws *waypointService, callers map[string][]int, plaintext []int) ([]*Policy, error) {
	svc := ws.svc.Name
	if !s.opts.IstioVersion.AtLeast(1, 22) {
		s.warn(CodeNeedsWaypoint, d.ns, "", fmt.Sprintf("Service %s has a waypoint, but policies with targetRefs need Istio 1.22 or newer: its L7 rules are not written", svc))
		return nil, nil
	}
	if len(plaintext) > 0 {
		s.warn(CodeNoAllowPolicy, d.ns, "", fmt.Sprintf("no waypoint policy for Service %s: its waypoint received requests without a principal from %s",
			svc, strings.Join(s.plaintextCallers(plaintext), "; ")))
		return nil, nil
	}
	comments := []string{
		fmt.Sprintf("Service %s/%s at waypoint %s/%s (identity %s): L7 rules for the real callers", d.ns, svc, ws.ref.Namespace, ws.ref.Name, ws.ref.Principal(s.td)),
	}
	if !ws.ref.Known {
		comments = append(comments, "the waypoint is not in the inventory; its service account is assumed to be its name")
	}
	var wpPorts []int
	if len(ws.namable) == len(ws.targets) {
		wpPorts = ws.targets
	} else {
		msg := fmt.Sprintf("Service %s maps a Service port to a different target port: its waypoint policy names no port there (it is not confirmed which of the two a waypoint matches); the ztunnel policy still limits the waypoint to the target ports", svc)
		s.noteAt(CodeWaypointPorts, d.ns, "", msg)
		comments = append(comments, msg)
	}
	var parts []rulePart
	for _, principal := range sortedKeys(callers) {
		edges, unnamed := s.waypointEdges(callers[principal], ws)
		a := analyzeAccess(edges, wpPorts)
		if len(unnamed) > 0 {
			for _, e := range unnamed {
				a.l4Ev.add(e, principalRequests(e))
			}
			a.admitAllPorts("traffic without L7 detail on a port the waypoint policy cannot name: every port is admitted for this caller at the waypoint")
		}
		parts = append(parts, s.callerParts(d, &callerEv{principal: principal, edges: callers[principal]}, a)...)
	}
	if len(parts) == 0 {
		return nil, nil
	}
	rules := shareRules(parts)
	wd := &dest{ns: d.ns, name: "", nso: d.nso}
	return s.allowPolicies(wd, RoleWaypoint, svc, svc+"-waypoint", rules, comments, func(ap *securityv1.AuthorizationPolicy) {
		ap.Spec.TargetRefs = []*typev1beta1.PolicyTargetReference{{Group: "", Kind: "Service", Name: svc}}
	})
}

// waypointEdges copies edges, clearing ports the waypoint policy must not
// name. Edges without L7 detail on such a port are returned apart as unnamed:
// only a rule without port restriction admits them.
func (s *synthesizer) waypointEdges(idxs []int, ws *waypointService) (out, unnamed []*snapshot.Edge) {
	for _, i := range idxs {
		e := s.edges[i]
		if e.Port != 0 && !ws.namable[e.Port] {
			if !hasL7(&e) {
				unnamed = append(unnamed, &e)
				continue
			}
			e.Port = 0
		}
		out = append(out, &e)
	}
	return out, unnamed
}

// ztunnelPolicy writes the L4 policy ztunnel enforces for an ambient
// workload: principals and ports only. ztunnel sees a waypoint's identity
// for traffic through it, so the policy admits the waypoint on the target
// ports that traffic used, besides the callers seen at ztunnel directly.
func (s *synthesizer) ztunnelPolicy(d *dest, wps map[string]*waypointService) ([]*Policy, error) {
	sp := d.split
	invPorts := s.idx.TargetPorts(d.ns, d.name)
	if len(sp.unplaced) > 0 {
		if ref, ok := s.idx.WorkloadWaypoint(d.ns, d.name); !ok || !s.infra.waypointServes(ref, "workload") {
			d.withheld = fmt.Sprintf("a waypoint reported traffic from %s, but the inventory names no waypoint for it: a ztunnel policy could not admit the waypoint",
				strings.Join(s.callerList(sp.unplaced), ", "))
			s.warn(CodeWaypointUnknown, d.ns, d.name, "no ztunnel policy: "+d.withheld)
			return nil, nil
		}
	}
	pt, ok := s.plaintextPart(d, sp.plaintext, sp.unidentified, invPorts)
	if !ok {
		return nil, nil
	}
	var parts []rulePart
	parts = append(parts, s.waypointAdmissions(d, wps, sp, invPorts)...)
	sawL7, bypass := false, false
	for _, principal := range sortedKeys(sp.direct) {
		c := &callerEv{principal: principal, edges: sp.direct[principal]}
		a := analyzeAccess(s.edgesOf(c.edges), invPorts)
		sawL7 = sawL7 || a.hasL7
		ports, anyPort := a.allPorts(invPorts)
		ev := a.evidence()
		labels := s.callerLabels(d, c)
		if len(sp.viaWaypoint) > 0 && !s.isWaypointPrincipal(principal) {
			bypass = true
		}
		notes := slices.Clone(a.notes)
		for _, p := range s.aliasPrincipals(principal) {
			l := labels
			if p != principal {
				l = append(slices.Clone(labels), labelAlias)
			}
			parts = append(parts, rulePart{principal: p, ops: portsOnlyOps(ports, anyPort),
				ev:    SourceEvidence{Principal: p, Evidence: ev.evidence(), Labels: l},
				notes: notes})
		}
	}
	for _, i := range d.edges {
		// Client-side reports superseded by ztunnel's still show L7 detail.
		if e := &s.edges[i]; hasL7(e) && e.Reporter != snapshot.ReporterWaypoint && e.Counts.Allowed() > 0 {
			sawL7 = true
		}
	}
	if sawL7 && len(sp.viaWaypoint) == 0 {
		s.noteAt(CodeNeedsWaypoint, d.ns, d.name, "L7 detail (methods, paths) was observed, but ztunnel enforces L4 only: it needs a waypoint for this workload's Service and is not written")
	}
	if bypass {
		s.warn(CodeWaypointBypass, d.ns, d.name, "some callers reach the workload at ztunnel without its waypoint (e.g. by pod IP): they are admitted on ports only, bypassing the waypoint's L7 rules")
	}
	if pt != nil {
		parts = append(parts, *pt)
	}
	if len(parts) == 0 {
		if len(sp.viaWaypoint) == 0 {
			s.noteAt(CodeNoAllowPolicy, d.ns, d.name, "no caller was admitted, so no ztunnel policy was written (the workload stays open)")
		}
		return nil, nil
	}
	s.reviewCallers(d)
	rules := shareRules(parts)
	d.allowPolicy = true
	comments := append(s.policyComments(d), "enforced by ztunnel: principals and ports only (L7 fields would make ztunnel drop the rule)")
	if sawL7 && len(sp.viaWaypoint) == 0 {
		comments = append(comments, "methods and paths were observed but need a waypoint to be enforced; they are not written here")
	}
	if d.nso.dryRun {
		s.noteAt(CodeDryRunAmbient, d.ns, d.name, "dry-run policies are not sent to ztunnel unless istiod runs with AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY=true (and ztunnel older than 1.29 would enforce them)")
	}
	return s.allowPolicies(d, RoleZtunnel, "", d.name, rules, comments, func(ap *securityv1.AuthorizationPolicy) {
		ap.Spec.Selector = selector(d.w.Selector)
	})
}

// waypointAdmissions returns the ztunnel rule parts that admit each waypoint
// in front of the workload, on the target ports its traffic used.
func (s *synthesizer) waypointAdmissions(d *dest, wps map[string]*waypointService, sp *ambientSplit, invPorts []int) []rulePart {
	type admission struct {
		ref   snapshot.WaypointRef
		ports map[int]bool
		any   bool
		ev    evAcc
	}
	byRef := map[string]*admission{}
	addEdge := func(ref snapshot.WaypointRef, targets []int, i int) {
		k := ref.Namespace + "/" + ref.Name
		a := byRef[k]
		if a == nil {
			a = &admission{ref: ref, ports: map[int]bool{}}
			byRef[k] = a
		}
		e := &s.edges[i]
		a.ev.add(e, e.Counts.Allowed())
		switch {
		case e.Port > 0:
			a.ports[e.Port] = true
		case len(targets) > 0:
			for _, p := range targets {
				a.ports[p] = true
			}
		case len(invPorts) > 0:
			for _, p := range invPorts {
				a.ports[p] = true
			}
		default:
			a.any = true
		}
	}
	for _, svc := range sortedKeys(sp.viaWaypoint) {
		ws := wps[svc]
		for _, principal := range sortedKeys(sp.viaWaypoint[svc]) {
			for _, i := range sp.viaWaypoint[svc][principal] {
				if s.edges[i].Reporter == snapshot.ReporterWaypoint {
					addEdge(ws.ref, ws.targets, i)
				}
			}
		}
	}
	// Requests without a principal still reach the workload from the
	// waypoint, under the waypoint's identity.
	for _, svc := range sortedKeys(sp.waypointPlaintext) {
		ws := wps[svc]
		for _, i := range sp.waypointPlaintext[svc] {
			addEdge(ws.ref, ws.targets, i)
		}
	}
	if ref, ok := s.idx.WorkloadWaypoint(d.ns, d.name); ok && len(sp.unplaced) > 0 {
		for _, i := range sp.unplaced {
			addEdge(ref, nil, i)
		}
		s.noteAt(CodeNeedsWaypoint, d.ns, d.name, fmt.Sprintf("traffic through the workload's own waypoint %s/%s is admitted at ztunnel; L7 rules there would have to target the waypoint Gateway (all its workloads) and are not written", ref.Namespace, ref.Name))
	}
	var parts []rulePart
	for _, k := range sortedKeys(byRef) {
		a := byRef[k]
		ports := sortedInts(a.ports)
		principal := a.ref.Principal(s.td)
		for _, p := range s.aliasPrincipals(principal) {
			parts = append(parts, rulePart{principal: p, ops: portsOnlyOps(ports, a.any),
				ev:    SourceEvidence{Principal: p, Evidence: a.ev.evidence(), Labels: []string{labelWaypoint}},
				notes: []string{fmt.Sprintf("waypoint %s/%s: ztunnel sees the waypoint, not the client, for traffic through it", a.ref.Namespace, a.ref.Name)}})
		}
	}
	return parts
}

// aliasPrincipals returns a principal once per trust domain of the mesh
// (trust domain and aliases) when its trust domain is one of them: istiod
// rewrites aliases for Envoy but not for ztunnel (reference §1.6).
func (s *synthesizer) aliasPrincipals(principal string) []string {
	p, err := snapshot.ParsePrincipal(principal)
	if err != nil || len(s.bundle) < 2 || !slices.Contains(s.bundle, p.TrustDomain) {
		return []string{principal}
	}
	var out []string
	for _, td := range s.bundle {
		q := p
		q.TrustDomain = td
		out = append(out, q.String())
	}
	slices.Sort(out)
	return out
}

// callerList names the callers of some edges.
func (s *synthesizer) callerList(idxs []int) []string {
	var out []string
	for _, i := range idxs {
		out = addSorted(out, callerName(s.edges[i].Source))
	}
	return out
}
