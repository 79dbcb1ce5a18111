package eval

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	securityapi "istio.io/api/security/v1beta1"

	"github.com/meshgen/meshgen/observe/snapshot"
	"github.com/meshgen/meshgen/synth/paths"
)

// view is a request prepared for matching, plus the attributes found unknown
// while evaluating one rule.
type view struct {
	req       *Request
	principal string // "" when plaintext
	spiffe    string // "spiffe://" + principal; "" when plaintext
	// parsed identity, for ztunnel's namespace and service-account matches
	idNS, idSA string
	idOK       bool
	srcIP      netip.Addr
	srcIPOK    bool
	unk        []string
}

func newView(req *Request) *view {
	v := &view{req: req, principal: req.Principal}
	if v.principal != "" {
		v.spiffe = snapshot.SPIFFEPrefix + v.principal
		_, v.idNS, v.idSA, v.idOK = splitPrincipal(v.principal)
	}
	if req.SourceIP != "" {
		if a, err := netip.ParseAddr(req.SourceIP); err == nil {
			v.srcIP, v.srcIPOK = a.Unmap(), true
		}
	}
	return v
}

// unknown records that attr was needed but not known and returns triUnknown.
func (v *view) unknown(attr string) tri {
	if !slices.Contains(v.unk, attr) {
		v.unk = append(v.unk, attr)
	}
	return triUnknown
}

type matchFn func(v *view) tri

// valueMatch is one value of a policy field as the generator makes it. bad
// marks a value that istiod fails to generate (an invalid IP, port or key):
// an ALLOW rule with such a value is dropped, elsewhere the value is skipped
// (istio: pilot/pkg/security/authz/model/model.go checkError).
type valueMatch struct {
	bad bool
	fn  matchFn
	// src, when set, says that fn reads only the caller (its principal and
	// source IP) and identifies the function: two matchers with the same src
	// agree on every caller. path says that fn reads only the path (the
	// pattern is src). classes.go groups callers and operations by them.
	src  string
	path bool
}

// reads declares what of the request the matchers of a field read, beyond
// the operation attributes that classes.go groups operations by exactly
// (port, method, host, protocol): nothing else (readsOther), the caller
// only (readsCaller, with a name that with the value identifies the
// function), or the path only (readsPath). Every matcher that reads the
// principal, the source IP or the path must say so.
type reads struct {
	caller string
	path   bool
}

var (
	readsOther = reads{}
	readsPath  = reads{path: true}
)

func readsCaller(name string) reads { return reads{caller: name} }

// constraint is one field of a source, operation or condition: the request
// must match one positive value (when there are any) and no negative one
// (ref 1.5).
type constraint struct {
	attr     string
	httpOnly bool
	pos, neg []valueMatch
}

// eval evaluates the constraint at Envoy. bad values are skipped (the caller
// has already dropped ALLOW rules that have any); on TCP an HTTP-only
// constraint is removed, which widens a DENY rule (ref 1.9).
func (c *constraint) eval(v *view, tcp bool) tri {
	if tcp && c.httpOnly {
		return triTrue
	}
	res := triTrue
	if t, ok := anyOf(c.pos, v); ok {
		res = t
	}
	if res == triFalse {
		return triFalse
	}
	if t, ok := anyOf(c.neg, v); ok {
		res = and(res, t.not())
	}
	return res
}

// anyOf ORs the usable values; ok is false when there are none.
func anyOf(vals []valueMatch, v *view) (t tri, ok bool) {
	t = triFalse
	for _, m := range vals {
		if m.bad {
			continue
		}
		ok = true
		t = or(t, m.fn(v))
		if t == triTrue {
			return t, true
		}
	}
	return t, ok
}

func (c *constraint) hasBad() bool {
	for _, m := range c.pos {
		if m.bad {
			return true
		}
	}
	for _, m := range c.neg {
		if m.bad {
			return true
		}
	}
	return false
}

func allOf(cs []constraint, v *view, tcp bool) tri {
	res := triTrue
	for i := range cs {
		res = and(res, cs[i].eval(v, tcp))
		if res == triFalse {
			return res
		}
	}
	return res
}

// envoyRule is a rule as istiod builds it for Envoy's RBAC filter
// (istio: pilot/pkg/security/authz/model/model.go New, Generate).
type envoyRule struct {
	// invalid is why istiod skips the rule for every action (a nil rule, an
	// unknown condition key); "" when valid.
	invalid string
	// dropAllowHTTP / dropAllowTCP say why an ALLOW rule is skipped on the
	// HTTP / TCP filter chain: Generate fails on a value, and for ALLOW the
	// error skips the whole rule - all its sources and operations - not just
	// the operation that has the field (istio: builder.go build,
	// "skipped rule %s on TCP filter chain"; model.go checkError).
	dropAllowHTTP string
	dropAllowTCP  string
	from          [][]constraint // nil: no from (any source)
	to            [][]constraint // nil: no to (any operation)
	when          []constraint
}

// match evaluates the rule at Envoy for a policy of action act. The second
// result is false when the rule does not exist on this filter chain.
func (r *envoyRule) match(v *view, act securityapi.AuthorizationPolicy_Action, tcp bool) (tri, bool) {
	if r.invalid != "" {
		return triFalse, false
	}
	if act == securityapi.AuthorizationPolicy_ALLOW {
		if (tcp && r.dropAllowTCP != "") || (!tcp && r.dropAllowHTTP != "") {
			return triFalse, false
		}
	}
	res := triTrue
	if r.from != nil {
		res = anyList(r.from, v, tcp)
	}
	if res != triFalse && r.to != nil {
		res = and(res, anyList(r.to, v, tcp))
	}
	if res != triFalse {
		res = and(res, allOf(r.when, v, tcp))
	}
	return res, true
}

func anyList(list [][]constraint, v *view, tcp bool) tri {
	res := triFalse
	for _, cs := range list {
		res = or(res, allOf(cs, v, tcp))
		if res == triTrue {
			return res
		}
	}
	return res
}

// HTTP-only attributes (ref 1.9; istio: model/generator.go "is HTTP only").
func compileEnvoyRule(r *securityapi.Rule, policyNS string, bundle []string) envoyRule {
	var er envoyRule
	if r == nil {
		er.invalid = "nil rule"
		return er
	}
	for _, w := range r.GetWhen() {
		c, err := envoyCondition(w, policyNS, bundle)
		if err != nil {
			er.invalid = err.Error()
			return er
		}
		if c != nil {
			er.when = append(er.when, *c)
		}
	}
	if len(r.GetFrom()) > 0 {
		er.from = [][]constraint{}
		for _, f := range r.GetFrom() {
			var cs []constraint
			if s := f.GetSource(); s != nil {
				cs = appendC(cs, "principals", false, readsCaller("principal"), rewriteTD(s.GetPrincipals(), bundle), rewriteTD(s.GetNotPrincipals(), bundle), principalMatch)
				cs = appendExtended(cs, "requestPrincipals", s.GetRequestPrincipals(), s.GetNotRequestPrincipals())
				cs = appendC(cs, "serviceAccounts", false, readsCaller("serviceAccount-envoy "+policyNS), s.GetServiceAccounts(), s.GetNotServiceAccounts(), serviceAccountMatchEnvoy(policyNS))
				cs = appendC(cs, "trustDomains", false, readsCaller("trustDomain-envoy"), s.GetTrustDomains(), s.GetNotTrustDomains(), trustDomainMatchEnvoy)
				cs = appendC(cs, "namespaces", false, readsCaller("namespace-envoy"), s.GetNamespaces(), s.GetNotNamespaces(), namespaceMatchEnvoy)
				cs = appendC(cs, "remoteIpBlocks", false, readsOther, s.GetRemoteIpBlocks(), s.GetNotRemoteIpBlocks(), remoteIPMatch)
				cs = appendC(cs, "ipBlocks", false, readsCaller("sourceIP"), s.GetIpBlocks(), s.GetNotIpBlocks(), sourceIPMatch)
			}
			er.from = append(er.from, cs)
		}
	}
	if len(r.GetTo()) > 0 {
		er.to = [][]constraint{}
		for _, t := range r.GetTo() {
			var cs []constraint
			if o := t.GetOperation(); o != nil {
				cs = appendC(cs, "hosts", true, readsOther, o.GetHosts(), o.GetNotHosts(), hostMatch)
				cs = appendC(cs, "methods", true, readsOther, o.GetMethods(), o.GetNotMethods(), methodMatch)
				cs = appendC(cs, "paths", true, readsPath, o.GetPaths(), o.GetNotPaths(), pathMatch)
				cs = appendC(cs, "ports", false, readsOther, o.GetPorts(), o.GetNotPorts(), portMatch)
			}
			er.to = append(er.to, cs)
		}
	}
	all := slices.Concat(er.when)
	for _, cs := range er.from {
		all = append(all, cs...)
	}
	for _, cs := range er.to {
		all = append(all, cs...)
	}
	for i := range all {
		c := &all[i]
		if c.hasBad() && er.dropAllowHTTP == "" {
			er.dropAllowHTTP = fmt.Sprintf("an invalid value in %s", c.attr)
		}
	}
	er.dropAllowTCP = er.dropAllowHTTP
	if er.dropAllowTCP == "" {
		for i := range all {
			if all[i].httpOnly {
				er.dropAllowTCP = fmt.Sprintf("the HTTP-only field %s", all[i].attr)
				break
			}
		}
	}
	return er
}

// envoyCondition compiles one `when` condition as model.New does; an unknown
// key is an error (the rule is then skipped).
func envoyCondition(w *securityapi.Condition, policyNS string, bundle []string) (*constraint, error) {
	k := w.GetKey()
	vals, notVals := w.GetValues(), w.GetNotValues()
	var cs []constraint
	switch {
	case k == "destination.ip":
		cs = appendC(cs, k, false, readsOther, vals, notVals, unknownIPMatch(k))
	case k == "destination.port":
		cs = appendC(cs, k, false, readsOther, vals, notVals, portMatch)
	case k == "connection.sni":
		cs = appendC(cs, k, false, readsOther, vals, notVals, unknownMatch(k))
	case strings.HasPrefix(k, "experimental.envoy.filters."):
		parts := strings.SplitN(strings.TrimSuffix(strings.TrimPrefix(k, "experimental."), "]"), "[", 2)
		cs = appendWhole(cs, k, false, len(parts) != 2, vals, notVals)
	case k == "source.ip":
		cs = appendC(cs, k, false, readsCaller("sourceIP"), vals, notVals, sourceIPMatch)
	case k == "remote.ip":
		cs = appendC(cs, k, false, readsOther, vals, notVals, remoteIPMatch)
	case k == "source.namespace":
		cs = appendC(cs, k, false, readsCaller("namespace-envoy"), vals, notVals, namespaceMatchEnvoy)
	case k == "source.trustDomain":
		cs = appendC(cs, k, false, readsCaller("trustDomain-envoy"), vals, notVals, trustDomainMatchEnvoy)
	case k == "source.serviceAccount":
		cs = appendC(cs, k, false, readsCaller("serviceAccount-envoy "+policyNS), vals, notVals, serviceAccountMatchEnvoy(policyNS))
	case k == "source.principal":
		cs = appendC(cs, k, false, readsCaller("principal"), rewriteTD(vals, bundle), rewriteTD(notVals, bundle), principalMatch)
	case k == "request.auth.principal", k == "request.auth.audiences", k == "request.auth.presenter":
		cs = appendWhole(cs, k, true, false, vals, notVals)
	case strings.HasPrefix(k, "request.headers"):
		_, err := nameInBrackets(strings.TrimPrefix(k, "request.headers"))
		cs = appendC(cs, k, true, readsOther, vals, notVals, func(string) (matchFn, bool) {
			return unknownMatchFn(k), err == nil
		})
	case strings.HasPrefix(k, "request.auth.claims"):
		bad := !validClaimKey(strings.TrimPrefix(k, "request.auth.claims"))
		cs = appendWhole(cs, k, true, bad, vals, notVals)
	default:
		return nil, fmt.Errorf("unknown attribute %s", k)
	}
	if len(cs) == 0 {
		return nil, nil
	}
	return &cs[0], nil
}

// A makeFn turns one policy value into a matcher; ok false marks a value
// istiod cannot generate.
type makeFn func(value string) (fn matchFn, ok bool)

func appendC(cs []constraint, attr string, httpOnly bool, rd reads, vals, notVals []string, mk makeFn) []constraint {
	if len(vals) == 0 && len(notVals) == 0 {
		return cs
	}
	c := constraint{attr: attr, httpOnly: httpOnly}
	tag := func(m valueMatch, value string) valueMatch {
		switch {
		case rd.caller != "":
			m.src = rd.caller + "\x00" + value
		case rd.path:
			m.src, m.path = value, true
		}
		return m
	}
	for _, s := range vals {
		fn, ok := mk(s)
		c.pos = append(c.pos, tag(valueMatch{bad: !ok, fn: fn}, s))
	}
	for _, s := range notVals {
		fn, ok := mk(s)
		c.neg = append(c.neg, tag(valueMatch{bad: !ok, fn: fn}, s))
	}
	return append(cs, c)
}

// appendExtended adds a JWT field (requestPrincipals): HTTP only, and never
// known at replay.
func appendExtended(cs []constraint, attr string, vals, notVals []string) []constraint {
	return appendWhole(cs, attr, true, false, vals, notVals)
}

// appendWhole adds a field that istiod generates as one matcher over all
// its values (the "extended" generators), whose value replay never knows.
func appendWhole(cs []constraint, attr string, httpOnly, bad bool, vals, notVals []string) []constraint {
	if len(vals) == 0 && len(notVals) == 0 {
		return cs
	}
	c := constraint{attr: attr, httpOnly: httpOnly}
	if len(vals) > 0 {
		c.pos = []valueMatch{{bad: bad, fn: unknownMatchFn(attr)}}
	}
	if len(notVals) > 0 {
		c.neg = []valueMatch{{bad: bad, fn: unknownMatchFn(attr)}}
	}
	return append(cs, c)
}

func unknownMatchFn(attr string) matchFn {
	return func(v *view) tri { return v.unknown(attr) }
}

func unknownMatch(attr string) makeFn {
	return func(string) (matchFn, bool) { return unknownMatchFn(attr), true }
}

func unknownIPMatch(attr string) makeFn {
	return func(s string) (matchFn, bool) {
		_, ok := parseCIDR(s)
		return unknownMatchFn(attr), ok
	}
}

// nameInBrackets is model/util.go extractNameInBrackets.
func nameInBrackets(s string) (string, error) {
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return "", fmt.Errorf("expecting format [<NAME>], but found %s", s)
	}
	return strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), nil
}

// validClaimKey follows model/util.go extractNameInNestedBrackets: nested
// [a][b] or a single [name].
func validClaimKey(s string) bool {
	for begin := 0; begin < len(s); {
		if s[begin] != '[' {
			_, err := nameInBrackets(s)
			return err == nil
		}
		end := -1
		for i := begin + 1; i < len(s); i++ {
			if s[i] == '[' {
				break
			}
			if s[i] == ']' {
				end = i
				break
			}
		}
		if end == -1 {
			_, err := nameInBrackets(s)
			return err == nil
		}
		begin = end + 1
	}
	return s != ""
}

// rewriteTD applies istiod's trust-domain rewriting for Envoy with the
// bundle [trust domain, aliases...]: a principal of five "/" parts whose trust
// domain is "cluster.local" or matches an entry of the bundle becomes one
// principal per entry, with the entry's trust domain, except that an entry
// matching the principal's own wildcard trust domain keeps it as is; other
// principals are kept (istio: pilot/pkg/security/trustdomain/bundle.go
// ReplaceTrustDomainAliases, replaceTrustDomains; util.go).
func rewriteTD(vals []string, bundle []string) []string {
	if len(vals) == 0 || len(bundle) == 0 {
		return vals
	}
	out := make([]string, 0, len(vals)*len(bundle))
	for _, p := range vals {
		parts := strings.Split(p, "/")
		if len(parts) != 5 || parts[0] == "*" {
			out = append(out, p)
			continue
		}
		ptd := parts[0]
		enforced := ptd == DefaultTrustDomain
		for _, td := range bundle {
			enforced = enforced || tdStringMatch(ptd, td)
		}
		if !enforced {
			out = append(out, p)
			continue
		}
		for _, td := range bundle {
			np := td + "/" + strings.Join(parts[1:], "/")
			if tdSuffixMatch(td, ptd) {
				np = p
			}
			if !slices.Contains(out, np) {
				out = append(out, np)
			}
		}
	}
	return out
}

func tdStringMatch(a, s string) bool {
	return a == s || s == "*" || tdPrefixMatch(a, s) || tdPrefixMatch(s, a) || tdSuffixMatch(a, s) || tdSuffixMatch(s, a)
}

func tdPrefixMatch(a, pattern string) bool {
	if !strings.HasSuffix(pattern, "*") {
		return false
	}
	return strings.HasPrefix(a, strings.TrimSuffix(pattern, "*"))
}

func tdSuffixMatch(a, pattern string) bool {
	if !strings.HasPrefix(pattern, "*") {
		return false
	}
	return strings.HasSuffix(a, strings.TrimPrefix(pattern, "*"))
}

// stringMatch is Istio's value matching for principals (with the spiffe://
// prefix stripped on both sides) and ztunnel's StringMatch: "*" = present
// and non-empty, a leading "*" = suffix, a trailing "*" = prefix, else
// exact. Only one leading or trailing "*" is a wildcard; any other "*" is
// literal (ref 1.6; istio: pilot/pkg/security/authz/matcher/string.go
// StringMatcherWithPrefix; zt: src/rbac.rs StringMatch::matches).
func stringMatch(pattern, s string) bool {
	switch {
	case pattern == "*":
		return s != ""
	case strings.HasPrefix(pattern, "*"):
		return strings.HasSuffix(s, pattern[1:])
	case strings.HasSuffix(pattern, "*"):
		return strings.HasPrefix(s, pattern[:len(pattern)-1])
	default:
		return s == pattern
	}
}

// principalMatch matches an authenticated peer's principal; plaintext never
// matches (ref 1.6).
func principalMatch(pattern string) (matchFn, bool) {
	return func(v *view) tri {
		if v.principal == "" {
			return triFalse
		}
		return triOf(stringMatch(pattern, v.principal))
	}, true
}

var regexCache sync.Map // string -> *regexp.Regexp

// fullRegexp compiles an RE2 expression that must match the whole input, as
// Envoy's safe_regex does.
func fullRegexp(expr string) *regexp.Regexp {
	if re, ok := regexCache.Load(expr); ok {
		return re.(*regexp.Regexp)
	}
	re := regexp.MustCompile("^(?:" + expr + ")$")
	regexCache.Store(expr, re)
	return re
}

// namespaceMatchEnvoy is istiod's namespace matcher: a regex ".*/ns/<ns>/.*"
// over the peer URI SAN, every "*" in the value becoming ".*"
// (istio: model/generator.go srcNamespaceGenerator).
func namespaceMatchEnvoy(value string) (matchFn, bool) {
	parts := strings.Split(value, "*")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	re := fullRegexp(".*/ns/" + strings.Join(parts, ".*") + "/.*")
	return func(v *view) tri {
		if v.spiffe == "" {
			return triFalse
		}
		return triOf(re.MatchString(v.spiffe))
	}, true
}

// serviceAccountMatchEnvoy is istiod's regex
// "spiffe://.+/ns/<ns>/(.+/|)sa/<sa>(/.+)?": any trust domain; a bare name is
// in the policy's namespace (istio: model/generator.go serviceAccountRegex).
func serviceAccountMatchEnvoy(policyNS string) makeFn {
	return func(value string) (matchFn, bool) {
		ns, sa, ok := strings.Cut(value, "/")
		if !ok {
			ns, sa = policyNS, value
		}
		re := fullRegexp(fmt.Sprintf("spiffe://.+/ns/%s/(.+/|)sa/%s(/.+)?", regexp.QuoteMeta(ns), regexp.QuoteMeta(sa)))
		return func(v *view) tri {
			if v.spiffe == "" {
				return triFalse
			}
			return triOf(re.MatchString(v.spiffe))
		}, true
	}
}

// trustDomainMatchEnvoy is istiod's srcTrustDomainGenerator.
func trustDomainMatchEnvoy(value string) (matchFn, bool) {
	var m func(s string) bool
	switch {
	case value == "*":
		m = func(s string) bool { return strings.HasPrefix(s, snapshot.SPIFFEPrefix) }
	case !strings.Contains(value, "*"):
		m = func(s string) bool { return strings.HasPrefix(s, snapshot.SPIFFEPrefix+value+"/") }
	default:
		parts := strings.SplitN(value, "*", 2)
		re := fullRegexp(fmt.Sprintf("spiffe://%s[^/]*%s/.*", regexp.QuoteMeta(parts[0]), regexp.QuoteMeta(parts[1])))
		m = re.MatchString
	}
	return func(v *view) tri {
		if v.spiffe == "" {
			return triFalse
		}
		return triOf(m(v.spiffe))
	}, true
}

// parseCIDR is istio's AddrStrToPrefix: a CIDR, or an IP taken as a full-length prefix.
func parseCIDR(s string) (netip.Prefix, bool) {
	if s == "" {
		return netip.Prefix{}, false
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

func sourceIPMatch(value string) (matchFn, bool) {
	p, ok := parseCIDR(value)
	return func(v *view) tri {
		if !v.srcIPOK {
			return v.unknown("source IP")
		}
		return triOf(p.Contains(v.srcIP))
	}, ok
}

// remoteIPMatch: the original client IP (X-Forwarded-For, PROXY protocol) is
// never known at replay.
func remoteIPMatch(value string) (matchFn, bool) {
	_, ok := parseCIDR(value)
	return unknownMatchFn("remote IP"), ok
}

// parsePort is model/util.go convertToPort.
func parsePort(s string) (int, bool) {
	p, err := strconv.ParseUint(s, 10, 32)
	if err != nil || p > 65535 {
		return 0, false
	}
	return int(p), true
}

func portMatch(value string) (matchFn, bool) {
	port, ok := parsePort(value)
	return func(v *view) tri {
		if v.req.Port == 0 {
			return v.unknown("port")
		}
		return triOf(v.req.Port == port)
	}, ok
}

// methodMatch is Istio's HeaderMatcher on ":method": "*" = present (every
// HTTP request has a method), prefix/suffix/exact, case-sensitive
// (istio: matcher/header.go HeaderMatcher).
func methodMatch(value string) (matchFn, bool) {
	return func(v *view) tri {
		if value == "*" {
			return triTrue
		}
		if v.req.Method == "" {
			return v.unknown("method")
		}
		return triOf(headerMatch(value, v.req.Method, false))
	}, true
}

// hostMatch is Istio's HostMatcher on ":authority": like methods but
// case-insensitive, and compared with the whole authority, port included, so
// "example.com" does not match "example.com:8080" (ref 1.7; istio:
// matcher/header.go HostMatcher).
func hostMatch(value string) (matchFn, bool) {
	return func(v *view) tri {
		if value == "*" {
			return triTrue
		}
		if v.req.Host == "" {
			return v.unknown("host")
		}
		return triOf(headerMatch(value, v.req.Host, true))
	}, true
}

func headerMatch(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	switch {
	case strings.HasPrefix(pattern, "*"):
		return strings.HasSuffix(s, pattern[1:])
	case strings.HasSuffix(pattern, "*"):
		return strings.HasPrefix(s, pattern[:len(pattern)-1])
	default:
		return s == pattern
	}
}

// pathMatch matches the request path (ref 1.7): "*" matches every path (a
// regex ".+", and a request always has a path); everything else is
// paths.Match. For a folded prefix the rule matches only what it matches for
// every path below the prefix.
func pathMatch(value string) (matchFn, bool) {
	return func(v *view) tri {
		if value == "*" {
			return triTrue
		}
		if v.req.Path == "" {
			return v.unknown("path")
		}
		if v.req.PathIsPrefix {
			t := prefixSetMatch(value, v.req.Path)
			if t == triUnknown {
				return v.unknown("path (folded prefix " + v.req.Path + ")")
			}
			return t
		}
		return triOf(paths.Match(value, v.req.Path))
	}, true
}

// prefixSetMatch decides a path pattern for the set of all paths that start
// with prefix: true when it matches all of them, false when none, unknown
// otherwise (or when it cannot tell).
func prefixSetMatch(pattern, prefix string) tri {
	lit := pattern
	switch {
	case strings.HasSuffix(pattern, "/{**}") && strings.Count(pattern, "{") == 1:
		// "<lit>/{**}" matches every path below lit made of RFC 3986 pchar
		// characters and slashes (paths.Match). The paths folded into a
		// prefix are assumed to be such paths, as clients percent-encode
		// anything else.
		lit = strings.TrimSuffix(pattern, "{**}")
		if strings.HasPrefix(prefix, lit) {
			return triTrue
		}
	case strings.Contains(pattern, "{"):
		lit = pattern[:strings.Index(pattern, "{")]
	case strings.HasPrefix(pattern, "*"):
		return triUnknown
	case strings.HasSuffix(pattern, "*"):
		// Istio prefix pattern: matches every path starting with lit.
		lit = strings.TrimSuffix(pattern, "*")
		if strings.HasPrefix(prefix, lit) {
			return triTrue
		}
	default:
		// Exact: only a path at or below the prefix can equal it.
		if !strings.HasPrefix(pattern, prefix) {
			return triFalse
		}
		return triUnknown
	}
	// A pattern whose literal start diverges from the prefix matches none of
	// the paths below it.
	n := min(len(lit), len(prefix))
	if lit[:n] != prefix[:n] {
		return triFalse
	}
	return triUnknown
}

// ztRule is a rule as istiod converts it for ztunnel
// (istio: pilot/pkg/serviceregistry/ambient/authorization.go handleRule).
type ztRule struct {
	// omitted: an ALLOW rule with HTTP attributes is not sent (ref 2.1).
	omitted bool
	// l7 lists the HTTP attributes found (dropped from the conversion).
	l7 []string
	// clauses are AND-ed; in each, one non-empty match must match; empty
	// matches are skipped (zt: src/rbac.rs Authorization::matches).
	clauses [][][]constraint
}

// l4WhenKeys are the condition keys ztunnel understands (ref 1.8).
var l4WhenKeys = []string{"source.ip", "source.namespace", "source.principal", "destination.ip", "destination.port"}

func compileZtunnelRule(r *securityapi.Rule, act securityapi.AuthorizationPolicy_Action, policyNS string) ztRule {
	var zr ztRule
	if r == nil {
		// A nil rule cannot pass validation; treat it as matching nothing.
		zr.omitted = true
		return zr
	}
	var l7 []string
	if len(r.GetTo()) > 0 {
		var clause [][]constraint
		for _, t := range r.GetTo() {
			o := t.GetOperation()
			for _, f := range []struct {
				name string
				set  bool
			}{
				{"hosts", len(o.GetHosts()) > 0}, {"notHosts", len(o.GetNotHosts()) > 0},
				{"methods", len(o.GetMethods()) > 0}, {"notMethods", len(o.GetNotMethods()) > 0},
				{"paths", len(o.GetPaths()) > 0}, {"notPaths", len(o.GetNotPaths()) > 0},
			} {
				if f.set {
					l7 = append(l7, f.name)
				}
			}
			var m []constraint
			m = appendC(m, "ports", false, readsOther, validOnly(o.GetPorts(), portOK), validOnly(o.GetNotPorts(), portOK), portMatch)
			clause = append(clause, m)
		}
		zr.clauses = append(zr.clauses, clause)
	}
	if len(r.GetFrom()) > 0 {
		var clause [][]constraint
		for _, f := range r.GetFrom() {
			s := f.GetSource()
			for _, fl := range []struct {
				name string
				set  bool
			}{
				{"remoteIpBlocks", len(s.GetRemoteIpBlocks()) > 0}, {"notRemoteIpBlocks", len(s.GetNotRemoteIpBlocks()) > 0},
				{"requestPrincipals", len(s.GetRequestPrincipals()) > 0}, {"notRequestPrincipals", len(s.GetNotRequestPrincipals()) > 0},
			} {
				if fl.set {
					l7 = append(l7, fl.name)
				}
			}
			// trustDomains are not converted at all (ref 2.1, 8.8): a source
			// with only trustDomains becomes an empty match.
			var m []constraint
			m = appendC(m, "ipBlocks", false, readsCaller("sourceIP"), validOnly(s.GetIpBlocks(), cidrOK), validOnly(s.GetNotIpBlocks(), cidrOK), sourceIPMatch)
			m = appendC(m, "namespaces", false, readsCaller("namespace-ztunnel"), s.GetNamespaces(), s.GetNotNamespaces(), namespaceMatchZtunnel)
			m = appendC(m, "serviceAccounts", false, readsCaller("serviceAccount-ztunnel "+policyNS), s.GetServiceAccounts(), s.GetNotServiceAccounts(), serviceAccountMatchZtunnel(policyNS))
			m = appendC(m, "principals", false, readsCaller("principal"), s.GetPrincipals(), s.GetNotPrincipals(), principalMatch)
			clause = append(clause, m)
		}
		zr.clauses = append(zr.clauses, clause)
	}
	for _, w := range r.GetWhen() {
		var m []constraint
		k := w.GetKey()
		switch k {
		case "source.ip":
			m = appendC(m, k, false, readsCaller("sourceIP"), validOnly(w.GetValues(), cidrOK), validOnly(w.GetNotValues(), cidrOK), sourceIPMatch)
		case "source.namespace":
			m = appendC(m, k, false, readsCaller("namespace-ztunnel"), w.GetValues(), w.GetNotValues(), namespaceMatchZtunnel)
		case "source.principal":
			m = appendC(m, k, false, readsCaller("principal"), w.GetValues(), w.GetNotValues(), principalMatch)
		case "destination.ip":
			m = appendC(m, k, false, readsOther, validOnly(w.GetValues(), cidrOK), validOnly(w.GetNotValues(), cidrOK), unknownIPMatch(k))
		case "destination.port":
			m = appendC(m, k, false, readsOther, validOnly(w.GetValues(), portOK), validOnly(w.GetNotValues(), portOK), portMatch)
		}
		if !slices.Contains(l4WhenKeys, k) {
			l7 = append(l7, k)
		}
		zr.clauses = append(zr.clauses, [][]constraint{m})
	}
	slices.Sort(l7)
	zr.l7 = slices.Compact(l7)
	if act == securityapi.AuthorizationPolicy_ALLOW && len(zr.l7) > 0 {
		zr.omitted = true
	}
	return zr
}

func portOK(s string) bool { _, ok := parsePort(s); return ok }
func cidrOK(s string) bool { _, ok := parseCIDR(s); return ok }

// validOnly keeps the values istiod's ambient conversion keeps: invalid ports
// and addresses are dropped silently (authorization.go stringToPort, stringToIP).
func validOnly(vals []string, ok func(string) bool) []string {
	var out []string
	for _, v := range vals {
		if ok(v) {
			out = append(out, v)
		}
	}
	return out
}

// namespaceMatchZtunnel compares the namespace parsed from the peer identity
// ("" when plaintext) with exact/prefix/suffix/presence (zt: src/rbac.rs).
func namespaceMatchZtunnel(value string) (matchFn, bool) {
	return func(v *view) tri {
		return triOf(stringMatch(value, v.idNS))
	}, true
}

// serviceAccountMatchZtunnel compares namespace and service account of the
// peer identity, any trust domain (zt: src/rbac.rs ServiceAccountMatch).
func serviceAccountMatchZtunnel(policyNS string) makeFn {
	return func(value string) (matchFn, bool) {
		ns, sa, ok := strings.Cut(value, "/")
		if !ok {
			ns, sa = policyNS, value
		}
		return func(v *view) tri {
			return triOf(v.idOK && v.idNS == ns && v.idSA == sa)
		}, true
	}
}

// match evaluates the ztunnel form; the second result is false when the rule
// was not sent.
func (r *ztRule) match(v *view) (tri, bool) {
	if r.omitted {
		return triFalse, false
	}
	res := triTrue
	for _, clause := range r.clauses {
		if len(clause) == 0 {
			continue
		}
		cm := triFalse
		for _, m := range clause {
			if len(m) == 0 {
				continue // an empty match is skipped, never matches
			}
			cm = or(cm, allOf(m, v, true))
			if cm == triTrue {
				break
			}
		}
		res = and(res, cm)
		if res == triFalse {
			return res, true
		}
	}
	return res, true
}
