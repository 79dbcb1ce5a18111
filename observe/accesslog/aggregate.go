package accesslog

import (
	"hash/maphash"
	"strings"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// aggregator merges entries with equal keys, remembering the order in which
// keys first appeared, so that folding paths past the cap depends only on
// the order of the input and not on the scheduling of the workers.
//
// Entries are found by the 64-bit hash of their key, computed once per line
// by the worker and carried along, so that merging a chunk into an input
// and an input into the result does not hash the key's strings again; keys
// are compared in full on a hit, and the rare keys whose hash collides with
// another's live in a second map.
type aggregator struct {
	index   map[uint64]int32
	collide map[snapshot.Key]int32
	entries []entry
	// slots, in a chunk's aggregator, replace index: a direct-mapped table
	// from the key's hash to the entry last seen there. A slot taken by
	// another key just adds a second entry for the same key, which the
	// merger merges; a chunk is too small for that to matter, and a table
	// that never grows is cheaper than a map for a chunk of distinct keys.
	slots []int32

	// maxPaths > 0 turns on the cap on distinct raw paths per destination.
	maxPaths int
	tables   map[destKey]*pathTable
}

// keySeed seeds the hash of keys for the whole process.
var keySeed = maphash.MakeSeed()

func hashKey(k *snapshot.Key) uint64 { return maphash.Comparable(keySeed, *k) }

type destKey struct{ ns, workload, service string }

// pathTable is what a destination's paths have been folded into so far.
// Raw paths are kept up to the cap; a path past it is counted under the
// deepest prefix the table can hold: its parent directory cut to at most
// three segments ("/api/v1/users/123" → "/api/v1/users/"), else its first
// segment ("/api/"), else "/". Each level holds at most the cap too, so a
// destination keeps at most three times the cap distinct paths, whatever
// the input.
type pathTable struct {
	raw, parents, firsts map[string]struct{}
	// folded counts the requests counted under prefixes.
	folded int64
}

func newAggregator(maxPaths int) *aggregator {
	a := &aggregator{index: map[uint64]int32{}, maxPaths: maxPaths}
	if maxPaths > 0 {
		a.tables = map[destKey]*pathTable{}
	}
	return a
}

const chunkSlots = 1 << 13

// newChunkAggregator returns an aggregator for one chunk's lines.
func newChunkAggregator() *aggregator {
	a := &aggregator{slots: make([]int32, chunkSlots)}
	a.reset()
	return a
}

// reset empties a chunk aggregator for reuse, keeping its memory.
func (a *aggregator) reset() {
	clear(a.index)
	a.collide = nil
	a.entries = a.entries[:0]
	for i := range a.slots {
		a.slots[i] = -1
	}
}

// addChunk merges e into a chunk's aggregator.
func (a *aggregator) addChunk(e *entry) {
	s := &a.slots[e.h&(chunkSlots-1)]
	if i := *s; i >= 0 && a.entries[i].key == e.key {
		mergeEntry(&a.entries[i], e)
		return
	}
	*s = int32(len(a.entries))
	a.entries = append(a.entries, *e)
}

func (a *aggregator) find(e *entry) (int32, bool) {
	i, ok := a.index[e.h]
	if !ok {
		return 0, false
	}
	if a.entries[i].key == e.key {
		return i, true
	}
	i, ok = a.collide[e.key]
	return i, ok
}

func (a *aggregator) insert(e *entry) {
	i := int32(len(a.entries))
	if _, taken := a.index[e.h]; taken {
		if a.collide == nil {
			a.collide = map[snapshot.Key]int32{}
		}
		a.collide[e.key] = i
	} else {
		a.index[e.h] = i
	}
	a.entries = append(a.entries, *e)
}

// add merges e, without the path cap. e.h must be hashKey(&e.key).
func (a *aggregator) add(e *entry) {
	if i, ok := a.find(e); ok {
		mergeEntry(&a.entries[i], e)
		return
	}
	a.insert(e)
}

func mergeEntry(d, s *entry) {
	d.counts = d.counts.Add(s.counts)
	if s.first != 0 && (d.first == 0 || s.first < d.first) {
		d.first = s.first
	}
	if s.last > d.last {
		d.last = s.last
	}
	d.evidence |= s.evidence
	if d.identityFrom != snapshot.IdentityCertificate && s.identityFrom != "" {
		d.identityFrom = s.identityFrom
	}
	if d.dstPrincipal == "" {
		d.dstPrincipal = s.dstPrincipal
	}
}

// absorb merges every entry of o in o's order, applying the path cap.
func (a *aggregator) absorb(o *aggregator) {
	for i := range o.entries {
		a.addCapped(&o.entries[i])
	}
}

func (a *aggregator) addCapped(e *entry) {
	if i, ok := a.find(e); ok {
		mergeEntry(&a.entries[i], e)
		return
	}
	if a.maxPaths <= 0 || e.key.Path == "" || e.key.PathPrefix {
		a.insert(e)
		return
	}
	dk := destKey{e.key.DstNamespace, e.key.DstWorkload, e.key.DstService}
	t := a.tables[dk]
	if t == nil {
		t = &pathTable{raw: map[string]struct{}{}, parents: map[string]struct{}{}, firsts: map[string]struct{}{}}
		a.tables[dk] = t
	}
	if _, ok := t.raw[e.key.Path]; ok || len(t.raw) < a.maxPaths {
		t.raw[e.key.Path] = struct{}{}
		a.insert(e)
		return
	}
	f := *e
	f.key.Path = t.fold(e.key.Path, a.maxPaths)
	f.key.PathPrefix = true
	f.h = hashKey(&f.key)
	t.folded += e.counts.Requests
	a.add(&f)
}

func (t *pathTable) fold(path string, max int) string {
	parent, first := foldPrefixes(path)
	if parent != "/" {
		if _, ok := t.parents[parent]; ok || len(t.parents) < max {
			t.parents[parent] = struct{}{}
			return parent
		}
	}
	if first != "/" {
		if _, ok := t.firsts[first]; ok || len(t.firsts) < max {
			t.firsts[first] = struct{}{}
			return first
		}
	}
	return "/"
}

// foldPrefixes returns the prefixes a path folds into: its parent directory
// (without a trailing slash's empty segment) cut to at most three segments,
// and its first segment; "/" stands for everything.
func foldPrefixes(path string) (parent, first string) {
	if !strings.HasPrefix(path, "/") {
		return "/", "/"
	}
	p := strings.TrimRight(path, "/")
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/", "/"
	}
	parent = p[:i+1]
	// Cut to three segments.
	n, cut := 0, len(parent)
	for j := 1; j < len(parent); j++ {
		if parent[j] == '/' {
			n++
			if n == 3 {
				cut = j + 1
				break
			}
		}
	}
	parent = parent[:cut]
	j := strings.IndexByte(p[1:], '/')
	first = p[:j+2]
	return parent, first
}
