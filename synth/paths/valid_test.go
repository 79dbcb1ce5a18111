package paths

import (
	"regexp"
	"strings"
	"testing"
)

// istiodRejects ports istiod's CheckValidPathTemplate (istio/istio pkg/config/security/security.go): a
// template is rejected when this regex matches it.
var istiodUnsupported = regexp.MustCompile(`\/{\w+\=\*[*]?\}|{\w*\}|\/\*[*]?|\*[*]?\/`)

func istiodAccepts(v string) bool {
	return v != "" && !(isTemplate(v) && istiodUnsupported.MatchString(v))
}

func TestValid(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		wantErr bool
	}{
		// istio/istio pkg/config/security/security_test.go TestCheckValidPathTemplate, case by case.
		{name: "istiod: valid path template - matchOneTemplate", value: "/{*}/foo"},
		{name: "istiod: valid path template - matchAnyTemplate", value: "/foo/{**}/bar"},
		{name: "istiod: invalid path template - empty curly braces", value: "/{*}/foo/{}/bar", wantErr: true},
		{name: "istiod: unsupported path template - matchOneTemplate with `*`", value: "/foo/{*}/bar/*", wantErr: true},
		{name: "istiod: unsupported path template - matchOneTemplate with `**`", value: "/foo/{*}/bar/**/buzz", wantErr: true},
		{name: "istiod: unsupported path template - matchAnyTemplate with named var: {buzz}", value: "/foo/{buzz}/bar/{**}.txt", wantErr: true},
		{name: "istiod: unsupported path template - matchAnyTemplate with named var: {buzz=*}", value: "/foo/{buzz=*}/bar/{**}.txt", wantErr: true},
		{name: "istiod: unsupported path template - matchAnyTemplate with named var: {buzz=**}", value: "/{*}/foo/{buzz=**}/bar", wantErr: true},

		// istio/api authorization_policy.proto Operation.paths, as quoted in istio-semantics.md 1.7.
		{name: "doc: one segment", value: "/foo/{*}"},
		{name: "doc: any then slash", value: "/foo/{**}/"},
		{name: "doc: one then any", value: "/foo/{*}/bar/{**}"},
		{name: "doc: bare star outside operator", value: "/*/baz/{*}", wantErr: true},
		{name: "doc: bare double star outside operator", value: "/**/baz/{*}", wantErr: true},
		{name: "doc: any not last operator", value: "/{**}/foo/{*}", wantErr: true},
		{name: "doc: text next to operator", value: "/foo/{*}.txt", wantErr: true},
		// istio-semantics.md 1.7 grammar bullets.
		{name: "text before operator", value: "/foo/{**}bar", wantErr: true},
		{name: "named variable", value: "/foo/{id}/{*}", wantErr: true},
		{name: "named variable with one", value: "/foo/{id=*}/{*}", wantErr: true},
		{name: "named variable with any", value: "/foo/{id=**}/{*}", wantErr: true},
		{name: "literal after any", value: "/foo/{**}/bar"},
		{name: "one after any", value: "/{**}/x/{*}", wantErr: true},
		{name: "two any", value: "/{**}/{**}", wantErr: true},
		{name: "question mark not pchar", value: "/foo/a?b/{*}", wantErr: true},
		{name: "space not pchar", value: "/foo/a b/{*}", wantErr: true},
		{name: "non-ASCII not pchar", value: "/foo/café/{*}", wantErr: true},
		{name: "quote not pchar", value: "/foo/a\"b/{*}", wantErr: true},
		{name: "all pchar classes", value: "/a-Z0.9_~%20!$&'()+,;:@=/{*}"},
		{name: "empty middle segment", value: "/foo//{*}", wantErr: true},
		{name: "no leading slash", value: "foo/{*}", wantErr: true},
		{name: "root any", value: "/{**}"},
		{name: "trailing slash after one", value: "/users/{*}/"},
		// Plain values: only emptiness is checked.
		{name: "plain exact", value: "/a/b"},
		{name: "plain prefix", value: "/a/*"},
		{name: "plain suffix", value: "*/info"},
		{name: "plain star", value: "*"},
		{name: "plain with braces is refused, as istiod does", value: "/a/{id}", wantErr: true},
		{name: "a lone closing brace is refused", value: "/a/}", wantErr: true},
		{name: "empty", value: "", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Valid(tc.value)
			if (err != nil) != tc.wantErr {
				t.Errorf("Valid(%q) = %v, want error: %v", tc.value, err, tc.wantErr)
			}
		})
	}
}

// TestValidImpliesAccepted checks that whatever Valid accepts, istiod's webhook and Envoy's parser accept
// too (meshgen must never emit a value that is rejected downstream).
func TestValidImpliesAccepted(t *testing.T) {
	var values []string
	parts := []string{"a", "{*}", "{**}", "", "b.c", "*", "{x}", "%", "=", "a b", "{*}x"}
	for _, x := range parts {
		for _, y := range parts {
			for _, z := range parts {
				values = append(values, "/"+x+"/"+y+"/"+z, "/"+x+"/"+y, x+"/"+y)
			}
		}
	}
	for _, v := range values {
		checkAccepted(t, v)
	}
}

func checkAccepted(t *testing.T, v string) {
	t.Helper()
	if Valid(v) != nil {
		return
	}
	if !istiodAccepts(v) {
		t.Errorf("Valid(%q) = nil, but istiod's CheckValidPathTemplate rejects it", v)
	}
	if isTemplate(v) {
		if _, err := parseEnvoyTemplate(sanitizeTemplate(v)); err != nil {
			t.Errorf("Valid(%q) = nil, but Envoy's uri_template parser rejects it: %v", v, err)
		}
		if strings.Contains(v, "//") {
			t.Errorf("Valid(%q) = nil with an empty segment", v)
		}
	}
}
