package accesslog

import (
	"bytes"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
)

// symbols interns the strings of a run's edge keys as small integers, so
// that an aggregated edge is a pointer-free struct of IDs, which hashes and
// compares in a few instructions and which the garbage collector does not
// scan, instead of thirteen strings. ID 0 is the empty string.
//
// Names, addresses, principals, hosts and methods are interned by the
// workers (through their own caches, so the lock is taken once per distinct
// value and worker, not once per line). Paths have a table of their own,
// paths, which only the goroutine that merges aggregates uses: a worker
// keeps a chunk's paths in the chunk (chunkPaths), and the merger interns
// a path only when an edge keeps it, so that the paths folded past
// --max-paths-per-destination do not grow the run's memory.
type symbols struct {
	mu   sync.Mutex
	ids  map[string]uint32
	strs []string

	// paths is the run's table of paths, for the merger alone.
	paths strTable
	// tabs resolves the IDs of merged entries.
	tabs tables
}

func newSymbols() *symbols {
	s := &symbols{ids: map[string]uint32{"": 0}, strs: []string{""}, paths: newStrTable()}
	s.tabs = tables{syms: s}
	return s
}

// intern returns the ID of b and the table's copy of it.
func (t *symbols) intern(b []byte) sym {
	t.mu.Lock()
	id, ok := t.ids[string(b)]
	if !ok {
		id = uint32(len(t.strs))
		s := string(b)
		t.strs = append(t.strs, s)
		t.ids[s] = id
	}
	s := t.strs[id]
	t.mu.Unlock()
	return sym{id, s}
}

// internString is intern for a string.
func (t *symbols) internString(s string) sym {
	t.mu.Lock()
	id, ok := t.ids[s]
	if !ok {
		id = uint32(len(t.strs))
		t.strs = append(t.strs, s)
		t.ids[s] = id
	} else {
		s = t.strs[id]
	}
	t.mu.Unlock()
	return sym{id, s}
}

// table returns the strings by ID, as interned so far. Strings are only ever
// appended, so the slice stays valid for the IDs it holds while others are
// interned.
func (t *symbols) table() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.strs
}

// ranks returns, for every ID, the position of its string in sorted order,
// so that comparing ranks orders keys as comparing their strings does.
func (t *symbols) ranks() []uint32 { return ranks(t.table()) }

func ranks(strs []string) []uint32 {
	order := make([]uint32, len(strs))
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortFunc(order, func(a, b uint32) int { return strings.Compare(strs[a], strs[b]) })
	rank := make([]uint32, len(strs))
	for r, id := range order {
		rank[id] = uint32(r)
	}
	return rank
}

// sym is an interned string and its ID.
type sym struct {
	id uint32
	s  string
}

// strTable is a table of strings by ID, not safe for concurrent use; ID 0 is
// the empty string.
type strTable struct {
	ids  map[string]uint32
	strs []string
}

func newStrTable() strTable {
	return strTable{ids: map[string]uint32{"": 0}, strs: []string{""}}
}

func (t *strTable) lookup(b []byte) (uint32, bool) {
	id, ok := t.ids[string(b)]
	return id, ok
}

func (t *strTable) intern(b []byte) uint32 {
	if id, ok := t.ids[string(b)]; ok {
		return id
	}
	return t.add(string(b))
}

func (t *strTable) internString(s string) uint32 {
	if id, ok := t.ids[s]; ok {
		return id
	}
	return t.add(s)
}

func (t *strTable) add(s string) uint32 {
	id := uint32(len(t.strs))
	t.strs = append(t.strs, s)
	t.ids[s] = id
	return id
}

// tables resolve an entry's IDs to strings: the run's symbols, and while the
// entry is in a chunk's aggregate, the chunk's paths (nil once merged, when
// paths are the run's).
type tables struct {
	syms  *symbols
	chunk *chunkPaths
}

func (t *tables) path(id uint32) string {
	if t.chunk != nil {
		return string(t.chunk.get(id))
	}
	return t.syms.paths.strs[id]
}

// chunkPaths interns the paths of one chunk's lines, in an arena with an
// open-addressing index that is reused from chunk to chunk, so that a new
// path costs no allocation. ID 0 is the empty path.
type chunkPaths struct {
	arena []byte
	// ends[i] is where path i ends in arena; it starts where path i-1 ends.
	ends []uint32
	// slots hold path IDs (0: empty) by the hash of the path.
	slots []uint32
	// run holds, by ID, the path's ID in the run's table plus one, once the
	// merger has looked it up (0: not yet, or not in the run's table).
	run []uint32
}

var pathSeed = maphash.MakeSeed()

func newChunkPaths() *chunkPaths {
	c := &chunkPaths{slots: make([]uint32, 1<<12)}
	c.reset()
	return c
}

func (c *chunkPaths) reset() {
	c.arena = c.arena[:0]
	c.ends = append(c.ends[:0], 0)
	clear(c.slots)
	c.run = c.run[:0]
}

func (c *chunkPaths) get(id uint32) []byte {
	start := uint32(0)
	if id > 0 {
		start = c.ends[id-1]
	}
	return c.arena[start:c.ends[id]]
}

// add returns the ID of path p in the chunk.
func (c *chunkPaths) add(p []byte) uint32 {
	if len(p) == 0 {
		return 0
	}
	mask := uint64(len(c.slots) - 1)
	for i := maphash.Bytes(pathSeed, p) & mask; ; i = (i + 1) & mask {
		id := c.slots[i]
		if id == 0 {
			id = uint32(len(c.ends))
			c.arena = append(c.arena, p...)
			c.ends = append(c.ends, uint32(len(c.arena)))
			c.slots[i] = id
			if 2*len(c.ends) > len(c.slots) {
				c.grow()
			}
			return id
		}
		if bytes.Equal(c.get(id), p) {
			return id
		}
	}
}

func (c *chunkPaths) grow() {
	c.slots = make([]uint32, 2*len(c.slots))
	mask := uint64(len(c.slots) - 1)
	for id := uint32(1); id < uint32(len(c.ends)); id++ {
		i := maphash.Bytes(pathSeed, c.get(id)) & mask
		for c.slots[i] != 0 {
			i = (i + 1) & mask
		}
		c.slots[i] = id
	}
}

// runID returns the ID in the run's table of the chunk's path id, looking
// it up there once; ok is false when the run does not have it.
func (c *chunkPaths) runID(syms *symbols, id uint32) (uint32, bool) {
	if id == 0 {
		return 0, true
	}
	if int(id) >= len(c.run) {
		c.run = append(c.run, make([]uint32, len(c.ends)-len(c.run))...)
	}
	if r := c.run[id]; r != 0 {
		return r - 1, true
	}
	r, ok := syms.paths.lookup(c.get(id))
	if ok {
		c.run[id] = r + 1
	}
	return r, ok
}
