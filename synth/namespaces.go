package synth

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// buildNamespaces writes the policies of every namespace that has
// destinations, in namespace order.
func (s *synthesizer) buildNamespaces() {
	var current []*dest
	flush := func() {
		if len(current) == 0 {
			return
		}
		if n := s.buildNamespace(current[0].ns, current); n != nil {
			s.nsOut = append(s.nsOut, n)
		}
		current = nil
	}
	for _, d := range s.dests {
		if len(current) > 0 && current[0].ns != d.ns {
			flush()
		}
		current = append(current, d)
	}
	flush()
}

// buildNamespace writes the policies of one namespace; internal errors are
// collected in s.internal.
func (s *synthesizer) buildNamespace(ns string, dests []*dest) *Namespace {
	n := &Namespace{Name: ns}
	wps := s.waypointServices(ns)
	for _, d := range dests {
		if d.mode == snapshot.MeshAmbient {
			d.split = s.splitAmbient(d, wps)
		}
	}
	pols, err := s.waypointPolicies(ns, dests, wps)
	if err != nil {
		s.internal = append(s.internal, err)
	}
	for _, d := range dests {
		if d.skip != "" {
			continue
		}
		ps, err := s.destinationPolicies(d, wps)
		if err != nil {
			s.internal = append(s.internal, err)
			continue
		}
		if len(ps) > 0 {
			n.Workloads = append(n.Workloads, d.name)
		}
		pols = append(pols, ps...)
	}
	pols = append(pols, s.peerAuthentications(ns, dests)...)
	if dd := s.defaultDeny(ns, dests); dd != nil {
		pols = append(pols, dd)
	}
	if len(pols) == 0 {
		return nil
	}
	assignNames(pols)
	slices.SortFunc(pols, func(a, b *Policy) int {
		return cmp.Or(strings.Compare(a.Kind(), b.Kind()), strings.Compare(a.Name(), b.Name()))
	})
	n.Policies = pols
	return n
}

// destinationPolicies writes the ALLOW policy of one destination for its
// data plane: a sidecar policy, or the ztunnel policy of an ambient workload
// (its Services' waypoint policies are written per Service).
func (s *synthesizer) destinationPolicies(d *dest, wps map[string]*waypointService) ([]*Policy, error) {
	if d.mode == snapshot.MeshAmbient {
		return s.ztunnelPolicy(d, wps)
	}
	return s.sidecarPolicies(d)
}

// defaultDeny writes the namespace's allow-nothing policy when asked, unless
// it would deny traffic that was observed and that no written policy admits.
func (s *synthesizer) defaultDeny(ns string, dests []*dest) *Policy {
	nso := s.opts.forNamespace(ns)
	if !nso.defaultDeny {
		return nil
	}
	blockers := s.defaultDenyBlockers(ns, dests)
	if len(blockers) > 0 {
		s.warn(CodeDefaultDeny, ns, "", "no default-deny policy: it would deny observed traffic that no written policy admits: "+strings.Join(blockers, "; "))
		return nil
	}
	ap := s.newAuthorizationPolicy(ns, nso.dryRun)
	p := &Policy{Role: RoleDefaultDeny, AuthorizationPolicy: ap, nameBase: "default-deny", nameID: "default-deny", reservedName: true,
		Comments: []string{"allow-nothing: every workload of the namespace without an ALLOW policy of its own is closed",
			"applies to sidecars and ztunnel; waypoints ignore policies without targetRefs"}}
	return p
}

// defaultDenyBlockers lists what an allow-nothing policy would break: gateway
// workloads (their traffic from outside the mesh is not observed),
// destinations with observed traffic that got no ALLOW policy.
func (s *synthesizer) defaultDenyBlockers(ns string, dests []*dest) []string {
	var blockers []string
	for _, w := range s.idx.WorkloadsIn(ns) {
		if s.infra.isGatewayWorkload(ns, w.Name) {
			blockers = append(blockers, fmt.Sprintf("%s is an ingress gateway", w.Name))
		}
	}
	for _, d := range dests {
		if d.mode == snapshot.MeshNone || s.infra.isGatewayWorkload(ns, d.name) {
			continue
		}
		observed := len(d.plaintext) > 0 || len(d.callers) > 0 || len(d.unidentified) > 0
		switch {
		case !observed:
		case d.skip != "":
			blockers = append(blockers, fmt.Sprintf("%s (%s)", d.name, d.skip))
		case d.withheld != "":
			blockers = append(blockers, fmt.Sprintf("%s has no ALLOW policy (%s)", d.name, d.withheld))
		case !d.allowPolicy:
			blockers = append(blockers, fmt.Sprintf("%s has no ALLOW policy", d.name))
		}
	}
	slices.Sort(blockers)
	return slices.Compact(blockers)
}
