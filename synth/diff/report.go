package diff

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/meshgen/meshgen/observe/snapshot"
	"github.com/meshgen/meshgen/synth/eval"
)

// Report is the result of Compute. Its JSON form is meshgen diff's -o json
// output; the field names are stable (docs/ci.md lists them).
type Report struct {
	APIVersion string `json:"apiVersion"` // "meshgen.dev/v1alpha1"
	Kind       string `json:"kind"`       // "DiffReport"
	// Proposed and Deployed name the two sides: a directory, or
	// "cluster:<context>". Observations names the snapshot, "" when none.
	Proposed      string `json:"proposed"`
	Deployed      string `json:"deployed"`
	Observations  string `json:"observations,omitempty"`
	TrustDomain   string `json:"trustDomain"`
	RootNamespace string `json:"rootNamespace"`
	// ObservedFrom and ObservedTo span the snapshot's edges that were
	// replayed (nil without observations).
	ObservedFrom *time.Time `json:"observedFrom,omitempty"`
	ObservedTo   *time.Time `json:"observedTo,omitempty"`
	Summary      Summary    `json:"summary"`
	// Namespaces are the namespaces compared, sorted by name.
	Namespaces []Namespace `json:"namespaces"`
}

// Summary totals the report.
type Summary struct {
	Namespaces int `json:"namespaces"`
	// Objects by change; Unchanged counts objects present on both sides
	// with the same normalised form.
	Added     int `json:"added"`
	Removed   int `json:"removed"`
	Changed   int `json:"changed"`
	Unchanged int `json:"unchanged"`
	// Access changes, counted in (caller, workload, operation)
	// combinations; see AccessDefinition.
	Gained    int `json:"gained"`
	Lost      int `json:"lost"`
	Uncertain int `json:"uncertain"`
	// LostObserved is the number of lost combinations that were observed,
	// and BreakingRequests their observed requests: the traffic the
	// proposed policies would deny.
	LostObserved     int   `json:"lostObserved"`
	BreakingRequests int64 `json:"breakingRequests"`
	// Unmanaged is the number of deployed policies meshgen does not manage
	// that apply to the same workloads.
	Unmanaged int `json:"unmanaged"`
	// AccessSkipped says why access changes were not computed ("" when they
	// were).
	AccessSkipped string `json:"accessSkipped,omitempty"`
}

// Differences reports whether any object differs (the exit code 1 of
// meshgen diff).
func (s Summary) Differences() bool { return s.Added+s.Removed+s.Changed > 0 }

// Namespace is the comparison of one namespace.
type Namespace struct {
	Name string `json:"name"`
	// Objects are the objects added, removed or changed, by kind and name.
	Objects   []ObjectDiff `json:"objects"`
	Unchanged int          `json:"unchanged"`
	// Access is nil when access changes were not computed.
	Access *Access `json:"access,omitempty"`
	// Unmanaged are deployed policies meshgen does not manage that apply to
	// the workloads meshgen's policies in this namespace apply to.
	Unmanaged []Unmanaged `json:"unmanaged"`
}

// Change kinds of an object.
const (
	Added   = "added"
	Removed = "removed"
	Changed = "changed"
)

// ObjectDiff is one object that differs.
type ObjectDiff struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Change    string `json:"change"` // added, removed, changed
	// ProposedSource and DeployedSource say where each side came from
	// ("file:line", or "cluster"); "" for the side that lacks the object.
	ProposedSource string `json:"proposedSource,omitempty"`
	DeployedSource string `json:"deployedSource,omitempty"`
	// DeployedUnmanaged is true when the deployed object does not carry
	// meshgen's label: applying the proposed one takes it over.
	DeployedUnmanaged bool `json:"deployedUnmanaged,omitempty"`
	// Diff is the unified diff of the normalised YAML, deployed to
	// proposed.
	Diff string `json:"diff"`
}

// Ref renders "Kind namespace/name".
func (o ObjectDiff) Ref() string { return o.Kind + " " + o.Namespace + "/" + o.Name }

// AccessDefinition defines the access changes, as the reports print it.
const AccessDefinition = "callers are the distinct sources of the observed, allowed traffic in the snapshot, " +
	"plus the principals named exactly in either policy set; operations are the distinct " +
	"(Service, reporter, port, protocol, method, path) observed on each workload of the namespace; " +
	"every caller is replayed with every operation against the deployed and the proposed policies " +
	"(with the deployed policies meshgen does not manage), at each enforcement point on the path"

// Access are the access changes of one namespace.
type Access struct {
	Callers      int `json:"callers"`
	Operations   int `json:"operations"`
	Combinations int `json:"combinations"`
	// Gained: denied (or undecided) before, allowed after. Lost: allowed
	// before, denied after. Uncertain: any other change, where one side
	// cannot be decided. Each is grouped by caller and workload; Lost comes
	// with the observed traffic first.
	Gained    []AccessChange `json:"gained"`
	Lost      []AccessChange `json:"lost"`
	Uncertain []AccessChange `json:"uncertain"`
	// Graph is who may call whom under the proposed policies, with the
	// pairs that gain or lose all access.
	Graph []GraphEdge `json:"graph"`
}

// AccessChange is what one caller gains or loses on one workload.
type AccessChange struct {
	Caller   eval.FindingSource `json:"caller"`
	Workload string             `json:"workload"` // namespace/name
	// Requests observed (allowed when observed) over Operations; FirstSeen
	// and LastSeen span them (nil when none was observed).
	Requests   int64       `json:"requests"`
	FirstSeen  *time.Time  `json:"firstSeen,omitempty"`
	LastSeen   *time.Time  `json:"lastSeen,omitempty"`
	Operations []Operation `json:"operations"`
}

// Observed reports whether any of the change's traffic was observed.
func (c AccessChange) Observed() bool { return c.Requests > 0 }

// CallerString renders the caller.
func (c AccessChange) CallerString() string { return c.Caller.String() }

// Operation is one operation of a workload whose outcome changes.
type Operation struct {
	Service    string       `json:"service,omitempty"`
	Reporter   string       `json:"reporter"`
	Port       int          `json:"port"` // 0 = any of the workload's ports
	Protocol   string       `json:"protocol,omitempty"`
	Method     string       `json:"method,omitempty"`
	Path       string       `json:"path,omitempty"`
	PathPrefix bool         `json:"pathPrefix,omitempty"`
	Before     eval.Outcome `json:"before"`
	After      eval.Outcome `json:"after"`
	// BeforeReason and AfterReason are the deciding hop's reason on each
	// side.
	BeforeReason string     `json:"beforeReason"`
	AfterReason  string     `json:"afterReason"`
	Requests     int64      `json:"requests"`
	FirstSeen    *time.Time `json:"firstSeen,omitempty"`
	LastSeen     *time.Time `json:"lastSeen,omitempty"`
}

// String renders an operation: "GET /api/* :8080 (via cart)".
func (o Operation) String() string {
	var parts []string
	if o.Protocol != "" && o.Protocol != snapshot.ProtocolHTTP {
		parts = append(parts, o.Protocol)
	}
	if o.Method != "" {
		parts = append(parts, o.Method)
	}
	if o.Path != "" {
		p := o.Path
		if o.PathPrefix {
			p += "*"
		}
		parts = append(parts, p)
	}
	port := "any port"
	if o.Port != 0 {
		port = "port " + strconv.Itoa(o.Port)
	}
	parts = append(parts, port)
	s := strings.Join(parts, " ")
	if o.Reporter == snapshot.ReporterWaypoint {
		s += " via waypoint"
	}
	return s
}

// Graph edge states.
const (
	EdgeKept   = "kept"   // allowed before and after
	EdgeGained = "gained" // allowed after, not before
	EdgeLost   = "lost"   // allowed before, not after
)

// GraphEdge is one caller-workload pair of the graph.
type GraphEdge struct {
	From     string `json:"from"` // the caller
	To       string `json:"to"`   // namespace/workload
	State    string `json:"state"`
	Requests int64  `json:"requests"` // observed
}

// Unmanaged is a deployed policy meshgen does not manage that applies to
// the same workloads as meshgen's policies.
type Unmanaged struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Action of an AuthorizationPolicy (ALLOW, DENY, CUSTOM, AUDIT); mTLS
	// mode of a PeerAuthentication.
	Action string `json:"action"`
	// Scope says what it applies to: "mesh-wide (root namespace)",
	// "namespace-wide", "workloads cart, web", "may select ... (no
	// inventory)", "waypoint of Service cart".
	Scope string `json:"scope"`
	// Workloads are the workloads of meshgen's policies it applies to,
	// when the inventory tells.
	Workloads []string `json:"workloads,omitempty"`
	DryRun    bool     `json:"dryRun,omitempty"`
	// Why says how Istio combines it with meshgen's policies.
	Why    string `json:"why"`
	Source string `json:"source"`
}

// Ref renders "Kind namespace/name".
func (u Unmanaged) Ref() string { return u.Kind + " " + u.Namespace + "/" + u.Name }

// Describe renders an outcome change: "allow -> deny".
func (o Operation) Describe() string { return fmt.Sprintf("%s -> %s", o.Before, o.After) }

// Counts totals one namespace.
type Counts struct {
	Added, Removed, Changed int
	// Gained, Lost and Uncertain count combinations; LostObserved the lost
	// combinations that were observed, BreakingRequests their requests.
	Gained, Lost, Uncertain, LostObserved int
	BreakingRequests                      int64
}

// Counts totals the namespace's changes.
func (n Namespace) Counts() Counts {
	var c Counts
	for _, o := range n.Objects {
		switch o.Change {
		case Added:
			c.Added++
		case Removed:
			c.Removed++
		case Changed:
			c.Changed++
		}
	}
	if n.Access == nil {
		return c
	}
	for _, g := range n.Access.Gained {
		c.Gained += len(g.Operations)
	}
	for _, g := range n.Access.Uncertain {
		c.Uncertain += len(g.Operations)
	}
	for _, g := range n.Access.Lost {
		c.Lost += len(g.Operations)
		for _, o := range g.Operations {
			if o.Requests > 0 {
				c.LostObserved++
				c.BreakingRequests += o.Requests
			}
		}
	}
	return c
}

// Quiet reports whether nothing in the namespace differs or needs a look.
func (n Namespace) Quiet() bool {
	c := n.Counts()
	return c.Added+c.Removed+c.Changed+c.Gained+c.Lost+c.Uncertain == 0 && len(n.Unmanaged) == 0
}

// AccessChanges is the number of combinations whose outcome changes.
func (s Summary) AccessChanges() int { return s.Gained + s.Lost + s.Uncertain }
