package eval

import (
	"fmt"
	"slices"
)

// otherPort stands for "a port not listed in portLevelMtls" when the
// request's port is unknown.
const otherPort = -1

// workloadPAs returns the workload-level PeerAuthentications that may be the
// effective one for req: the oldest whose selector matches; when labels are
// incomplete, also every older one whose match is unknown; nil in the list
// means "none". Root-namespace policies with a selector are ignored
// (ref 3.2; istio: pilot/pkg/security/authn/policy_applier.go
// ComposePeerAuthentication).
func (c *compiledSet) workloadPAs(req *Request, v *view) []*cpa {
	if req.Namespace == c.root {
		return []*cpa{nil}
	}
	var out []*cpa
	for _, pa := range c.paByNS[req.Namespace] {
		if len(pa.labels) == 0 {
			continue
		}
		switch labelsMatch(pa.labels, req.WorkloadLabels, req.LabelsIncomplete, v) {
		case triTrue:
			return append(out, pa)
		case triUnknown:
			out = append(out, pa)
		}
	}
	return append(out, nil)
}

// oldest returns the first (oldest) policy of ns accepted by keep.
func (c *compiledSet) oldest(ns string, keep func(*cpa) bool) *cpa {
	for _, pa := range c.paByNS[ns] {
		if keep(pa) {
			return pa
		}
	}
	return nil
}

func noLabels(pa *cpa) bool    { return len(pa.labels) == 0 }
func nilSelector(pa *cpa) bool { return pa.selectorNil }

// portsFor returns the ports to consider for a workload policy: the request's
// port, or when unknown every listed port and "another port".
func portsFor(req *Request, wl *cpa) []int {
	if req.Port != 0 {
		return []int{req.Port}
	}
	if wl == nil || len(wl.portList) == 0 {
		return []int{otherPort}
	}
	out := []int{otherPort}
	for _, p := range wl.portList {
		out = append(out, int(p))
	}
	return out
}

// modeChoice is one possible effective mTLS mode at a sidecar and the
// PeerAuthentication that set it ("" for the default PERMISSIVE).
type modeChoice struct {
	mode mtlsMode
	by   string
}

// sidecarModes resolves the effective mode at a sidecar: mesh (root
// namespace, no selector) -> namespace (no selector) -> workload (selector)
// -> port level; UNSET inherits; PERMISSIVE when nothing is set; the oldest
// policy of a level wins (ref 3.1-3.4; istio: policy_applier.go
// ComposePeerAuthentication). Several choices come back when the port or
// the labels are unknown.
func (c *compiledSet) sidecarModes(req *Request, v *view) []modeChoice {
	base := modeChoice{mode: modePermissive}
	if mesh := c.oldest(c.root, noLabels); mesh != nil && mesh.mode != modeUnset {
		base = modeChoice{mesh.mode, mesh.key}
	}
	if req.Namespace != c.root {
		if ns := c.oldest(req.Namespace, noLabels); ns != nil && ns.mode != modeUnset {
			base = modeChoice{ns.mode, ns.key}
		}
	}
	var out []modeChoice
	for _, wl := range c.workloadPAs(req, v) {
		m := base
		if wl != nil && wl.mode != modeUnset {
			m = modeChoice{wl.mode, wl.key}
		}
		for _, port := range portsFor(req, wl) {
			pm := m
			if wl != nil && port != otherPort {
				if mode, ok := wl.ports[uint32(port)]; ok && mode != modeUnset {
					pm = modeChoice{mode, wl.key}
				}
			}
			if !slices.Contains(out, pm) {
				out = append(out, pm)
			}
		}
	}
	return out
}

func (c *compiledSet) decideSidecar(req *Request) Decision {
	v := newView(req)
	choices := c.sidecarModes(req, v)
	var first Decision
	for i, ch := range choices {
		d := c.sidecarWithMode(req, ch)
		if i == 0 {
			first = d
			continue
		}
		if d.Outcome != first.Outcome {
			why := "the port is unknown"
			if req.Port != 0 {
				why = "the workload's labels are unknown"
			}
			return Decision{
				Outcome: Unknown,
				Reason:  fmt.Sprintf("could not be decided: the PeerAuthentication mode depends on what is unknown (%s): %s, or %s", why, first.Reason, d.Reason),
				Rule:    -1,
			}
		}
	}
	return first
}

func (c *compiledSet) sidecarWithMode(req *Request, ch modeChoice) Decision {
	switch {
	case req.Principal == "" && ch.mode == modeStrict:
		return Decision{Outcome: Deny, Reason: "plaintext rejected by STRICT PeerAuthentication " + ch.by, Policy: ch.by, Rule: -1}
	case req.Principal != "" && ch.mode == modeDisable:
		// With DISABLE the sidecar accepts no mTLS, and auto mTLS makes
		// clients send plaintext (ref 3.1): the policy sees no principal.
		pt := *req
		pt.Principal, pt.SourceNamespace = "", ""
		d := c.authorize(Sidecar, &pt)
		d.Reason += fmt.Sprintf(" (PeerAuthentication %s sets DISABLE: the request arrives as plaintext)", ch.by)
		return d
	}
	return c.authorize(Sidecar, req)
}

func (c *compiledSet) decideZtunnel(req *Request) Decision {
	if req.Principal != "" {
		return c.authorize(Ztunnel, req)
	}
	v := newView(req)
	t, by := c.ambientRejectsPlaintext(req, v)
	if t == triTrue {
		return Decision{Outcome: Deny, Reason: "plaintext rejected by STRICT PeerAuthentication " + by, Policy: by, Rule: -1}
	}
	d := c.authorize(Ztunnel, req)
	if t == triUnknown && d.Outcome != Deny {
		return Decision{
			Outcome: Unknown,
			Reason:  fmt.Sprintf("could not be decided: whether STRICT PeerAuthentication %s rejects this plaintext connection depends on the unknown port or labels", by),
			Policy:  by,
			Rule:    -1,
		}
	}
	return d
}

// ambientRejectsPlaintext says whether ztunnel rejects a connection without
// a peer identity. istiod turns PeerAuthentication into DENY policies for
// ztunnel: a static "no principal" policy when the effective mode is STRICT,
// and a converted workload policy for port-level exceptions. DISABLE is not
// supported in ambient and counts as not STRICT (ref 3.5). This follows
// istio: pilot/pkg/serviceregistry/ambient/authorization.go
// convertedSelectorPeerAuthentications and convertPeerAuthentication,
// quirks included (for example a DISABLE port under an UNSET workload mode
// that inherits STRICT is not exempted; a STRICT port under a PERMISSIVE
// workload is not enforced when the namespace is UNSET and the mesh STRICT).
func (c *compiledSet) ambientRejectsPlaintext(req *Request, v *view) (tri, string) {
	// Mesh level: root-namespace policies without a selector at all
	// (workloads.go fetchPeerAuthentications takes no other root policy).
	mesh := c.oldest(c.root, nilSelector)
	var nsAny, nsNil *cpa
	if req.Namespace != c.root {
		nsAny = c.oldest(req.Namespace, noLabels)
		nsNil = c.oldest(req.Namespace, nilSelector)
	}
	res, by := triFalse, ""
	first := true
	for _, wl := range c.workloadPAs(req, v) {
		for _, port := range portsFor(req, wl) {
			deny, who := ambientOne(mesh, nsAny, nsNil, wl, port)
			t := triOf(deny)
			if first {
				res, first = t, false
			} else if t != res {
				res = triUnknown
			}
			if deny && by == "" {
				by = who
			}
		}
	}
	if by == "" && res == triUnknown {
		by = "(port level)"
	}
	return res, by
}

func ambientOne(mesh, nsAny, nsNil, wl *cpa, port int) (bool, string) {
	strict, by := false, ""
	if mesh != nil && mesh.mode == modeStrict {
		strict, by = true, mesh.key
	}
	if nsAny != nil && nsAny.mode != modeUnset {
		strict = nsAny.mode == modeStrict
		if strict {
			by = nsAny.key
		}
	}
	if wl == nil {
		return strict, by
	}
	switch wl.mode {
	case modeStrict:
		strict, by = true, wl.key
	case modePermissive, modeDisable:
		strict = false
	}
	portPolicy := false
	if len(wl.ports) > 0 {
		has := func(modes ...mtlsMode) bool {
			for _, m := range wl.ports {
				if slices.Contains(modes, m) {
					return true
				}
			}
			return false
		}
		switch wl.mode {
		case modeStrict:
			if has(modePermissive, modeDisable) {
				portPolicy, strict = true, false
			}
		case modePermissive, modeDisable:
			portPolicy = has(modeStrict)
		default:
			if strict {
				if has(modePermissive) {
					portPolicy, strict = true, false
				}
			} else {
				portPolicy = has(modeStrict)
			}
		}
	}
	if strict {
		return true, by
	}
	if portPolicy {
		// The converted policy takes the namespace and root policies
		// without a selector (policies.go PeerAuthDerivedPolicies).
		return convertedDenies(wl, nsNil, mesh, port), wl.key
	}
	return false, ""
}

// convertedDenies evaluates convertPeerAuthentication's DENY policy for a
// connection without a principal on port.
func convertedDenies(cfg, ns, root *cpa, port int) bool {
	mode := cfg.mode
	isStrict := func(p *cpa) bool { return p != nil && p.mode == modeStrict }
	isUnset := func(p *cpa) bool { return p == nil || p.mode == modeUnset }
	var strictPorts, exempt []int
	foundNonStrict := false
	rules := 0
	if mode == modeStrict {
		rules++
	}
	for _, p := range cfg.portList {
		switch cfg.ports[p] {
		case modeStrict:
			// Go precedence as in istiod: A || (B && C) || D.
			if mode == modeStrict ||
				(mode == modeUnset && ns != nil && isStrict(ns)) ||
				((ns == nil || isUnset(ns)) && root != nil && isStrict(root)) {
				continue
			}
			strictPorts = append(strictPorts, int(p))
		case modePermissive, modeDisable:
			if mode == modePermissive || mode == modeDisable {
				continue
			}
			if mode == modeUnset && ((ns != nil && !isStrict(ns)) ||
				(ns == nil && root != nil && !isStrict(root)) ||
				(ns == nil && root == nil)) {
				continue
			}
			foundNonStrict = true
			exempt = append(exempt, int(p))
			rules++
		}
	}
	if mode == modeStrict && !foundNonStrict {
		return false // the static STRICT policy applies instead
	}
	if rules == 0 && len(strictPorts) == 0 {
		return false
	}
	merge := (isStrict(root) && (ns == nil || isUnset(ns) || isStrict(ns))) || isStrict(ns)
	if merge && foundNonStrict {
		rules++
	}
	if slices.Contains(strictPorts, port) {
		return true
	}
	return rules > 0 && !slices.Contains(exempt, port)
}
