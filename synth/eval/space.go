package eval

import (
	"slices"
	"strings"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// Space is the (caller, operation) combinations of a set of edges, as the
// privilege summary and diff's access changes count them: the distinct
// callers (by SourceKey) and operations (by OperationKey) of the edges.
type Space struct {
	// Callers are the distinct callers, sorted by their key CallerKeys,
	// with IdentityFrom cleared.
	Callers    []snapshot.Source
	CallerKeys []string
	// Ops are the distinct operations, in snapshot.CompareKeys order of
	// their OperationKey: the first edge given of each.
	Ops []*snapshot.Edge
	// EdgeCaller and EdgeOp are, for each edge given, the indices of its
	// caller and operation.
	EdgeCaller, EdgeOp []int
}

// NewSpace lists the callers and operations of edges. Operations are keyed
// by destination and then by the rest of the operation, so that the keys
// hashed stay small.
func NewSpace(edges []*snapshot.Edge) *Space {
	type dest struct{ ns, wl, svc string }
	type op struct {
		reporter               string
		port                   int
		protocol, method, path string
		prefix                 bool
	}
	sp := &Space{EdgeCaller: make([]int, len(edges)), EdgeOp: make([]int, len(edges))}
	callerOf := map[string]int{}
	opsOf := map[dest]map[op]int{}
	var ops []*snapshot.Edge
	for i, e := range edges {
		sk := SourceKey(e.Source)
		c, ok := callerOf[sk]
		if !ok {
			c = len(sp.CallerKeys)
			callerOf[sk] = c
			s := e.Source
			s.IdentityFrom = ""
			sp.CallerKeys = append(sp.CallerKeys, sk)
			sp.Callers = append(sp.Callers, s)
		}
		d := dest{e.Destination.Namespace, e.Destination.Workload, e.Destination.Service}
		m := opsOf[d]
		if m == nil {
			m = map[op]int{}
			opsOf[d] = m
		}
		k := op{e.Reporter, e.Port, e.Protocol, e.Method, e.Path, e.PathPrefix}
		o, ok := m[k]
		if !ok {
			o = len(ops)
			m[k] = o
			ops = append(ops, e)
		}
		sp.EdgeCaller[i], sp.EdgeOp[i] = c, o
	}

	// Sort the callers by key and the operations as CompareKeys orders
	// their keys (the source fields of an OperationKey are empty).
	corder := sortedOrder(len(sp.CallerKeys), func(a, b int) int { return strings.Compare(sp.CallerKeys[a], sp.CallerKeys[b]) })
	oorder := sortedOrder(len(ops), func(a, b int) int {
		return snapshot.CompareKeys(OperationKey(ops[a]), OperationKey(ops[b]))
	})
	callers, keys := sp.Callers, sp.CallerKeys
	sp.Callers, sp.CallerKeys = make([]snapshot.Source, len(callers)), make([]string, len(keys))
	cnew := make([]int, len(callers))
	for to, from := range corder {
		sp.Callers[to], sp.CallerKeys[to] = callers[from], keys[from]
		cnew[from] = to
	}
	sp.Ops = make([]*snapshot.Edge, len(ops))
	onew := make([]int, len(ops))
	for to, from := range oorder {
		sp.Ops[to] = ops[from]
		onew[from] = to
	}
	for i := range edges {
		sp.EdgeCaller[i], sp.EdgeOp[i] = cnew[sp.EdgeCaller[i]], onew[sp.EdgeOp[i]]
	}
	return sp
}

// Observed counts the distinct (caller, operation) combinations of the
// edges.
func (sp *Space) Observed() int {
	seen := make(map[uint64]struct{}, len(sp.EdgeCaller))
	for i, c := range sp.EdgeCaller {
		seen[uint64(c)<<32|uint64(sp.EdgeOp[i])] = struct{}{}
	}
	return len(seen)
}

// sortedOrder returns 0..n-1 sorted by compare.
func sortedOrder(n int, compare func(a, b int) int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, compare)
	return order
}
