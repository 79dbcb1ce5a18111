package eval

import (
	"fmt"
	"strings"

	securityv1 "istio.io/client-go/pkg/apis/security/v1"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// The rules this package follows are those of
// /work/shared/reference/istio-semantics.md (cited below as "ref 1.9" and so
// on), checked against Istio's code where the reference marks a point
// INFERRED or UNCONFIRMED. Istio sources were read at istio/istio master
// (module version v0.0.0-20260827124520-eed52ebb66ad, just after 1.31.0-rc.0)
// and istio/ztunnel master; each settled point cites its source file.

// Point is an enforcement point.
type Point string

// Enforcement points.
const (
	Sidecar  Point = "sidecar"
	Ztunnel  Point = "ztunnel"
	Waypoint Point = "waypoint"
)

// DefaultRootNamespace is MeshConfig's default rootNamespace.
const DefaultRootNamespace = "istio-system"

// DefaultTrustDomain is MeshConfig's default trustDomain.
const DefaultTrustDomain = "cluster.local"

// PolicySet is a set of Istio security policies as deployed together.
// v1beta1 objects are converted to v1 (same schema) by the loaders.
//
// Decide compiles the set on first use and caches the result for as long as
// the set is alive. The cache notices when the slices or the two string
// fields are replaced or appended to; after changing a policy object in
// place, call Invalidate.
type PolicySet struct {
	AuthorizationPolicies []*securityv1.AuthorizationPolicy
	PeerAuthentications   []*securityv1.PeerAuthentication
	RootNamespace         string // "" means "istio-system"
	// TrustDomain is MeshConfig trustDomain; "" means "cluster.local".
	// Envoy-based points (sidecars, waypoints) rewrite policy principals whose
	// trust domain is "cluster.local" into this trust domain; ztunnel does not
	// (ref 1.6; istio: pilot/pkg/security/trustdomain/bundle.go
	// ReplaceTrustDomainAliases).
	TrustDomain string
	// TrustDomainAliases are MeshConfig trustDomainAliases. Envoy-based
	// points expand a policy principal of the trust domain, of an alias or of
	// "cluster.local" into one principal per trust domain and alias;
	// ztunnel does not.
	TrustDomainAliases []string
}

func (ps *PolicySet) rootNamespace() string {
	if ps.RootNamespace == "" {
		return DefaultRootNamespace
	}
	return ps.RootNamespace
}

// trustDomainBundle is the trust domain followed by its aliases.
func (ps *PolicySet) trustDomainBundle() []string {
	return append([]string{ps.trustDomain()}, ps.TrustDomainAliases...)
}

func (ps *PolicySet) trustDomain() string {
	if ps.TrustDomain == "" {
		return DefaultTrustDomain
	}
	return ps.TrustDomain
}

// Request is one request (HTTP/gRPC) or connection (TCP) as one enforcement point sees it.
type Request struct {
	Principal       string            // peer principal, AuthorizationPolicy form (no spiffe://); "" = no peer certificate (plaintext)
	SourceNamespace string            // namespace from the peer certificate; "" when plaintext (derived from Principal if empty)
	SourceIP        string            // "" = unknown
	Namespace       string            // destination namespace
	WorkloadLabels  map[string]string // destination pod labels (selector matching)
	Service         string            // Service name in Namespace the request was addressed to ("" = unknown); used for targetRefs at waypoints
	Port            int               // destination port as the point sees it; 0 = unknown
	Protocol        string            // "http", "grpc" or "tcp"; "" = unknown (decided both ways)
	Method          string            // "" = unknown (or TCP); gRPC without a method is POST
	Path            string            // without query string; "" = unknown (or TCP)
	Host            string            // "" = unknown

	// PathIsPrefix says that Path is a folded prefix (ending in "/") standing
	// for many distinct paths below it (snapshot.Edge.PathPrefix): a path rule
	// then matches only when it matches every path below the prefix.
	PathIsPrefix bool
	// LabelsIncomplete says that WorkloadLabels may lack labels the workload
	// has (the inventory was inferred from metrics, or the workload is not in
	// it): a selector key absent from WorkloadLabels then matches Unknown
	// rather than not at all.
	LabelsIncomplete bool
	// WaypointName and WaypointNamespace name the waypoint (Gateway) at a
	// Waypoint point, for policies with targetRefs of kind Gateway.
	// WaypointNamespace "" means Namespace; WaypointName "" means unknown.
	WaypointName      string
	WaypointNamespace string
}

// Outcome of a decision. Unknown means the result depends on an attribute the request does not
// carry (port, method, path unknown) or on a CUSTOM authorizer.
type Outcome int

// Outcomes.
const (
	Allow Outcome = iota
	Deny
	Unknown
)

// String returns "allow", "deny" or "unknown".
func (o Outcome) String() string {
	switch o {
	case Allow:
		return "allow"
	case Deny:
		return "deny"
	default:
		return "unknown"
	}
}

// MarshalText writes the outcome as its String.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText reads "allow", "deny" or "unknown".
func (o *Outcome) UnmarshalText(b []byte) error {
	switch string(b) {
	case "allow":
		*o = Allow
	case "deny":
		*o = Deny
	case "unknown":
		*o = Unknown
	default:
		return fmt.Errorf("outcome %q is not allow, deny or unknown", b)
	}
	return nil
}

// Decision explains the outcome at one point.
type Decision struct {
	Outcome Outcome
	// Reason in words, e.g. "allowed by ALLOW policy shop/cart rule 1",
	// "denied by DENY policy shop/deny-admin rule 0", "no ALLOW rule matched (ALLOW policies: shop/cart)",
	// "plaintext rejected by STRICT PeerAuthentication shop/default", "no ALLOW policy applies",
	// "CUSTOM policy shop/ext-authz applies: undecidable".
	Reason string
	Policy string // "<ns>/<name>" of the deciding policy, "" when none
	Rule   int    // index of the deciding rule, -1 when none
	// Policies lists the ALLOW policies that applied when no ALLOW rule
	// matched (Policy is then ""), sorted.
	Policies []string
}

// Decide decides req at one enforcement point following Istio exactly
// (reference: /work/shared/reference/istio-semantics.md).
func (ps *PolicySet) Decide(p Point, req Request) Decision {
	return ps.compiled().decide(p, req)
}

// Hop is one enforcement point on a request's path.
type Hop struct {
	Point    Point
	Request  Request // the request as that point sees it (e.g. the waypoint's principal at ztunnel)
	Decision Decision
}

// Verdict is the result of replaying one observed edge along its whole path.
type Verdict struct {
	Outcome Outcome // Deny if any hop denies; else Unknown if any hop is Unknown; else Allow
	Hops    []Hop
	Note    string // e.g. "destination is not in the mesh: nothing enforces policy", "port unknown: tried 8080, 9090"
}

// Decider is the deciding hop of a verdict: the first denying hop, else the
// first undecided one, else the last hop. ok is false when there is no hop.
func (v Verdict) Decider() (h Hop, ok bool) {
	for _, want := range []Outcome{Deny, Unknown} {
		for _, h := range v.Hops {
			if h.Decision.Outcome == want {
				return h, true
			}
		}
	}
	if len(v.Hops) == 0 {
		return Hop{}, false
	}
	return v.Hops[len(v.Hops)-1], true
}

// normalize fills derived fields of a request.
func normalize(req Request) Request {
	req.Protocol = strings.ToLower(req.Protocol)
	if req.Principal != "" && req.SourceNamespace == "" {
		if _, ns, _, ok := splitPrincipal(req.Principal); ok {
			req.SourceNamespace = ns
		}
	}
	if req.Principal == "" {
		// Plaintext: the namespace comes from the certificate, so there is none.
		req.SourceNamespace = ""
	}
	if req.Protocol == snapshot.ProtocolGRPC && req.Method == "" {
		// ref 1.7: the method of gRPC is always POST.
		req.Method = "POST"
	}
	if req.WaypointNamespace == "" {
		req.WaypointNamespace = req.Namespace
	}
	return req
}

// splitPrincipal parses "<td>/ns/<ns>/sa/<sa>" without allocating, as
// ztunnel parses a SPIFFE identity (exactly these five parts, none empty).
func splitPrincipal(p string) (td, ns, sa string, ok bool) {
	td, rest, ok1 := strings.Cut(p, "/ns/")
	ns, sa, ok2 := strings.Cut(rest, "/sa/")
	if !ok1 || !ok2 || td == "" || ns == "" || sa == "" || strings.Contains(td, "/") || strings.Contains(ns, "/") || strings.Contains(sa, "/") {
		return "", "", "", false
	}
	return td, ns, sa, true
}
