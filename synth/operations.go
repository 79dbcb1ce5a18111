package synth

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	securityv1beta1 "istio.io/api/security/v1beta1"

	"github.com/meshgen/meshgen/synth/paths"
)

// operation is one `to.operation` before it becomes an Istio object. Fields
// are sorted; nil means "not restricted".
type operation struct {
	ports   []int
	methods []string
	paths   []string
}

func (o operation) key() string {
	return fmt.Sprint(o.ports) + "|" + strings.Join(o.methods, ",") + "|" + strings.Join(o.paths, "\x00")
}

func (o operation) proto() *securityv1beta1.Operation {
	op := &securityv1beta1.Operation{Methods: slices.Clone(o.methods), Paths: slices.Clone(o.paths)}
	for _, p := range o.ports {
		op.Ports = append(op.Ports, strconv.Itoa(p))
	}
	return op
}

func compareOps(a, b operation) int {
	return cmp.Or(slices.Compare(a.ports, b.ports), slices.Compare(a.methods, b.methods), slices.Compare(a.paths, b.paths))
}

// anyValue stands for "not restricted" in method and path sets.
const anyValue = ""

// l7Group is the key under which paths are generalised: one caller, one
// port, one method, one protocol. Generalising per method keeps an id-heavy
// GET from widening a rare DELETE and vice versa.
type l7Group struct {
	port   int
	method string
	grpc   bool
}

// buildOperations turns a caller's observed L7 requests into operations that
// admit exactly the observed (port, method, path pattern) combinations: paths
// are generalised per (port, method), then patterns that share the same set of
// methods form one operation, and ports with identical operations share it.
// No operation admits a method on a path it was not seen with.
func (s *synthesizer) buildOperations(d *dest, obs []l7Obs) ([]operation, []string) {
	groups := map[l7Group][]paths.Observation{}
	anyPath := map[l7Group]bool{}
	for _, o := range obs {
		g := l7Group{port: o.port, method: o.method, grpc: o.grpc}
		if o.grpc {
			g.method = "POST"
		}
		if o.path == "" {
			anyPath[g] = true
			continue
		}
		groups[g] = append(groups[g], paths.Observation{Path: o.path, Prefix: o.prefix, Requests: o.requests})
	}
	for g := range anyPath {
		if _, ok := groups[g]; !ok {
			groups[g] = nil
		}
	}
	var notes []string
	// methodsOf[port][pattern] is the set of methods seen with the pattern.
	methodsOf := map[int]map[string][]string{}
	for _, g := range sortedGroups(groups) {
		patterns := []string{anyValue}
		if !anyPath[g] {
			var n []string
			patterns, n = s.generalize(d, groups[g], g.grpc)
			if slices.Contains(patterns, anyValue) {
				patterns = []string{anyValue}
			}
			for _, msg := range n {
				notes = append(notes, fmt.Sprintf("%s: %s", describeGroup(g), msg))
			}
		}
		if methodsOf[g.port] == nil {
			methodsOf[g.port] = map[string][]string{}
		}
		for _, p := range patterns {
			methodsOf[g.port][p] = addSorted(methodsOf[g.port][p], cmp.Or(g.method, "*"))
		}
	}
	ops := groupOperations(methodsOf)
	if slices.ContainsFunc(ops, func(o operation) bool { return len(o.ports)+len(o.methods)+len(o.paths) == 0 }) {
		// A request of unknown port and method on a path no value can
		// express: only "any operation" admits it.
		notes = append(notes, "a request with no port, method or expressible path was observed: every operation is admitted for this caller")
		s.warn(CodeOpenPorts, d.ns, d.name, "a caller is admitted for every operation: one of its requests had no port, method or expressible path (see the rule's notes)")
		return nil, notes
	}
	return ops, notes
}

// groupOperations forms operations from the (port → pattern → methods) map.
func groupOperations(methodsOf map[int]map[string][]string) []operation {
	type body struct {
		methods []string
		paths   []string
	}
	byBody := map[string]*operation{}
	var order []string
	for _, port := range sortedInts(methodsOf) {
		// Patterns sharing a method set form one body on this port.
		bodies := map[string]*body{}
		for _, pat := range sortedKeys(methodsOf[port]) {
			ms := methodsOf[port][pat]
			if slices.Contains(ms, "*") {
				ms = nil // a request of unknown method: any method
			}
			k := strings.Join(ms, ",")
			b := bodies[k]
			if b == nil {
				b = &body{methods: ms}
				bodies[k] = b
			}
			b.paths = append(b.paths, pat)
		}
		for _, k := range sortedKeys(bodies) {
			b := bodies[k]
			if slices.Contains(b.paths, anyValue) {
				b.paths = nil
			}
			slices.Sort(b.paths)
			op := operation{methods: b.methods, paths: b.paths}
			bk := op.key()
			if port == 0 {
				bk = "noport|" + bk
			}
			cur := byBody[bk]
			if cur == nil {
				cur = &op
				byBody[bk] = cur
				order = append(order, bk)
			}
			if port != 0 {
				cur.ports = append(cur.ports, port)
			}
		}
	}
	ops := make([]operation, 0, len(order))
	for _, k := range order {
		ops = append(ops, *byBody[k])
	}
	slices.SortFunc(ops, compareOps)
	return ops
}

func sortedGroups(m map[l7Group][]paths.Observation) []l7Group {
	gs := make([]l7Group, 0, len(m))
	for g := range m {
		gs = append(gs, g)
	}
	slices.SortFunc(gs, func(a, b l7Group) int {
		return cmp.Or(cmp.Compare(a.port, b.port), strings.Compare(a.method, b.method), boolCmp(a.grpc, b.grpc))
	})
	return gs
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

func describeGroup(g l7Group) string {
	var parts []string
	if g.port != 0 {
		parts = append(parts, fmt.Sprintf("port %d", g.port))
	}
	if g.method != "" {
		parts = append(parts, g.method)
	}
	if g.grpc {
		parts = append(parts, "gRPC")
	}
	if len(parts) == 0 {
		return "paths"
	}
	return strings.Join(parts, " ")
}

// generalize turns observed paths into valid Istio path values. A value the
// generaliser produced that Istio would reject is replaced by a prefix match
// that still covers it, with a note.
func (s *synthesizer) generalize(d *dest, obs []paths.Observation, grpc bool) ([]string, []string) {
	opts := paths.Options{
		Templates:        s.opts.IstioVersion.AtLeast(1, 22),
		SiblingThreshold: s.opts.PathSiblingThreshold,
		FanoutThreshold:  s.opts.PathFanoutThreshold,
		MaxPatterns:      s.opts.MaxPathsPerRule,
		GRPC:             grpc,
	}
	res := paths.Generalize(obs, opts)
	notes := slices.Clone(res.Notes)
	if res.CapExceeded {
		limit := opts.MaxPatterns
		if limit == 0 {
			limit = paths.DefaultMaxPatterns
		}
		s.warn(CodePaths, d.ns, d.name, fmt.Sprintf("more than %d path values remain for one rule after merging (the first segment is never merged): the cap could not be kept", limit))
	}
	var out []string
	if len(res.Uncovered) > 0 {
		// No `paths` value can admit these without admitting every path:
		// leave paths unrestricted rather than deny observed requests.
		q := make([]string, len(res.Uncovered))
		for i, u := range res.Uncovered {
			q[i] = quoteIfNeeded(u.Path)
		}
		notes = append(notes, fmt.Sprintf("paths %s cannot be expressed as Istio path values: paths are not restricted here", strings.Join(q, ", ")))
		s.warn(CodePaths, d.ns, d.name, fmt.Sprintf("paths %s cannot be written as Istio path values: a rule admits every path instead", strings.Join(q, ", ")))
		out = append(out, anyValue)
	}
	for _, p := range res.Patterns {
		v := p.Value
		if !opts.Templates && !p.Literal && p.Wide && !grpc {
			s.warn(CodePathTemplates, d.ns, d.name, fmt.Sprintf(
				"Istio %s has no path templates (1.22+): generalised paths are written as prefix matches such as %s, which admit any path below them", s.opts.IstioVersion, quoteIfNeeded(v)))
		}
		if err := paths.Valid(v); err != nil {
			w := safePrefix(v)
			notes = append(notes, fmt.Sprintf("%s cannot be written as an Istio path (%v); admitted by the prefix %s", quoteIfNeeded(v), err, w))
			v = w
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return slices.Compact(out), notes
}

// safePrefix returns a plain prefix value ("/dir/*") that matches every path
// the value could stand for: the part before the first brace or wildcard, cut
// back to a '/'.
func safePrefix(v string) string {
	cut := len(v)
	if i := strings.IndexAny(v, "{*"); i >= 0 {
		cut = i
	}
	head := v[:cut]
	j := strings.LastIndex(head, "/")
	if j < 0 {
		return "*"
	}
	return head[:j+1] + "*"
}

// quoteIfNeeded quotes a value for a message or comment when it holds
// anything but plain printable ASCII.
func quoteIfNeeded(v string) string {
	if v == "" {
		return `""`
	}
	for _, r := range v {
		if r < 0x21 || r > 0x7e || r == '"' || r == '\\' {
			return strconv.Quote(v)
		}
	}
	return v
}
