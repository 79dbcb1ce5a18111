package eval

import (
	"cmp"
	"encoding/binary"
	"slices"
	"strconv"
	"strings"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// Deciding (caller, operation) combinations by classes.
//
// check's privilege summary and diff's access changes decide every caller
// with every operation of each destination workload: millions of
// combinations on a large mesh. Most of them are decided alike: a policy set
// tells callers apart only through its matchers of the caller, and
// operations only through their attributes. So the combinations of one
// workload are grouped into classes, and one combination of each pair of
// classes is replayed.
//
// Why that is exact. Replay reads, of the caller, only Source.Principal and
// Source.IP; of an operation, only Destination, Reporter, Port, Protocol,
// Method, Path and PathPrefix. Through a replay, the caller's principal and
// IP are read only
//   - by the tests Principal == "" (plaintext: PeerAuthentication, ztunnel's
//     plaintext handling, the DISABLE downgrade), and
//   - by the matchers of rule sources and conditions that read the caller,
//     which say so when compiled (valueMatch.src, match.go's reads), of the
//     policies that the decision looks at: those of compiledSet.candidates
//     that applies() does not rule out, a set that depends on the point, the
//     destination, the Service and the waypoint, never on the caller, the
//     port, the method or the path.
//
// The matchers of one field of a source or condition (a constraint) all read
// the same attribute, and the constraint's evaluation depends on them only
// through anyOf over its values and anyOf over its negated values (the one
// side effect, recording the unknown attribute "source IP", happens exactly
// when such a value is unknown). The hop of a waypoint's connection to
// ztunnel carries the waypoint's principal and no IP: it does not read the
// caller. A DISABLE downgrade decides with the principal removed, where the
// matchers of the principal are constant and those of the IP are the
// caller's. So two callers that agree on "plaintext or not" and on the pair
// of anyOf values of every such constraint of the policies that any
// operation of the workload can reach, in every policy set, go through
// identical decisions, step by step: same outcome, same deciding policy and
// rule, same reason (only the Request recorded in the hops differs). Callers
// are grouped by that signature; the principals that a rule lists together
// (and nowhere else) fall into one class.
//
// Likewise the path is read only by the path matchers (valueMatch.path) and
// by the tests Path == ""; a folded prefix puts the path itself in a reason.
// Operations of a workload are grouped by Service, reporter, port, protocol,
// method, and the values of the workload's path matchers on their path (for
// TCP, whose method and path replay ignores, by neither; for a folded prefix,
// by the path itself).
//
// The brute force (every combination replayed) is kept in the tests as the
// oracle, compared on randomized meshes and policy sets.

// Block is the combinations of one destination workload, in classes: every
// caller of a caller class with every operation of an operation class is
// decided alike by every policy set, with the Verdict of the class pair.
// A Block is valid only during the call of the function it is passed to.
type Block struct {
	Namespace, Workload string
	// OpClasses are the workload's operations, as indices into the
	// operations given, ascending within a class; classes are in the order
	// of their first operation.
	OpClasses [][]int

	nCallers int
	// classes are the caller classes: explicit member lists, and at most one
	// class (rest) of the callers in no explicit class.
	classes  []callerClass
	nsets    int
	verdicts []Verdict // [set][callerClass][opClass]
}

type callerClass struct {
	members []int // ascending; nil for the rest class
	size    int
	rep     int
	rest    bool
}

// CallerClasses returns the number of caller classes.
func (b *Block) CallerClasses() int { return len(b.classes) }

// ClassSize returns the number of callers in caller class i.
func (b *Block) ClassSize(i int) int { return b.classes[i].size }

// AppendMembers appends the callers of caller class i (indices into the
// callers given, ascending) to dst.
func (b *Block) AppendMembers(dst []int, i int) []int {
	c := b.classes[i]
	if !c.rest {
		return append(dst, c.members...)
	}
	in := make([]bool, b.nCallers)
	for _, o := range b.classes {
		for _, m := range o.members {
			in[m] = true
		}
	}
	for m := range b.nCallers {
		if !in[m] {
			dst = append(dst, m)
		}
	}
	return dst
}

// Verdict returns the verdict of policy set set for the callers of caller
// class callerClass with the operations of operation class opClass. Its
// hops carry the requests of one representative caller and operation.
func (b *Block) Verdict(set, callerClass, opClass int) Verdict {
	return b.verdicts[(set*len(b.classes)+callerClass)*len(b.OpClasses)+opClass]
}

// Decisions returns the number of replays DecideClasses makes for b.
func (b *Block) decisions() int { return b.nsets * len(b.classes) * len(b.OpClasses) }

// DecideClasses decides every combination of a caller of callers with an
// operation of ops (edges whose Source is ignored; each belongs to its
// destination workload) against each policy set, replaying one
// combination per pair of classes (see Block), and calls fn with each
// destination workload's block, in the order of the workloads' first
// operation. decisions is the number of replays; when it would exceed
// maxDecisions (> 0), nothing is replayed, fn is not called and ok is false.
func DecideClasses(sets []*PolicySet, idx *snapshot.Index, trustDomain string, callers []snapshot.Source, ops []*snapshot.Edge,
	maxDecisions int, fn func(b *Block)) (decisions int, ok bool) {
	cs := make([]*compiledSet, len(sets))
	for i, ps := range sets {
		cs[i] = ps.compiled()
	}
	return decideClasses(cs, idx, trustDomain, callers, ops, maxDecisions, fn)
}

func decideClasses(sets []*compiledSet, idx *snapshot.Index, trustDomain string, callers []snapshot.Source, ops []*snapshot.Edge,
	maxDecisions int, fn func(b *Block)) (decisions int, ok bool) {
	k := newClassifier(sets, idx, trustDomain, callers)
	blocks := k.blocks(ops)
	for _, b := range blocks {
		decisions += b.decisions()
	}
	if maxDecisions > 0 && decisions > maxDecisions {
		return decisions, false
	}
	for _, b := range blocks {
		k.decide(b, ops)
		fn(b)
		b.verdicts = nil
	}
	return decisions, true
}

// classifier groups callers and operations into classes.
type classifier struct {
	sets    []*compiledSet
	idx     *snapshot.Index
	td      string
	callers []snapshot.Source
	views   []*view
	// byPrincipal indexes the callers with a principal.
	byPrincipal map[string][]int
	atoms       map[string]*atomVals
	plaintext   *atomVals

	// Scratch space of one block.
	block   int
	sigs    [][]byte
	touched []int
}

// atomVals are the values of one caller constraint (or of "plaintext or
// not") for every caller: def for all but the exceptions exc.
type atomVals struct {
	def   byte
	exc   []callerVal
	block int // the last block that counted it, +1
}

type callerVal struct {
	caller int
	v      byte
}

func newClassifier(sets []*compiledSet, idx *snapshot.Index, td string, callers []snapshot.Source) *classifier {
	k := &classifier{
		sets:        sets,
		idx:         idx,
		td:          cmp.Or(td, DefaultTrustDomain),
		callers:     callers,
		views:       make([]*view, len(callers)),
		byPrincipal: map[string][]int{},
		atoms:       map[string]*atomVals{},
		sigs:        make([][]byte, len(callers)),
	}
	for i, s := range callers {
		k.views[i] = newView(&Request{Principal: s.Principal, SourceIP: s.IP})
		if s.Principal != "" {
			k.byPrincipal[s.Principal] = append(k.byPrincipal[s.Principal], i)
		}
	}
	k.plaintext = k.dense(func(v *view) byte {
		if v.principal == "" {
			return 1
		}
		return 0
	})
	return k
}

// dense evaluates value for every caller; the most frequent value is the
// default.
func (k *classifier) dense(value func(v *view) byte) *atomVals {
	vals := make([]byte, len(k.views))
	n := map[byte]int{}
	for i, v := range k.views {
		v.unk = v.unk[:0]
		vals[i] = value(v)
		n[vals[i]]++
	}
	a := &atomVals{def: vals[0]}
	for _, t := range vals {
		if n[t] > n[a.def] {
			a.def = t
		}
	}
	for i, t := range vals {
		if t != a.def {
			a.exc = append(a.exc, callerVal{i, t})
		}
	}
	return a
}

// atom returns the values of a caller constraint for every caller.
func (k *classifier) atom(cc *callerConstraint) *atomVals {
	if a, ok := k.atoms[cc.key]; ok {
		return a
	}
	var a *atomVals
	if cc.exact {
		// Only exact principals: every caller without one of them gets the
		// value of a plaintext caller (no principal matches either).
		a = &atomVals{def: cc.value(&view{req: &Request{}})}
		seen := map[int]bool{}
		for _, p := range cc.principals {
			for _, c := range k.byPrincipal[p] {
				if seen[c] {
					continue
				}
				seen[c] = true
				v := k.views[c]
				v.unk = v.unk[:0]
				if t := cc.value(v); t != a.def {
					a.exc = append(a.exc, callerVal{c, t})
				}
			}
		}
		slices.SortFunc(a.exc, func(x, y callerVal) int { return cmp.Compare(x.caller, y.caller) })
	} else {
		a = k.dense(cc.value)
	}
	k.atoms[cc.key] = a
	return a
}

// callerConstraint is a constraint whose matchers read the caller.
type callerConstraint struct {
	key string
	c   constraint
	// exact: every usable matcher is a principal matcher with an exact
	// pattern, one of principals.
	exact      bool
	principals []string
}

// value is what the constraint's evaluation depends on: anyOf over its
// values and over its negated values, 3 for none usable.
func (cc *callerConstraint) value(v *view) byte {
	one := func(vals []valueMatch) byte {
		t, ok := anyOf(vals, v)
		if !ok {
			return 3
		}
		return byte(t)
	}
	return one(cc.c.pos)<<2 | one(cc.c.neg)
}

// opGroup is the operations of one destination workload.
type opGroup struct {
	ns, wl string
	ops    []int
}

// blocks groups ops by destination workload and each group into classes.
func (k *classifier) blocks(ops []*snapshot.Edge) []*Block {
	type wkey struct{ ns, wl string }
	byWL := map[wkey]*opGroup{}
	var groups []*opGroup
	for i, e := range ops {
		wk := wkey{e.Destination.Namespace, e.Destination.Workload}
		g := byWL[wk]
		if g == nil {
			g = &opGroup{ns: wk.ns, wl: wk.wl}
			byWL[wk] = g
			groups = append(groups, g)
		}
		g.ops = append(g.ops, i)
	}
	out := make([]*Block, 0, len(groups))
	for _, g := range groups {
		out = append(out, k.classify(g, ops))
	}
	return out
}

// tracer records the requests a replay decides.
type tracer struct{ reqs []traced }

type traced struct {
	p   Point
	req Request
}

func (t *tracer) decide(p Point, req Request) Decision {
	t.reqs = append(t.reqs, traced{p, req})
	return Decision{Outcome: Allow, Rule: -1}
}

// classify computes the classes of one workload's operations.
func (k *classifier) classify(g *opGroup, ops []*snapshot.Edge) *Block {
	k.block++
	b := &Block{Namespace: g.ns, Workload: g.wl, nCallers: len(k.callers), nsets: len(k.sets)}

	// The policies the decisions may look at, for each distinct context of
	// the workload's operations (the requests a replay makes, whatever the
	// caller, port, method or path).
	type ctxKey struct {
		service, reporter string
		port              int
		protocol          string
	}
	seenCtx := map[ctxKey]bool{}
	var tr tracer
	for _, o := range g.ops {
		e := ops[o]
		ck := ctxKey{e.Destination.Service, e.Reporter, e.Port, e.Protocol}
		if seenCtx[ck] {
			continue
		}
		seenCtx[ck] = true
		replayEdge(k.idx, k.td, e, tr.decide)
	}
	var pols []*cpolicy
	seenPol := map[*cpolicy]bool{}
	for _, c := range k.sets {
		for _, t := range tr.reqs {
			for _, p := range c.consulted(t.p, t.req) {
				if !seenPol[p] {
					seenPol[p] = true
					pols = append(pols, p)
				}
			}
		}
	}

	// Caller classes: each caller's signature is the list of the matchers
	// (by position) on which it differs from the matcher's default.
	atoms := []*atomVals{k.plaintext}
	k.plaintext.block = k.block
	var pathMatchers []valueMatch
	seenPath := map[string]bool{}
	for _, p := range pols {
		for i := range p.callerConstraints {
			a := k.atom(&p.callerConstraints[i])
			if a.block != k.block {
				a.block = k.block
				atoms = append(atoms, a)
			}
		}
		for _, m := range p.pathMatchers {
			if !seenPath[m.src] {
				seenPath[m.src] = true
				pathMatchers = append(pathMatchers, m)
			}
		}
	}
	for _, c := range k.touched {
		k.sigs[c] = k.sigs[c][:0]
	}
	k.touched = k.touched[:0]
	for pos, a := range atoms {
		for _, x := range a.exc {
			if len(k.sigs[x.caller]) == 0 {
				k.touched = append(k.touched, x.caller)
			}
			k.sigs[x.caller] = binary.AppendUvarint(k.sigs[x.caller], uint64(pos))
			k.sigs[x.caller] = append(k.sigs[x.caller], x.v)
		}
	}
	slices.Sort(k.touched)
	if rest := len(k.callers) - len(k.touched); rest > 0 {
		// The callers on the defaults of every matcher; the first of them
		// represents them.
		rep := len(k.touched)
		for i, c := range k.touched {
			if c != i {
				rep = i
				break
			}
		}
		b.classes = append(b.classes, callerClass{size: rest, rep: rep, rest: true})
	}
	bySig := map[string]int{}
	for _, c := range k.touched {
		i, ok := bySig[string(k.sigs[c])]
		if !ok {
			i = len(b.classes)
			bySig[string(k.sigs[c])] = i
			b.classes = append(b.classes, callerClass{rep: c})
		}
		b.classes[i].members = append(b.classes[i].members, c)
		b.classes[i].size++
	}

	// Operation classes.
	byOp := map[string]int{}
	pv := &view{req: &Request{}}
	var key []byte
	for _, o := range g.ops {
		e := ops[o]
		key = append(key[:0], e.Destination.Service...)
		key = append(key, 0)
		key = append(key, e.Reporter...)
		key = append(key, 0)
		key = strconv.AppendInt(key, int64(e.Port), 10)
		key = append(key, 0)
		key = append(key, e.Protocol...)
		key = append(key, 0)
		switch {
		case e.Protocol == snapshot.ProtocolTCP:
			// Replay drops the method and the path of TCP.
			key = append(key, 'T')
		case e.PathPrefix:
			key = append(key, e.Method...)
			key = append(key, 0, 'P')
			key = append(key, e.Path...)
		case e.Path == "":
			key = append(key, e.Method...)
			key = append(key, 0, 'E')
		default:
			key = append(key, e.Method...)
			key = append(key, 0, 'M')
			pv.req.Path = e.Path
			for _, m := range pathMatchers {
				pv.unk = pv.unk[:0]
				key = append(key, byte(m.fn(pv)))
			}
		}
		i, ok := byOp[string(key)]
		if !ok {
			i = len(b.OpClasses)
			byOp[string(key)] = i
			b.OpClasses = append(b.OpClasses, nil)
		}
		b.OpClasses[i] = append(b.OpClasses[i], o)
	}
	return b
}

// decide replays one combination of each pair of classes of b.
func (k *classifier) decide(b *Block, ops []*snapshot.Edge) {
	b.verdicts = make([]Verdict, 0, b.decisions())
	for _, c := range k.sets {
		for _, cc := range b.classes {
			for _, oc := range b.OpClasses {
				e := *ops[oc[0]]
				e.Source = k.callers[cc.rep]
				b.verdicts = append(b.verdicts, c.replay(k.idx, k.td, &e))
			}
		}
	}
}

// consulted returns the policies whose rules a decision of req at p may
// evaluate: authorize's candidates that applies() does not rule out.
func (c *compiledSet) consulted(p Point, req Request) []*cpolicy {
	req = normalize(req)
	v := newView(&req)
	var out []*cpolicy
	for _, pol := range c.candidates(p, &req) {
		v.unk = v.unk[:0]
		if c.applies(p, pol, &req, v) != triFalse {
			out = append(out, pol)
		}
	}
	return out
}

// collectReads lists the policy's constraints that read the caller and its
// matchers that read the path, one per function.
func (p *cpolicy) collectReads() {
	seen := map[string]bool{}
	add := func(cs []constraint) {
		for i := range cs {
			c := &cs[i]
			all := slices.Concat(c.pos, c.neg)
			if len(all) == 0 || all[0].src == "" {
				continue
			}
			if all[0].path {
				for _, m := range all {
					if !seen["path\x00"+m.src] {
						seen["path\x00"+m.src] = true
						p.pathMatchers = append(p.pathMatchers, m)
					}
				}
				continue
			}
			// The matchers of a constraint are all of one field: they read
			// the same attribute (appendC tags them alike).
			var key strings.Builder
			cc := callerConstraint{c: *c, exact: true}
			for side, list := range [][]valueMatch{c.pos, c.neg} {
				key.WriteString([]string{"\x01+", "\x01-"}[side])
				for _, m := range list {
					key.WriteString("\x02")
					if m.bad {
						key.WriteString("bad:")
						continue // never evaluated (anyOf skips it)
					}
					key.WriteString(m.src)
					if pattern, ok := exactPrincipal(m.src); ok {
						cc.principals = append(cc.principals, pattern)
					} else {
						cc.exact = false
					}
				}
			}
			cc.key = key.String()
			if !seen[cc.key] {
				seen[cc.key] = true
				p.callerConstraints = append(p.callerConstraints, cc)
			}
		}
	}
	for _, r := range p.rules {
		for _, cs := range r.envoy.from {
			add(cs)
		}
		for _, cs := range r.envoy.to {
			add(cs)
		}
		add(r.envoy.when)
		for _, clause := range r.zt.clauses {
			for _, cs := range clause {
				add(cs)
			}
		}
	}
}

// exactPrincipal returns the pattern of a principal matcher (src of
// readsCaller("principal")) without wildcard.
func exactPrincipal(src string) (string, bool) {
	p, ok := strings.CutPrefix(src, "principal\x00")
	if !ok || p == "" || strings.HasPrefix(p, "*") || strings.HasSuffix(p, "*") {
		return "", false
	}
	return p, true
}
