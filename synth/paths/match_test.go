package paths

import "testing"

// TestMatchDocumented checks every example of istio-semantics.md section 1.7 ("Path matching rules" and
// the documented template examples from istio/api authorization_policy.proto `Operation.paths`).
func TestMatchDocumented(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		path    string
		want    bool
	}{
		// 1.7 plain values.
		{name: "exact", pattern: "/a/b", path: "/a/b", want: true},
		{name: "exact is not prefix", pattern: "/a/b", path: "/a/b/c", want: false},
		{name: "exact is case-sensitive", pattern: "/a/b", path: "/A/b", want: false},
		{name: "prefix", pattern: "/a/*", path: "/a/", want: true},
		{name: "prefix crosses segments", pattern: "/a/*", path: "/a/x/y/z", want: true},
		{name: "prefix needs its slash", pattern: "/a/*", path: "/a", want: false},
		{name: "suffix", pattern: "*/info", path: "/x/y/info", want: true},
		{name: "suffix mismatch", pattern: "*/info", path: "/x/information", want: false},
		{name: "star any non-empty", pattern: "*", path: "/anything/at/all", want: true},
		{name: "star not empty", pattern: "*", path: "", want: false},
		{name: "star in the middle is literal", pattern: "/a/*/b", path: "/a/x/b", want: false},
		{name: "star in the middle matches itself", pattern: "/a/*/b", path: "/a/*/b", want: true},
		{name: "query ignored", pattern: "/a/b", path: "/a/b?x=1", want: true},
		{name: "fragment ignored", pattern: "/a/b", path: "/a/b#top", want: true},

		// 1.7 templates: documented examples.
		{name: "one segment", pattern: "/foo/{*}", path: "/foo/bar", want: true},
		{name: "one segment only", pattern: "/foo/{*}", path: "/foo/bar/baz", want: false},
		{name: "any then slash: one", pattern: "/foo/{**}/", path: "/foo/bar/", want: true},
		{name: "any then slash: empty", pattern: "/foo/{**}/", path: "/foo//", want: true},
		{name: "any then slash: no trailing slash", pattern: "/foo/{**}/", path: "/foo/bar", want: false},
		// The API doc says /foo/{**}/ matches /foo/bar/baz.txt, but Envoy's matcher is a full match of the
		// regex /foo/[pchar/]*/ (uri_template_internal.cc toRegexPattern, uri_template_match.cc FullMatch):
		// a path not ending in '/' cannot match. We follow the code.
		{name: "any then slash: doc example is wrong", pattern: "/foo/{**}/", path: "/foo/bar/baz.txt", want: false},
		{name: "any then slash: deeper with slash", pattern: "/foo/{**}/", path: "/foo/bar/baz/", want: true},
		{name: "one then any: trailing slash", pattern: "/foo/{*}/bar/{**}", path: "/foo/buzz/bar/", want: true},
		{name: "one then any: deeper", pattern: "/foo/{*}/bar/{**}", path: "/foo/buzz/bar/baz", want: true},
		{name: "one then any: no slash after bar", pattern: "/foo/{*}/bar/{**}", path: "/foo/buzz/bar", want: false},
		// Section 8 item 2 (UNCONFIRMED in the reference): /foo/{**} is the regex /foo/[pchar/]*, so /foo
		// does not match and /foo/ does (INFERRED from Envoy's code, as above).
		{name: "any does not match the bare prefix", pattern: "/foo/{**}", path: "/foo", want: false},
		{name: "any matches the prefix with slash", pattern: "/foo/{**}", path: "/foo/", want: true},
		{name: "any matches deep", pattern: "/foo/{**}", path: "/foo/a/b/c.txt", want: true},
		{name: "literal after any", pattern: "/foo/{**}/bar", path: "/foo/x/y/bar", want: true},
		{name: "literal after any: zero segments is //", pattern: "/foo/{**}/bar", path: "/foo//bar", want: true},
		{name: "literal after any: not /foo/bar", pattern: "/foo/{**}/bar", path: "/foo/bar", want: false},
		{name: "one segment not empty", pattern: "/foo/{*}", path: "/foo/", want: false},
		{name: "one segment only pchar: space", pattern: "/foo/{*}", path: "/foo/a b", want: false},
		{name: "one segment only pchar: star", pattern: "/foo/{*}", path: "/foo/a*b", want: false},
		{name: "one segment only pchar: brace", pattern: "/foo/{*}", path: "/foo/{x}", want: false},
		{name: "one segment pct-encoded", pattern: "/foo/{*}", path: "/foo/a%20b", want: true},
		{name: "any only pchar", pattern: "/foo/{**}", path: "/foo/a/b c", want: false},
		{name: "template query ignored", pattern: "/foo/{*}", path: "/foo/bar?x=/y", want: true},
		{name: "template literal case-sensitive", pattern: "/Foo/{*}", path: "/foo/bar", want: false},
		{name: "root any", pattern: "/{**}", path: "/", want: true},
		// Templates Envoy rejects (a listener NACK): they match nothing here.
		{name: "invalid: operator after any", pattern: "/{**}/foo/{*}", path: "/a/foo/b", want: false},
		{name: "invalid: two any", pattern: "/{**}/{**}", path: "/a/b", want: false},
		// Values istiod lets through and Envoy accepts (not emitted by meshgen, but the evaluator may meet
		// them in a cluster): text after an operator is a suffix.
		{name: "suffix after operator", pattern: "/foo/{*}.txt", path: "/foo/a.txt", want: true},
		{name: "suffix after operator needs one char", pattern: "/foo/{*}.txt", path: "/foo/.txt", want: false},
		{name: "suffix after any", pattern: "/{**}.m3u8", path: "/media/1234/manifest.m3u8", want: true},
		// Not a template at all (no {*} or {**}): an exact comparison.
		{name: "named variable alone is plain", pattern: "/foo/{id}", path: "/foo/1", want: false},
		{name: "named variable alone matches itself", pattern: "/foo/{id}", path: "/foo/{id}", want: true},
		{name: "empty pattern", pattern: "", path: "/", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Match(tc.pattern, tc.path); got != tc.want {
				t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.path, got, tc.want)
			}
		})
	}
}

// TestEnvoyParserConformance mirrors Envoy's own tests of the uri_template parser
// (test/extensions/path/uri_template_lib/uri_template_internal_test.cc, ParsePathPatternSyntaxSuccess and
// ParsePathPatternSyntaxFailure), run on Envoy syntax, i.e. after istiod's {*}->* / {**}->** rewrite.
func TestEnvoyParserConformance(t *testing.T) {
	valid := []string{
		"/**.m3u8", "/**.mpd", "/*_suf", "/{path=**}.m3u8", "/{foo}/**.ts",
		"/media/*.m4s", "/media/{contentId=*}/**", "/media/*", "/api/*/*/**",
		"/api/*/v1/**", "/api/*/v1/*", "/{version=api/*}/*", "/api/*/*/",
		"/api/*/1234/", "/api/*/{resource=*}/{method=*}",
		"/api/*/{resource=*}/{method=**}", "/v1/**", "/media/{country}/{lang=*}/**",
		"/{foo}/{bar}/{fo}/{fum}/*", "/{foo=*}/{bar=*}/{fo=*}/{fum=*}/*",
		"/media/{id=*}/*", "/media/{contentId=**}",
		"/api/{version}/projects/{project}/locations/{location}/{resource}/{name}",
		"/api/{version=*}/{url=**}", "/api/{VERSION}/{version}/{verSION}",
		"/api/1234/abcd", "/media/abcd/%10%20%30/{v1=*/%10%20}_suffix", "/",
	}
	invalid := []string{
		"/api/v*/1234", "/api/{version=v*}/1234", "/api/v{versionNum=*}/1234",
		"/api/{version=*beta}/1234", "/media/eff456/ll-sd-out.{ext}",
		"/media/eff456/ll-sd-out.{ext=*}", "/media/eff456/ll-sd-out.**",
		"/media/{country=**}/{lang=*}/**", "/media/**/*/**", "/link/{id=*}/asset*",
		"/link/{id=*}/{asset=asset*}", "/media/{id=/*}/*", "/media/{contentId=/**}",
		"/api/{version}/{version}", "/api/{version.major}/{version.minor}",
		"/media/***", "/media/*{*}*", "/media/{*}/", "/media/*/index?a=2", "media",
		"/\001\002\003\004\005\006\007", "/*(/**", "/**/{var}",
		"/{var1}/{var2}/{var3}/{var4}/{var5}/{var6}", "/{=*}",
		"/{var12345678901234=*}",
	}
	for _, p := range valid {
		if _, err := parseEnvoyTemplate(p); err != nil {
			t.Errorf("parseEnvoyTemplate(%q) = %v, want nil", p, err)
		}
	}
	for _, p := range invalid {
		if _, err := parseEnvoyTemplate(p); err == nil {
			t.Errorf("parseEnvoyTemplate(%q) = nil, want an error", p)
		}
	}
}

// TestEnvoyMatchConformance mirrors Envoy's GenPatternRegexWithMatch and GenPatternRegexWithoutMatch
// cases (same file), on Envoy syntax.
func TestEnvoyMatchConformance(t *testing.T) {
	tests := []struct {
		path, pattern string
		want          bool
	}{
		{"/media/1234/manifest.m3u8", "/**.m3u8", true},
		{"/manifest.mpd", "/**.mpd", true},
		{"/media/1234/manifest.m3u8", "/{path=**}.m3u8", true},
		{"/foo/12314341/format/123/hls/segment_0000000001.ts", "/{foo}/**.ts", true},
		{"/media/eff456/ll-sd-out.js", "/media/{contentId=*}/**", true},
		{"/api/v1/1234/broadcasts/get", "/api/*/*/**", true},
		{"/api/v1/1234", "/{version=api/*}/*", true},
		{"/api/v1/1234/", "/api/*/*/", true},
		{"/api/v1/1234/broadcasts/get", "/api/*/{resource=*}/{method=**}", true},
		{"/v1/broadcasts/12345/live", "/v1/**", true},
		{"/media/us/en/12334/subtitle_enUS_00101.vtt", "/media/{country}/{lang=*}/**", true},
		{"/foo/bar/fo/fum/123", "/{foo}/{bar}/{fo}/{fum}/*", true},
		{"/foo/bar/fo/fum/123", "/{foo=*}/{bar=*}/{fo=*}/{fum=*}/*", true},
		{"/media/1234/hls/1001011.m3u8", "/media/{id=*}/**", true},
		{"/media/1234/hls/1001011.m3u8", "/media/{contentId=**}", true},
		{"/api/v1/projects/my-project/locations/global/edgeCacheOrigins/foo",
			"/api/{version}/projects/{project}/locations/{location}/{resource}/{name}", true},
		{"/api/v1/foo/bar/baz/", "/api/{version=*}/{url=**}", true},
		{"/api/v1/v2/v3", "/api/{VERSION}/{version}/{verSION}", true},
		{"/media/12345/f/123/s00002.m4s", "/media/*.m4s", false},
		{"/media/eff456/ll-sd-out.js", "/media/*", false},
		{"/api/v1/1234/", "/api/*/v1/*", false},
		{"/api/v1/1234/broadcasts/get", "/api/*/{resource=*}/{method=*}", false},
		{"/api/v1/1234/", "/api/*/v1/**", false},
		{"/api/*/1234/", "/api/*/1234/", false},
	}
	for _, tc := range tests {
		tpl, err := parseEnvoyTemplate(tc.pattern)
		if err != nil {
			t.Errorf("parseEnvoyTemplate(%q) = %v, want nil", tc.pattern, err)
			continue
		}
		if got := tpl.match(tc.path); got != tc.want {
			t.Errorf("template %q match(%q) = %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
}
