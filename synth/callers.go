package synth

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// edgesOf returns pointers to the edges with the given indexes.
func (s *synthesizer) edgesOf(idxs []int) []*snapshot.Edge {
	out := make([]*snapshot.Edge, len(idxs))
	for i, j := range idxs {
		out[i] = &s.edges[j]
	}
	return out
}

// representative returns the first edge's source, as the caller's identity
// for labelling.
func (s *synthesizer) representative(c *callerEv) snapshot.Source {
	src := snapshot.Source{Principal: c.principal}
	for _, i := range c.edges {
		e := &s.edges[i]
		if src.Workload == "" && e.Source.Workload != "" {
			src.Workload, src.Namespace = e.Source.Workload, e.Source.Namespace
		}
	}
	return src
}

// callerLabels flags what a caller is, for the rule's evidence comment.
func (s *synthesizer) callerLabels(d *dest, c *callerEv) []string {
	src := s.representative(c)
	var labels []string
	if !slices.ContainsFunc(c.edges, func(i int) bool { return isServerSide(&s.edges[i]) }) {
		labels = append(labels, labelClientSide)
	}
	if s.infra.isScraper(src) {
		labels = append(labels, labelScrape)
	}
	if s.infra.isGatewayCaller(src) {
		labels = append(labels, labelGateway)
	}
	if s.isWaypointPrincipal(src.Principal) {
		labels = append(labels, labelWaypoint)
	}
	if s.infra.isControlPlaneCaller(src) {
		labels = append(labels, labelControlPlane)
	}
	if p, err := snapshot.ParsePrincipal(src.Principal); err == nil {
		if p.Namespace != d.ns {
			labels = append(labels, labelCrossNS)
		}
		if p.ServiceAccount == "default" {
			labels = append(labels, labelDefaultSA)
		}
		if len(s.infra.workloadsOf(src.Principal)) > 1 {
			labels = append(labels, labelSharedSA)
		}
	}
	return labels
}

// isWaypointPrincipal reports whether a principal belongs to a known waypoint.
func (s *synthesizer) isWaypointPrincipal(principal string) bool {
	p, err := snapshot.ParsePrincipal(principal)
	if err != nil {
		return false
	}
	for _, wp := range s.idx.Inventory().Waypoints {
		sa := wp.ServiceAccount
		if sa == "" {
			sa = wp.Name
		}
		if wp.Namespace == p.Namespace && sa == p.ServiceAccount {
			return true
		}
	}
	return false
}

// reviewCallers adds the warnings and notes about a destination's admitted
// callers: default and shared service accounts, other namespaces, gateways,
// the control plane, scrapers.
func (s *synthesizer) reviewCallers(d *dest) {
	var crossNS []string
	for _, k := range sortedKeys(d.callers) {
		c := d.callers[k]
		src := s.representative(c)
		p, err := snapshot.ParsePrincipal(c.principal)
		if err != nil {
			continue
		}
		if p.Namespace != d.ns {
			crossNS = append(crossNS, c.principal)
		}
		if p.ServiceAccount == "default" {
			s.warn(CodeDefaultServiceAccount, d.ns, d.name, fmt.Sprintf(
				"called under %s: the rule admits every workload of namespace %s that runs as the default service account", c.principal, p.Namespace))
		}
		if ws := s.infra.workloadsOf(c.principal); len(ws) > 1 {
			s.warn(CodeSharedServiceAccount, d.ns, d.name, fmt.Sprintf(
				"%s is shared by workloads %s: the rule admits all of them", c.principal, strings.Join(ws, ", ")))
		}
		if s.infra.isGatewayCaller(src) {
			s.noteAt(CodeGatewayCaller, d.ns, d.name, fmt.Sprintf("called by ingress gateway %s: this is the edge to the outside world", c.principal))
		}
		if s.infra.isControlPlaneCaller(src) {
			s.noteAt(CodeControlPlaneCaller, d.ns, d.name, fmt.Sprintf("called by the control plane (%s)", c.principal))
		}
		if s.infra.isScraper(src) {
			s.noteAt(CodeScraper, d.ns, d.name, fmt.Sprintf("scraped by %s: admitted as a metrics scrape", c.principal))
		}
		if s.guessedIdentity(c) {
			s.warn(CodeGuessedIdentity, d.ns, d.name, fmt.Sprintf(
				"%s was identified by pod IP, and its transport security is unknown: if it connects in plaintext, its rule and STRICT mTLS will reject it", c.principal))
		}
	}
	if len(crossNS) > 0 {
		s.warn(CodeCrossNamespace, d.ns, d.name, fmt.Sprintf("called from other namespaces: %s", strings.Join(crossNS, ", ")))
	}
	if s.idx.Inventory().Origin == snapshot.InventoryInferred || (d.w != nil && d.w.Inferred) {
		s.warn(CodeInferredSelector, d.ns, d.name, fmt.Sprintf("selector %s was inferred from metric labels", formatLabels(d.w.Selector)))
	}
	s.checkSelectorOverlap(d)
}

// checkSelectorOverlap warns when the destination's selector also matches
// other workloads' pods: their policies would add up.
func (s *synthesizer) checkSelectorOverlap(d *dest) {
	var others []string
	for _, w := range s.idx.WorkloadsIn(d.ns) {
		if w.Name == d.name || len(w.Labels) == 0 {
			continue
		}
		if labelsMatch(d.w.Selector, w.Labels) {
			others = append(others, w.Name)
		}
	}
	if len(others) > 0 {
		slices.Sort(others)
		s.warn(CodeSelectorOverlap, d.ns, d.name, fmt.Sprintf("selector %s also matches the pods of %s: policies for these workloads apply to each other",
			formatLabels(d.w.Selector), strings.Join(others, ", ")))
	}
}

func labelsMatch(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if l, ok := labels[k]; !ok || l != v {
			return false
		}
	}
	return true
}

func formatLabels(m map[string]string) string {
	keys := sortedKeys(m)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + quoteIfNeeded(m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// plaintextCallers lists the plaintext callers of a set of edges for people.
func (s *synthesizer) plaintextCallers(idxs []int) []string {
	var out []string
	for _, i := range idxs {
		e := &s.edges[i]
		name := plaintextIdentity(e.Source)
		switch {
		case e.Source.Principal != "":
			name = e.Source.Principal + " (identity from " + cmp.Or(e.Source.IdentityFrom, "unknown") + ")"
		case name == "":
			name = "unidentified caller"
		}
		if isProbe(e) {
			name += " (probable health probe)"
		}
		if s.infra.isScraper(e.Source) {
			name += " (metrics scrape)"
		}
		out = addSorted(out, name)
	}
	return out
}

// isProbe recognises a kubelet health probe that reached the application
// port in plaintext: a caller known only by IP asking a health path.
func isProbe(e *snapshot.Edge) bool {
	if e.Source.Principal != "" || e.Source.Workload != "" || e.Source.IP == "" || e.Path == "" {
		return false
	}
	p := strings.ToLower(e.Path)
	for _, h := range []string{"/healthz", "/readyz", "/livez", "/health", "/ready", "/live", "/ping", "/actuator/health", "/q/health", "/status"} {
		if p == h || strings.HasPrefix(p, h+"/") {
			return true
		}
	}
	return false
}

// guessedIdentity reports whether a caller's principal was only inferred
// from its pod IP on every edge, without any sign that it used mTLS.
func (s *synthesizer) guessedIdentity(c *callerEv) bool {
	for _, i := range c.edges {
		e := &s.edges[i]
		if e.Source.IdentityFrom != snapshot.IdentityPodIP || e.Counts.MTLS > 0 {
			return false
		}
	}
	return len(c.edges) > 0
}
