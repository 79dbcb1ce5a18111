package paths

import (
	"fmt"
	"strings"
)

// Valid reports whether value may stand in an AuthorizationPolicy `paths` list, returning the reason when
// it may not. A plain value (no "{*}" or "{**}") is valid when non-empty: istiod checks nothing else, and
// Match gives its meaning (a leading or trailing '*' makes it a suffix or prefix match). A template must
// follow the grammar meshgen emits, which is accepted both by istiod's CheckValidPathTemplate and by
// Envoy's uri_template parser [istio-semantics.md 1.7]:
//
//   - it starts with '/', and each '/'-separated segment is "{*}", "{**}" or a non-empty literal of RFC 3986
//     pchar characters ([a-zA-Z0-9-._~%!$&'()+,;:@=]); only the last segment may be empty (a trailing '/');
//   - operators are whole segments ("/foo/{*}.txt" is rejected, although istiod's own regex lets it through
//     and Envoy would read ".txt" as a suffix);
//   - no named variables ("{id}", "{id=*}"), no other braces and no bare '*' or '**';
//   - at most one "{**}", and no "{*}" after it (literal segments may follow it).
func Valid(value string) error {
	if value == "" {
		return fmt.Errorf("empty path value")
	}
	if !isTemplate(value) {
		// istiod's CheckValidPathTemplate rejects a brace that is not part
		// of a whole {*} or {**} segment in every path value, template or not
		// (istio: pkg/config/security/security.go).
		if strings.ContainsAny(value, "{}") {
			return fmt.Errorf("path %q has braces that are not {*} or {**} segments (named variables are not supported)", value)
		}
		return nil
	}
	if value[0] != '/' {
		return fmt.Errorf("path template %q must start with '/'", value)
	}
	segs := strings.Split(value[1:], "/")
	seenAny := false
	for i, s := range segs {
		switch {
		case s == opOne:
			if seenAny {
				return fmt.Errorf("path template %q: {*} after {**}; {**} must be the last operator", value)
			}
		case s == opAny:
			if seenAny {
				return fmt.Errorf("path template %q: more than one {**}", value)
			}
			seenAny = true
		case s == "":
			if i != len(segs)-1 {
				return fmt.Errorf("path template %q: empty segment", value)
			}
		case strings.Contains(s, opOne) || strings.Contains(s, opAny):
			return fmt.Errorf("path template %q: operator in segment %q must be the whole segment", value, s)
		case strings.ContainsAny(s, "{}"):
			return fmt.Errorf("path template %q: segment %q has braces that are not {*} or {**} (named variables are not supported)", value, s)
		case strings.Contains(s, "*"):
			return fmt.Errorf("path template %q: bare '*' in segment %q (only {*} and {**} are allowed in a template)", value, s)
		case !isPcharSegment(s):
			return fmt.Errorf("path template %q: segment %q has characters outside RFC 3986 pchar", value, s)
		}
	}
	return nil
}
