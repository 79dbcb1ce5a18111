package synth

import (
	"time"

	securityv1 "istio.io/client-go/pkg/apis/security/v1"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// Result is the output of Synthesize: the policies by namespace, with the
// evidence behind every rule, and the report of what was left out and why.
type Result struct {
	// Namespaces are sorted by name; only namespaces with policies appear.
	Namespaces []*Namespace
	Report     Report
	// TrustDomain is the trust domain used (from the options or the data).
	TrustDomain string
	// Inferred is true when the inventory was inferred from metric labels.
	Inferred bool
	// Edges tells, for every distinct edge of the snapshot (merged by key),
	// whether it was used as evidence. Sorted by key.
	Edges []EdgeUse
	// Destinations are the destination workloads seen, with the data plane
	// policies were written for, sorted.
	Destinations []Destination
	// Options are the options in effect.
	Options Options
}

// Destination is one destination workload as synthesis saw it.
type Destination struct {
	Namespace, Workload string
	// Mode is the data plane policies were written for: sidecar, ambient or none.
	Mode string
	// Skipped says why the destination got no policies; "" when it got them
	// (or needed none).
	Skipped Reason
	// Withheld says why it got no ALLOW policy although it was not skipped.
	Withheld string
}

// EdgeUse records what synthesis did with one edge.
type EdgeUse struct {
	Key snapshot.Key
	// Included is true when the edge's traffic is meant to be admitted by the
	// output (as a principal rule, as plaintext, or because no policy applies).
	Included bool
	// Reason says why an edge was not included.
	Reason Reason
}

// Namespace holds the policies written for one namespace.
type Namespace struct {
	Name     string
	Policies []*Policy
	// Workloads are the destination workloads that got policies, sorted.
	Workloads []string
}

// Role says what a policy is for.
type Role string

// Roles of policies.
const (
	RoleAllow         Role = "allow"          // ALLOW policy for a sidecar workload
	RoleZtunnel       Role = "ztunnel"        // L4 ALLOW policy enforced by ztunnel
	RoleWaypoint      Role = "waypoint"       // L7 ALLOW policy attached to a Service's waypoint
	RoleDefaultDeny   Role = "default-deny"   // namespace allow-nothing
	RoleNamespaceMTLS Role = "namespace-mtls" // namespace PeerAuthentication
	RoleWorkloadMTLS  Role = "workload-mtls"  // workload PeerAuthentication exception
)

// Policy is one emitted object with its explanation. Exactly one of
// AuthorizationPolicy and PeerAuthentication is set.
type Policy struct {
	Role                Role
	AuthorizationPolicy *securityv1.AuthorizationPolicy
	PeerAuthentication  *securityv1.PeerAuthentication
	// Workload or Service the policy is for ("" for namespace policies).
	Workload string
	Service  string
	// Comments explain the policy as a whole, one line each.
	Comments []string
	// Rules explain AuthorizationPolicy.Spec.Rules, index for index.
	Rules []RuleEvidence
	// Ports explain PeerAuthentication.Spec.PortLevelMtls entries by port:
	// the plaintext callers and their evidence.
	Ports map[uint32]SourceEvidence

	// nameBase is the preferred metadata.name; nameID identifies the policy
	// when several want the same name.
	nameBase, nameID string
	// reservedName marks namespace policies (default, default-deny), which
	// keep their name when a workload policy wants the same.
	reservedName bool
}

// Kind returns the Kubernetes kind of the policy.
func (p *Policy) Kind() string {
	if p.PeerAuthentication != nil {
		return "PeerAuthentication"
	}
	return "AuthorizationPolicy"
}

// Name returns metadata.name.
func (p *Policy) Name() string {
	if p.PeerAuthentication != nil {
		return p.PeerAuthentication.Name
	}
	return p.AuthorizationPolicy.Name
}

// RuleEvidence explains one rule.
type RuleEvidence struct {
	// Sources are the callers the rule admits, with their evidence; empty for
	// a rule without `from`.
	Sources []SourceEvidence
	// Notes are remarks on the rule (widening, coverage, caps).
	Notes []string
}

// SourceEvidence is the evidence for one caller of a rule.
type SourceEvidence struct {
	// Principal is the caller ("" for a rule that admits any caller on ports).
	Principal string
	// Callers describe plaintext callers (for ports-only rules).
	Callers []string
	Evidence
	// Labels flag what the caller is: "metrics scrape", "ingress gateway",
	// "waypoint", "control plane", "cross-namespace", "default service
	// account", "shared service account".
	Labels []string
}

// Evidence sums up the edges behind a statement.
type Evidence struct {
	Requests  int64
	FirstSeen time.Time
	LastSeen  time.Time
	// Kinds are the evidence kinds (prometheus, envoy-log, ...), sorted.
	Kinds []string
	// IdentityFrom are the identity origins (certificate, pod-ip), sorted.
	IdentityFrom []string
}

// Reason says why something was left out.
type Reason string

// Reasons for leaving edges or destinations out.
const (
	ReasonNamespaceNotSelected Reason = "namespace not selected (--namespace)"
	ReasonNamespaceExcluded    Reason = "namespace excluded"
	ReasonRootNamespace        Reason = "destination in the root namespace (policies there apply to the whole mesh)"
	ReasonControlPlane         Reason = "control plane destination"
	ReasonWorkloadExcluded     Reason = "workload excluded"
	ReasonPrincipalExcluded    Reason = "caller excluded"
	ReasonGateway              Reason = "destination is an ingress gateway"
	ReasonWaypoint             Reason = "destination is a waypoint proxy"
	ReasonNotInMesh            Reason = "destination is not in the mesh (nothing enforces policy)"
	ReasonNoSelector           Reason = "destination workload has no known selector"
	ReasonBelowMinRequests     Reason = "below --min-requests"
	ReasonAllDenied            Reason = "all requests denied by a policy"
	ReasonAllUnauthorized      Reason = "all requests answered 401/403"
	ReasonNoRequests           Reason = "no requests"
	ReasonIstioPort            Reason = "Istio agent port (not subject to AuthorizationPolicy)"
	ReasonSuperseded           Reason = "client-side report superseded by server-side evidence"
	ReasonSourceNoPrincipal    Reason = "client-side report without a caller identity"
	ReasonUnidentified         Reason = "mTLS caller without a known principal"
	ReasonTrustDomain          Reason = "caller's principal cannot be matched at a sidecar or waypoint"
)

// Skipped is something left out of the output, aggregated by destination,
// caller and reason.
type Skipped struct {
	Namespace string
	Workload  string // "" when a whole namespace was left out
	Caller    string // principal or plaintext identity; "" for a whole destination
	Reason    Reason
	Detail    string
	Edges     int
	Requests  int64
}

// Severity of a finding.
type Severity string

// Severities.
const (
	SeverityWarning Severity = "warning"
	SeverityNote    Severity = "note"
)

// Finding codes, stable for tools that read reports.
const (
	CodeDefaultServiceAccount = "default-service-account"
	CodeSharedServiceAccount  = "shared-service-account"
	CodeCrossNamespace        = "cross-namespace-caller"
	CodeInferredSelector      = "inferred-selector"
	CodeSelectorOverlap       = "selector-overlap"
	CodeGatewayCaller         = "gateway-caller"
	CodeControlPlaneCaller    = "control-plane-caller"
	CodeScraper               = "metrics-scrape"
	CodePlaintext             = "plaintext"
	CodePlaintextOpenPorts    = "plaintext-open-ports"
	CodeNoAllowPolicy         = "no-allow-policy"
	CodeNeedsAccessLogs       = "needs-access-logs"
	CodeLogCoverage           = "log-coverage"
	CodeNeedsWaypoint         = "needs-waypoint"
	CodeWaypointPorts         = "waypoint-ports"
	CodeWaypointUnknown       = "waypoint-unknown"
	CodeWaypointBypass        = "waypoint-bypass"
	CodeMootL7                = "l7-moot"
	CodeOpenPorts             = "all-ports"
	CodePathTemplates         = "path-templates-unavailable"
	CodePaths                 = "paths"
	CodeSplit                 = "policy-split"
	CodeDryRunAmbient         = "dry-run-ambient"
	CodeDefaultDeny           = "default-deny"
	CodeTrustDomain           = "trust-domain"
	CodeMeshMode              = "mesh-mode"
	CodeNoPeerAuthentication  = "no-peer-authentication"
	CodeProbe                 = "health-probe"
	CodeAPIVersion            = "api-version"
	CodeGuessedIdentity       = "identity-from-pod-ip"
)

// Finding is a warning or note about the output.
type Finding struct {
	Severity  Severity
	Code      string
	Namespace string
	Workload  string
	Message   string
}

// Stats count what synthesis read and wrote.
type Stats struct {
	Edges         int // distinct edges in the snapshot
	EdgesIncluded int
	Destinations  int // destination workloads seen
	Workloads     int // destination workloads that got policies
	Namespaces    int // namespaces written
	Policies      int
	Rules         int
}

// Report is the structured account of a synthesis run: what was skipped and
// why, warnings, and notes.
type Report struct {
	Stats    Stats
	Skipped  []Skipped
	Findings []Finding
}

// Warnings returns the findings of severity warning.
func (r *Report) Warnings() []Finding { return r.filter(SeverityWarning) }

// Notes returns the findings of severity note.
func (r *Report) Notes() []Finding { return r.filter(SeverityNote) }

func (r *Report) filter(s Severity) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Severity == s {
			out = append(out, f)
		}
	}
	return out
}
