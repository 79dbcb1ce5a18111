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

// sourceKey identifies a caller as eval's privilege summary does: its
// principal, or for plaintext callers the best identity known.
func sourceKey(s snapshot.Source) string {
	if s.Principal != "" {
		return s.Principal
	}
	return "plaintext:" + s.Namespace + "/" + s.Workload + "/" + s.IP
}

// opKey identifies an operation on a destination: the edge key without the
// source.
func opKey(e *snapshot.Edge) snapshot.Key {
	k := e.Key()
	k.SrcPrincipal, k.SrcNamespace, k.SrcWorkload, k.SrcIP = "", "", "", ""
	return k
}

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

type comboKey struct {
	src string
	op  snapshot.Key
}

// computeAccess fills each namespace's access changes; see AccessDefinition.
func computeAccess(rep *Report, in Input, before, after *eval.PolicySet, idx *snapshot.Index, td string) {
	edges, _ := eval.SelectEdges(in.Snapshot.Edges, 0)
	inScope := map[string]bool{}
	for _, n := range rep.Namespaces {
		inScope[n.Name] = true
	}
	callers := map[string]snapshot.Source{}
	ops := map[string]map[snapshot.Key]*snapshot.Edge{}
	observed := map[comboKey]*seen{}
	var span seen
	for _, e := range edges {
		sk := sourceKey(e.Source)
		if _, ok := callers[sk]; !ok {
			s := e.Source
			s.IdentityFrom = ""
			callers[sk] = s
		}
		span.add(e.Counts.Allowed(), e.FirstSeen, e.LastSeen)
		ns := e.Destination.Namespace
		if !inScope[ns] {
			continue
		}
		ok := opKey(e)
		if ops[ns] == nil {
			ops[ns] = map[snapshot.Key]*snapshot.Edge{}
		}
		if _, dup := ops[ns][ok]; !dup {
			ops[ns][ok] = e
		}
		c := comboKey{sk, ok}
		if observed[c] == nil {
			observed[c] = &seen{}
		}
		observed[c].add(e.Counts.Allowed(), e.FirstSeen, e.LastSeen)
	}
	rep.ObservedFrom, rep.ObservedTo = timePtr(span.first), timePtr(span.last)
	for _, p := range namedPrincipals(before, after, inScope, rep.RootNamespace) {
		if _, ok := callers[p]; !ok {
			callers[p] = snapshot.Source{Principal: p}
		}
	}
	total := 0
	for _, m := range ops {
		total += len(callers) * len(m)
	}
	limit := cmp.Or(in.MaxCombinations, eval.DefaultMaxCombinations)
	if total > limit {
		rep.Summary.AccessSkipped = fmt.Sprintf("%d (caller, operation) combinations exceed the limit of %d", total, limit)
		return
	}
	callerKeys := slices.Sorted(maps.Keys(callers))
	for i := range rep.Namespaces {
		n := &rep.Namespaces[i]
		n.Access = namespaceAccess(ops[n.Name], callers, callerKeys, observed, before, after, idx, td)
	}
}

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

type pairState struct {
	before, after bool
	seen          seen
}

func namespaceAccess(ops map[snapshot.Key]*snapshot.Edge, callers map[string]snapshot.Source, callerKeys []string,
	observed map[comboKey]*seen, before, after *eval.PolicySet, idx *snapshot.Index, td string) *Access {
	acc := &Access{Callers: len(callers), Operations: len(ops), Gained: []AccessChange{}, Lost: []AccessChange{}, Uncertain: []AccessChange{}, Graph: []GraphEdge{}}
	acc.Combinations = acc.Callers * acc.Operations
	opKeys := slices.Collect(maps.Keys(ops))
	slices.SortFunc(opKeys, snapshot.CompareKeys)
	groups := map[string]map[pairKey]*AccessChange{"gained": {}, "lost": {}, "uncertain": {}}
	pairs := map[pairKey]*pairState{}
	for _, ok := range opKeys {
		op := *ops[ok]
		workload := op.Destination.Namespace + "/" + op.Destination.Workload
		for _, ck := range callerKeys {
			e := op
			e.Source = callers[ck]
			vb := eval.Replay(before, idx, td, &e)
			va := eval.Replay(after, idx, td, &e)
			pk := pairKey{ck, workload}
			ps := pairs[pk]
			if ps == nil {
				ps = &pairState{}
				pairs[pk] = ps
			}
			ps.before = ps.before || vb.Outcome == eval.Allow
			ps.after = ps.after || va.Outcome == eval.Allow
			var obs seen
			if o := observed[comboKey{ck, ok}]; o != nil {
				obs = *o
			}
			ps.seen.addSeen(obs)
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
			g := groups[class][pk]
			if g == nil {
				g = &AccessChange{Caller: findingSource(callers[ck]), Workload: workload, Operations: []Operation{}}
				groups[class][pk] = g
			}
			g.Operations = append(g.Operations, Operation{
				Service:      op.Destination.Service,
				Reporter:     op.Reporter,
				Port:         op.Port,
				Protocol:     op.Protocol,
				Method:       op.Method,
				Path:         op.Path,
				PathPrefix:   op.PathPrefix,
				Before:       vb.Outcome,
				After:        va.Outcome,
				BeforeReason: reason(vb),
				AfterReason:  reason(va),
				Requests:     obs.requests,
				FirstSeen:    timePtr(obs.first),
				LastSeen:     timePtr(obs.last),
			})
		}
	}
	acc.Gained = flatten(groups["gained"], false)
	acc.Lost = flatten(groups["lost"], true)
	acc.Uncertain = flatten(groups["uncertain"], false)
	for pk, ps := range pairs {
		var state string
		switch {
		case ps.before && ps.after:
			state = EdgeKept
		case ps.after:
			state = EdgeGained
		case ps.before:
			state = EdgeLost
		default:
			continue
		}
		acc.Graph = append(acc.Graph, GraphEdge{From: findingSource(callers[pk.src]).String(), To: pk.workload, State: state, Requests: ps.seen.requests})
	}
	slices.SortFunc(acc.Graph, func(a, b GraphEdge) int {
		return cmp.Or(strings.Compare(a.From, b.From), strings.Compare(a.To, b.To))
	})
	return acc
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
