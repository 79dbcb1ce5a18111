package diff

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/meshgen/meshgen/observe/snapshot"
	"github.com/meshgen/meshgen/synth/eval"
	"github.com/meshgen/meshgen/synth/internal/randmesh"
)

// TestAccessMatchesBruteForce compares the access changes, computed by
// classes, with the first implementation, which replayed every combination
// on both sides (accessBruteForce), on random meshes and policy sets.
func TestAccessMatchesBruteForce(t *testing.T) {
	var changes int
	for seed := range 300 {
		r := rand.New(rand.NewPCG(uint64(seed), 3))
		snap, sets := randmesh.Generate(r)
		at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		for i := range snap.Edges {
			snap.Edges[i].FirstSeen = at.Add(time.Duration(r.IntN(100)) * time.Hour)
			snap.Edges[i].LastSeen = snap.Edges[i].FirstSeen.Add(time.Duration(r.IntN(100)) * time.Hour)
		}
		td := []string{"", "td2.example"}[seed%2]
		var before, after eval.PolicySet
		for i, ps := range []*eval.PolicySet{&before, &after} {
			*ps = eval.PolicySet{AuthorizationPolicies: sets[i].AuthorizationPolicies, PeerAuthentications: sets[i].PeerAuthentications,
				TrustDomain: sets[i].TrustDomain, TrustDomainAliases: sets[i].TrustDomainAliases, RootNamespace: "istio-system"}
		}
		var scope []string
		for _, ns := range snap.Inventory.Namespaces {
			if r.IntN(3) != 0 {
				scope = append(scope, ns.Name)
			}
		}
		newReport := func() *Report {
			rep := &Report{RootNamespace: "istio-system"}
			for _, ns := range scope {
				rep.Namespaces = append(rep.Namespaces, Namespace{Name: ns})
			}
			return rep
		}
		idx := snapshot.NewIndex(&snap.Inventory)
		in := Input{Snapshot: snap}
		want, got := newReport(), newReport()
		accessBruteForce(want, in, &before, &after, idx, cmp.Or(td, eval.DefaultTrustDomain))
		computeAccess(got, in, &before, &after, idx, cmp.Or(td, eval.DefaultTrustDomain))
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Fatalf("seed %d: computeAccess (-brute force +classes):\n%s", seed, diff)
		}
		for _, n := range got.Namespaces {
			for _, l := range [][]AccessChange{n.Access.Gained, n.Access.Lost, n.Access.Uncertain} {
				for _, c := range l {
					changes += len(c.Operations)
				}
			}
		}
	}
	t.Logf("%d changed combinations matched", changes)
}

// TestAccessLimits checks the safety valves on the replays and on the
// entries listed.
func TestAccessLimits(t *testing.T) {
	for seed := range 50 {
		r := rand.New(rand.NewPCG(uint64(seed), 5))
		snap, sets := randmesh.Generate(r)
		in := Input{Snapshot: snap}
		before := &eval.PolicySet{AuthorizationPolicies: sets[0].AuthorizationPolicies, PeerAuthentications: sets[0].PeerAuthentications}
		after := &eval.PolicySet{AuthorizationPolicies: sets[1].AuthorizationPolicies, PeerAuthentications: sets[1].PeerAuthentications}
		idx := snapshot.NewIndex(&snap.Inventory)
		newReport := func() *Report {
			rep := &Report{RootNamespace: "istio-system"}
			for _, ns := range snap.Inventory.Namespaces {
				rep.Namespaces = append(rep.Namespaces, Namespace{Name: ns.Name})
			}
			return rep
		}
		full := newReport()
		computeAccess(full, in, before, after, idx, "")
		entries := 0
		for _, n := range full.Namespaces {
			entries += len(n.Access.Graph)
			for _, l := range [][]AccessChange{n.Access.Gained, n.Access.Lost, n.Access.Uncertain} {
				for _, c := range l {
					entries += len(c.Operations)
				}
			}
		}
		if entries < 2 {
			continue
		}
		in.MaxChanges = entries - 1
		rep := newReport()
		computeAccess(rep, in, before, after, idx, "")
		if want := fmt.Sprintf("%d changed combinations and pairs of the graph exceed the limit of %d", entries, entries-1); rep.Summary.AccessSkipped != want {
			t.Errorf("seed %d: with MaxChanges %d (of %d): AccessSkipped = %q", seed, entries-1, entries, rep.Summary.AccessSkipped)
		}
		for _, n := range rep.Namespaces {
			if n.Access != nil {
				t.Errorf("seed %d: with MaxChanges %d: namespace %s has access changes", seed, entries-1, n.Name)
			}
		}
		in.MaxChanges = entries
		rep = newReport()
		computeAccess(rep, in, before, after, idx, "")
		if rep.Summary.AccessSkipped != "" {
			t.Errorf("seed %d: with MaxChanges %d (all): AccessSkipped = %q", seed, entries, rep.Summary.AccessSkipped)
		}
		in.MaxChanges, in.MaxDecisions = 0, 1
		rep = newReport()
		computeAccess(rep, in, before, after, idx, "")
		if !strings.Contains(rep.Summary.AccessSkipped, " decisions (one per class of callers, class of operations and side) exceed the limit of 1") {
			t.Errorf("seed %d: with MaxDecisions 1: AccessSkipped = %q", seed, rep.Summary.AccessSkipped)
		}
	}
}

type comboKey struct {
	src string
	op  snapshot.Key
}

// accessBruteForce is computeAccess as first written: every combination
// replayed on both sides. It is the oracle of the classes.
func accessBruteForce(rep *Report, in Input, before, after *eval.PolicySet, idx *snapshot.Index, td string) {
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
		sk := eval.SourceKey(e.Source)
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
		ok := eval.OperationKey(e)
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
		n.Access = namespaceAccessBruteForce(ops[n.Name], callers, callerKeys, observed, before, after, idx, td)
	}
}

type pairStateBruteForce struct {
	before, after bool
	seen          seen
}

func namespaceAccessBruteForce(ops map[snapshot.Key]*snapshot.Edge, callers map[string]snapshot.Source, callerKeys []string,
	observed map[comboKey]*seen, before, after *eval.PolicySet, idx *snapshot.Index, td string) *Access {
	acc := &Access{Callers: len(callers), Operations: len(ops), Gained: []AccessChange{}, Lost: []AccessChange{}, Uncertain: []AccessChange{}, Graph: []GraphEdge{}}
	acc.Combinations = acc.Callers * acc.Operations
	opKeys := slices.Collect(maps.Keys(ops))
	slices.SortFunc(opKeys, snapshot.CompareKeys)
	groups := map[string]map[pairKey]*AccessChange{"gained": {}, "lost": {}, "uncertain": {}}
	pairs := map[pairKey]*pairStateBruteForce{}
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
				ps = &pairStateBruteForce{}
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
