package snapshot

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Key is the identity of an edge: two edges with the same key describe the
// same kind of call and merge into one.
type Key struct {
	SrcPrincipal string
	SrcNamespace string
	SrcWorkload  string
	SrcIP        string
	DstNamespace string
	DstWorkload  string
	DstService   string
	Reporter     string
	Port         int
	Protocol     string
	Method       string
	Path         string
	PathPrefix   bool
}

// Key returns the edge's key.
func (e *Edge) Key() Key {
	return Key{
		SrcPrincipal: e.Source.Principal,
		SrcNamespace: e.Source.Namespace,
		SrcWorkload:  e.Source.Workload,
		SrcIP:        e.Source.IP,
		DstNamespace: e.Destination.Namespace,
		DstWorkload:  e.Destination.Workload,
		DstService:   e.Destination.Service,
		Reporter:     e.Reporter,
		Port:         e.Port,
		Protocol:     e.Protocol,
		Method:       e.Method,
		Path:         e.Path,
		PathPrefix:   e.PathPrefix,
	}
}

// CompareKeys orders keys: destination first, then source, then operation.
func CompareKeys(a, b Key) int {
	return cmp.Or(
		strings.Compare(a.DstNamespace, b.DstNamespace),
		strings.Compare(a.DstWorkload, b.DstWorkload),
		strings.Compare(a.DstService, b.DstService),
		strings.Compare(a.SrcPrincipal, b.SrcPrincipal),
		strings.Compare(a.SrcNamespace, b.SrcNamespace),
		strings.Compare(a.SrcWorkload, b.SrcWorkload),
		strings.Compare(a.SrcIP, b.SrcIP),
		strings.Compare(a.Reporter, b.Reporter),
		cmp.Compare(a.Port, b.Port),
		strings.Compare(a.Protocol, b.Protocol),
		strings.Compare(a.Method, b.Method),
		strings.Compare(a.Path, b.Path),
		boolCompare(a.PathPrefix, b.PathPrefix),
	)
}

func boolCompare(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	default:
		return 1
	}
}

// MergeInto folds the values of src into dst, which must have the same key:
// counts add, first and last seen widen, evidence unites, and the stronger
// identity origin and the known destination principal are kept.
func MergeInto(dst *Edge, src *Edge) {
	dst.Counts = dst.Counts.Add(src.Counts)
	dst.FirstSeen = minTime(dst.FirstSeen, src.FirstSeen)
	dst.LastSeen = maxTime(dst.LastSeen, src.LastSeen)
	dst.Evidence = unionSorted(dst.Evidence, src.Evidence)
	if dst.Source.IdentityFrom != IdentityCertificate && src.Source.IdentityFrom != "" {
		dst.Source.IdentityFrom = src.Source.IdentityFrom
	}
	if dst.Destination.Principal == "" {
		dst.Destination.Principal = src.Destination.Principal
	}
}

func minTime(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero():
		return a
	case b.Before(a):
		return b
	default:
		return a
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func unionSorted(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	out := make([]string, 0, len(a)+len(b))
	out = append(out, a...)
	out = append(out, b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// Builder accumulates edges, merging those with equal keys. It is not safe for
// concurrent use; learners that parse in parallel use one Builder per worker
// and Absorb them.
type Builder struct {
	edges map[Key]*Edge
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder { return &Builder{edges: make(map[Key]*Edge)} }

// Add merges e into the builder. Evidence is normalised to a sorted set.
func (b *Builder) Add(e Edge) {
	k := e.Key()
	if cur, ok := b.edges[k]; ok {
		MergeInto(cur, &e)
		return
	}
	if len(e.Evidence) > 1 {
		e.Evidence = unionSorted(nil, e.Evidence)
	}
	b.edges[k] = &e
}

// Absorb merges every edge of o into b.
func (b *Builder) Absorb(o *Builder) {
	for _, e := range o.edges {
		b.Add(*e)
	}
}

// Len is the number of distinct edges.
func (b *Builder) Len() int { return len(b.edges) }

// Edges returns the merged edges in canonical order.
func (b *Builder) Edges() []Edge {
	out := make([]Edge, 0, len(b.edges))
	for _, e := range b.edges {
		out = append(out, *e)
	}
	SortEdges(out)
	return out
}

// SortEdges sorts edges in canonical order.
func SortEdges(edges []Edge) {
	slices.SortFunc(edges, func(a, b Edge) int { return CompareKeys(a.Key(), b.Key()) })
}
