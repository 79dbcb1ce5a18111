package eval

import (
	"fmt"
	"slices"
	"strings"

	securityapi "istio.io/api/security/v1beta1"
	typeapi "istio.io/api/type/v1beta1"
)

const (
	actAllow  = securityapi.AuthorizationPolicy_ALLOW
	actDeny   = securityapi.AuthorizationPolicy_DENY
	actAudit  = securityapi.AuthorizationPolicy_AUDIT
	actCustom = securityapi.AuthorizationPolicy_CUSTOM
)

func (c *compiledSet) decide(p Point, req Request) Decision {
	req = normalize(req)
	if req.Protocol == "" && p != Ztunnel {
		// Unknown protocol: decide as HTTP (method and path unknown) and as
		// TCP; the outcome is known only when both agree.
		h, t := req, req
		h.Protocol, t.Protocol = "http", "tcp"
		t.Method, t.Path, t.Host = "", "", ""
		dh, dt := c.decideProto(p, &h), c.decideProto(p, &t)
		if dh.Outcome == dt.Outcome {
			return dh
		}
		return Decision{
			Outcome: Unknown,
			Reason:  fmt.Sprintf("could not be decided: the protocol is unknown (as HTTP: %s; as TCP: %s)", dh.Reason, dt.Reason),
			Rule:    -1,
		}
	}
	return c.decideProto(p, &req)
}

func (c *compiledSet) decideProto(p Point, req *Request) Decision {
	switch p {
	case Sidecar:
		return c.decideSidecar(req)
	case Ztunnel:
		return c.decideZtunnel(req)
	case Waypoint:
		// A waypoint does not enforce PeerAuthentication: it receives HBONE
		// from ztunnel (ref 3.5).
		return c.authorize(p, req)
	default:
		return Decision{Outcome: Unknown, Reason: fmt.Sprintf("unknown enforcement point %q", p), Rule: -1}
	}
}

// candidates returns the policies that may apply at p: those of the root
// namespace and the destination's namespace (and, at a waypoint, the
// waypoint's namespace), in a fixed order (istio: pilot/pkg/model/authorization.go
// ListAuthorizationPolicies).
func (c *compiledSet) candidates(p Point, req *Request) []*cpolicy {
	nss := []string{c.root, req.Namespace}
	if p == Waypoint {
		nss = append(nss, req.WaypointNamespace)
	}
	var out []*cpolicy
	for i, ns := range nss {
		n := c.byNS[ns]
		if n == nil || slices.Contains(nss[:i], ns) {
			continue
		}
		if p == Waypoint || req.LabelsIncomplete {
			// Waypoints match no selector; with incomplete labels any
			// selector may match.
			out = append(out, n.all...)
			continue
		}
		start := len(out)
		out = append(out, n.other...)
		for k, v := range req.WorkloadLabels {
			out = append(out, n.bySel[k+"="+v]...)
		}
		if len(out)-start > len(n.other) {
			// Keep the namespace's policies in name order.
			slices.SortFunc(out[start:], func(a, b *cpolicy) int { return strings.Compare(a.name, b.name) })
		}
	}
	return out
}

// applies says whether a policy takes effect at p for req (ref 1.3).
func (c *compiledSet) applies(p Point, pol *cpolicy, req *Request, v *view) tri {
	switch p {
	case Sidecar, Ztunnel:
		// Sidecars and ztunnel ignore every policy with targetRefs
		// (istio: policyattachment.go ShouldAttachPolicy; ambient/authorization.go
		// convertAuthorizationPolicy). A selector, also in the root
		// namespace, matches by labels; no selector matches every workload.
		if len(pol.targetRefs) > 0 {
			return triFalse
		}
		if p == Ztunnel {
			// ztunnel gets only ALLOW and DENY, and no dry-run policy unless
			// AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY is set (ref 1.10, 2.1).
			if (pol.action != actAllow && pol.action != actDeny) || pol.dryRun {
				return triFalse
			}
		}
		if !pol.hasSelector {
			return triTrue
		}
		return labelsMatch(pol.selector, req.WorkloadLabels, req.LabelsIncomplete, v)
	case Waypoint:
		return c.attachedToWaypoint(pol, req, v)
	}
	return triFalse
}

func labelsMatch(sel, labels map[string]string, incomplete bool, v *view) tri {
	res := triTrue
	for k, want := range sel {
		got, ok := labels[k]
		switch {
		case !ok && incomplete:
			res = and(res, v.unknown("workload labels"))
		case !ok || got != want:
			return triFalse
		}
	}
	return res
}

// attachedToWaypoint follows ShouldAttachPolicy for a waypoint
// (istio: pilot/pkg/model/policyattachment.go): only targetRefs count; a
// Service in the policy's namespace that the request was addressed to, the
// waypoint's Gateway in the policy's namespace, or GatewayClass
// istio-waypoint from the root namespace.
func (c *compiledSet) attachedToWaypoint(pol *cpolicy, req *Request, v *view) tri {
	res := triFalse
	for _, ref := range pol.targetRefs {
		res = or(res, c.refAttaches(ref, pol, req, v))
	}
	return res
}

func (c *compiledSet) refAttaches(ref *typeapi.PolicyTargetReference, pol *cpolicy, req *Request, v *view) tri {
	group := ref.GetGroup()
	if group == "" {
		group = "core"
	}
	const gatewayGroup = "gateway.networking.k8s.io"
	switch {
	case group == "core" && ref.GetKind() == "Service":
		if pol.ns != req.Namespace {
			return triFalse
		}
		if req.Service == "" {
			return v.unknown("Service")
		}
		return triOf(ref.GetName() == req.Service)
	case group == gatewayGroup && ref.GetKind() == "GatewayClass":
		return triOf(pol.ns == c.root && ref.GetName() == "istio-waypoint")
	case group == gatewayGroup && ref.GetKind() == "Gateway":
		if pol.ns != req.WaypointNamespace || (ref.GetNamespace() != "" && ref.GetNamespace() != req.WaypointNamespace) {
			return triFalse
		}
		if req.WaypointName == "" {
			return v.unknown("waypoint name")
		}
		return triOf(ref.GetName() == req.WaypointName)
	}
	// ServiceEntry targets are services of another registry; a Kubernetes
	// Service never matches them.
	return triFalse
}

// ruleHit is the result of matching one policy.
type ruleHit struct {
	pol  *cpolicy
	t    tri
	rule int      // deciding rule: the first matching one, else the first undecided one; -1 none
	unk  []string // unknown attributes behind an undecided result
	// absent says why rules of the policy do not exist at this point.
	absent []string
}

// matchPolicy evaluates a policy's rules (OR) at p.
func matchPolicy(p Point, pol *cpolicy, req *Request, v *view) ruleHit {
	h := ruleHit{pol: pol, t: triFalse, rule: -1}
	tcp := req.Protocol == "tcp"
	for _, r := range pol.rules {
		v.unk = v.unk[:0]
		var t tri
		var ok bool
		if p == Ztunnel {
			t, ok = r.zt.match(v)
		} else {
			t, ok = r.envoy.match(v, pol.action, tcp)
		}
		if !ok {
			h.absent = append(h.absent, absentReason(p, pol, r, tcp))
			continue
		}
		switch t {
		case triTrue:
			return ruleHit{pol: pol, t: triTrue, rule: r.index}
		case triUnknown:
			if h.t != triUnknown {
				h.t, h.rule, h.unk = triUnknown, r.index, slices.Clone(v.unk)
			}
		}
	}
	return h
}

// absentReason says why a rule does not exist at p.
func absentReason(p Point, pol *cpolicy, r *crule, tcp bool) string {
	switch {
	case p == Ztunnel:
		return fmt.Sprintf("%s rule %d is not sent to ztunnel: it has HTTP attributes (%s)", pol.key, r.index, strings.Join(r.zt.l7, ", "))
	case r.envoy.invalid != "":
		return fmt.Sprintf("%s rule %d is skipped by istiod: %s", pol.key, r.index, r.envoy.invalid)
	case tcp && r.envoy.dropAllowHTTP == "":
		return fmt.Sprintf("%s rule %d does not apply to TCP traffic: it has %s", pol.key, r.index, r.envoy.dropAllowTCP)
	}
	return fmt.Sprintf("%s rule %d is skipped by istiod: it has %s", pol.key, r.index, r.envoy.dropAllowHTTP)
}

// authorize applies AuthorizationPolicies (ref 1.4): a request is allowed
// when no CUSTOM policy applies (else the external authorizer decides), no
// DENY policy matches, and either no ALLOW policy applies or one matches.
// Each term is three-valued, so the outcome is unknown only when it depends
// on an unknown attribute.
func (c *compiledSet) authorize(p Point, req *Request) Decision {
	v := newView(req)
	custom, deny, allowMatch := ruleHit{t: triFalse}, ruleHit{t: triFalse}, ruleHit{t: triFalse}
	allowExists := triFalse
	var allowApplies ruleHit // the first ALLOW policy whose applicability is unknown
	var allowPolicies, absent []string
	for _, pol := range c.candidates(p, req) {
		v.unk = v.unk[:0]
		a := c.applies(p, pol, req, v)
		if a == triFalse {
			continue
		}
		aUnk := slices.Clone(v.unk)
		if pol.dryRun && pol.action != actCustom {
			// Dry-run policies are shadow rules, never enforced (ref 1.10).
			// A dry-run CUSTOM policy still triggers ext_authz
			// (istio: builder.go buildHTTP, "dry-run CUSTOM policies still call ext_authz").
			continue
		}
		switch pol.action {
		case actAudit:
			continue // never changes the decision (ref 1.4)
		case actCustom:
			if p == Ztunnel {
				continue
			}
			h := andHit(a, aUnk, matchPolicy(p, pol, req, v))
			custom = orHit(custom, h)
		case actDeny:
			h := andHit(a, aUnk, matchPolicy(p, pol, req, v))
			deny = orHit(deny, h)
		case actAllow:
			allowExists = or(allowExists, a)
			if a == triUnknown && allowApplies.pol == nil {
				allowApplies = ruleHit{pol: pol, t: triUnknown, rule: -1, unk: aUnk}
			}
			allowPolicies = append(allowPolicies, pol.key)
			h := andHit(a, aUnk, matchPolicy(p, pol, req, v))
			absent = append(absent, h.absent...)
			allowMatch = orHit(allowMatch, h)
		}
	}

	customOK := triTrue
	if custom.t != triFalse {
		customOK = triUnknown
	}
	allowStage := or(allowExists.not(), allowMatch.t)
	final := and(and(customOK, deny.t.not()), allowStage)

	switch final {
	case triFalse:
		if deny.t == triTrue {
			return Decision{Outcome: Deny, Reason: fmt.Sprintf("denied by DENY policy %s rule %d", deny.pol.key, deny.rule),
				Policy: deny.pol.key, Rule: deny.rule}
		}
		slices.Sort(allowPolicies)
		reason := fmt.Sprintf("no ALLOW rule matched (ALLOW policies: %s)", strings.Join(allowPolicies, ", "))
		if len(absent) > 0 {
			reason += "; " + strings.Join(absent, "; ")
		}
		return Decision{Outcome: Deny, Reason: reason, Rule: -1, Policies: allowPolicies}
	case triTrue:
		if allowMatch.t == triTrue {
			return Decision{Outcome: Allow, Reason: fmt.Sprintf("allowed by ALLOW policy %s rule %d", allowMatch.pol.key, allowMatch.rule),
				Policy: allowMatch.pol.key, Rule: allowMatch.rule}
		}
		return Decision{Outcome: Allow, Reason: "no ALLOW policy applies", Rule: -1}
	}
	// Unknown: explain the first undecided term.
	switch {
	case custom.t == triTrue:
		return Decision{Outcome: Unknown, Reason: fmt.Sprintf("CUSTOM policy %s applies: undecidable", custom.pol.key),
			Policy: custom.pol.key, Rule: custom.rule}
	case custom.t == triUnknown:
		return Decision{Outcome: Unknown, Reason: fmt.Sprintf("CUSTOM policy %s may apply (depends on %s): undecidable", custom.pol.key, unkList(custom.unk)),
			Policy: custom.pol.key, Rule: custom.rule}
	case deny.t == triUnknown:
		return Decision{Outcome: Unknown, Reason: fmt.Sprintf("could not be decided: DENY policy %s rule %d depends on %s", deny.pol.key, deny.rule, unkList(deny.unk)),
			Policy: deny.pol.key, Rule: deny.rule}
	case allowMatch.t == triUnknown:
		return Decision{Outcome: Unknown, Reason: fmt.Sprintf("could not be decided: ALLOW policy %s rule %d depends on %s", allowMatch.pol.key, allowMatch.rule, unkList(allowMatch.unk)),
			Policy: allowMatch.pol.key, Rule: allowMatch.rule}
	default:
		return Decision{Outcome: Unknown, Reason: fmt.Sprintf("could not be decided: whether ALLOW policy %s applies depends on %s", allowApplies.pol.key, unkList(allowApplies.unk)),
			Policy: allowApplies.pol.key, Rule: -1}
	}
}

// andHit combines the applicability of a policy with its match.
func andHit(a tri, aUnk []string, h ruleHit) ruleHit {
	h.t = and(a, h.t)
	if h.t == triUnknown && a == triUnknown {
		h.unk = append(slices.Clone(aUnk), h.unk...)
	}
	return h
}

// orHit keeps the first matching hit, else the first undecided one.
func orHit(acc, h ruleHit) ruleHit {
	switch {
	case acc.t == triTrue:
		return acc
	case h.t == triTrue:
		return h
	case acc.t == triUnknown:
		return acc
	case h.t == triUnknown:
		return h
	}
	return acc
}

func unkList(attrs []string) string {
	if len(attrs) == 0 {
		return "an unknown attribute"
	}
	return "the unknown " + strings.Join(attrs, ", ")
}
