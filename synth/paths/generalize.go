package paths

import (
	"fmt"
	"sort"
	"strings"

	"github.com/meshgen/meshgen/templates"
)

// Observation is one observed path with its request count. Prefix is true when the snapshot folded many
// paths into this prefix (the path ends in "/" and stands for everything below it).
type Observation struct {
	Path     string
	Prefix   bool
	Requests int64
}

// Defaults for the zero values of Options.
const (
	DefaultSiblingThreshold = 16
	DefaultFanoutThreshold  = 32
	DefaultMaxPatterns      = 64
)

// Options tune Generalize. Zero values select the defaults above.
type Options struct {
	// Templates is true when the target Istio supports {*}/{**} (1.22+). When false, every generalised
	// pattern falls back to a classic prefix match ("/a/b/*"), which widens access; each widening is noted.
	Templates bool
	// SiblingThreshold is how many distinct word-like literal siblings at one segment position, with
	// compatible sub-trees, make that position {*} (values that look like identifiers always do). Siblings
	// that are themselves collections (they have {*} or {**} below them) need four times as many. Values
	// below 2 are raised to 2.
	SiblingThreshold int
	// FanoutThreshold is how many distinct exact paths below a prefix, left literal by the other rules
	// (an irregular tree such as static assets), make it a trailing {**}. Templated patterns do not count:
	// a regular API stays precise and only the cap may merge it.
	FanoutThreshold int
	// MaxPatterns caps the patterns returned for one rule. Past it, sub-trees are merged into trailing {**}
	// (deepest prefixes first) and each merge is noted. The first segment is never merged, so the cap can
	// be exceeded; Result.CapExceeded then says so.
	MaxPatterns int
	// GRPC is true when the paths are gRPC method names (/pkg.Service/Method): they are never generalised,
	// and the cap merges whole services into classic "/pkg.Service/*" values.
	GRPC bool
}

func (o Options) withDefaults() Options {
	if o.SiblingThreshold <= 0 {
		o.SiblingThreshold = DefaultSiblingThreshold
	}
	if o.SiblingThreshold < 2 {
		o.SiblingThreshold = 2
	}
	if o.FanoutThreshold <= 0 {
		o.FanoutThreshold = DefaultFanoutThreshold
	}
	if o.MaxPatterns <= 0 {
		o.MaxPatterns = DefaultMaxPatterns
	}
	return o
}

// Pattern is one value for an AuthorizationPolicy `paths` list.
type Pattern struct {
	Value    string   // the value to put in an AuthorizationPolicy `paths` list
	Requests int64    // requests it covers
	Examples []string // up to 3 observed paths it covers (most requested first), for the evidence comment
	Literal  bool     // Value is an exact path
	Wide     bool     // Value matches paths of any depth below a prefix ({**} or a classic "prefix*")
}

// Result is the outcome of Generalize.
type Result struct {
	Patterns []Pattern // sorted by Value; every observed path not in Uncovered is matched by at least one
	Notes    []string  // what was generalised or widened and why
	// Uncovered lists the observations (path query-stripped, requests summed) that no pattern matches,
	// because no `paths` value can express them without allowing every path: paths not starting with '/',
	// and paths such as "/*" or "/{*}/x" that Istio would read as a prefix or template. Each is explained in
	// Notes. Empty in normal traffic.
	Uncovered []Observation
	// CapExceeded is true when more than MaxPatterns patterns remain because merging further would need a
	// wildcard first segment, which Generalize never emits.
	CapExceeded bool
}

// Generalize turns observed paths into `paths` values. In short (README.md in this package has the
// details and the reasons):
//
//   - The query string is dropped; paths are not re-normalised. Paths a template cannot hold (characters
//     outside pchar, empty or dot segments) are kept exact; values that cannot be exact (a trailing '*',
//     literal "{*}") become the narrowest prefix value that covers them, with a note; what only "/*" could
//     cover is reported in Uncovered.
//   - Below the first segment, identifier-like segments (numbers, dates, UUIDs, long hex, random tokens,
//     prefixed ids) become {*}; SiblingThreshold or more word-like siblings with compatible sub-trees
//     become {*}, and their sub-trees are merged and generalised again.
//   - More than FanoutThreshold literal paths below a prefix become prefix/{**}; a folded prefix from the
//     snapshot becomes prefix/{**}.
//   - Patterns covered by others are dropped; past MaxPatterns, sub-trees are merged into {**}.
//   - Without Templates, every template becomes the classic prefix of its literal head ("/a/*").
//   - gRPC method names are never generalised; the cap merges them per service ("/pkg.Service/*").
//
// Every observed path not in Result.Uncovered is matched by a returned pattern (as Match decides), every
// value passes Valid, and the result does not depend on the order of obs.
func Generalize(obs []Observation, opts Options) Result {
	g := &gen{opts: opts.withDefaults(), tpl: newNode(), raw: newNode()}
	g.load(obs)
	if !g.opts.GRPC {
		g.generalize(g.tpl, 0)
	}
	g.pruneAll()
	g.enforceCap()
	return g.emit()
}

type example struct {
	path string
	req  int64
}

// stats are the requests and the top examples behind a pattern.
type stats struct {
	req int64
	ex  []example
}

func (s *stats) add(path string, req int64) {
	s.req += req
	s.addExample(example{path, req})
}

func (s *stats) merge(o *stats) {
	s.req += o.req
	for _, e := range o.ex {
		s.addExample(e)
	}
}

func (s *stats) addExample(e example) {
	// The same path may come twice (observed exactly and as a folded prefix): keep its larger count, which
	// keeps the top three independent of the order of arrival.
	for i, x := range s.ex {
		if x.path == e.path {
			if x.req >= e.req {
				return
			}
			s.ex = append(s.ex[:i], s.ex[i+1:]...)
			break
		}
	}
	i := sort.Search(len(s.ex), func(i int) bool {
		x := s.ex[i]
		return x.req < e.req || x.req == e.req && x.path > e.path
	})
	if i >= 3 {
		return
	}
	s.ex = append(s.ex, example{})
	copy(s.ex[i+1:], s.ex[i:])
	s.ex[i] = e
	if len(s.ex) > 3 {
		s.ex = s.ex[:3]
	}
}

// Why a node ends in {**}.
type globWhy struct {
	observed bool // a folded prefix from the snapshot
	fanout   int  // distinct patterns that the fan-out rule folded
	capped   int  // distinct patterns that the cap folded
}

// node is a position in a trie of path segments. In the template trie, star is the {*} child and glob
// means "node/{**}"; in the raw trie (paths a template cannot hold, and gRPC methods) there is no star and
// glob means the classic prefix "node/*". The lit key "" is the trailing slash.
type node struct {
	lit    map[string]*node
	star   *node
	end    bool // a path ends here
	endSt  stats
	glob   bool
	globSt stats
	why    globWhy
	count  int // patterns at and below this node (see recount)
	lits   int // literal (exact) patterns at and below this node, not counting the {*} sub-tree

	// For a star node: the distinct literal values folded into it and their identifier classes.
	values   map[string]string
	siblings bool // the sibling rule folded word-like values in
}

func newNode() *node { return &node{lit: map[string]*node{}} }

func (n *node) child(seg string) *node {
	c := n.lit[seg]
	if c == nil {
		c = newNode()
		n.lit[seg] = c
	}
	return c
}

func (n *node) empty() bool {
	return !n.end && !n.glob && len(n.lit) == 0 && n.star == nil
}

func (n *node) addValue(v, class string) {
	if n.values == nil {
		n.values = map[string]string{}
	}
	if _, ok := n.values[v]; !ok || class != "" {
		n.values[v] = class
	}
}

func sortedKeys(m map[string]*node) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

type gen struct {
	opts        Options
	tpl, raw    *node
	extras      []outPattern // classic prefixes from prefix observations that do not end in "/"
	notes       []string
	uncovered   []Observation
	capExceeded bool
	budget      int // bounds the work of pruneAgainst on adversarial input
}

// load cleans the observations and fills the tries.
func (g *gen) load(obs []Observation) {
	type key struct {
		path   string
		prefix bool
	}
	agg := map[key]int64{}
	var queries []string
	for _, o := range obs {
		p := stripQuery(o.Path)
		if p != o.Path {
			queries = append(queries, o.Path)
		}
		agg[key{p, o.Prefix}] += max(o.Requests, 0)
	}
	keys := make([]key, 0, len(agg))
	for k := range agg {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].path != keys[j].path {
			return keys[i].path < keys[j].path
		}
		return !keys[i].prefix && keys[j].prefix
	})
	if len(queries) > 0 {
		sort.Strings(queries)
		g.note("%s with a query string or fragment: dropped it, since Istio matches the path without it (e.g. %q)",
			plural(len(queries), "observed path", "observed paths"), queries[0])
	}
	var rawPaths []string
	for _, k := range keys {
		p, req := k.path, agg[k]
		if p == "" || p[0] != '/' {
			g.uncovered = append(g.uncovered, Observation{Path: p, Prefix: k.prefix, Requests: req})
			g.note("path %q not covered: it does not start with '/', so no `paths` value short of \"*\" (any path) would match it", p)
			continue
		}
		if k.prefix {
			g.loadPrefix(p, req)
			continue
		}
		segs := strings.Split(p[1:], "/")
		if !g.opts.GRPC && templateSafe(segs, true) {
			g.insertTemplate(segs, p, req, false)
			continue
		}
		if !g.opts.GRPC {
			rawPaths = append(rawPaths, p)
		}
		n := g.raw
		for _, s := range segs {
			n = n.child(s)
		}
		n.end = true
		n.endSt.add(p, req)
	}
	if len(rawPaths) > 0 {
		g.note("%s with characters a path template cannot hold (outside RFC 3986 pchar, '*', braces, or an empty segment) kept exact and never generalised, e.g. %q",
			plural(len(rawPaths), "path", "paths"), rawPaths[0])
	}
}

func (g *gen) loadPrefix(p string, req int64) {
	if !strings.HasSuffix(p, "/") {
		v, ok := prefixValue(p)
		if !ok {
			g.uncovered = append(g.uncovered, Observation{Path: p, Prefix: true, Requests: req})
			g.note("folded prefix %q not covered: the only prefix value that holds it would match every path", p)
			return
		}
		o := outPattern{value: v, kind: kindPrefix, wide: true}
		o.st.add(p, req)
		g.extras = append(g.extras, o)
		g.note("%s: folded prefix %q does not end in '/', so it is kept as a classic prefix match of any path starting with it", v, p)
		return
	}
	var segs []string
	if p != "/" {
		segs = strings.Split(p[1:len(p)-1], "/")
	}
	if !g.opts.GRPC && templateSafe(segs, false) {
		g.insertTemplate(segs, p, req, true)
		return
	}
	if _, ok := prefixValue(p); !ok {
		g.uncovered = append(g.uncovered, Observation{Path: p, Prefix: true, Requests: req})
		g.note("folded prefix %q not covered: the only prefix value that holds it would match every path", p)
		return
	}
	n := g.raw
	for _, s := range segs {
		n = n.child(s)
	}
	n.glob = true
	n.why.observed = true
	n.globSt.add(p, req)
}

// templateSafe reports whether a path may go into a template: every segment pchar only and non-empty,
// except that the last one may be empty (a trailing slash) when trailingOK, and no "." or ".." segment
// (those only reach the logs when the mesh does not normalise paths; such paths are kept exact rather
// than generalised around a dot-segment).
func templateSafe(segs []string, trailingOK bool) bool {
	for i, s := range segs {
		if s == "" && trailingOK && i == len(segs)-1 {
			continue
		}
		if s == "." || s == ".." || !isPcharSegment(s) {
			return false
		}
	}
	return true
}

// insertTemplate adds a template-safe path to the template trie, turning identifier segments (all but the
// first) into {*}.
func (g *gen) insertTemplate(segs []string, p string, req int64, prefix bool) {
	n := g.tpl
	for i, s := range segs {
		if i >= 1 && s != "" {
			if c := classify(s); c != "" {
				if n.star == nil {
					n.star = newNode()
				}
				n.star.addValue(s, c)
				n = n.star
				continue
			}
		}
		n = n.child(s)
	}
	if prefix {
		n.glob = true
		n.why.observed = true
		n.globSt.add(p, req)
	} else {
		n.end = true
		n.endSt.add(p, req)
	}
}

// generalize applies the sibling and fan-out rules bottom-up. depth is the number of segments above n's
// children; the children of the root (the first segment) are never generalised.
func (g *gen) generalize(n *node, depth int) {
	for _, k := range sortedKeys(n.lit) {
		g.generalize(n.lit[k], depth+1)
	}
	if n.star != nil {
		g.generalize(n.star, depth+1)
	}
	if depth >= 1 {
		if g.mergeSiblings(n) {
			g.generalize(n.star, depth+1) // the merged sub-tree may now show structure of its own
		}
		if below := literalsBelow(n); below > g.opts.FanoutThreshold {
			collapse(n)
			n.why.fanout = max(n.why.fanout, below)
		}
	}
	recountOne(n)
}

// mergeSiblings folds word-like literal children of n into its {*} child when there are many of them and
// their sub-trees are compatible: every immediate child key (or end/trailing-slash/{*}/{**} marker) of
// each folded sibling is shared with at least one other sibling. Siblings with different sub-trees of their
// own (/api/users/login vs /api/orders/checkout) are route names and stay literal.
func (g *gen) mergeSiblings(n *node) bool {
	t := g.opts.SiblingThreshold
	var plain, coll []string
	for k, c := range n.lit {
		if k == "" {
			continue
		}
		if c.star != nil || c.glob {
			coll = append(coll, k)
		} else {
			plain = append(plain, k)
		}
	}
	pick := append(conforming(n, plain, t), conforming(n, coll, 4*t)...)
	if len(pick) == 0 {
		return false
	}
	sort.Strings(pick)
	if n.star == nil {
		n.star = newNode()
	}
	for _, k := range pick {
		c := n.lit[k]
		delete(n.lit, k)
		n.star.addValue(k, "")
		mergeInto(n.star, c)
	}
	n.star.siblings = true
	return true
}

func conforming(n *node, keys []string, threshold int) []string {
	if len(keys) < threshold {
		return nil
	}
	shapes := make(map[string][]string, len(keys))
	freq := map[string]int{}
	for _, k := range keys {
		s := shapeKeys(n.lit[k])
		shapes[k] = s
		for _, x := range s {
			freq[x]++
		}
	}
	var out []string
	for _, k := range keys {
		ok := true
		for _, x := range shapes[k] {
			if freq[x] < 2 {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, k)
		}
	}
	if len(out) < threshold {
		return nil
	}
	return out
}

// shapeKeys describes what is immediately below a node, for the sibling compatibility test.
func shapeKeys(c *node) []string {
	s := make([]string, 0, len(c.lit)+3)
	if c.end {
		s = append(s, "\x00end")
	}
	if c.glob {
		s = append(s, "\x00glob")
	}
	if c.star != nil {
		s = append(s, "\x00star")
	}
	for k := range c.lit {
		s = append(s, "/"+k)
	}
	return s
}

// mergeInto folds src into dst, taking ownership of src's children.
func mergeInto(dst, src *node) {
	if src.end {
		dst.end = true
		dst.endSt.merge(&src.endSt)
	}
	if src.glob {
		dst.glob = true
		dst.globSt.merge(&src.globSt)
		dst.why.observed = dst.why.observed || src.why.observed
		dst.why.fanout = max(dst.why.fanout, src.why.fanout)
		dst.why.capped = max(dst.why.capped, src.why.capped)
	}
	for k, c := range src.lit {
		if d := dst.lit[k]; d != nil {
			mergeInto(d, c)
		} else {
			dst.lit[k] = c
		}
	}
	if src.star != nil {
		if dst.star == nil {
			dst.star = src.star
		} else {
			mergeInto(dst.star, src.star)
		}
	}
	for v, c := range src.values {
		dst.addValue(v, c)
	}
	dst.siblings = dst.siblings || src.siblings
}

// collapse turns everything strictly below n into n/{**} (or the classic n/* in the raw trie).
func collapse(n *node) {
	n.glob = true
	for _, c := range n.lit {
		foldAll(c, &n.globSt)
	}
	if n.star != nil {
		foldAll(n.star, &n.globSt)
	}
	n.lit = map[string]*node{}
	n.star = nil
}

func foldAll(n *node, into *stats) {
	if n.end {
		into.merge(&n.endSt)
	}
	if n.glob {
		into.merge(&n.globSt)
	}
	for _, c := range n.lit {
		foldAll(c, into)
	}
	if n.star != nil {
		foldAll(n.star, into)
	}
}

// countBelow is the number of patterns strictly below n (what n/{**} would replace), from the children's
// counts.
func countBelow(n *node) int {
	c := 0
	if n.glob {
		c++
	}
	for _, x := range n.lit {
		c += x.count
	}
	if n.star != nil {
		c += n.star.count
	}
	return c
}

// literalsBelow is the number of exact paths strictly below n that no other rule generalised: the
// fan-out rule's measure of an irregular tree (templated patterns are already compact).
func literalsBelow(n *node) int {
	c := 0
	for _, x := range n.lit {
		c += x.lits
	}
	return c
}

func recountOne(n *node) {
	n.count = countBelow(n)
	n.lits = literalsBelow(n)
	if n.end {
		n.count++
		n.lits++
	}
}

func recount(n *node) {
	for _, c := range n.lit {
		recount(c)
	}
	if n.star != nil {
		recount(n.star)
	}
	recountOne(n)
}

// pruneAll removes patterns that another pattern of the same trie already covers, folding their requests
// into the covering one: everything below a {**}, and literal branches that the {*} sibling covers.
func (g *gen) pruneAll() {
	g.budget = 1 << 20
	g.prune(g.tpl)
	g.prune(g.raw)
	recount(g.tpl)
	recount(g.raw)
}

func (g *gen) prune(n *node) {
	if n.glob {
		collapse(n)
		return
	}
	for _, k := range sortedKeys(n.lit) {
		c := n.lit[k]
		g.prune(c)
		if k != "" && n.star != nil {
			g.pruneAgainst(c, n.star)
		}
		if c.empty() {
			delete(n.lit, k)
		}
	}
	if n.star != nil {
		g.prune(n.star)
		if n.star.empty() {
			n.star = nil
		}
	}
}

// pruneAgainst removes from l's sub-tree what s's sub-tree covers; l and s stand at the same position.
func (g *gen) pruneAgainst(l, s *node) {
	if g.budget--; g.budget < 0 {
		return
	}
	if l.end && s.end {
		s.endSt.merge(&l.endSt)
		l.end, l.endSt = false, stats{}
	}
	if s.glob {
		if l.glob {
			s.globSt.merge(&l.globSt)
			l.glob, l.globSt = false, stats{}
		}
		for _, c := range l.lit {
			foldAll(c, &s.globSt)
		}
		if l.star != nil {
			foldAll(l.star, &s.globSt)
		}
		l.lit, l.star = map[string]*node{}, nil
		return
	}
	for _, k := range sortedKeys(l.lit) {
		c := l.lit[k]
		if sc := s.lit[k]; sc != nil {
			g.pruneAgainst(c, sc)
		}
		if k != "" && s.star != nil && !c.empty() {
			g.pruneAgainst(c, s.star)
		}
		if c.empty() {
			delete(l.lit, k)
		}
	}
	if l.star != nil && s.star != nil {
		g.pruneAgainst(l.star, s.star)
		if l.star.empty() {
			l.star = nil
		}
	}
}

// enforceCap merges sub-trees into a trailing {**} (classic prefixes in the raw trie) until at most
// MaxPatterns remain, widening as little as it can: it picks the deepest prefix depth whose merges alone can
// remove the excess, and at that depth merges the sub-tree that removes all of the remaining excess while
// losing the fewest templated patterns (then the smallest), or else the largest one and repeats. The first
// segment is never merged away.
func (g *gen) enforceCap() {
	limit := g.opts.MaxPatterns
	total := g.tpl.count + g.raw.count + len(g.extras)
	if total <= limit {
		return
	}
	before := total
	var merged []string
	maxD := max(maxDepth(g.tpl, 0), maxDepth(g.raw, 0))
	for total > limit {
		excess := total - limit
		var cands []capCandidate
		for d := maxD; d >= 1; d-- {
			cands = g.capCandidates(d)
			potential := 0
			for _, c := range cands {
				potential += c.below - 1
			}
			if potential >= excess {
				break
			}
		}
		if len(cands) == 0 {
			break
		}
		for len(cands) > 0 && total > limit {
			excess = total - limit
			pick := -1
			for i, c := range cands {
				// Of the merges that remove the whole excess alone, the one that loses the fewest templated
				// patterns (literal siblings are likelier to be unrecognised identifiers or files than an
				// API's shape), then the smallest.
				if c.below-1 < excess {
					continue
				}
				if pick < 0 || c.templated() < cands[pick].templated() ||
					c.templated() == cands[pick].templated() && c.below < cands[pick].below {
					pick = i
				}
			}
			if pick < 0 {
				pick = 0 // the largest; candidates are sorted largest first
			}
			c := cands[pick]
			cands = append(cands[:pick], cands[pick+1:]...)
			collapse(c.n)
			c.n.why.capped = max(c.n.why.capped, c.below)
			total -= c.below - 1
			merged = append(merged, fmt.Sprintf("%s (%d patterns)", c.path, c.below))
		}
		recount(g.tpl)
		recount(g.raw)
		total = g.tpl.count + g.raw.count + len(g.extras)
	}
	if len(merged) > 0 {
		sort.Strings(merged)
		g.note("cap of %d patterns per rule reached (%d patterns): merged everything below %s into one pattern each",
			limit, before, strings.Join(merged, ", "))
	}
	if total > limit {
		g.capExceeded = true
		g.note("cap of %d patterns per rule not met: %d patterns remain, because merging further would need a wildcard first segment, which would allow paths under prefixes never observed",
			limit, total)
	}
}

type capCandidate struct {
	n     *node
	path  string
	raw   bool
	below int
}

// templated is how many of the patterns a merge would remove are templates rather than exact paths.
func (c capCandidate) templated() int { return c.below - literalsBelow(c.n) }

// capCandidates lists the nodes at depth d (segments below the root) whose merge would remove at least
// one pattern, largest first.
func (g *gen) capCandidates(d int) []capCandidate {
	var cands []capCandidate
	var walk func(n *node, segs []string, raw bool)
	walk = func(n *node, segs []string, raw bool) {
		if len(segs) == d {
			if b := countBelow(n); b >= 2 {
				dir := "/" + strings.Join(segs, "/") + "/"
				if raw {
					if _, ok := prefixValue(dir); !ok {
						return
					}
				}
				cands = append(cands, capCandidate{n, dir, raw, b})
			}
			return
		}
		for _, k := range sortedKeys(n.lit) {
			walk(n.lit[k], append(segs, k), raw)
		}
		if n.star != nil {
			walk(n.star, append(segs, opOne), raw)
		}
	}
	walk(g.tpl, nil, false)
	walk(g.raw, nil, true)
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].below != cands[j].below {
			return cands[i].below > cands[j].below
		}
		if cands[i].path != cands[j].path {
			return cands[i].path < cands[j].path
		}
		return !cands[i].raw && cands[j].raw
	})
	return cands
}

func maxDepth(n *node, d int) int {
	m := d
	for _, c := range n.lit {
		m = max(m, maxDepth(c, d+1))
	}
	if n.star != nil {
		m = max(m, maxDepth(n.star, d+1))
	}
	return m
}

func (g *gen) note(format string, args ...any) {
	g.notes = append(g.notes, fmt.Sprintf(format, args...))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return templates.Commas(int64(n)) + " " + many
}
