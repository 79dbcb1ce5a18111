package paths

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// checkResult asserts the product promise on any Generalize output:
//   - every observed path (and, for a folded prefix, paths below it) is matched, unless listed in Uncovered;
//   - every value is Valid, accepted by istiod and, for a template, by Envoy's parser;
//   - no value allows every path unless the root itself was observed as a folded prefix;
//   - a path under a fresh top-level segment is denied;
//   - patterns are sorted and unique, at most MaxPatterns unless CapExceeded, with examples they match;
//   - requests are conserved.
func checkResult(t *testing.T, obs []Observation, opts Options, r Result) {
	t.Helper()
	opts = opts.withDefaults()
	type key struct {
		path   string
		prefix bool
	}
	uncovered := map[key]bool{}
	for _, u := range r.Uncovered {
		uncovered[key{u.Path, u.Prefix}] = true
	}
	matchedBy := func(p string) bool {
		for _, x := range r.Patterns {
			if Match(x.Value, p) {
				return true
			}
		}
		return false
	}
	var want int64
	rootFolded := false
	var heads []string // literal heads of values that may legitimately widen to a prefix
	for _, o := range obs {
		p := stripQuery(o.Path)
		if o.Prefix {
			if p == "/" {
				rootFolded = true
			}
			heads = append(heads, cutTemplate(p))
		} else if isTemplate(p) || strings.HasSuffix(p, "*") {
			heads = append(heads, strings.TrimSuffix(cutTemplate(p), "*"))
		}
		if uncovered[key{p, o.Prefix}] {
			continue
		}
		want += max(o.Requests, 0)
		if !matchedBy(p) {
			t.Errorf("observed path %q (prefix %v) is matched by none of %q", p, o.Prefix, valuesOf(r))
		}
		if o.Prefix && strings.HasSuffix(p, "/") && !matchedBy(p+"x/y.z") {
			t.Errorf("path %q below folded prefix %q is matched by none of %q", p+"x/y.z", p, valuesOf(r))
		}
	}
	var got int64
	for i, x := range r.Patterns {
		got += x.Requests
		if i > 0 && r.Patterns[i-1].Value >= x.Value {
			t.Errorf("patterns not sorted and unique: %q then %q", r.Patterns[i-1].Value, x.Value)
		}
		if err := Valid(x.Value); err != nil {
			t.Errorf("pattern %q is not Valid: %v", x.Value, err)
		}
		if !istiodAccepts(x.Value) {
			t.Errorf("pattern %q is rejected by istiod's CheckValidPathTemplate", x.Value)
		}
		if isTemplate(x.Value) {
			if !opts.Templates {
				t.Errorf("pattern %q is a template, but Options.Templates is false", x.Value)
			}
			if _, err := parseEnvoyTemplate(sanitizeTemplate(x.Value)); err != nil {
				t.Errorf("pattern %q is rejected by Envoy's parser: %v", x.Value, err)
			}
		}
		if (x.Value == "/*" || x.Value == "/{**}" || x.Value == "*") && !rootFolded {
			t.Errorf("pattern %q allows every path, but the root was not observed as a folded prefix", x.Value)
		}
		if x.Literal && (isTemplate(x.Value) || strings.HasSuffix(x.Value, "*")) {
			t.Errorf("pattern %q is marked Literal but is not an exact match", x.Value)
		}
		if len(x.Examples) > 3 {
			t.Errorf("pattern %q has %d examples, want at most 3", x.Value, len(x.Examples))
		}
		for _, e := range x.Examples {
			if !Match(x.Value, e) {
				t.Errorf("pattern %q does not match its own example %q", x.Value, e)
			}
		}
	}
	if got != want {
		t.Errorf("patterns cover %d requests, want %d (the covered observations)", got, want)
	}
	if len(r.Patterns) > opts.MaxPatterns && !r.CapExceeded {
		t.Errorf("%d patterns exceed MaxPatterns %d, but CapExceeded is false", len(r.Patterns), opts.MaxPatterns)
	}
	if opts.GRPC {
		return
	}
	if !rootFolded {
		fresh := freshPath(obs, heads)
		if matchedBy(fresh) {
			t.Errorf("path %q under an unseen top-level segment is matched by %q", fresh, valuesOf(r))
		}
	}
}

func cutTemplate(p string) string {
	if i := strings.Index(p, "{*"); i >= 0 {
		return p[:i]
	}
	return p
}

// freshPath returns a two-segment path whose first segment no observation uses and that no widened head
// is a prefix of.
func freshPath(obs []Observation, heads []string) string {
	used := map[string]bool{}
	for _, o := range obs {
		used[firstSegment(stripQuery(o.Path))] = true
	}
next:
	for i := 0; i < 1000; i++ {
		c := fmt.Sprintf("fresh%d", i)
		p := "/" + c + "/x"
		if used[c] {
			continue
		}
		for _, h := range heads {
			if h != "" && h != "/" && strings.HasPrefix(p, h) {
				continue next
			}
		}
		return p
	}
	panic("no fresh path found")
}

// randomPaths draws paths from a vocabulary of route words, identifiers, word-like values and characters
// that templates cannot hold.
func randomPaths(rng *rand.Rand, n int) []Observation {
	words := []string{"api", "v1", "users", "orders", "items", "static", "css", "profile", "admin", "x", "a.b", "~u", "q=1", "%2F"}
	weird := []string{"a b", "*", "a*", "{*}", "{**}", "{x}", "é", "\"", "", "?", "#f", "{", "}", "%", "\\"}
	seg := func() string {
		switch r := rng.IntN(10); {
		case r < 4:
			return words[rng.IntN(len(words))]
		case r < 6:
			return fmt.Sprint(rng.IntN(100000))
		case r < 7:
			return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<16), rng.IntN(1<<16), rng.Uint64()&(1<<48-1))
		case r < 9:
			return names(40)[rng.IntN(40)]
		default:
			return weird[rng.IntN(len(weird))]
		}
	}
	var obs []Observation
	for i := 0; i < n; i++ {
		var b strings.Builder
		depth := 1 + rng.IntN(5)
		for d := 0; d < depth; d++ {
			b.WriteByte('/')
			b.WriteString(seg())
		}
		p := b.String()
		o := Observation{Requests: int64(rng.IntN(20)) - 1}
		switch r := rng.IntN(20); {
		case r == 0:
			p += "/"
			o.Prefix = true
		case r == 1:
			p += "/"
		case r == 2:
			p = strings.TrimPrefix(p, "/")
		case r == 3:
			o.Prefix = true
		}
		o.Path = p
		obs = append(obs, o)
	}
	return obs
}

func TestGeneralizeProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for i := 0; i < 300; i++ {
		obs := randomPaths(rng, 1+rng.IntN(300))
		opts := Options{
			Templates:        rng.IntN(3) > 0,
			SiblingThreshold: rng.IntN(20),
			FanoutThreshold:  rng.IntN(60),
			MaxPatterns:      rng.IntN(80),
			GRPC:             rng.IntN(10) == 0,
		}
		r := Generalize(obs, opts)
		checkResult(t, obs, opts, r)
		shuffled := append([]Observation{}, obs...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if diff := cmp.Diff(r, Generalize(shuffled, opts)); diff != "" {
			t.Fatalf("Generalize is not deterministic under input order (-first +shuffled):\n%s", diff)
		}
		if t.Failed() {
			t.Fatalf("failed on iteration %d with options %+v", i, opts)
		}
	}
}

// FuzzGeneralize: every observed path is matched (or reported Uncovered) and every value is valid.
// Input: one observation per line; a leading '+' marks a folded prefix.
func FuzzGeneralize(f *testing.F) {
	f.Add("/orders/123\n/orders/456\n/api/v1/users", true, uint8(0), uint8(0), uint8(0), false)
	f.Add("+/static/\n/static/a.css\n/a b/1\n/x/y*\n/{*}/z", true, uint8(2), uint8(3), uint8(4), false)
	f.Add("/shop.v1.Cart/Add\n/shop.v1.Cart/Del\n+/", false, uint8(0), uint8(0), uint8(1), true)
	f.Add("/a/{**}/b\n/a//b/\n?x\n/u/é/1\n/%/{\n+/dl/file", false, uint8(1), uint8(1), uint8(2), false)
	f.Fuzz(func(t *testing.T, data string, templates bool, sib, fan, capN uint8, grpc bool) {
		var obs []Observation
		for _, line := range strings.Split(data, "\n") {
			o := Observation{Path: line, Requests: int64(len(line) % 7)}
			if strings.HasPrefix(line, "+") {
				o.Path, o.Prefix = line[1:], true
			}
			obs = append(obs, o)
		}
		opts := Options{Templates: templates, SiblingThreshold: int(sib % 32), FanoutThreshold: int(fan % 64), MaxPatterns: int(capN % 80), GRPC: grpc}
		checkResult(t, obs, opts, Generalize(obs, opts))
	})
}

// refMatch is a deliberately simple reference for Match: Istio's plain rules through regular
// expressions, and templates in meshgen's grammar (Valid) compiled as Envoy compiles them
// (uri_template_internal.cc toRegexPattern). ok is false for templates outside that grammar.
func refMatch(pattern, path string) (matched, ok bool) {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	var re string
	switch {
	case pattern == "":
		return false, true
	case strings.Contains(pattern, "{*}") || strings.Contains(pattern, "{**}"):
		if Valid(pattern) != nil {
			return false, false
		}
		const pchar = `a-zA-Z0-9\-._~%!$&'()+,;:@=`
		var parts []string
		for _, s := range strings.Split(pattern[1:], "/") {
			switch s {
			case "{*}":
				parts = append(parts, "["+pchar+"]+")
			case "{**}":
				parts = append(parts, "["+pchar+"/]*")
			default:
				parts = append(parts, regexp.QuoteMeta(s))
			}
		}
		re = "^/" + strings.Join(parts, "/") + "$"
	case !utf8.ValidString(pattern):
		return false, false // Go's regexp cannot express such a pattern
	case pattern == "*":
		re = `^.+$`
	case strings.HasPrefix(pattern, "*"):
		re = `(?s)^.*` + regexp.QuoteMeta(pattern[1:]) + `$`
	case strings.HasSuffix(pattern, "*"):
		re = `(?s)^` + regexp.QuoteMeta(pattern[:len(pattern)-1]) + `.*$`
	default:
		return path == pattern, true
	}
	return regexp.MustCompile(re).MatchString(path), true
}

// FuzzMatch: Match never panics and agrees with refMatch wherever refMatch has an opinion.
func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"/foo/{*}", "/foo/bar"}, {"/foo/{**}/", "/foo/bar/baz.txt"}, {"/foo/{*}/bar/{**}", "/foo/buzz/bar/baz"},
		{"/foo/{**}/bar", "/foo//bar"}, {"/a/*", "/a/x/y"}, {"*/info", "/x/info"}, {"*", ""}, {"*", "\n"},
		{"/foo/{*}.txt", "/foo/a.txt"}, {"/{**}", "/"}, {"/a/{*}/", "/a/%20/?q"}, {"/{v=a/*}/{**}", "/a/b/c"},
		{"/users/{*}", "/users/a b"}, {"**", "/x*"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		got := Match(pattern, path)
		if want, ok := refMatch(pattern, path); ok && got != want {
			t.Errorf("Match(%q, %q) = %v, reference says %v", pattern, path, got, want)
		}
		// Random strings are rarely valid templates, so also compare on a template derived from pattern.
		if derived := deriveTemplate(pattern); Valid(derived) == nil {
			want, _ := refMatch(derived, path)
			if got := Match(derived, path); got != want {
				t.Errorf("Match(%q, %q) = %v, reference says %v", derived, path, got, want)
			}
		}
		if err := Valid(pattern); err == nil && isTemplate(pattern) {
			if _, err := parseEnvoyTemplate(sanitizeTemplate(pattern)); err != nil {
				t.Errorf("Valid(%q) = nil, but Envoy's parser rejects it: %v", pattern, err)
			}
			if !istiodAccepts(pattern) {
				t.Errorf("Valid(%q) = nil, but istiod rejects it", pattern)
			}
		}
	})
}

// deriveTemplate turns any string into a template of meshgen's grammar: segments that are not pchar become
// {*} ("*" becomes {**} once), empty middle segments are dropped, and operators after {**} become literals.
func deriveTemplate(s string) string {
	var out []string
	seenAny := false
	parts := strings.Split(strings.TrimPrefix(s, "/"), "/")
	for i, p := range parts {
		switch {
		case p == "" && i == len(parts)-1 && i > 0:
			out = append(out, "")
			continue
		case p == "":
			continue
		case p == "*" || p == opAny:
			p = opAny
		case p == opOne || !isPcharSegment(p):
			p = opOne
		}
		if p == opAny || p == opOne {
			if seenAny {
				p = "x"
			}
			seenAny = seenAny || p == opAny
		}
		out = append(out, p)
	}
	return "/" + strings.Join(out, "/")
}

func TestMatchAgreesWithReference(t *testing.T) {
	var patterns []string
	segs := []string{"a", "{*}", "{**}", "", "b"}
	for _, x := range segs {
		for _, y := range segs {
			for _, z := range segs {
				patterns = append(patterns, "/"+x+"/"+y+"/"+z, "/"+x+"/"+y)
			}
		}
	}
	patterns = append(patterns, "*", "*/b", "/a*", "/a/*", "/a", "**")
	var pathsList []string
	psegs := []string{"a", "b", "", "c d", "x*", "%41"}
	for _, x := range psegs {
		for _, y := range psegs {
			pathsList = append(pathsList, "/"+x, "/"+x+"/"+y, "/"+x+"/"+y+"/", "/"+x+"/"+y+"/a/b", "/"+x+"/"+y+"?q=/a")
		}
	}
	sort.Strings(patterns)
	for _, p := range patterns {
		for _, q := range pathsList {
			if want, ok := refMatch(p, q); ok && Match(p, q) != want {
				t.Errorf("Match(%q, %q) = %v, reference says %v", p, q, !want, want)
			}
		}
	}
}
