package synth

import (
	"fmt"
	"strings"

	securityv1 "istio.io/client-go/pkg/apis/security/v1"
)

// sidecarPolicies writes the ALLOW policy of a workload with a sidecar: one
// or two rules per caller (an L4 rule for TCP ports and ports without L7
// detail, an L7 rule with the observed methods and paths), callers with equal
// rules sharing them.
func (s *synthesizer) sidecarPolicies(d *dest) ([]*Policy, error) {
	invPorts := s.idx.TargetPorts(d.ns, d.name)
	pt, ok := s.plaintextPart(d, d.plaintext, d.unidentified, invPorts)
	if !ok {
		return nil, nil
	}
	var parts []rulePart
	needsLogs := false
	for _, k := range sortedKeys(d.callers) {
		c := d.callers[k]
		a := analyzeAccess(s.edgesOf(c.edges), invPorts)
		needsLogs = needsLogs || a.needsLogs
		parts = append(parts, s.callerParts(d, c, a)...)
	}
	if needsLogs {
		s.noteAt(CodeNeedsAccessLogs, d.ns, d.name, "some callers were seen only in metrics or without paths: their rules name ports only; L7 detail needs access logs")
	}
	if pt != nil {
		parts = append(parts, *pt)
	}
	if len(parts) == 0 {
		s.noteAt(CodeNoAllowPolicy, d.ns, d.name, "no caller was admitted, so no ALLOW policy was written (the workload stays open)")
		return nil, nil
	}
	s.reviewCallers(d)
	rules := shareRules(parts)
	d.allowPolicy = true
	return s.allowPolicies(d, RoleAllow, "", d.name, rules, s.policyComments(d), func(ap *securityv1.AuthorizationPolicy) {
		ap.Spec.Selector = selector(d.w.Selector)
	})
}

// callerParts turns one caller's access into rule parts: L4 and L7.
func (s *synthesizer) callerParts(d *dest, c *callerEv, a *access) []rulePart {
	labels := s.callerLabels(d, c)
	if len(a.moot) > 0 {
		s.noteAt(CodeMootL7, d.ns, d.name, fmt.Sprintf("%s used %s both as TCP and as HTTP: admitted there without L7 restrictions", c.principal, portsPhrase(a.moot)))
	}
	for _, m := range a.partial {
		s.noteAt(CodeLogCoverage, d.ns, d.name, c.principal+": "+m+": requests the logs did not see may be denied")
	}
	if a.l4Any {
		s.warn(CodeOpenPorts, d.ns, d.name, fmt.Sprintf("%s is admitted on every port (see the notes of its rule)", c.principal))
	}
	var parts []rulePart
	notes := a.notes
	if a.l4Any || len(a.l4Ports) > 0 {
		ev := a.l4Ev.evidence()
		parts = append(parts, rulePart{principal: c.principal, ops: portsOnlyOps(a.l4Ports, a.l4Any),
			ev: SourceEvidence{Principal: c.principal, Evidence: ev, Labels: labels}, notes: notes})
		notes = nil
	}
	if len(a.l7) > 0 {
		ops, pathNotes := s.buildOperations(d, a.l7)
		for _, n := range pathNotes {
			s.noteAt(CodePaths, d.ns, d.name, c.principal+": "+n)
		}
		parts = append(parts, rulePart{principal: c.principal, ops: ops, l7: true,
			ev:    SourceEvidence{Principal: c.principal, Evidence: a.l7Ev.evidence(), Labels: labels},
			notes: append(notes, pathNotes...)})
	}
	return parts
}

// plaintextPart decides what plaintext into the destination means for its
// ALLOW policy. ok is false when no ALLOW policy may be written; part is a
// ports-only rule admitting any caller when the allow-port handling applies.
func (s *synthesizer) plaintextPart(d *dest, plaintext, unidentified []int, invPorts []int) (part *rulePart, ok bool) {
	if len(unidentified) > 0 {
		d.withheld = fmt.Sprintf("mTLS callers without a known principal (%s): an ALLOW policy naming principals would deny them",
			strings.Join(s.plaintextCallers(unidentified), "; "))
		s.warn(CodeNoAllowPolicy, d.ns, d.name, "no ALLOW policy: "+d.withheld)
		return nil, false
	}
	if len(plaintext) == 0 {
		return nil, true
	}
	callers := s.plaintextCallers(plaintext)
	handling := d.nso.plaintext
	if d.nso.defaultDeny && handling == PlaintextNoAllow {
		handling = PlaintextAllowPort
		s.noteAt(CodeDefaultDeny, d.ns, d.name, "with --default-deny, the ports that received plaintext are opened by a ports-only rule instead of leaving the workload without an ALLOW policy")
	}
	if handling == PlaintextNoAllow {
		d.withheld = fmt.Sprintf("received plaintext from %s: an ALLOW policy naming principals would deny them (use --plaintext=allow-port to keep a policy that opens only those ports)",
			strings.Join(callers, "; "))
		s.warn(CodeNoAllowPolicy, d.ns, d.name, "no ALLOW policy: "+d.withheld)
		return nil, false
	}
	ports, anyPort := s.plaintextPorts(plaintext, invPorts)
	if anyPort {
		d.withheld = fmt.Sprintf("received plaintext from %s on a port that is not known: a ports-only rule cannot be written", strings.Join(callers, "; "))
		s.warn(CodeNoAllowPolicy, d.ns, d.name, "no ALLOW policy: "+d.withheld)
		return nil, false
	}
	var ev evAcc
	for _, i := range plaintext {
		ev.add(&s.edges[i], plaintextRequests(&s.edges[i]))
	}
	s.warn(CodePlaintextOpenPorts, d.ns, d.name, fmt.Sprintf("%s open to any caller, because plaintext was received there from %s",
		portsPhrase(ports), strings.Join(callers, "; ")))
	return &rulePart{ops: portsOnlyOps(ports, false),
		ev:    SourceEvidence{Callers: callers, Evidence: ev.evidence()},
		notes: []string{"open to any caller on these ports: plaintext callers have no principal"}}, true
}

// plaintextPorts returns the target ports that received plaintext; edges
// without a port contribute the inventory's ports, and anyPort is true when
// there are none.
func (s *synthesizer) plaintextPorts(plaintext []int, invPorts []int) (ports []int, anyPort bool) {
	set := map[int]bool{}
	for _, i := range plaintext {
		e := &s.edges[i]
		if e.Port > 0 {
			set[e.Port] = true
			continue
		}
		if len(invPorts) == 0 {
			return nil, true
		}
		for _, p := range invPorts {
			set[p] = true
		}
	}
	return sortedInts(set), false
}

// policyComments explains a workload policy as a whole.
func (s *synthesizer) policyComments(d *dest) []string {
	c := []string{fmt.Sprintf("workload %s (%s), selector %s", d.id(), d.mode, formatLabels(d.w.Selector))}
	if d.w.Inferred || s.idx.Inventory().Origin == "inferred" {
		c = append(c, "selector inferred from metric labels, not read from the cluster")
	}
	return c
}
