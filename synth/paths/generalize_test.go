package paths

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func obsOf(paths ...string) []Observation {
	var o []Observation
	for _, p := range paths {
		o = append(o, Observation{Path: p, Requests: 1})
	}
	return o
}

func valuesOf(r Result) []string {
	var v []string
	for _, p := range r.Patterns {
		v = append(v, p.Value)
	}
	return v
}

// names returns n distinct lower-case word-like names (first+last name pairs).
func names(n int) []string {
	first := []string{"anna", "bruno", "clara", "dmitri", "elena", "felix", "greta", "hugo", "irene", "jonas"}
	last := []string{"smith", "novak", "rossi", "meyer", "silva", "kowal", "dubois", "berg", "costa", "lind"}
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, first[i%10]+last[i/10%10]+strings.Repeat("x", i/100))
	}
	return out
}

func TestGeneralizeIdentifiers(t *testing.T) {
	tests := []struct {
		name  string
		paths []string
		want  []string
	}{
		{name: "decimal", paths: []string{"/orders/123", "/orders/456"}, want: []string{"/orders/{*}"}},
		{name: "single id is generalised too", paths: []string{"/orders/123"}, want: []string{"/orders/{*}"}},
		{name: "uuid with action", paths: []string{"/users/123e4567-e89b-12d3-a456-426614174000/profile"}, want: []string{"/users/{*}/profile"}},
		{name: "hex object id", paths: []string{"/objects/507f1f77bcf86cd799439011"}, want: []string{"/objects/{*}"}},
		{name: "ulid", paths: []string{"/events/01ARZ3NDEKTSV4RRFFQ69G5FAV"}, want: []string{"/events/{*}"}},
		{name: "ksuid and base64", paths: []string{"/t/0ujsswThIGTUYm2K8FjOOfXtY1K", "/t/SGVsbG8gV29ybGQhIQ=="}, want: []string{"/t/{*}"}},
		{name: "dates", paths: []string{"/reports/2026-11-27", "/reports/20261128/pdf"}, want: []string{"/reports/{*}", "/reports/{*}/pdf"}},
		{name: "prefixed", paths: []string{"/customers/cus_NffrFeUfNV2Hib"}, want: []string{"/customers/{*}"}},
		{name: "id with extension", paths: []string{"/img/12345.png"}, want: []string{"/img/{*}"}},
		{name: "ids at several depths", paths: []string{"/orders/1/items/2", "/orders/3/items/4"}, want: []string{"/orders/{*}/items/{*}"}},
		{name: "trailing slash kept", paths: []string{"/orders/1/"}, want: []string{"/orders/{*}/"}},
		{name: "first segment never generalised", paths: []string{"/123", "/456/x"}, want: []string{"/123", "/456/x"}},
		{name: "routes stay literal", paths: []string{"/api/v1/users", "/api/v1/orders", "/api/v1/payments"},
			want: []string{"/api/v1/orders", "/api/v1/payments", "/api/v1/users"}},
		{name: "word and id siblings: id covers leaf word", paths: []string{"/orders/123", "/orders/pending"}, want: []string{"/orders/{*}"}},
		{name: "word sibling with own sub-tree stays", paths: []string{"/orders/123", "/orders/pending/count"},
			want: []string{"/orders/pending/count", "/orders/{*}"}},
		{name: "root path", paths: []string{"/"}, want: []string{"/"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Generalize(obsOf(tc.paths...), Options{Templates: true})
			if diff := cmp.Diff(tc.want, valuesOf(got)); diff != "" {
				t.Errorf("Generalize(%q) values mismatch (-want +got):\n%s\nnotes: %q", tc.paths, diff, got.Notes)
			}
		})
	}
}

func TestGeneralizeSiblings(t *testing.T) {
	prefixed := func(prefix string, ss []string, suffix string) []string {
		var out []string
		for _, s := range ss {
			out = append(out, prefix+s+suffix)
		}
		return out
	}
	var routes20 []string // 20 route names, each with its own action: different sub-trees
	for i, n := range names(20) {
		routes20 = append(routes20, fmt.Sprintf("/api/%s/action%c", n, 'a'+i))
	}
	var collections []string // 20 collections with ids below them
	for _, n := range names(20) {
		collections = append(collections, "/api/"+n+"/42")
	}
	var posts []string // 20 users with 2 posts each, post names unique per user
	for i, n := range names(20) {
		posts = append(posts, fmt.Sprintf("/blog/%s/posts/first%c", n, 'a'+i), fmt.Sprintf("/blog/%s/posts/second%c", n, 'a'+i))
	}
	tests := []struct {
		name  string
		paths []string
		opts  Options
		want  []string
	}{
		{name: "50 usernames", paths: prefixed("/users/", names(50), ""), want: []string{"/users/{*}"}},
		{name: "15 usernames below default threshold 16", paths: prefixed("/users/", names(15), ""), want: prefixed("/users/", sortedCopy(names(15)), "")},
		{name: "15 usernames with threshold 8", paths: prefixed("/users/", names(15), ""), opts: Options{SiblingThreshold: 8}, want: []string{"/users/{*}"}},
		{name: "usernames with a shared action", paths: prefixed("/users/", names(20), "/profile"), want: []string{"/users/{*}/profile"}},
		{name: "one user with an action of its own keeps it",
			paths: append(prefixed("/users/", names(20), "/profile"), "/users/annasmith/special"),
			want:  []string{"/users/annasmith/special", "/users/{*}/profile"}},
		{name: "routes with their own sub-trees stay", paths: routes20, want: sortedCopy(routes20)},
		{name: "collections need four times the threshold", paths: collections, want: prefixed("/api/", sortedCopy(names(20)), "/{*}")},
		{name: "collections past four times the threshold", paths: collections, opts: Options{SiblingThreshold: 5}, want: []string{"/api/{*}/{*}"}},
		{name: "merged sub-trees generalise again", paths: posts, want: []string{"/blog/{*}/posts/{*}"}},
		// Documented limit: leaf route names past the threshold cannot be told from values.
		{name: "16 leaf route names collapse", paths: prefixed("/rpc/", names(16), ""), want: []string{"/rpc/{*}"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Templates = true
			got := Generalize(obsOf(tc.paths...), tc.opts)
			if diff := cmp.Diff(tc.want, valuesOf(got)); diff != "" {
				t.Errorf("Generalize values mismatch (-want +got):\n%s\nnotes: %q", diff, got.Notes)
			}
		})
	}
}

func sortedCopy(s []string) []string {
	c := append([]string{}, s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

func TestGeneralizeFanoutAndPrefix(t *testing.T) {
	var static []string // 5 directories x 8 distinct files = 40 patterns below /static/
	for d := 0; d < 5; d++ {
		for f := 0; f < 8; f++ {
			static = append(static, fmt.Sprintf("/static/dir%c/file%c%c.css", 'a'+d, 'a'+d, 'a'+f))
		}
	}
	tests := []struct {
		name      string
		obs       []Observation
		templates bool
		want      []string
		wantWide  []bool
		wantNote  string
	}{
		{name: "fan-out below a prefix", obs: obsOf(append(static, "/index.html")...), templates: true,
			want: []string{"/index.html", "/static/{**}"}, wantWide: []bool{false, true}, wantNote: "fan-out threshold of 32"},
		{name: "fan-out classic", obs: obsOf(static...), want: []string{"/static/*"}, wantWide: []bool{true}, wantNote: "Istio below 1.22"},
		{name: "below the fan-out threshold", obs: obsOf(static[:32]...), templates: true, want: sortedCopy(static[:32]), wantWide: make([]bool, 32)},
		{name: "folded prefix", obs: []Observation{{Path: "/logs/", Prefix: true, Requests: 5}, {Path: "/logs/a", Requests: 1}, {Path: "/logs", Requests: 1}},
			templates: true, want: []string{"/logs", "/logs/{**}"}, wantWide: []bool{false, true}, wantNote: "snapshot folded many paths"},
		{name: "folded prefix classic", obs: []Observation{{Path: "/logs/", Prefix: true, Requests: 5}},
			want: []string{"/logs/*"}, wantWide: []bool{true}, wantNote: "Istio below 1.22"},
		{name: "folded prefix with id", obs: []Observation{{Path: "/users/42/", Prefix: true}}, templates: true,
			want: []string{"/users/{*}/{**}"}, wantWide: []bool{true}},
		{name: "folded root", obs: []Observation{{Path: "/", Prefix: true}}, templates: true, want: []string{"/{**}"}, wantWide: []bool{true}},
		{name: "folded prefix without slash", obs: []Observation{{Path: "/dl/file", Prefix: true}}, templates: true,
			want: []string{"/dl/file*"}, wantWide: []bool{true}, wantNote: "does not end in '/'"},
		{name: "folded prefix with a space", obs: []Observation{{Path: "/my dir/", Prefix: true}}, templates: true,
			want: []string{"/my dir/*"}, wantWide: []bool{true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Generalize(tc.obs, Options{Templates: tc.templates})
			if diff := cmp.Diff(tc.want, valuesOf(got)); diff != "" {
				t.Fatalf("Generalize values mismatch (-want +got):\n%s\nnotes: %q", diff, got.Notes)
			}
			var wide []bool
			for _, p := range got.Patterns {
				wide = append(wide, p.Wide)
			}
			if diff := cmp.Diff(tc.wantWide, wide); diff != "" {
				t.Errorf("Generalize Wide mismatch (-want +got):\n%s", diff)
			}
			if tc.wantNote != "" && !strings.Contains(strings.Join(got.Notes, "\n"), tc.wantNote) {
				t.Errorf("Generalize notes = %q, want one containing %q", got.Notes, tc.wantNote)
			}
		})
	}
}

func TestGeneralizeClassic(t *testing.T) {
	got := Generalize(obsOf("/orders/123", "/orders/123/items", "/health"), Options{Templates: false})
	if diff := cmp.Diff([]string{"/health", "/orders/*"}, valuesOf(got)); diff != "" {
		t.Fatalf("Generalize values mismatch (-want +got):\n%s", diff)
	}
	want := "/orders/*: Istio below 1.22 has no path templates, so this classic prefix stands for /orders/{*}, /orders/{*}/items and widens access to any path below /orders/"
	if !contains(got.Notes, want) {
		t.Errorf("Generalize notes = %q, want %q among them", got.Notes, want)
	}
	if got.Patterns[1].Requests != 2 {
		t.Errorf("Generalize /orders/* Requests = %d, want 2", got.Patterns[1].Requests)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestGeneralizeGRPC(t *testing.T) {
	methods := []string{"/shop.v1.Cart/AddItem", "/shop.v1.Cart/RemoveItem", "/shop.v1.Cart/123", "/shop.v1.Order/Get"}
	got := Generalize(obsOf(methods...), Options{GRPC: true, Templates: true})
	if diff := cmp.Diff(sortedCopy(methods), valuesOf(got)); diff != "" {
		t.Errorf("Generalize(gRPC) values mismatch (-want +got):\n%s", diff)
	}
	got = Generalize(obsOf(methods...), Options{GRPC: true, Templates: true, MaxPatterns: 2})
	if diff := cmp.Diff([]string{"/shop.v1.Cart/*", "/shop.v1.Order/Get"}, valuesOf(got)); diff != "" {
		t.Errorf("Generalize(gRPC, cap 2) values mismatch (-want +got):\n%s", diff)
	}
	if got.CapExceeded || !strings.Contains(strings.Join(got.Notes, "\n"), "cap of 2 patterns") {
		t.Errorf("Generalize(gRPC, cap 2) CapExceeded = %v, notes %q; want false and a cap note", got.CapExceeded, got.Notes)
	}
}

func TestGeneralizeCap(t *testing.T) {
	paths := []string{"/a/b/c1", "/a/b/c2", "/a/b/c3", "/a/d", "/e"}
	got := Generalize(obsOf(paths...), Options{Templates: true, MaxPatterns: 3})
	if diff := cmp.Diff([]string{"/a/b/{**}", "/a/d", "/e"}, valuesOf(got)); diff != "" {
		t.Errorf("Generalize(cap 3) values mismatch (-want +got):\n%s", diff)
	}
	if got.CapExceeded {
		t.Errorf("Generalize(cap 3) CapExceeded = true, want false")
	}
	got = Generalize(obsOf(paths...), Options{Templates: true, MaxPatterns: 2})
	if diff := cmp.Diff([]string{"/a/{**}", "/e"}, valuesOf(got)); diff != "" {
		t.Errorf("Generalize(cap 2) values mismatch (-want +got):\n%s", diff)
	}
	got = Generalize(obsOf("/a", "/b", "/c"), Options{Templates: true, MaxPatterns: 2})
	if diff := cmp.Diff([]string{"/a", "/b", "/c"}, valuesOf(got)); diff != "" {
		t.Errorf("Generalize(top-level only, cap 2) values mismatch (-want +got):\n%s", diff)
	}
	if !got.CapExceeded {
		t.Errorf("Generalize(top-level only, cap 2) CapExceeded = false, want true")
	}
}

func TestGeneralizeUnsafeCharacters(t *testing.T) {
	tests := []struct {
		name          string
		path          string
		want          []string
		wantUncovered []Observation
		wantNote      string
	}{
		{name: "space keeps the whole path exact", path: "/files/my file/123", want: []string{"/files/my file/123"}},
		{name: "non-ASCII keeps the path exact", path: "/café/123", want: []string{"/café/123"}},
		{name: "quote", path: "/q/a\"b/7", want: []string{"/q/a\"b/7"}},
		{name: "percent-encoding is pchar", path: "/files/a%20b/123", want: []string{"/files/a%20b/{*}"}},
		{name: "empty segment", path: "/a//b/1", want: []string{"/a//b/1"}},
		{name: "dot-dot segment is not normalised or generalised", path: "/a/../b/1", want: []string{"/a/../b/1"}},
		{name: "dot segment", path: "/a/./1", want: []string{"/a/./1"}},
		{name: "star inside is literal", path: "/a/b*c", want: []string{"/a/b*c"}},
		{name: "trailing star would be a prefix", path: "/a/b*", want: []string{"/a/b*"}, wantNote: "cannot be written exactly"},
		{name: "template text would be a template", path: "/a/{*}/c", want: []string{"/a/*"}, wantNote: "cannot be written exactly"},
		{name: "named braces widen to the prefix before them", path: "/a/{id}", want: []string{"/a/*"}, wantNote: "cannot be written exactly"},
		{name: "template text right after the root", path: "/{*}", wantUncovered: []Observation{{Path: "/{*}", Requests: 1}}},
		{name: "not origin-form", path: "*", wantUncovered: []Observation{{Path: "*", Requests: 1}}},
		{name: "empty", path: "", wantUncovered: []Observation{{Path: "", Requests: 1}}},
		{name: "query dropped", path: "/a?x=1", want: []string{"/a"}, wantNote: "query string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Generalize(obsOf(tc.path), Options{Templates: true})
			if diff := cmp.Diff(tc.want, valuesOf(got)); diff != "" {
				t.Errorf("Generalize(%q) values mismatch (-want +got):\n%s", tc.path, diff)
			}
			if diff := cmp.Diff(tc.wantUncovered, got.Uncovered); diff != "" {
				t.Errorf("Generalize(%q) Uncovered mismatch (-want +got):\n%s", tc.path, diff)
			}
			if tc.wantNote != "" && !strings.Contains(strings.Join(got.Notes, "\n"), tc.wantNote) {
				t.Errorf("Generalize(%q) notes = %q, want one containing %q", tc.path, got.Notes, tc.wantNote)
			}
			checkResult(t, obsOf(tc.path), Options{Templates: true}, got)
		})
	}
}

// TestProductPromise walks through the five promises of the issue on one realistic input.
func TestProductPromise(t *testing.T) {
	var paths []string
	paths = append(paths, "/api/v1/users", "/api/v1/orders", "/api/v1/payments", "/orders/123", "/orders/456", "/users/1", "/users/2", "/healthz")
	for _, n := range names(30) {
		paths = append(paths, "/profiles/"+n)
	}
	obs := obsOf(paths...)
	got := Generalize(obs, Options{Templates: true})
	want := []string{"/api/v1/orders", "/api/v1/payments", "/api/v1/users", "/healthz", "/orders/{*}", "/profiles/{*}", "/users/{*}"}
	if diff := cmp.Diff(want, valuesOf(got)); diff != "" {
		t.Fatalf("Generalize values mismatch (-want +got):\n%s", diff)
	}
	matched := func(p string) bool {
		for _, x := range got.Patterns {
			if Match(x.Value, p) {
				return true
			}
		}
		return false
	}
	// (1) every observed path is matched.
	for _, p := range paths {
		if !matched(p) {
			t.Errorf("observed path %q is not matched by %q", p, valuesOf(got))
		}
	}
	// (2) identifiers not seen yet, and new usernames, match.
	for _, p := range []string{"/orders/789", "/users/3", "/profiles/zoe"} {
		if !matched(p) {
			t.Errorf("unseen identifier path %q is not matched by %q", p, valuesOf(got))
		}
	}
	// (3) route names do not collapse, and {*} is one segment.
	for _, p := range []string{"/api/v1/admin", "/users/123/delete", "/orders/1/cancel", "/profiles/zoe/secret"} {
		if matched(p) {
			t.Errorf("path %q, never seen, is matched by %q", p, valuesOf(got))
		}
	}
	// (4) other top-level prefixes are denied.
	for _, p := range []string{"/admin", "/admin/users/1", "/internal/orders/1"} {
		if matched(p) {
			t.Errorf("path %q under an unseen top-level prefix is matched by %q", p, valuesOf(got))
		}
	}
	// (5) deterministic regardless of input order.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5; i++ {
		shuffled := append([]Observation{}, obs...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if diff := cmp.Diff(got, Generalize(shuffled, Options{Templates: true})); diff != "" {
			t.Fatalf("Generalize(shuffled) differs (-first +shuffled):\n%s", diff)
		}
	}
	// A deeper path, once seen, is allowed.
	got = Generalize(obsOf("/users/1", "/users/5/delete"), Options{Templates: true})
	if diff := cmp.Diff([]string{"/users/{*}", "/users/{*}/delete"}, valuesOf(got)); diff != "" {
		t.Errorf("Generalize values mismatch (-want +got):\n%s", diff)
	}
}

func TestGeneralizeEvidence(t *testing.T) {
	obs := []Observation{
		{Path: "/orders/1", Requests: 5},
		{Path: "/orders/2", Requests: 50},
		{Path: "/orders/3", Requests: 7},
		{Path: "/orders/4", Requests: 7},
		{Path: "/orders/2", Requests: 1}, // duplicate: summed
		{Path: "/health", Requests: 3},
	}
	got := Generalize(obs, Options{Templates: true})
	want := []Pattern{
		{Value: "/health", Requests: 3, Examples: []string{"/health"}, Literal: true},
		{Value: "/orders/{*}", Requests: 70, Examples: []string{"/orders/2", "/orders/3", "/orders/4"}},
	}
	if diff := cmp.Diff(want, got.Patterns); diff != "" {
		t.Errorf("Generalize patterns mismatch (-want +got):\n%s", diff)
	}
	wantNote := "/orders/{*}: 4 distinct values seen at this segment (4 decimal), e.g. 1, 2, 3; any single segment matches here"
	if !contains(got.Notes, wantNote) {
		t.Errorf("Generalize notes = %q, want %q among them", got.Notes, wantNote)
	}
}
