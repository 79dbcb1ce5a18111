package synth

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	securityv1beta1 "istio.io/api/security/v1beta1"
)

// rule is an ALLOW rule before it becomes an Istio object.
type rule struct {
	// principals admitted (sorted); nil for a rule that admits any caller.
	principals []string
	// ops are the operations; nil for "any operation".
	ops []operation
	// sources explain the rule, one per principal (or one for a ports-only rule).
	sources []SourceEvidence
	notes   []string
	// partNotes are (principal, note) pairs gathered while sharing.
	partNotes [][2]string
	// order sorts rules: principal rules first, then ports-only rules.
	order int
}

func (r *rule) opsKey() string {
	keys := make([]string, len(r.ops))
	for i, o := range r.ops {
		keys[i] = o.key()
	}
	return strings.Join(keys, "\n")
}

func (r *rule) proto() *securityv1beta1.Rule {
	out := &securityv1beta1.Rule{}
	if len(r.principals) > 0 {
		out.From = []*securityv1beta1.Rule_From{{Source: &securityv1beta1.Source{Principals: slices.Clone(r.principals)}}}
	}
	for _, o := range r.ops {
		out.To = append(out.To, &securityv1beta1.Rule_To{Operation: o.proto()})
	}
	return out
}

// rulePart is one caller's contribution: the operations it needs and the
// evidence behind them.
type rulePart struct {
	principal string
	ops       []operation // nil: any operation
	ev        SourceEvidence
	notes     []string
	// l7 parts sort after L4 parts of the same caller.
	l7 bool
}

// shareRules merges parts whose operations are identical into one rule with
// several principals: no caller gains another caller's operations. Rules are
// ordered by their first principal, L4 before L7.
func shareRules(parts []rulePart) []*rule {
	byKey := map[string]*rule{}
	var keys []string
	for _, p := range parts {
		r := &rule{ops: p.ops}
		// A ports-only rule for any caller never merges with principal rules.
		k := fmt.Sprint(p.l7, p.principal == "") + "\n" + r.opsKey()
		cur := byKey[k]
		if cur == nil {
			cur = r
			if p.l7 {
				cur.order = 1
			}
			byKey[k] = cur
			keys = append(keys, k)
		}
		if i := slices.IndexFunc(cur.sources, func(s SourceEvidence) bool { return s.Principal == p.principal }); i >= 0 {
			cur.sources[i] = mergeSourceEvidence(cur.sources[i], p.ev)
		} else {
			cur.sources = append(cur.sources, p.ev)
		}
		for _, n := range p.notes {
			cur.partNotes = append(cur.partNotes, [2]string{p.principal, n})
		}
	}
	rules := make([]*rule, 0, len(keys))
	for _, k := range keys {
		r := byKey[k]
		sortSources(r)
		// Notes name their caller only when the rule has several.
		for _, pn := range r.partNotes {
			n := pn[1]
			if len(r.principals) > 1 && pn[0] != "" {
				n = pn[0] + ": " + n
			}
			r.notes = append(r.notes, n)
		}
		slices.Sort(r.notes)
		r.notes = slices.Compact(r.notes)
		rules = append(rules, r)
	}
	sortRules(rules)
	return rules
}

// sortSources puts a rule's sources in order and derives its principals
// (none for a rule that admits any caller).
func sortSources(r *rule) {
	slices.SortFunc(r.sources, func(a, b SourceEvidence) int { return strings.Compare(a.Principal, b.Principal) })
	r.principals = nil
	for _, s := range r.sources {
		if s.Principal != "" {
			r.principals = append(r.principals, s.Principal)
		}
	}
}

func sortRules(rules []*rule) {
	slices.SortStableFunc(rules, func(a, b *rule) int {
		return cmp.Or(cmp.Compare(ruleClass(a), ruleClass(b)), slices.Compare(a.principals, b.principals),
			cmp.Compare(a.order, b.order), strings.Compare(a.opsKey(), b.opsKey()))
	})
}

// ruleClass puts principal rules before ports-only rules.
func ruleClass(r *rule) int {
	if len(r.principals) == 0 {
		return 1
	}
	return 0
}

// portsOnlyOps returns a single operation restricting ports, or nil for any port.
func portsOnlyOps(ports []int, anyPort bool) []operation {
	if anyPort || len(ports) == 0 {
		return nil
	}
	return []operation{{ports: slices.Clone(ports)}}
}

// mergeSourceEvidence joins two pieces of evidence for the same caller in
// the same rule. They describe the same traffic seen at two points (a
// waypoint's log and the destination ztunnel's), so the larger count is kept.
func mergeSourceEvidence(a, b SourceEvidence) SourceEvidence {
	a.Requests = max(a.Requests, b.Requests)
	if !b.FirstSeen.IsZero() && (a.FirstSeen.IsZero() || b.FirstSeen.Before(a.FirstSeen)) {
		a.FirstSeen = b.FirstSeen
	}
	if b.LastSeen.After(a.LastSeen) {
		a.LastSeen = b.LastSeen
	}
	a.Kinds = addSorted(slices.Clone(a.Kinds), b.Kinds...)
	a.IdentityFrom = addSorted(slices.Clone(a.IdentityFrom), b.IdentityFrom...)
	a.Labels = addSorted(slices.Clone(a.Labels), b.Labels...)
	a.Callers = addSorted(slices.Clone(a.Callers), b.Callers...)
	return a
}
