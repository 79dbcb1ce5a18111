package paths

import (
	"fmt"
	"sort"
	"strings"

	"github.com/meshgen/meshgen/templates"
)

// Kinds of emitted values.
const (
	kindExact    = iota // exact path
	kindPrefix          // classic "prefix*"
	kindTemplate        // path template with {*} and/or {**}
)

type outPattern struct {
	value string
	kind  int
	segs  []string // template segments (kindTemplate)
	st    stats
	wide  bool
}

// prefixValue returns the classic prefix value that matches every path starting with p. A brace in p
// would turn the value into a template or be refused by istiod, so the value is cut just before the first
// one (which widens it); ok is
// false when that leaves only "/" for a longer p, since "/*" would allow every path.
func prefixValue(p string) (string, bool) {
	cut := p
	if i := strings.IndexAny(p, "{}"); i >= 0 {
		cut = p[:i]
	}
	if cut == "" || cut == "/" && p != "/" {
		return "", false
	}
	return cut + "*", true
}

// exactValue returns the value that matches exactly the observed path p. A path that ends in '*' or
// contains a brace ("{*}", "{**}", "{id}") cannot be written exactly (Istio would read a prefix match or a template): it
// gets the narrowest prefix value that still matches it, and widened is true. ok is false when even that
// would be "/*", which allows every path.
//
// A brace anywhere is refused by istiod unless it is part of a whole {*} or {**} segment, and '{' is
// not a pchar that a template segment could match, so a path with a brace also gets the prefix value
// that ends just before its first brace.
func exactValue(p string) (value string, widened, ok bool) {
	brace := strings.IndexAny(p, "{}")
	if brace < 0 && !strings.HasSuffix(p, "*") {
		return p, false, true
	}
	head := p[:len(p)-1]
	if brace >= 0 {
		head = p[:brace]
	}
	if head == "" || head == "/" {
		return "", true, false
	}
	return head + "*", true, true
}

// emit turns the tries into sorted patterns and notes.
func (g *gen) emit() Result {
	var out []outPattern
	classic := map[string][]string{} // classic value -> the templates it stands for (Templates == false)

	var walkTpl func(n *node, segs []string)
	walkTpl = func(n *node, segs []string) {
		if n.end {
			out = append(out, g.templateOrClassic(segs, false, n.endSt, classic))
		}
		if n.glob {
			out = append(out, g.templateOrClassic(segs, true, n.globSt, classic))
			g.globNote("/"+strings.Join(append(append([]string{}, segs...), opAny), "/"), segs, n.why)
		}
		for _, k := range sortedKeys(n.lit) {
			walkTpl(n.lit[k], append(segs, k))
		}
		if n.star != nil {
			s := append(segs, opOne)
			g.starNote("/"+strings.Join(s, "/"), n.star)
			walkTpl(n.star, s)
		}
	}
	walkTpl(g.tpl, nil)

	var walkRaw func(n *node, segs []string)
	walkRaw = func(n *node, segs []string) {
		p := "/" + strings.Join(segs, "/")
		if n.end {
			v, widened, ok := exactValue(p)
			switch {
			case !ok:
				g.uncovered = append(g.uncovered, Observation{Path: p, Requests: n.endSt.req})
				g.note("path %q not covered: it contains \"{*\" or ends in '*' right after the first '/', and any value that holds it would allow every path", p)
			case widened:
				out = append(out, outPattern{value: v, kind: kindPrefix, st: n.endSt, wide: true})
				g.note("%s: path %q cannot be written exactly (Istio reads a trailing '*' as a prefix match and \"{*}\" as a template), so this prefix value, which matches every path starting with %q, covers it",
					v, p, strings.TrimSuffix(v, "*"))
			default:
				out = append(out, outPattern{value: v, kind: kindExact, st: n.endSt})
			}
		}
		if n.glob {
			dir := p + "/"
			if len(segs) == 0 {
				dir = "/"
			}
			if v, ok := prefixValue(dir); ok {
				out = append(out, outPattern{value: v, kind: kindPrefix, st: n.globSt, wide: true})
				g.globNote(v, segs, n.why)
			}
		}
		for _, k := range sortedKeys(n.lit) {
			walkRaw(n.lit[k], append(segs, k))
		}
	}
	walkRaw(g.raw, nil)
	out = append(out, g.extras...)

	for _, v := range sortedStrings(classic) {
		ts := classic[v]
		sort.Strings(ts)
		ts = compactStrings(ts)
		g.note("%s: Istio below 1.22 has no path templates, so this classic prefix stands for %s and widens access to any path below %s",
			v, strings.Join(ts, ", "), strings.TrimSuffix(v, "*"))
	}

	out = dedupe(out)
	out = removeCovered(out)
	res := Result{Notes: g.notes, Uncovered: g.uncovered, CapExceeded: g.capExceeded}
	for _, o := range out {
		p := Pattern{Value: o.value, Requests: o.st.req, Literal: o.kind == kindExact, Wide: o.wide}
		for _, e := range o.st.ex {
			p.Examples = append(p.Examples, e.path)
		}
		res.Patterns = append(res.Patterns, p)
	}
	sort.Slice(res.Uncovered, func(i, j int) bool {
		a, b := res.Uncovered[i], res.Uncovered[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return !a.Prefix && b.Prefix
	})
	return res
}

// templateOrClassic builds the value for segs (plus a trailing {**} when glob).
func (g *gen) templateOrClassic(segs []string, glob bool, st stats, classic map[string][]string) outPattern {
	all := segs
	if glob {
		all = append(append([]string{}, segs...), opAny)
	}
	value := "/" + strings.Join(all, "/")
	first := -1
	for i, s := range all {
		if s == opOne || s == opAny {
			first = i
			break
		}
	}
	if first < 0 {
		return outPattern{value: value, kind: kindExact, st: st}
	}
	if g.opts.Templates {
		return outPattern{value: value, kind: kindTemplate, segs: all, st: st, wide: glob}
	}
	head := "/" + strings.Join(all[:first], "/")
	if first > 0 {
		head += "/"
	}
	v := head + "*"
	classic[v] = append(classic[v], value)
	return outPattern{value: v, kind: kindPrefix, st: st, wide: true}
}

func (g *gen) starNote(path string, star *node) {
	if len(star.values) == 0 {
		return
	}
	vals := make([]string, 0, len(star.values))
	classes := map[string]int{}
	words := 0
	for v, c := range star.values {
		vals = append(vals, v)
		if c == "" {
			words++
		} else {
			classes[c]++
		}
	}
	sort.Strings(vals)
	if len(vals) > 3 {
		vals = vals[:3]
	}
	var why []string
	for _, c := range sortedStrings(classes) {
		why = append(why, fmt.Sprintf("%s %s", templates.Commas(int64(classes[c])), c))
	}
	if words > 0 {
		why = append(why, fmt.Sprintf("%s word-like, past the sibling threshold of %d", templates.Commas(int64(words)), g.opts.SiblingThreshold))
	}
	g.note("%s: %s seen at this segment (%s), e.g. %s; any single segment matches here",
		path, plural(len(star.values), "distinct value", "distinct values"), strings.Join(why, "; "), strings.Join(vals, ", "))
}

func (g *gen) globNote(value string, segs []string, why globWhy) {
	dir := "/" + strings.Join(segs, "/")
	if len(segs) > 0 {
		dir += "/"
	}
	var reasons []string
	if why.observed {
		reasons = append(reasons, "the snapshot folded many paths into this prefix")
	}
	if why.fanout > 0 {
		reasons = append(reasons, fmt.Sprintf("%s distinct literal paths below it exceeded the fan-out threshold of %d", templates.Commas(int64(why.fanout)), g.opts.FanoutThreshold))
	}
	if why.capped > 0 {
		reasons = append(reasons, fmt.Sprintf("merged %s patterns to meet the cap of %d", templates.Commas(int64(why.capped)), g.opts.MaxPatterns))
	}
	if len(reasons) == 0 {
		return
	}
	g.note("%s: wide, matches any path below %s (%s)", value, dir, strings.Join(reasons, "; "))
}

func sortedStrings[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// dedupe merges patterns with the same value.
func dedupe(in []outPattern) []outPattern {
	sort.SliceStable(in, func(i, j int) bool { return in[i].value < in[j].value })
	var out []outPattern
	for _, o := range in {
		if n := len(out); n > 0 && out[n-1].value == o.value {
			out[n-1].st.merge(&o.st)
			out[n-1].wide = out[n-1].wide || o.wide
			continue
		}
		out = append(out, o)
	}
	return out
}

// maxCoverers bounds the coverers checked per first segment in removeCovered.
const maxCoverers = 4096

// removeCovered drops every pattern that another pattern covers (matches all it matches), folding its
// requests into a covering pattern that nothing else covers. Input is sorted and deduplicated.
func removeCovered(in []outPattern) []outPattern {
	// Coverers are the non-exact patterns, indexed by first segment; those whose literal head ends inside
	// the first segment ("/ab*", "/{**}") may cover any partition.
	byFirst := map[string][]int{}
	var global []int
	for i, o := range in {
		if o.kind == kindExact {
			continue
		}
		if f, ok := coverPartition(o); ok {
			byFirst[f] = append(byFirst[f], i)
		} else {
			global = append(global, i)
		}
	}
	coverersOf := func(i int) []int {
		cands := byFirst[firstSegment(in[i].value)]
		if len(cands) > maxCoverers {
			cands = nil // quadratic work on a huge partition (only with a huge MaxPatterns): skip it
		}
		var c []int
		for _, j := range append(cands[:len(cands):len(cands)], global...) {
			if j != i && covers(in[j], in[i]) {
				c = append(c, j)
			}
		}
		return c
	}
	covered := make([]bool, len(in))
	cov := make([][]int, len(in))
	for i := range in {
		cov[i] = coverersOf(i)
		covered[i] = len(cov[i]) > 0
	}
	// Fold each covered pattern into an uncovered one that covers it: a direct coverer if one is uncovered,
	// else follow the chain of coverers (covers is sound but not complete, so a chain may be needed).
	target := func(i int) int {
		j := i
		for steps := 0; covered[j] && steps <= len(in); steps++ {
			next := cov[j][0]
			for _, k := range cov[j] {
				if !covered[k] {
					next = k
					break
				}
			}
			j = next
		}
		return j
	}
	for i := range in {
		if !covered[i] {
			continue
		}
		if j := target(i); !covered[j] {
			in[j].st.merge(&in[i].st)
		} else {
			covered[i] = false // cannot happen with an acyclic relation; keep the pattern rather than lose it
		}
	}
	var out []outPattern
	for i, o := range in {
		if !covered[i] {
			out = append(out, o)
		}
	}
	return out
}

func firstSegment(v string) string {
	if !strings.HasPrefix(v, "/") {
		return v
	}
	s, _, _ := strings.Cut(v[1:], "/")
	return s
}

// coverPartition returns the first segment that every path a non-exact pattern matches starts with, when
// the pattern fixes it.
func coverPartition(o outPattern) (string, bool) {
	switch o.kind {
	case kindPrefix:
		head := strings.TrimSuffix(o.value, "*")
		if !strings.HasPrefix(head, "/") || strings.Count(head, "/") < 2 {
			return "", false
		}
		return firstSegment(head), true
	case kindTemplate:
		if len(o.segs) == 0 || o.segs[0] == opOne || o.segs[0] == opAny {
			return "", false
		}
		return o.segs[0], true
	}
	return "", false
}

// covers reports whether a matches every path b matches.
func covers(a, b outPattern) bool {
	switch a.kind {
	case kindPrefix:
		head := strings.TrimSuffix(a.value, "*")
		switch b.kind {
		case kindExact:
			return strings.HasPrefix(b.value, head)
		case kindPrefix:
			return strings.HasPrefix(strings.TrimSuffix(b.value, "*"), head)
		case kindTemplate:
			return strings.HasPrefix(templateHead(b.segs), head)
		}
	case kindTemplate:
		switch b.kind {
		case kindExact:
			return Match(a.value, b.value)
		case kindTemplate:
			return segsCover(a.segs, b.segs)
		}
	}
	return false
}

// templateHead is the literal text every path matched by the template starts with: "/" and the literal
// segments before the first operator, each followed by "/".
func templateHead(segs []string) string {
	var b strings.Builder
	b.WriteByte('/')
	for _, s := range segs {
		if s == opOne || s == opAny {
			break
		}
		b.WriteString(s)
		b.WriteByte('/')
	}
	return b.String()
}

// segsCover decides template coverage on segments (both in meshgen's grammar, literals pchar).
func segsCover(a, b []string) bool {
	for len(a) > 0 {
		switch a[0] {
		case opAny:
			tail := a[1:]
			rest := b
			if len(rest) < len(tail)+1 {
				return false
			}
			for i, t := range tail {
				x := rest[len(rest)-len(tail)+i]
				if x != t || x == opOne || x == opAny {
					return false
				}
			}
			return true
		case opOne:
			if len(b) == 0 || b[0] == "" || b[0] == opAny {
				return false
			}
		default:
			if len(b) == 0 || b[0] != a[0] {
				return false
			}
		}
		a, b = a[1:], b[1:]
	}
	return len(b) == 0
}
