package synth

import (
	"fmt"
	"strings"

	securityv1beta1 "istio.io/api/security/v1beta1"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// peerAuthentications writes a namespace's PeerAuthentications: STRICT for
// the namespace, plus, for exactly the workloads and ports that received
// plaintext, a workload-level exception (PERMISSIVE on those ports, or on the
// whole workload when no port is known). Namespaces with no workload in the
// mesh get none.
func (s *synthesizer) peerAuthentications(ns string, dests []*dest) []*Policy {
	inMesh, ambient := false, false
	var exceptions []*dest
	var blockers []string
	for _, d := range dests {
		if d.mode == snapshot.MeshNone {
			continue
		}
		// The namespace is written only when one of its in-mesh destinations
		// gets policies; skipped ones (gateways, exclusions) still get their
		// exceptions.
		inMesh = inMesh || d.skip == ""
		ambient = ambient || d.mode == snapshot.MeshAmbient
		if len(s.mtlsPlaintext(d)) == 0 {
			continue
		}
		if d.w == nil || len(d.w.Selector) == 0 || validSelector(d.w.Selector) != nil {
			blockers = append(blockers, d.name)
			continue
		}
		exceptions = append(exceptions, d)
	}
	if !inMesh {
		s.noteAt(CodeNoPeerAuthentication, ns, "", "no destination of the namespace that is in the mesh gets policies: no PeerAuthentication written")
		return nil
	}
	if len(blockers) > 0 {
		s.warn(CodeNoPeerAuthentication, ns, "", fmt.Sprintf("no STRICT PeerAuthentication: %s received plaintext but has no known selector for a PERMISSIVE exception",
			strings.Join(blockers, ", ")))
		return nil
	}
	nsPA := s.newPeerAuthentication(ns)
	nsPA.Spec.Mtls = &securityv1beta1.PeerAuthentication_MutualTLS{Mode: securityv1beta1.PeerAuthentication_MutualTLS_STRICT}
	p := &Policy{Role: RoleNamespaceMTLS, PeerAuthentication: nsPA, nameBase: "default", nameID: "mtls/namespace", reservedName: true}
	if len(exceptions) == 0 {
		p.Comments = append(p.Comments, "no plaintext was observed into this namespace: mTLS required")
	} else {
		names := make([]string, len(exceptions))
		for i, d := range exceptions {
			names[i] = d.name
		}
		p.Comments = append(p.Comments, "mTLS required, except where plaintext was observed: "+strings.Join(names, ", ")+" (see their -mtls policies)")
	}
	if ambient {
		p.Comments = append(p.Comments, "ambient: STRICT rejects connections without a peer identity (plaintext from outside the mesh); DISABLE is ignored there")
	}
	if s.opts.forNamespace(ns).dryRun {
		s.warn(CodeNoPeerAuthentication, "", "", "PeerAuthentication has no dry-run: STRICT takes effect as soon as it is applied, also with --dry-run")
	}
	out := []*Policy{p}
	for _, d := range exceptions {
		out = append(out, s.mtlsException(d))
	}
	return out
}

// mtlsPlaintext returns the plaintext edges that reach the workload's own
// proxy or ztunnel (in ambient mode, a waypoint's plaintext does not: the
// waypoint talks mTLS to the workload).
func (s *synthesizer) mtlsPlaintext(d *dest) []int {
	var out []int
	for _, i := range d.plaintext {
		if d.mode != snapshot.MeshAmbient || s.edges[i].Reporter != snapshot.ReporterWaypoint {
			out = append(out, i)
		}
	}
	return out
}

// mtlsException writes the PERMISSIVE exception for one workload.
func (s *synthesizer) mtlsException(d *dest) *Policy {
	edges := s.mtlsPlaintext(d)
	pa := s.newPeerAuthentication(d.ns)
	pa.Spec.Selector = selector(d.w.Selector)
	p := &Policy{Role: RoleWorkloadMTLS, PeerAuthentication: pa, Workload: d.name, nameBase: d.name + "-mtls", nameID: "mtls/" + d.name}
	byPort := map[int][]int{}
	unknownPort := false
	for _, i := range edges {
		byPort[s.edges[i].Port] = append(byPort[s.edges[i].Port], i)
		unknownPort = unknownPort || s.edges[i].Port == 0
	}
	invPorts := s.idx.TargetPorts(d.ns, d.name)
	if unknownPort && len(invPorts) == 0 {
		pa.Spec.Mtls = &securityv1beta1.PeerAuthentication_MutualTLS{Mode: securityv1beta1.PeerAuthentication_MutualTLS_PERMISSIVE}
		callers := s.plaintextCallers(edges)
		p.Comments = append(p.Comments, fmt.Sprintf("workload %s received plaintext on a port that is not known: PERMISSIVE for the whole workload", d.id()),
			"plaintext callers: "+strings.Join(callers, "; "))
		s.warn(CodePlaintext, d.ns, d.name, fmt.Sprintf("received plaintext (port unknown) from %s: PERMISSIVE for the whole workload", strings.Join(callers, "; ")))
		return p
	}
	if unknownPort {
		for _, port := range invPorts {
			byPort[port] = append(byPort[port], byPort[0]...)
		}
		delete(byPort, 0)
	}
	pa.Spec.PortLevelMtls = map[uint32]*securityv1beta1.PeerAuthentication_MutualTLS{}
	p.Ports = map[uint32]SourceEvidence{}
	p.Comments = append(p.Comments, fmt.Sprintf("workload %s: mTLS inherited from the namespace, PERMISSIVE only on the ports that received plaintext", d.id()))
	if unknownPort {
		p.Comments = append(p.Comments, "some plaintext came without a port (metrics): every port the inventory knows is PERMISSIVE")
	}
	for _, port := range sortedInts(byPort) {
		callers := s.plaintextCallers(byPort[port])
		pa.Spec.PortLevelMtls[uint32(port)] = &securityv1beta1.PeerAuthentication_MutualTLS{Mode: securityv1beta1.PeerAuthentication_MutualTLS_PERMISSIVE}
		var ev evAcc
		for _, i := range byPort[port] {
			ev.add(&s.edges[i], plaintextRequests(&s.edges[i]))
		}
		p.Ports[uint32(port)] = SourceEvidence{Callers: callers, Evidence: ev.evidence()}
		s.warn(CodePlaintext, d.ns, d.name, fmt.Sprintf("received plaintext on port %d from %s: PERMISSIVE exception on that port", port, strings.Join(callers, "; ")))
		for _, i := range byPort[port] {
			if isProbe(&s.edges[i]) {
				s.noteAt(CodeProbe, d.ns, d.name, fmt.Sprintf("plaintext on port %d looks like a kubelet health probe: Istio normally rewrites probes to its agent port; check the pod's sidecar.istio.io/rewriteAppHTTPProbers", port))
				break
			}
		}
	}
	return p
}
