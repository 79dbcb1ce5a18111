package accesslog

import (
	"math/bits"
	"strings"
)

// aggregator merges entries with equal keys, remembering the order in which
// keys first appeared, so that folding paths past the cap depends only on
// the order of the input and not on the scheduling of the workers.
//
// Keys are interned (see symbols), so an entry holds no strings: finding
// one compares 48 bytes, and neither the entries nor the index have
// pointers for the garbage collector to follow.
type aggregator struct {
	index   keyIndex
	entries []entry
	// slots, in a chunk's aggregator, replace index: a direct-mapped table
	// from the key's hash to the entry last seen there. A slot taken by
	// another key just adds a second entry for the same key, which the
	// merger merges; a chunk is too small for that to matter, and a table
	// that never grows is cheaper than a map for a chunk of distinct keys.
	slots []int32
	// paths, in a chunk's aggregator, are the chunk's paths, which the
	// entries' path IDs refer to (tabs.chunk); the merger turns them into the
	// run's.
	paths *chunkPaths
	tabs  tables

	// maxPaths > 0 turns on the cap on distinct raw paths per destination.
	maxPaths int
	tables   map[destKey]*pathTable
}

type destKey struct{ ns, workload, service uint32 }

// pathTable is what a destination's paths have been folded into so far.
// Raw paths are kept up to the cap; a path past it is counted under the
// deepest prefix the table can hold: its parent directory cut to at most
// three segments ("/api/v1/users/123" → "/api/v1/users/"), else its first
// segment ("/api/"), else "/". Each level holds at most the cap too, so a
// destination keeps at most three times the cap distinct paths, whatever
// the input. Paths are held by their IDs.
type pathTable struct {
	raw, parents, firsts map[uint32]struct{}
	// folded counts the requests counted under prefixes.
	folded int64
}

func newAggregator(maxPaths int) *aggregator {
	a := &aggregator{maxPaths: maxPaths}
	if maxPaths > 0 {
		a.tables = map[destKey]*pathTable{}
	}
	return a
}

const chunkSlots = 1 << 13

// newChunkAggregator returns an aggregator for one chunk's lines.
func newChunkAggregator() *aggregator {
	a := &aggregator{slots: make([]int32, chunkSlots), paths: newChunkPaths()}
	a.tabs.chunk = a.paths
	a.reset()
	return a
}

// reset empties a chunk aggregator for reuse, keeping its memory.
func (a *aggregator) reset() {
	a.entries = a.entries[:0]
	for i := range a.slots {
		a.slots[i] = -1
	}
	if a.paths != nil {
		a.paths.reset()
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

// insert adds e, which is new.
func (a *aggregator) insert(e *entry) {
	a.entries = append(a.entries, *e)
	a.index.insert(a.entries, int32(len(a.entries)-1))
}

// add merges e, without the path cap.
func (a *aggregator) add(e *entry) {
	if i := a.index.find(a.entries, e); i >= 0 {
		mergeEntry(&a.entries[i], e)
		return
	}
	a.insert(e)
}

// keyIndex finds entries by key: an open-addressing table of the entries'
// positions, by the hashes the entries carry (entry.h), which is smaller and
// touches less memory than a map keyed by the keys themselves. Each slot
// holds the top half of the hash and the position plus one (0: empty).
type keyIndex struct {
	slots []uint64
	n     int
}

// find returns the position of the entry with e's key, or -1.
func (x *keyIndex) find(entries []entry, e *entry) int32 {
	if x.n == 0 {
		return -1
	}
	mask := uint64(len(x.slots) - 1)
	tag := e.h >> 32
	for i := e.h & mask; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return -1
		}
		if s>>32 == tag {
			if j := int32(uint32(s)) - 1; entries[j].key == e.key {
				return j
			}
		}
	}
}

// insert indexes entries[j], whose key is not indexed yet.
func (x *keyIndex) insert(entries []entry, j int32) {
	if 2*(x.n+1) > len(x.slots) {
		x.grow(entries, max(1<<10, 2*len(x.slots)))
	}
	x.put(entries[j].h, j)
	x.n++
}

func (x *keyIndex) put(h uint64, j int32) {
	mask := uint64(len(x.slots) - 1)
	i := h & mask
	for x.slots[i] != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = h>>32<<32 | uint64(uint32(j+1))
}

// grow re-indexes the entries indexed so far in a table of size slots.
func (x *keyIndex) grow(entries []entry, size int) {
	old := x.slots
	x.slots = make([]uint64, size)
	for _, s := range old {
		if s != 0 {
			j := int32(uint32(s)) - 1
			x.put(entries[j].h, j)
		}
	}
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
	if d.identityFrom != idCertificate && s.identityFrom != idNone {
		d.identityFrom = s.identityFrom
	}
	if d.dstPrincipal == 0 {
		d.dstPrincipal = s.dstPrincipal
	}
}

// absorb merges every entry of o in o's order, applying the path cap. The
// entries of a chunk's aggregator get the run's path IDs on the way: a path
// the run does not have yet is interned only when it is kept raw.
func (a *aggregator) absorb(o *aggregator) {
	if need := 2 * (a.index.n + len(o.entries)); a.index.n == 0 && need > len(a.index.slots) {
		// The first merge into an empty aggregate: size its index for it.
		a.index.grow(a.entries, 1<<bits.Len(uint(need)))
	}
	for i := range o.entries {
		e := &o.entries[i]
		if e.tabs.chunk == nil {
			a.addCapped(e, nil)
			continue
		}
		f := *e
		syms := e.tabs.syms
		f.tabs = &syms.tabs
		var pending []byte
		if id, ok := e.tabs.chunk.runID(syms, e.key.path); ok {
			f.key.path = id
		} else {
			pending = e.tabs.chunk.get(e.key.path)
			f.key.path = 0
		}
		f.h = hashKey(&f.key)
		a.addCapped(&f, pending)
		if pending != nil && f.key.path != 0 {
			// Kept raw: the chunk's later entries with this path find it.
			e.tabs.chunk.run[e.key.path] = f.key.path + 1
		}
	}
}

// addCapped merges e. pending, when not nil, is e's path, which the run's
// table does not have (e.key.path is 0 meanwhile): e is then new, and its
// path is interned, and e.key.path set, if the cap keeps it raw.
func (a *aggregator) addCapped(e *entry, pending []byte) {
	if pending == nil {
		if i := a.index.find(a.entries, e); i >= 0 {
			mergeEntry(&a.entries[i], e)
			return
		}
		if a.maxPaths <= 0 || e.key.path == 0 || e.key.pathPrefix {
			a.insert(e)
			return
		}
	} else if a.maxPaths <= 0 {
		a.keepPending(e, pending)
		return
	}
	dk := destKey{e.key.dstNamespace, e.key.dstWorkload, e.key.dstService}
	t := a.tables[dk]
	if t == nil {
		t = &pathTable{raw: map[uint32]struct{}{}, parents: map[uint32]struct{}{}, firsts: map[uint32]struct{}{}}
		a.tables[dk] = t
	}
	if pending == nil {
		if _, ok := t.raw[e.key.path]; ok || len(t.raw) < a.maxPaths {
			t.raw[e.key.path] = struct{}{}
			a.insert(e)
			return
		}
	} else if len(t.raw) < a.maxPaths {
		a.keepPending(e, pending)
		t.raw[e.key.path] = struct{}{}
		return
	}
	var path string
	if pending != nil {
		path = string(pending)
	} else {
		path = e.tabs.syms.paths.strs[e.key.path]
	}
	f := *e
	f.key.path = t.fold(&e.tabs.syms.paths, path, a.maxPaths)
	f.key.pathPrefix = true
	f.h = hashKey(&f.key)
	t.folded += e.counts.Requests
	a.add(&f)
}

// keepPending interns e's pending path and adds e, which is new.
func (a *aggregator) keepPending(e *entry, pending []byte) {
	e.key.path = e.tabs.syms.paths.intern(pending)
	e.h = hashKey(&e.key)
	a.insert(e)
}

func (t *pathTable) fold(paths *strTable, path string, max int) uint32 {
	parent, first := foldPrefixes(path)
	if parent != "/" {
		id := paths.internString(parent)
		if _, ok := t.parents[id]; ok || len(t.parents) < max {
			t.parents[id] = struct{}{}
			return id
		}
	}
	if first != "/" {
		id := paths.internString(first)
		if _, ok := t.firsts[id]; ok || len(t.firsts) < max {
			t.firsts[id] = struct{}{}
			return id
		}
	}
	return paths.internString("/")
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
