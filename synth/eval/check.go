package eval

import (
	"cmp"
	"fmt"
	"math"
	"strings"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// CheckOptions configures Check.
type CheckOptions struct {
	// TrustDomain is the mesh trust domain, used for the identity a waypoint
	// presents to ztunnel; "" means "cluster.local".
	TrustDomain string
	// Baseline is the policy set in force now, for the privilege summary;
	// nil means no policy at all (everything allowed).
	Baseline *PolicySet
	// MinRequests, when positive, leaves out the (caller, destination
	// workload) pairs with fewer allowed requests, as emit --min-requests
	// does; they are counted in the summary.
	MinRequests int64
	// MaxCombinations bounds the combinations the privilege summary counts;
	// 0 means DefaultMaxCombinations. MaxDecisions bounds its work: the
	// replays, one per class of callers and class of operations of each
	// workload and per policy set (see DecideClasses); 0 means
	// DefaultMaxDecisions. Above either the summary is skipped (and says so).
	MaxCombinations int
	MaxDecisions    int
}

// DefaultMaxCombinations is the default bound on the combinations of the
// privilege summary: none, since they are counted by classes, not replayed
// one by one.
const DefaultMaxCombinations = math.MaxInt

// DefaultMaxDecisions is the default bound on the replays of the privilege
// summary (and of diff's access changes): at a few microseconds each, about
// ten seconds.
const DefaultMaxDecisions = 2_000_000

// PrivilegeDefinition is the definition of the privilege summary, as the
// report prints it.
const PrivilegeDefinition = "callers are the distinct sources of the replayed edges (a principal, " +
	"or for plaintext callers the namespace, workload and IP known); operations are the distinct " +
	"(Service, reporter, port, protocol, method, path) seen on each destination workload; " +
	"a combination is one caller with one operation of one workload, observed or not, " +
	"and it is counted as allowed when replaying it along the edge's path is allowed"

// Report is the result of Check. Its JSON form is meshgen check's -o json
// output; field names are stable.
type Report struct {
	APIVersion string `json:"apiVersion"` // "meshgen.dev/v1alpha1"
	Kind       string `json:"kind"`       // "CheckReport"
	// Observations and Policies name the inputs (a file, a directory, or
	// "cluster:<context>"); Baseline names the baseline policy set, "" for
	// none. They are filled in by the caller.
	Observations  string `json:"observations,omitempty"`
	Policies      string `json:"policies,omitempty"`
	Baseline      string `json:"baseline,omitempty"`
	TrustDomain   string `json:"trustDomain"`
	RootNamespace string `json:"rootNamespace"`
	// Denied lists each replayed edge that the policy set denies, in
	// snapshot order; Undecided each edge whose outcome could not be decided.
	Denied    []Finding `json:"denied"`
	Undecided []Finding `json:"undecided"`
	Summary   Summary   `json:"summary"`
}

// Finding is one replayed edge that is not simply allowed.
type Finding struct {
	Source      FindingSource      `json:"source"`
	Destination FindingDestination `json:"destination"`
	Reporter    string             `json:"reporter"`
	Port        int                `json:"port"` // 0 = unknown
	Protocol    string             `json:"protocol,omitempty"`
	Method      string             `json:"method,omitempty"`
	Path        string             `json:"path,omitempty"`
	PathPrefix  bool               `json:"pathPrefix,omitempty"`
	// Requests is the number of observed requests (or connections) that were
	// allowed when observed.
	Requests int64   `json:"requests"`
	Outcome  Outcome `json:"outcome"`
	// Point is the enforcement point that decided; Policy and Rule the
	// deciding policy ("" when none, e.g. "no ALLOW rule matched") and rule
	// (-1 when none); Reason says it in words.
	Point  Point        `json:"point,omitempty"`
	Policy string       `json:"policy,omitempty"`
	Rule   int          `json:"rule"`
	Reason string       `json:"reason"`
	Note   string       `json:"note,omitempty"`
	Hops   []FindingHop `json:"hops"`
}

// FindingSource is the caller of a finding.
type FindingSource struct {
	Principal string `json:"principal,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Workload  string `json:"workload,omitempty"`
	IP        string `json:"ip,omitempty"`
}

// FindingDestination is the callee of a finding.
type FindingDestination struct {
	Namespace string `json:"namespace"`
	Workload  string `json:"workload"`
	Service   string `json:"service,omitempty"`
}

// FindingHop is one enforcement point on a finding's path.
type FindingHop struct {
	Point     Point   `json:"point"`
	Principal string  `json:"principal,omitempty"` // as that point sees it; "" = plaintext
	Port      int     `json:"port"`
	Outcome   Outcome `json:"outcome"`
	Policy    string  `json:"policy,omitempty"`
	Rule      int     `json:"rule"`
	Reason    string  `json:"reason"`
}

// Summary counts what Check replayed.
type Summary struct {
	Edges     EdgeSummary      `json:"edges"`
	Requests  RequestSummary   `json:"requests"`
	Privilege PrivilegeSummary `json:"privilege"`
}

// EdgeSummary counts edges.
type EdgeSummary struct {
	// Observed is the number of edges in the snapshot; Replayed those with
	// allowed requests that were replayed; SkippedSourceReported the
	// client-reported edges skipped because server-side evidence exists for
	// the same caller and workload; SkippedNoAllowed those whose every
	// request was denied when observed; SkippedUnauthorized those whose every
	// allowed request was answered 401 or 403; SkippedBelowMinRequests those
	// of pairs below CheckOptions.MinRequests.
	Observed                int `json:"observed"`
	Replayed                int `json:"replayed"`
	SkippedSourceReported   int `json:"skippedSourceReported"`
	SkippedNoAllowed        int `json:"skippedNoAllowed"`
	SkippedUnauthorized     int `json:"skippedUnauthorized"`
	SkippedBelowMinRequests int `json:"skippedBelowMinRequests"`
	Allowed                 int `json:"allowed"`
	Denied                  int `json:"denied"`
	Undecided               int `json:"undecided"`
}

// RequestSummary counts the observed, allowed requests of the replayed edges
// by their outcome under the policy set.
type RequestSummary struct {
	Observed  int64 `json:"observed"`
	Allowed   int64 `json:"allowed"`
	Denied    int64 `json:"denied"`
	Undecided int64 `json:"undecided"`
}

// PrivilegeSummary compares how many (caller, workload, operation)
// combinations are allowed with the baseline and with the policy set; see
// PrivilegeDefinition.
type PrivilegeSummary struct {
	Definition   string `json:"definition"`
	Callers      int    `json:"callers"`
	Operations   int    `json:"operations"`
	Combinations int    `json:"combinations"`
	// Observed is the number of combinations that appear in the snapshot.
	Observed int          `json:"observed"`
	Baseline OutcomeCount `json:"baseline"`
	Policy   OutcomeCount `json:"policy"`
	// Skipped says why the combinations were not evaluated ("" when they were).
	Skipped string `json:"skipped,omitempty"`
}

// OutcomeCount counts combinations by outcome.
type OutcomeCount struct {
	Allowed   int `json:"allowed"`
	Denied    int `json:"denied"`
	Undecided int `json:"undecided"`
}

func (c *OutcomeCount) add(o Outcome) { c.addN(o, 1) }

func (c *OutcomeCount) addN(o Outcome, n int) {
	switch o {
	case Allow:
		c.Allowed += n
	case Deny:
		c.Denied += n
	default:
		c.Undecided += n
	}
}

// SourceKey identifies a caller of the privilege summary and of diff's
// access changes: its principal, or for plaintext callers the best identity
// known.
func SourceKey(s snapshot.Source) string {
	if s.Principal != "" {
		return s.Principal
	}
	return "plaintext:" + s.Namespace + "/" + s.Workload + "/" + s.IP
}

// OperationKey identifies an operation on a destination: the edge key
// without the source.
func OperationKey(e *snapshot.Edge) snapshot.Key {
	k := e.Key()
	k.SrcPrincipal, k.SrcNamespace, k.SrcWorkload, k.SrcIP = "", "", "", ""
	return k
}

// SelectEdges returns the edges Check replays, in snapshot order, and the
// counts of those it leaves out. It replays the edges with allowed requests
// (Counts.Allowed() > 0), except
//   - edges whose allowed requests were all answered 401 or 403: nothing
//     succeeded, a denial changes no outcome the caller saw, and emit does not
//     allow them either (SkippedUnauthorized);
//   - client-reported (Reporter "source") edges for a caller and destination
//     workload that server-side evidence also covers (ref 4.3: the server's
//     view is the one that carries the mTLS identity) (SkippedSourceReported);
//   - with minRequests > 0, the edges of a (caller, destination workload)
//     pair with fewer allowed requests than that in total, as emit
//     --min-requests leaves them out (SkippedBelowMinRequests).
func SelectEdges(edges []snapshot.Edge, minRequests int64) ([]*snapshot.Edge, EdgeSummary) {
	type pair struct{ src, ns, wl string }
	pairOf := func(e *snapshot.Edge) pair {
		return pair{SourceKey(e.Source), e.Destination.Namespace, e.Destination.Workload}
	}
	sum := EdgeSummary{Observed: len(edges)}
	server := map[pair]bool{}
	for i := range edges {
		e := &edges[i]
		if e.Reporter != snapshot.ReporterSource && e.Counts.Allowed() > 0 {
			server[pairOf(e)] = true
		}
	}
	var kept []*snapshot.Edge
	total := map[pair]int64{}
	for i := range edges {
		e := &edges[i]
		switch {
		case e.Counts.Allowed() <= 0:
			sum.SkippedNoAllowed++
		case e.Counts.Unauthorized >= e.Counts.Allowed():
			sum.SkippedUnauthorized++
		case e.Reporter == snapshot.ReporterSource && server[pairOf(e)]:
			sum.SkippedSourceReported++
		default:
			kept = append(kept, e)
			total[pairOf(e)] += e.Counts.Allowed()
		}
	}
	var selected []*snapshot.Edge
	for _, e := range kept {
		if minRequests > 0 && total[pairOf(e)] < minRequests {
			sum.SkippedBelowMinRequests++
			continue
		}
		selected = append(selected, e)
	}
	sum.Replayed = len(selected)
	return selected, sum
}

// Check replays every observed, allowed edge of snap against ps and reports
// the edges that would be denied or cannot be decided, with a privilege
// summary. It is deterministic.
func Check(snap *snapshot.Snapshot, ps *PolicySet, opts CheckOptions) *Report {
	td := cmp.Or(opts.TrustDomain, DefaultTrustDomain)
	idx := snapshot.NewIndex(&snap.Inventory)
	rep := &Report{
		APIVersion:    snapshot.APIVersion,
		Kind:          "CheckReport",
		TrustDomain:   td,
		RootNamespace: ps.rootNamespace(),
		Denied:        []Finding{},
		Undecided:     []Finding{},
	}
	edges, esum := SelectEdges(snap.Edges, opts.MinRequests)
	rep.Summary.Edges = esum
	c := ps.compiled()
	for _, e := range edges {
		v := c.replay(idx, td, e)
		n := e.Counts.Allowed()
		rep.Summary.Requests.Observed += n
		switch v.Outcome {
		case Allow:
			rep.Summary.Edges.Allowed++
			rep.Summary.Requests.Allowed += n
		case Deny:
			rep.Summary.Edges.Denied++
			rep.Summary.Requests.Denied += n
			rep.Denied = append(rep.Denied, finding(e, v))
		default:
			rep.Summary.Edges.Undecided++
			rep.Summary.Requests.Undecided += n
			rep.Undecided = append(rep.Undecided, finding(e, v))
		}
	}
	rep.Summary.Privilege = privilege(edges, c, idx, td, opts)
	return rep
}

func finding(e *snapshot.Edge, v Verdict) Finding {
	f := Finding{
		Source:      FindingSource{Principal: e.Source.Principal, Namespace: e.Source.Namespace, Workload: e.Source.Workload, IP: e.Source.IP},
		Destination: FindingDestination{Namespace: e.Destination.Namespace, Workload: e.Destination.Workload, Service: e.Destination.Service},
		Reporter:    e.Reporter,
		Port:        e.Port,
		Protocol:    e.Protocol,
		Method:      e.Method,
		Path:        e.Path,
		PathPrefix:  e.PathPrefix,
		Requests:    e.Counts.Allowed(),
		Outcome:     v.Outcome,
		Rule:        -1,
		Note:        v.Note,
		Hops:        []FindingHop{},
	}
	if h, ok := v.Decider(); ok {
		f.Point, f.Policy, f.Rule, f.Reason = h.Point, h.Decision.Policy, h.Decision.Rule, h.Decision.Reason
	}
	for _, h := range v.Hops {
		f.Hops = append(f.Hops, FindingHop{
			Point:     h.Point,
			Principal: h.Request.Principal,
			Port:      h.Request.Port,
			Outcome:   h.Decision.Outcome,
			Policy:    h.Decision.Policy,
			Rule:      h.Decision.Rule,
			Reason:    h.Decision.Reason,
		})
	}
	return f
}

// privilege counts the outcomes of every (caller, operation) combination
// seen in the replayed edges, with the baseline and the policy set. It
// decides them by classes (DecideClasses), which gives the counts of
// replaying each combination (the tests compare it with that).
func privilege(edges []*snapshot.Edge, c *compiledSet, idx *snapshot.Index, td string, opts CheckOptions) PrivilegeSummary {
	sum := PrivilegeSummary{Definition: PrivilegeDefinition}
	sp := NewSpace(edges)
	callers, ops := sp.Callers, sp.Ops
	sum.Callers, sum.Operations = len(callers), len(ops)
	sum.Combinations = len(callers) * len(ops)
	sum.Observed = sp.Observed()
	limit := cmp.Or(opts.MaxCombinations, DefaultMaxCombinations)
	if sum.Combinations > limit {
		sum.Skipped = fmt.Sprintf("%d combinations exceed the limit of %d", sum.Combinations, limit)
		return sum
	}
	sets := []*compiledSet{c}
	if opts.Baseline != nil {
		sets = append(sets, opts.Baseline.compiled())
	}
	var pol, base OutcomeCount
	maxDecisions := cmp.Or(opts.MaxDecisions, DefaultMaxDecisions)
	n, ok := decideClasses(sets, idx, td, callers, ops, maxDecisions, func(b *Block) {
		for i := range b.CallerClasses() {
			size := b.ClassSize(i)
			for j, oc := range b.OpClasses {
				pol.addN(b.Verdict(0, i, j).Outcome, size*len(oc))
				if len(sets) > 1 {
					base.addN(b.Verdict(1, i, j).Outcome, size*len(oc))
				}
			}
		}
	})
	if !ok {
		sum.Skipped = fmt.Sprintf("%d decisions (one per class of callers, class of operations and policy set) exceed the limit of %d", n, maxDecisions)
		return sum
	}
	sum.Policy = pol
	sum.Baseline = base
	if opts.Baseline == nil {
		sum.Baseline = OutcomeCount{Allowed: sum.Combinations}
	}
	return sum
}

// Describe renders a finding's edge on one line: "source -> destination
// port method path".
func (f Finding) Describe() string {
	var b strings.Builder
	b.WriteString(f.Source.String())
	b.WriteString(" -> ")
	b.WriteString(f.Destination.Namespace + "/" + f.Destination.Workload)
	b.WriteString(":" + portString(f.Port))
	if f.Protocol != "" && f.Protocol != snapshot.ProtocolHTTP {
		b.WriteString(" " + f.Protocol)
	}
	if f.Method != "" {
		b.WriteString(" " + f.Method)
	}
	if f.Path != "" {
		b.WriteString(" " + f.Path)
		if f.PathPrefix {
			b.WriteString("*")
		}
	}
	return b.String()
}

// PolicyRef renders the deciding policy and rule ("shop/deny rule 0"), ""
// when no single policy decided.
func (f Finding) PolicyRef() string {
	switch {
	case f.Policy == "":
		return ""
	case f.Rule < 0:
		return f.Policy
	}
	return fmt.Sprintf("%s rule %d", f.Policy, f.Rule)
}

// String renders a caller: its principal, or "plaintext ns/workload (ip)".
func (s FindingSource) String() string {
	if s.Principal != "" {
		return s.Principal
	}
	var parts []string
	if s.Namespace != "" || s.Workload != "" {
		parts = append(parts, cmp.Or(s.Namespace, "?")+"/"+cmp.Or(s.Workload, "?"))
	}
	if s.IP != "" {
		parts = append(parts, s.IP)
	}
	if len(parts) == 0 {
		return "plaintext (unknown caller)"
	}
	return "plaintext " + strings.Join(parts, " ")
}
