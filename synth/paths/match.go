package paths

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Istio's template operators. A `paths` value that contains either is a path template (istiod's
// IsPathTemplate); any other value is a plain string matched exactly, by prefix, by suffix or as "*".
const (
	opOne = "{*}"  // one path segment
	opAny = "{**}" // zero or more characters of segments and slashes (see Match)
)

// Match reports whether an AuthorizationPolicy `paths` value matches a request path, as Istio's sidecar,
// gateway or waypoint Envoy does [istio-semantics.md 1.7]:
//
//   - The query string and fragment of path are ignored (Envoy strips everything from the first '?' or '#').
//   - A value containing "{*}" or "{**}" is a path template. istiod rewrites {*} to * and {**} to ** and hands
//     the result to Envoy's uri_template matcher, which compiles it to a regular expression that must match the
//     whole path: * becomes [pchar]+ (one non-empty segment made only of RFC 3986 pchar characters) and ** becomes
//     [pchar/]* (any run of pchar characters and slashes, possibly empty). So "/foo/{*}" matches "/foo/bar" but
//     not "/foo/bar/baz" nor "/foo/a b"; "/foo/{**}" matches "/foo/" and "/foo/a/b" but not "/foo";
//     "/foo/{**}/bar" matches "/foo/x/y/bar" and "/foo//bar" but not "/foo/bar". A template Envoy would
//     reject (named variable errors, an operator after **, a non-pchar literal, ...) matches nothing here.
//   - "*" matches any non-empty path (istiod emits the regex ".+", which does not match a newline).
//   - "*suffix" matches paths ending in suffix; "prefix*" matches paths starting with prefix (crossing
//     segments); anything else, including a '*' in the middle, is an exact, case-sensitive comparison.
//
// Match does not normalise path: Istio authorises the path after the proxy's normalisation, and callers
// pass that normalised path.
func Match(pattern, path string) bool {
	if pattern == "" {
		return false // istiod rejects empty values; Envoy would have nothing to match
	}
	path = stripQuery(path)
	if isTemplate(pattern) {
		t, err := parseEnvoyTemplate(sanitizeTemplate(pattern))
		if err != nil {
			return false
		}
		return t.match(path)
	}
	switch {
	case pattern == "*":
		return path != "" && !strings.Contains(path, "\n")
	case strings.HasPrefix(pattern, "*"):
		return strings.HasSuffix(path, pattern[1:])
	case strings.HasSuffix(pattern, "*"):
		return strings.HasPrefix(path, pattern[:len(pattern)-1])
	default:
		return path == pattern
	}
}

// isTemplate is istiod's IsPathTemplate.
func isTemplate(v string) bool {
	return strings.Contains(v, opOne) || strings.Contains(v, opAny)
}

// sanitizeTemplate is istiod's sanitizePathTemplate (pilot/pkg/security/authz/matcher/template.go).
func sanitizeTemplate(v string) string {
	v = strings.ReplaceAll(v, opOne, "*")
	return strings.ReplaceAll(v, opAny, "**")
}

// stripQuery is Envoy's PathUtil::removeQueryAndFragment.
func stripQuery(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		return p[:i]
	}
	return p
}

// isPchar reports whether c is in Envoy's uri_template literal set: RFC 3986 pchar without '*'
// (unreserved, '%', sub-delims other than '*', ':', '@'; '=' included).
func isPchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', '%', '!', '$', '&', '\'', '(', ')', '+', ',', ';', ':', '@', '=':
		return true
	}
	return false
}

// isPcharSegment reports whether s is a non-empty run of pchar characters, that is a literal that a path
// template may hold and that {*} matches.
func isPcharSegment(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isPchar(s[i]) {
			return false
		}
	}
	return true
}

// Element kinds of a parsed Envoy template.
const (
	elemLit  = iota // literal segment (empty only as the trailing "/")
	elemOne         // * : [pchar]+
	elemMany        // **: [pchar/]*
)

type elem struct {
	kind int
	lit  string
}

// envoyTemplate is a parsed Envoy uri_template: the regex it stands for is
// "/" + join(elems, "/") + suffix.
type envoyTemplate struct {
	elems  []elem
	suffix string
}

var errTemplate = errors.New("invalid uri template")

// Limits from Envoy's uri_template_internal.cc.
const (
	maxTemplateVariables = 5
	maxVariableNameLen   = 16
)

// parseEnvoyTemplate ports Envoy's parsePathPatternSyntax (source/extensions/path/uri_template_lib/
// uri_template_internal.cc): it accepts exactly what Envoy accepts and flattens variables into their
// matchers, since only matching matters here.
func parseEnvoyTemplate(p string) (envoyTemplate, error) {
	var t envoyTemplate
	if p == "" || p[0] != '/' {
		return t, fmt.Errorf("%w: must start with '/'", errTemplate)
	}
	for i := 1; i < len(p); i++ { // ^/[[:graph:]]*$
		if p[i] <= ' ' || p[i] >= 0x7f {
			return t, fmt.Errorf("%w: non-printable or space character", errTemplate)
		}
	}
	p = p[1:]
	t.elems = make([]elem, 0, strings.Count(p, "/")+1)
	seenMany := false
	var names []string // at most maxTemplateVariables
	addOp := func(kind int) error {
		if seenMany {
			return fmt.Errorf("%w: glob after text glob", errTemplate)
		}
		if kind == elemMany {
			seenMany = true
		}
		t.elems = append(t.elems, elem{kind: kind})
		return nil
	}
	for p != "" {
		switch {
		case p[0] == '*':
			kind := elemOne
			if strings.HasPrefix(p, "**") {
				kind, p = elemMany, p[2:]
			} else {
				p = p[1:]
			}
			if err := addOp(kind); err != nil {
				return t, err
			}
		case p[0] == '{':
			inner, rest, ok := strings.Cut(p[1:], "}")
			if !ok || len(p) < 2 {
				return t, fmt.Errorf("%w: unmatched variable bracket", errTemplate)
			}
			p = rest
			name, match, hasMatch := strings.Cut(inner, "=")
			if !validVariableName(name) {
				return t, fmt.Errorf("%w: invalid variable name %q", errTemplate, name)
			}
			if len(names) >= maxTemplateVariables {
				return t, fmt.Errorf("%w: more than %d variables", errTemplate, maxTemplateVariables)
			}
			if len(name) > maxVariableNameLen || slices.Contains(names, name) {
				return t, fmt.Errorf("%w: variable name %q too long or repeated", errTemplate, name)
			}
			names = append(names, name)
			if !hasMatch {
				if err := addOp(elemOne); err != nil {
					return t, err
				}
				break
			}
			if match == "" {
				return t, fmt.Errorf("%w: empty variable match", errTemplate)
			}
			for match != "" {
				if match[0] == '*' {
					kind := elemOne
					if strings.HasPrefix(match, "**") {
						kind, match = elemMany, match[2:]
					} else {
						match = match[1:]
					}
					if err := addOp(kind); err != nil {
						return t, err
					}
				} else {
					lit, _, _ := strings.Cut(match, "/")
					if !isPcharSegment(lit) {
						return t, fmt.Errorf("%w: invalid literal %q", errTemplate, lit)
					}
					t.elems = append(t.elems, elem{kind: elemLit, lit: lit})
					match = match[len(lit):]
				}
				if match != "" {
					if match[0] != '/' || len(match) == 1 {
						return t, fmt.Errorf("%w: invalid variable match", errTemplate)
					}
					match = match[1:]
				}
			}
		default:
			lit, _, _ := strings.Cut(p, "/")
			if !isPcharSegment(lit) {
				return t, fmt.Errorf("%w: invalid literal %q", errTemplate, lit)
			}
			t.elems = append(t.elems, elem{kind: elemLit, lit: lit})
			p = p[len(lit):]
		}
		if p == "" {
			break
		}
		if p == "/" { // single trailing '/': an empty literal
			t.elems = append(t.elems, elem{kind: elemLit})
			break
		}
		if p[0] == '/' {
			p = p[1:]
			continue
		}
		// Text straight after an operator or variable: a suffix literal, which must end the template.
		lit, _, _ := strings.Cut(p, "/")
		if !isPcharSegment(lit) {
			return t, fmt.Errorf("%w: invalid suffix %q", errTemplate, lit)
		}
		if len(lit) != len(p) {
			return t, fmt.Errorf("%w: prefix match not supported", errTemplate)
		}
		t.suffix = lit
		break
	}
	return t, nil
}

// validVariableName is Envoy's ^[a-zA-Z][a-zA-Z0-9_]*$.
func validVariableName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '_'):
		default:
			return false
		}
	}
	return true
}

// match decides whether the template's regex "/" + join(elems, "/") + suffix fully matches path. No
// element but ** can match a '/', and at most one ** exists with only literals after it, so the path is
// consumed segment by segment up to the **, and the rest must be [pchar/]* followed by a fixed tail.
func (t envoyTemplate) match(path string) bool {
	if !strings.HasPrefix(path, "/") {
		return false
	}
	s := path[1:]
	many := -1
	for i, e := range t.elems {
		if e.kind == elemMany {
			many = i
			break
		}
	}
	if many < 0 {
		if len(t.elems) == 0 {
			return s == ""
		}
		for i, e := range t.elems {
			part := s
			if i < len(t.elems)-1 {
				j := strings.IndexByte(s, '/')
				if j < 0 {
					return false
				}
				part, s = s[:j], s[j+1:]
			} else {
				if strings.IndexByte(part, '/') >= 0 || !strings.HasSuffix(part, t.suffix) {
					return false
				}
				part = part[:len(part)-len(t.suffix)]
			}
			if !e.matchSegment(part) {
				return false
			}
		}
		return true
	}
	for _, e := range t.elems[:many] {
		j := strings.IndexByte(s, '/')
		if j < 0 || !e.matchSegment(s[:j]) {
			return false
		}
		s = s[j+1:]
	}
	// The tail after ** is fixed: "/" + each literal, then the suffix. Match it from the end.
	if !strings.HasSuffix(s, t.suffix) {
		return false
	}
	s = s[:len(s)-len(t.suffix)]
	post := t.elems[many+1:]
	for i := len(post) - 1; i >= 0; i-- {
		if !strings.HasSuffix(s, post[i].lit) {
			return false
		}
		s = s[:len(s)-len(post[i].lit)]
		if !strings.HasSuffix(s, "/") {
			return false
		}
		s = s[:len(s)-1]
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '/' && !isPchar(s[i]) {
			return false
		}
	}
	return true
}

func (e elem) matchSegment(part string) bool {
	switch e.kind {
	case elemLit:
		return part == e.lit
	case elemOne:
		return isPcharSegment(part)
	}
	return false
}
