package synth

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// Synthesize turns a snapshot into policies. It is pure and deterministic:
// the same snapshot (in any edge order) and options give the same result.
func Synthesize(snap *snapshot.Snapshot, opts Options) (*Result, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("synthesizing policies: %w", err)
	}
	s := newSynthesizer(snap, opts)
	s.groupByDestination()
	for _, d := range s.dests {
		d.mode = s.meshMode(d)
		s.selectEvidence(d)
		s.classifyDestination(d)
	}
	s.buildNamespaces()
	if len(s.internal) > 0 {
		return nil, fmt.Errorf("synthesizing policies: %w", errors.Join(s.internal...))
	}
	return s.result(), nil
}

// synthesizer holds the state of one Synthesize call.
type synthesizer struct {
	opts   Options
	idx    *snapshot.Index
	infra  *infra
	td     string
	bundle []string // trust domain and aliases
	// edges are the snapshot's edges merged by key and in canonical order;
	// uses runs parallel to it.
	edges []snapshot.Edge
	uses  []EdgeUse
	dests []*dest
	// skipped aggregates Skipped entries by (namespace, workload, caller, reason).
	skipped  map[skipKey]*Skipped
	findings []Finding
	seen     map[string]bool // finding dedupe
	nsOut    []*Namespace
	// internal are violated safety invariants (bugs); Synthesize fails on them.
	internal []error
}

type skipKey struct {
	ns, workload, caller string
	reason               Reason
}

func newSynthesizer(snap *snapshot.Snapshot, opts Options) *synthesizer {
	edges := snapshot.CanonicalEdges(snap.Edges)
	idx := snapshot.NewIndex(&snap.Inventory)
	s := &synthesizer{
		opts:    opts,
		idx:     idx,
		infra:   newInfra(idx, &opts),
		edges:   edges,
		uses:    make([]EdgeUse, len(edges)),
		skipped: map[skipKey]*Skipped{},
		seen:    map[string]bool{},
	}
	for i := range edges {
		s.uses[i].Key = edges[i].Key()
	}
	s.td = s.chooseTrustDomain(snap)
	s.bundle = append([]string{s.td}, opts.TrustDomainAliases...)
	slices.Sort(s.bundle[1:])
	s.bundle = slices.Compact(s.bundle)
	if !opts.IstioVersion.AtLeast(1, 22) {
		s.note(CodeAPIVersion, "", "", fmt.Sprintf("Istio %s: PeerAuthentication is written as security.istio.io/v1beta1 (v1 is served from 1.22)", opts.IstioVersion))
	}
	if snap.Inventory.Origin == snapshot.InventoryInferred {
		s.note(CodeInferredSelector, "", "", "the inventory was inferred from metric labels: selectors come from those labels, not from the cluster; check them before enforcing")
	}
	return s
}

// chooseTrustDomain returns the trust domain from the options, else the one
// the destinations present (a server's own identity is in the mesh's trust
// domain), else cluster.local when observed or when nothing is, else the one
// most callers present.
func (s *synthesizer) chooseTrustDomain(snap *snapshot.Snapshot) string {
	if s.opts.TrustDomain != "" {
		return s.opts.TrustDomain
	}
	dst, src := map[string]int{}, map[string]int{}
	for i := range s.edges {
		if p, err := snapshot.ParsePrincipal(s.edges[i].Destination.Principal); err == nil {
			dst[p.TrustDomain]++
		}
		if p, err := snapshot.ParsePrincipal(s.edges[i].Source.Principal); err == nil {
			src[p.TrustDomain]++
		}
	}
	all := map[string]bool{}
	for _, td := range snap.Metadata.TrustDomains {
		all[td] = true
	}
	for td := range dst {
		all[td] = true
	}
	for td := range src {
		all[td] = true
	}
	td := mostCommon(dst)
	switch {
	case td != "":
	case all["cluster.local"] || len(all) == 0:
		td = "cluster.local"
	default:
		td = mostCommon(src)
	}
	if len(all) > 1 {
		s.warn(CodeTrustDomain, "", "", fmt.Sprintf("several trust domains were observed (%s); using %s: name the mesh's trust domain with --trust-domain and the others with --trust-domain-alias",
			strings.Join(sortedKeys(all), ", "), td))
	}
	return td
}

// mostCommon returns the key with the highest count (the first in order on
// ties), or "".
func mostCommon(count map[string]int) string {
	best := ""
	for _, k := range sortedKeys(count) {
		if best == "" || count[k] > count[best] {
			best = k
		}
	}
	return best
}

// rewrittenByIstiod reports whether an Envoy-based enforcement point (a
// sidecar or waypoint) would never match the edge's principal: istiod treats
// a policy principal in cluster.local as the mesh's own trust domain and
// rewrites it, so a caller whose certificate really says cluster.local cannot
// be named when the mesh's trust domain is another one and cluster.local is
// not an alias (reference §1.6). ztunnel does no rewriting.
func (s *synthesizer) rewrittenByIstiod(d *dest, e *snapshot.Edge) bool {
	p, err := snapshot.ParsePrincipal(e.Source.Principal)
	if err != nil || p.TrustDomain != "cluster.local" || slices.Contains(s.bundle, "cluster.local") {
		return false
	}
	return d.mode != snapshot.MeshAmbient || e.Reporter == snapshot.ReporterWaypoint
}

// dest gathers everything about one destination workload.
type dest struct {
	ns, name string
	w        *snapshot.Workload
	nso      nsOptions
	// mode is the effective data plane: sidecar, ambient or none.
	mode string
	// skip is set when the destination gets no policies.
	skip   Reason
	detail string
	// edges are indexes into synthesizer.edges.
	edges []int
	// callers map a caller key to its included principal evidence.
	callers map[string]*callerEv
	// plaintext are included edges with a plaintext share.
	plaintext []int
	// unidentified are included edges from mTLS callers without a principal.
	unidentified []int
	// withheld says why the destination gets no ALLOW policy, when it does not.
	withheld string
	// allowPolicy is true once an ALLOW/ztunnel policy was written for it.
	allowPolicy bool
	// split sorts the edges of an ambient destination by enforcement point.
	split *ambientSplit
}

// callerEv is the evidence from one principal to one destination.
type callerEv struct {
	principal string
	edges     []int
}

func (d *dest) id() string { return d.ns + "/" + d.name }

// groupByDestination sorts edges into destinations, leaving out those whose
// namespace is not written or that go to Istio's own ports.
func (s *synthesizer) groupByDestination() {
	byKey := map[[2]string]*dest{}
	for i := range s.edges {
		e := &s.edges[i]
		ns := e.Destination.Namespace
		if ok, reason := s.opts.namespaceSelected(ns); !ok {
			s.skipEdge(i, ns, "", "", reason)
			continue
		}
		if istioPorts[e.Port] {
			s.skipEdge(i, ns, e.Destination.Workload, callerName(e.Source), ReasonIstioPort)
			continue
		}
		k := [2]string{ns, e.Destination.Workload}
		d := byKey[k]
		if d == nil {
			d = &dest{ns: ns, name: e.Destination.Workload, w: s.idx.Workload(ns, e.Destination.Workload),
				nso: s.opts.forNamespace(ns), callers: map[string]*callerEv{}}
			byKey[k] = d
			s.dests = append(s.dests, d)
		}
		d.edges = append(d.edges, i)
	}
	slices.SortFunc(s.dests, func(a, b *dest) int {
		return cmp.Or(strings.Compare(a.ns, b.ns), strings.Compare(a.name, b.name))
	})
}

// callerKey identifies a caller: its principal, else the best plaintext
// identity known.
func callerKey(src snapshot.Source) string {
	if src.Principal != "" {
		return src.Principal
	}
	return "plaintext|" + src.Namespace + "|" + src.Workload + "|" + src.IP
}

// callerName renders a caller for people; plaintext callers are marked so.
func callerName(src snapshot.Source) string {
	if src.Principal != "" {
		return src.Principal
	}
	if id := plaintextIdentity(src); id != "" {
		return "plaintext " + id
	}
	return "unidentified caller"
}

// plaintextIdentity renders the best identity known of a caller without a
// principal: namespace/workload and IP, as far as known.
func plaintextIdentity(src snapshot.Source) string {
	var parts []string
	switch {
	case src.Workload != "" && src.Namespace != "":
		parts = append(parts, src.Namespace+"/"+src.Workload)
	case src.Workload != "":
		parts = append(parts, src.Workload)
	case src.Namespace != "":
		parts = append(parts, "namespace "+src.Namespace)
	}
	if src.IP != "" {
		parts = append(parts, src.IP)
	}
	return strings.Join(parts, " ")
}

// selectEvidence decides, edge by edge, what counts as evidence for a
// destination: server-side reports over client-side ones, then the filters on
// denials, exclusions and --min-requests.
func (s *synthesizer) selectEvidence(d *dest) {
	byCaller := map[string][]int{}
	for _, i := range d.edges {
		k := callerKey(s.edges[i].Source)
		byCaller[k] = append(byCaller[k], i)
	}
	for _, k := range sortedKeys(byCaller) {
		s.selectCallerEvidence(d, byCaller[k])
	}
}

func (s *synthesizer) selectCallerEvidence(d *dest, idxs []int) {
	serverSide := slices.ContainsFunc(idxs, func(i int) bool { return isServerSide(&s.edges[i]) })
	var kept []int
	for _, i := range idxs {
		e := &s.edges[i]
		caller := callerName(e.Source)
		switch {
		case serverSide && !isServerSide(e):
			s.skipEdge(i, d.ns, d.name, caller, ReasonSuperseded)
		case !isServerSide(e) && e.Source.Principal == "":
			s.skipEdge(i, d.ns, d.name, caller, ReasonSourceNoPrincipal)
		case e.Counts.Requests <= 0:
			s.skipEdge(i, d.ns, d.name, caller, ReasonNoRequests)
		case e.Counts.Allowed() <= 0:
			s.skipEdge(i, d.ns, d.name, caller, ReasonAllDenied)
		case e.Counts.Unauthorized >= e.Counts.Requests:
			s.skipEdge(i, d.ns, d.name, caller, ReasonAllUnauthorized)
		case e.Source.Principal != "" && s.opts.principalExcluded(e.Source.Principal):
			s.skipEdge(i, d.ns, d.name, caller, ReasonPrincipalExcluded)
		case s.rewrittenByIstiod(d, e):
			s.skipEdgeDetail(i, d.ns, d.name, caller, ReasonTrustDomain,
				fmt.Sprintf("istiod rewrites cluster.local in policies to %s; add --trust-domain-alias=cluster.local if this caller belongs to the mesh", s.td))
		default:
			kept = append(kept, i)
		}
	}
	if len(kept) == 0 {
		return
	}
	if total := s.pairTotal(kept); total < d.nso.minRequests {
		for _, i := range kept {
			s.skipEdgeDetail(i, d.ns, d.name, callerName(s.edges[i].Source), ReasonBelowMinRequests,
				fmt.Sprintf("%d of %d requests", total, d.nso.minRequests))
		}
		return
	}
	for _, i := range kept {
		s.useEdge(d, i)
	}
}

// pairTotal counts the allowed requests of a caller to a destination. Metric
// edges and log edges report the same requests, so the larger of the two sums
// is taken.
func (s *synthesizer) pairTotal(idxs []int) int64 {
	var metric, logs int64
	for _, i := range idxs {
		e := &s.edges[i]
		if isMetricOnly(e) {
			metric += e.Counts.Allowed()
		} else {
			logs += e.Counts.Allowed()
		}
	}
	return max(metric, logs)
}

// useEdge files an included edge under the destination's principal,
// plaintext or unidentified evidence.
func (s *synthesizer) useEdge(d *dest, i int) {
	e := &s.edges[i]
	if principalRequests(e) > 0 {
		c := d.callers[e.Source.Principal]
		if c == nil {
			c = &callerEv{principal: e.Source.Principal}
			d.callers[e.Source.Principal] = c
		}
		c.edges = append(c.edges, i)
	}
	if plaintextRequests(e) > 0 {
		d.plaintext = append(d.plaintext, i)
	}
	if unidentifiedRequests(e) > 0 {
		d.unidentified = append(d.unidentified, i)
	}
	if principalRequests(e) > 0 || plaintextRequests(e) > 0 {
		s.uses[i].Included = true
		return
	}
	s.skipEdge(i, d.ns, d.name, callerName(e.Source), ReasonUnidentified)
}

// classifyDestination decides whether the destination gets policies at all,
// and its data plane.
func (s *synthesizer) classifyDestination(d *dest) {
	switch {
	case d.nso.excludes(d.name):
		d.skip = ReasonWorkloadExcluded
	case s.infra.isControlPlaneWorkload(d.ns, d.name) && !s.opts.IncludeControlPlane:
		d.skip = ReasonControlPlane
	case s.infra.isWaypointWorkload(d.ns, d.name) && !s.opts.IncludeGateways:
		d.skip = ReasonWaypoint
	case s.infra.isGatewayWorkload(d.ns, d.name) && !s.opts.IncludeGateways:
		d.skip = ReasonGateway
	case d.mode == snapshot.MeshNone:
		d.skip = ReasonNotInMesh
	case d.w == nil || len(d.w.Selector) == 0:
		d.skip = ReasonNoSelector
		d.detail = "the inventory does not list it; a policy without a selector would apply to the whole namespace"
	default:
		if err := validSelector(d.w.Selector); err != nil {
			d.skip = ReasonNoSelector
			d.detail = err.Error()
		}
	}
	if d.skip == "" {
		return
	}
	var n int
	var req int64
	for _, i := range d.edges {
		if s.uses[i].Included {
			n++
			req += s.edges[i].Counts.Allowed()
			s.uses[i].Included = false
			s.uses[i].Reason = d.skip
		}
	}
	if n > 0 || d.skip != ReasonNotInMesh {
		s.addSkipped(Skipped{Namespace: d.ns, Workload: d.name, Reason: d.skip, Detail: d.detail, Edges: n, Requests: req})
	}
}

// validSelector checks a selector as the CRD and istiod do: non-empty keys,
// no wildcard in keys or values, values of at most 63 characters.
func validSelector(sel map[string]string) error {
	for _, k := range sortedKeys(sel) {
		v := sel[k]
		switch {
		case k == "" || strings.Contains(k, "*"):
			return fmt.Errorf("selector key %s cannot be written (empty or with a wildcard)", quoteIfNeeded(k))
		case strings.Contains(v, "*"):
			return fmt.Errorf("selector %s=%s cannot be written: wildcards are not allowed in selectors", k, quoteIfNeeded(v))
		case len(v) > 63:
			return fmt.Errorf("selector value of %s is longer than 63 characters", k)
		}
	}
	return nil
}

// meshMode returns the data plane of a destination: forced by --mode for
// in-mesh workloads, else from the inventory, else inferred from the kind of
// evidence (ztunnel and waypoint reports mean ambient), else sidecar.
func (s *synthesizer) meshMode(d *dest) string {
	inv := s.idx.MeshMode(d.ns, d.name)
	if inv == snapshot.MeshNone {
		return inv
	}
	if d.nso.mode != ModeAuto && d.nso.mode != "" {
		return string(d.nso.mode)
	}
	if inv != "" {
		return inv
	}
	for _, i := range d.edges {
		e := &s.edges[i]
		if e.Reporter == snapshot.ReporterWaypoint || slices.Contains(e.Evidence, snapshot.EvidenceZtunnelLog) || slices.Contains(e.Evidence, snapshot.EvidenceWaypointLog) {
			s.noteAt(CodeMeshMode, d.ns, d.name, "mesh mode not in the inventory; ambient assumed from ztunnel or waypoint evidence")
			return snapshot.MeshAmbient
		}
	}
	s.noteAt(CodeMeshMode, d.ns, d.name, "mesh mode not in the inventory; sidecar assumed")
	return snapshot.MeshSidecar
}

func (s *synthesizer) skipEdge(i int, ns, workload, caller string, reason Reason) {
	s.skipEdgeDetail(i, ns, workload, caller, reason, "")
}

func (s *synthesizer) skipEdgeDetail(i int, ns, workload, caller string, reason Reason, detail string) {
	s.uses[i].Included = false
	s.uses[i].Reason = reason
	s.addSkipped(Skipped{Namespace: ns, Workload: workload, Caller: caller, Reason: reason, Detail: detail,
		Edges: 1, Requests: s.edges[i].Counts.Requests})
}

func (s *synthesizer) addSkipped(sk Skipped) {
	k := skipKey{sk.Namespace, sk.Workload, sk.Caller, sk.Reason}
	if cur := s.skipped[k]; cur != nil {
		cur.Edges += sk.Edges
		cur.Requests += sk.Requests
		if cur.Detail == "" {
			cur.Detail = sk.Detail
		}
		return
	}
	s.skipped[k] = &sk
}

func (s *synthesizer) warn(code, ns, workload, msg string) {
	s.addFinding(Finding{Severity: SeverityWarning, Code: code, Namespace: ns, Workload: workload, Message: msg})
}

func (s *synthesizer) noteAt(code, ns, workload, msg string) {
	s.addFinding(Finding{Severity: SeverityNote, Code: code, Namespace: ns, Workload: workload, Message: msg})
}

func (s *synthesizer) note(code, ns, workload, msg string) { s.noteAt(code, ns, workload, msg) }

func (s *synthesizer) addFinding(f Finding) {
	k := string(f.Severity) + "|" + f.Code + "|" + f.Namespace + "|" + f.Workload + "|" + f.Message
	if s.seen[k] {
		return
	}
	s.seen[k] = true
	s.findings = append(s.findings, f)
}

// result assembles the Result in canonical order.
func (s *synthesizer) result() *Result {
	r := &Result{Namespaces: s.nsOut, TrustDomain: s.td, Edges: s.uses, Options: s.opts,
		Inferred: s.idx.Inventory().Origin == snapshot.InventoryInferred}
	for _, sk := range s.skipped {
		r.Report.Skipped = append(r.Report.Skipped, *sk)
	}
	slices.SortFunc(r.Report.Skipped, func(a, b Skipped) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Workload, b.Workload),
			strings.Compare(a.Caller, b.Caller), strings.Compare(string(a.Reason), string(b.Reason)))
	})
	r.Report.Findings = s.findings
	slices.SortStableFunc(r.Report.Findings, func(a, b Finding) int {
		return cmp.Or(strings.Compare(string(b.Severity), string(a.Severity)), // warnings first
			strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Workload, b.Workload),
			strings.Compare(a.Code, b.Code), strings.Compare(a.Message, b.Message))
	})
	for _, d := range s.dests {
		r.Destinations = append(r.Destinations, Destination{Namespace: d.ns, Workload: d.name, Mode: d.mode, Skipped: d.skip, Withheld: d.withheld})
	}
	st := &r.Report.Stats
	st.Edges = len(s.edges)
	for _, u := range s.uses {
		if u.Included {
			st.EdgesIncluded++
		}
	}
	st.Destinations = len(s.dests)
	st.Namespaces = len(s.nsOut)
	for _, n := range s.nsOut {
		st.Workloads += len(n.Workloads)
		st.Policies += len(n.Policies)
		for _, p := range n.Policies {
			if p.AuthorizationPolicy != nil {
				st.Rules += len(p.AuthorizationPolicy.Spec.Rules)
			}
		}
	}
	return r
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
