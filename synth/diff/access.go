package diff

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/meshgen/meshgen/observe/snapshot"
	"github.com/meshgen/meshgen/synth/eval"
)

// seen accumulates observed requests and their time span.
type seen struct {
	requests    int64
	first, last time.Time
}

func (s *seen) add(n int64, first, last time.Time) {
	s.requests += n
	if !first.IsZero() && (s.first.IsZero() || first.Before(s.first)) {
		s.first = first
	}
	if last.After(s.last) {
		s.last = last
	}
}

func (s *seen) addSeen(o seen) { s.add(o.requests, o.first, o.last) }

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// computeAccess fills each namespace's access changes; see AccessDefinition.
// The combinations are decided by classes (eval.DecideClasses): each class
// pair's verdicts stand for all its combinations, and only the combinations
// of class pairs whose outcome changes are listed one by one.
func computeAccess(rep *Report, in Input, before, after *eval.PolicySet, idx *snapshot.Index, td string) {
	edges, _ := eval.SelectEdges(in.Snapshot.Edges, 0)
	sp := eval.NewSpace(edges)
	inScope := map[string]bool{}
	for _, n := range rep.Namespaces {
		inScope[n.Name] = true
	}
	var span seen
	for _, e := range edges {
		span.add(e.Counts.Allowed(), e.FirstSeen, e.LastSeen)
	}
	rep.ObservedFrom, rep.ObservedTo = timePtr(span.first), timePtr(span.last)

	// The callers: those of the traffic and the principals the policies name.
	a := &accessBuilder{
		callerKeys: slices.Clone(sp.CallerKeys),
		callers:    slices.Clone(sp.Callers),
		observed:   map[uint64]*seen{},
		pairSeen:   map[pairIdx]seen{},
		byNS:       map[string]*nsAccess{},
		maxChanges: cmp.Or(in.MaxChanges, DefaultMaxChanges),
	}
	for _, p := range namedPrincipals(before, after, inScope, rep.RootNamespace) {
		if _, found := slices.BinarySearch(sp.CallerKeys, p); !found {
			a.callerKeys = append(a.callerKeys, p)
			a.callers = append(a.callers, snapshot.Source{Principal: p})
		}
	}
	order := make([]int, len(a.callerKeys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return strings.Compare(a.callerKeys[x], a.callerKeys[y]) })
	keys, callers := a.callerKeys, a.callers
	a.callerKeys, a.callers = make([]string, len(keys)), make([]snapshot.Source, len(keys))
	callerNew := make([]int, len(keys))
	for to, from := range order {
		a.callerKeys[to], a.callers[to] = keys[from], callers[from]
		callerNew[from] = to
	}

	// The operations of the namespaces compared (sp.Ops are in namespace
	// order), and the traffic observed of each combination and pair.
	opNew := make([]int, len(sp.Ops))
	opsPerNS := map[string]int{}
	for i, op := range sp.Ops {
		opNew[i] = -1
		if ns := op.Destination.Namespace; inScope[ns] {
			opNew[i] = len(a.ops)
			a.ops = append(a.ops, op)
			opsPerNS[ns]++
		}
	}
	for i, e := range edges {
		o := opNew[sp.EdgeOp[i]]
		if o < 0 {
			continue
		}
		k := comboIdx(callerNew[sp.EdgeCaller[i]], o)
		if a.observed[k] == nil {
			a.observed[k] = &seen{}
		}
		a.observed[k].add(e.Counts.Allowed(), e.FirstSeen, e.LastSeen)
	}
	for k, o := range a.observed {
		op := a.ops[k&(1<<32-1)]
		pk := pairIdx{int(k >> 32), op.Destination.Namespace + "/" + op.Destination.Workload}
		s := a.pairSeen[pk]
		s.addSeen(*o)
		a.pairSeen[pk] = s
	}

	total := 0
	for _, n := range opsPerNS {
		total += len(a.callers) * n
	}
	limit := cmp.Or(in.MaxCombinations, eval.DefaultMaxCombinations)
	if total > limit {
		rep.Summary.AccessSkipped = fmt.Sprintf("%d (caller, operation) combinations exceed the limit of %d", total, limit)
		return
	}
	for _, n := range rep.Namespaces {
		nops := opsPerNS[n.Name]
		a.byNS[n.Name] = &nsAccess{
			access: &Access{Callers: len(a.callers), Operations: nops, Combinations: len(a.callers) * nops,
				Gained: []AccessChange{}, Lost: []AccessChange{}, Uncertain: []AccessChange{}, Graph: []GraphEdge{}},
			groups: map[string]map[pairKey]*AccessChange{"gained": {}, "lost": {}, "uncertain": {}},
		}
	}
	maxDecisions := cmp.Or(in.MaxDecisions, eval.DefaultMaxDecisions)
	n, ok := eval.DecideClasses([]*eval.PolicySet{before, after}, idx, td, a.callers, a.ops, maxDecisions, a.block)
	switch {
	case !ok:
		rep.Summary.AccessSkipped = fmt.Sprintf("%d decisions (one per class of callers, class of operations and side) exceed the limit of %d", n, maxDecisions)
		return
	case a.listed > a.maxChanges:
		rep.Summary.AccessSkipped = fmt.Sprintf("%d changed combinations and pairs of the graph exceed the limit of %d", a.listed, a.maxChanges)
		return
	}
	for i := range rep.Namespaces {
		n := &rep.Namespaces[i]
		na := a.byNS[n.Name]
		acc := na.access
		acc.Gained = flatten(na.groups["gained"], false)
		acc.Lost = flatten(na.groups["lost"], true)
		acc.Uncertain = flatten(na.groups["uncertain"], false)
		slices.SortFunc(acc.Graph, func(a, b GraphEdge) int {
			return cmp.Or(strings.Compare(a.From, b.From), strings.Compare(a.To, b.To))
		})
		n.Access = acc
	}
}

// comboIdx packs a (caller, operation) combination.
func comboIdx(caller, op int) uint64 { return uint64(caller)<<32 | uint64(op) }

// namedPrincipals lists the exact principals (no wildcard) that the
// AuthorizationPolicies of the compared namespaces and the root namespace
// name in source.principals, on either side.
func namedPrincipals(before, after *eval.PolicySet, inScope map[string]bool, root string) []string {
	set := map[string]bool{}
	for _, ps := range []*eval.PolicySet{before, after} {
		for _, ap := range ps.AuthorizationPolicies {
			if !inScope[ap.Namespace] && ap.Namespace != root {
				continue
			}
			for _, r := range ap.Spec.GetRules() {
				for _, f := range r.GetFrom() {
					for _, p := range f.GetSource().GetPrincipals() {
						if p != "" && !strings.Contains(p, "*") && strings.Contains(p, "/ns/") && strings.Contains(p, "/sa/") {
							set[p] = true
						}
					}
				}
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

type pairKey struct{ src, workload string }

// pairIdx is a (caller, workload) pair by caller index.
type pairIdx struct {
	caller   int
	workload string
}

// accessBuilder collects the access changes from the blocks of
// eval.DecideClasses.
type accessBuilder struct {
	callerKeys []string
	callers    []snapshot.Source
	ops        []*snapshot.Edge
	// observed is the traffic of each combination (comboIdx), pairSeen of
	// each (caller, workload) pair.
	observed map[uint64]*seen
	pairSeen map[pairIdx]seen
	byNS     map[string]*nsAccess
	// listed counts the entries listed (or that would be, past maxChanges).
	listed, maxChanges int
	members            []int
}

type nsAccess struct {
	access *Access
	groups map[string]map[pairKey]*AccessChange
}

// changedOp is one operation whose outcome changes for a caller class.
type changedOp struct {
	op     int
	class  string
	before eval.Verdict
	after  eval.Verdict
}

// block lists the changes of one workload: for each caller class, the
// operations whose outcome changes, for each of its callers, and the pairs
// of the graph.
func (a *accessBuilder) block(b *eval.Block) {
	na := a.byNS[b.Namespace]
	workload := b.Namespace + "/" + b.Workload
	var changed []changedOp
	for i := range b.CallerClasses() {
		changed = changed[:0]
		beforeAny, afterAny := false, false
		for j, oc := range b.OpClasses {
			vb, va := b.Verdict(0, i, j), b.Verdict(1, i, j)
			beforeAny = beforeAny || vb.Outcome == eval.Allow
			afterAny = afterAny || va.Outcome == eval.Allow
			if vb.Outcome == va.Outcome {
				continue
			}
			class := "uncertain"
			switch {
			case va.Outcome == eval.Allow:
				class = "gained"
			case vb.Outcome == eval.Allow && va.Outcome == eval.Deny:
				class = "lost"
			}
			for _, o := range oc {
				changed = append(changed, changedOp{op: o, class: class, before: vb, after: va})
			}
		}
		state := ""
		switch {
		case beforeAny && afterAny:
			state = EdgeKept
		case afterAny:
			state = EdgeGained
		case beforeAny:
			state = EdgeLost
		}
		if len(changed) == 0 && state == "" {
			continue
		}
		entries := len(changed)
		if state != "" {
			entries++
		}
		a.listed += entries * b.ClassSize(i)
		if a.listed > a.maxChanges {
			continue // counted only, for the report's message
		}
		// Each caller's operations in the order of the operations.
		slices.SortFunc(changed, func(x, y changedOp) int { return cmp.Compare(x.op, y.op) })
		a.members = b.AppendMembers(a.members[:0], i)
		for _, c := range a.members {
			ck := a.callerKeys[c]
			pk := pairKey{ck, workload}
			for _, ch := range changed {
				g := na.groups[ch.class][pk]
				if g == nil {
					g = &AccessChange{Caller: findingSource(a.callers[c]), Workload: workload, Operations: []Operation{}}
					na.groups[ch.class][pk] = g
				}
				op := a.ops[ch.op]
				var obs seen
				if o := a.observed[comboIdx(c, ch.op)]; o != nil {
					obs = *o
				}
				g.Operations = append(g.Operations, Operation{
					Service:      op.Destination.Service,
					Reporter:     op.Reporter,
					Port:         op.Port,
					Protocol:     op.Protocol,
					Method:       op.Method,
					Path:         op.Path,
					PathPrefix:   op.PathPrefix,
					Before:       ch.before.Outcome,
					After:        ch.after.Outcome,
					BeforeReason: reason(ch.before),
					AfterReason:  reason(ch.after),
					Requests:     obs.requests,
					FirstSeen:    timePtr(obs.first),
					LastSeen:     timePtr(obs.last),
				})
			}
			if state != "" {
				na.access.Graph = append(na.access.Graph, GraphEdge{From: findingSource(a.callers[c]).String(), To: workload, State: state, Requests: a.pairSeen[pairIdx{c, workload}].requests})
			}
		}
	}
}

func findingSource(s snapshot.Source) eval.FindingSource {
	return eval.FindingSource{Principal: s.Principal, Namespace: s.Namespace, Workload: s.Workload, IP: s.IP}
}

func reason(v eval.Verdict) string {
	if h, ok := v.Decider(); ok {
		if v.Note != "" {
			return h.Decision.Reason + " (" + v.Note + ")"
		}
		return h.Decision.Reason
	}
	return v.Note
}

// flatten sums each group's observed traffic and sorts the groups: by
// caller and workload, or (observedFirst) by observed requests, most first.
func flatten(m map[pairKey]*AccessChange, observedFirst bool) []AccessChange {
	out := make([]AccessChange, 0, len(m))
	for _, g := range m {
		var s seen
		for _, o := range g.Operations {
			var first, last time.Time
			if o.FirstSeen != nil {
				first = *o.FirstSeen
			}
			if o.LastSeen != nil {
				last = *o.LastSeen
			}
			s.add(o.Requests, first, last)
		}
		g.Requests, g.FirstSeen, g.LastSeen = s.requests, timePtr(s.first), timePtr(s.last)
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b AccessChange) int {
		if observedFirst && a.Requests != b.Requests {
			return cmp.Compare(b.Requests, a.Requests)
		}
		return cmp.Or(strings.Compare(a.Caller.String(), b.Caller.String()), strings.Compare(a.Workload, b.Workload))
	})
	return out
}
