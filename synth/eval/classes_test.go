package eval

import (
	"cmp"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/meshgen/meshgen/observe/snapshot"
	"github.com/meshgen/meshgen/synth/internal/randmesh"
)

// randomMesh builds a random mesh and two random policy sets
// (randmesh.Generate).
func randomMesh(r *rand.Rand) (*snapshot.Snapshot, []*PolicySet) {
	snap, sets := randmesh.Generate(r)
	var out []*PolicySet
	for _, s := range sets {
		out = append(out, &PolicySet{AuthorizationPolicies: s.AuthorizationPolicies, PeerAuthentications: s.PeerAuthentications,
			TrustDomain: s.TrustDomain, TrustDomainAliases: s.TrustDomainAliases})
	}
	return snap, out
}

// comparable strips what differs between the callers and operations of a
// class: the requests of the hops.
func comparableVerdict(v Verdict) Verdict {
	out := Verdict{Outcome: v.Outcome, Note: v.Note}
	for _, h := range v.Hops {
		out.Hops = append(out.Hops, Hop{Point: h.Point, Decision: h.Decision})
	}
	return out
}

// TestDecideClassesMatchesReplay replays every combination of random meshes
// and policy sets and compares it with its class's verdict: outcome, note,
// and every hop's decision with its reason.
func TestDecideClassesMatchesReplay(t *testing.T) {
	const seeds = 400
	var combos, decisions int
	for seed := range seeds {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		snap, sets := randomMesh(r)
		idx := snapshot.NewIndex(&snap.Inventory)
		td := []string{"", "td2.example"}[seed%2]
		edges, _ := SelectEdges(snap.Edges, 0)
		sp := NewSpace(edges)
		callers, ops := sp.Callers, sp.Ops
		covered := map[[2]int]int{}
		n, ok := DecideClasses(sets, idx, td, callers, ops, 0, func(b *Block) {
			for i := range b.CallerClasses() {
				members := b.AppendMembers(nil, i)
				if len(members) != b.ClassSize(i) {
					t.Fatalf("seed %d: class %d of %s/%s: %d members, size %d", seed, i, b.Namespace, b.Workload, len(members), b.ClassSize(i))
				}
				for j, oc := range b.OpClasses {
					for s, ps := range sets {
						want := comparableVerdict(b.Verdict(s, i, j))
						for _, c := range members {
							for _, o := range oc {
								if ops[o].Destination.Namespace != b.Namespace || ops[o].Destination.Workload != b.Workload {
									t.Fatalf("seed %d: operation %d in the block of %s/%s", seed, o, b.Namespace, b.Workload)
								}
								if s == 0 {
									covered[[2]int{c, o}]++
								}
								e := *ops[o]
								e.Source = callers[c]
								got := comparableVerdict(Replay(ps, idx, td, &e))
								if diff := gocmp.Diff(want, got); diff != "" {
									t.Fatalf("seed %d: set %d, caller %+v, operation %+v: class verdict differs from Replay (-class +replay):\n%s",
										seed, s, callers[c], OperationKey(&e), diff)
								}
								combos++
							}
						}
					}
				}
			}
		})
		if !ok {
			t.Fatalf("seed %d: DecideClasses without a limit returned ok = false", seed)
		}
		decisions += n
		for c := range callers {
			for o := range ops {
				if covered[[2]int{c, o}] != 1 {
					t.Fatalf("seed %d: combination (caller %d, operation %d) covered %d times, want 1", seed, c, o, covered[[2]int{c, o}])
				}
			}
		}
	}
	t.Logf("%d combinations of %d seeds matched, with %d replays", combos, seeds, decisions)
}

// privilegeBruteForce is the privilege summary as it was first written:
// every combination replayed. It is the oracle of the classes.
func privilegeBruteForce(edges []*snapshot.Edge, ps *PolicySet, idx *snapshot.Index, td string, baseline *PolicySet) PrivilegeSummary {
	sum := PrivilegeSummary{Definition: PrivilegeDefinition}
	callers, ops, observed := spaceOracle(edges)
	sum.Callers, sum.Operations, sum.Combinations, sum.Observed = len(callers), len(ops), len(callers)*len(ops), observed
	for _, op := range ops {
		for _, c := range callers {
			e := *op
			e.Source = c
			sum.Policy.add(Replay(ps, idx, cmp.Or(td, DefaultTrustDomain), &e).Outcome)
			if baseline == nil {
				sum.Baseline.add(Allow)
			} else {
				sum.Baseline.add(Replay(baseline, idx, cmp.Or(td, DefaultTrustDomain), &e).Outcome)
			}
		}
	}
	return sum
}

func TestCheckPrivilegeMatchesBruteForce(t *testing.T) {
	for seed := range 300 {
		r := rand.New(rand.NewPCG(uint64(seed), 11))
		snap, sets := randomMesh(r)
		idx := snapshot.NewIndex(&snap.Inventory)
		td := []string{"", "td2.example"}[seed%2]
		edges, _ := SelectEdges(snap.Edges, 0)
		for _, baseline := range []*PolicySet{nil, sets[1]} {
			rep := Check(snap, sets[0], CheckOptions{TrustDomain: td, Baseline: baseline})
			want := privilegeBruteForce(edges, sets[0], idx, td, baseline)
			if diff := gocmp.Diff(want, rep.Summary.Privilege); diff != "" {
				t.Fatalf("seed %d (baseline %v): Check() privilege (-brute force +classes):\n%s", seed, baseline != nil, diff)
			}
		}
	}
}

// TestCheckPrivilegeDecisionLimit checks the safety valve on the replays.
func TestCheckPrivilegeDecisionLimit(t *testing.T) {
	ps, snap := benchMesh(3, 2, 2, 40, 4)
	rep := Check(snap, ps, CheckOptions{})
	if rep.Summary.Privilege.Skipped != "" {
		t.Fatalf("Check() skipped the privilege summary: %s", rep.Summary.Privilege.Skipped)
	}
	rep = Check(snap, ps, CheckOptions{MaxDecisions: 3})
	got := rep.Summary.Privilege
	if got.Policy != (OutcomeCount{}) || got.Baseline != (OutcomeCount{}) {
		t.Errorf("Check() with MaxDecisions 3 counted %+v and %+v, want nothing", got.Policy, got.Baseline)
	}
	const suffix = " decisions (one per class of callers, class of operations and policy set) exceed the limit of 3"
	if len(got.Skipped) <= len(suffix) || got.Skipped[len(got.Skipped)-len(suffix):] != suffix {
		t.Errorf("Check() with MaxDecisions 3: Skipped = %q, want \"N%s\"", got.Skipped, suffix)
	}
}

// spaceOracle lists the callers and operations of edges (sorted by key)
// and counts the combinations observed, as the privilege summary first did.
func spaceOracle(edges []*snapshot.Edge) (callers []snapshot.Source, ops []*snapshot.Edge, observed int) {
	bySrc := map[string]snapshot.Source{}
	byOp := map[snapshot.Key]*snapshot.Edge{}
	type combo struct {
		src string
		op  snapshot.Key
	}
	seen := map[combo]bool{}
	for _, e := range edges {
		sk := SourceKey(e.Source)
		if _, ok := bySrc[sk]; !ok {
			s := e.Source
			s.IdentityFrom = ""
			bySrc[sk] = s
		}
		ok := OperationKey(e)
		if _, dup := byOp[ok]; !dup {
			byOp[ok] = e
		}
		seen[combo{sk, ok}] = true
	}
	for _, k := range slices.Sorted(maps.Keys(bySrc)) {
		callers = append(callers, bySrc[k])
	}
	opKeys := slices.Collect(maps.Keys(byOp))
	slices.SortFunc(opKeys, snapshot.CompareKeys)
	for _, k := range opKeys {
		ops = append(ops, byOp[k])
	}
	return callers, ops, len(seen)
}

// TestNewSpace compares NewSpace with spaceOracle, on edges in canonical
// order and shuffled.
func TestNewSpace(t *testing.T) {
	for seed := range 200 {
		r := rand.New(rand.NewPCG(uint64(seed), 13))
		snap, _ := randomMesh(r)
		edges, _ := SelectEdges(snap.Edges, 0)
		if seed%2 == 1 {
			r.Shuffle(len(edges), func(i, j int) { edges[i], edges[j] = edges[j], edges[i] })
		}
		callers, ops, observed := spaceOracle(edges)
		sp := NewSpace(edges)
		if diff := gocmp.Diff(callers, sp.Callers); diff != "" {
			t.Fatalf("seed %d: NewSpace().Callers (-want +got):\n%s", seed, diff)
		}
		if diff := gocmp.Diff(ops, sp.Ops); diff != "" {
			t.Fatalf("seed %d: NewSpace().Ops (-want +got):\n%s", seed, diff)
		}
		if got := sp.Observed(); got != observed {
			t.Errorf("seed %d: NewSpace().Observed() = %d, want %d", seed, got, observed)
		}
		for i, e := range edges {
			if got, want := sp.CallerKeys[sp.EdgeCaller[i]], SourceKey(e.Source); got != want {
				t.Fatalf("seed %d: edge %d: caller %q, want %q", seed, i, got, want)
			}
			if got, want := OperationKey(sp.Ops[sp.EdgeOp[i]]), OperationKey(e); got != want {
				t.Fatalf("seed %d: edge %d: operation %+v, want %+v", seed, i, got, want)
			}
		}
	}
}
