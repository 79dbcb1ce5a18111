package accesslog

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/meshgen/meshgen/observe/badinput"
	"github.com/meshgen/meshgen/observe/snapshot"
)

// chunkSize is the size of the blocks of whole lines handed to workers. It
// must exceed MaxLineBytes, so that a line of the maximum length always fits.
const chunkSize = 2 << 20

// Result is the outcome of Learn.
type Result struct {
	// Snapshot holds the edges, one SourceInfo per input, the windows the
	// records cover and the warnings. Its inventory is empty: the caller
	// merges it with the snapshot that carries the inventory.
	Snapshot *snapshot.Snapshot
	// Inputs has the counts of each input, in the order given.
	Inputs []InputStats
	// Superseded counts client-side records that were dropped because a
	// server-side record named the same destination workload (see Learn).
	Superseded int64
}

// InputStats are the counts of one input.
type InputStats struct {
	Name string
	// Lines is the number of lines read.
	Lines int64
	// Records is the number of access-log records read (inside the window
	// or not); Envoy, Waypoint and Ztunnel count those that became
	// evidence, by kind.
	Records                  int64
	Envoy, Waypoint, Ztunnel int64
	// Skipped counts other log output (istio-agent and Envoy messages,
	// other ztunnel log targets).
	Skipped int64
	// Malformed counts lines that could not be read; MalformedLines are the
	// first few of them (1-based line numbers).
	Malformed      int64
	MalformedLines []int64
	// OutsideWindow counts records outside [End-Window, End], skipped;
	// NoTimestamp counts records without a time, kept.
	OutsideWindow, NoTimestamp int64
	// UnresolvedDestination counts records dropped because the workload
	// they reached could not be determined; UnresolvedSource counts records
	// kept with the caller known only by its address, or not at all.
	UnresolvedDestination, UnresolvedSource int64
}

// Learn reads the inputs and folds their access-log records into edges.
//
// What counts:
//   - Server-side records are the evidence: a sidecar's inbound lines
//     (reporter destination, evidence envoy-log), a ztunnel's inbound lines
//     (destination, ztunnel-log) and a waypoint's lines (waypoint,
//     waypoint-log).
//   - Client-side records (a sidecar's or gateway's outbound lines, a
//     ztunnel's outbound lines; reporter source) only fill in: one is kept
//     only when no server-side record of this run names the same caller
//     (by workload when the client's record knows it, else by principal,
//     else by address) calling the same destination workload, as for a destination outside the mesh or whose proxy's logs
//     were not read. Otherwise it is dropped, because the server's record
//     of the same calls is better evidence (it saw the caller's certificate
//     and the policy's decision); Result.Superseded counts the dropped ones.
//     The client cannot tell a policy's 403 from the application's, so a
//     client-side 401 or 403 counts as Unauthorized, never as allowed by
//     a policy; a ztunnel client's HBONE 401/403 counts as Denied.
//   - Requests denied by a policy are counted as Denied, never as allowed.
//   - Lines outside [End-Window, End] are skipped and counted.
//
// Inputs are read OpenInputs at a time, split into blocks of lines that
// Workers parse in parallel; memory does not grow with the size of the
// input. An input that cannot be opened or read to its end (a truncated
// gzip stream) fails the whole run: a narrower observation is never
// returned in silence. Malformed lines are counted per input, or, with
// Strict, fail the run naming the input and line.
func Learn(ctx context.Context, cfg Config, inputs []Input) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f, err := ParseFormat(cfg.Format)
	if err != nil {
		return nil, err
	}
	idx := cfg.Inventory
	if idx == nil {
		idx = snapshot.NewIndex(&snapshot.Inventory{})
	}
	l := &run{
		cfg:    cfg,
		format: f,
		idx:    idx,
		byName: workloadsByName(idx),
		td:     cmp.Or(cfg.TrustDomain, DefaultTrustDomain),
		inputs: inputs,
		syms:   newSymbols(),
	}
	l.start, l.end, l.window = cfg.window()
	return l.run(ctx)
}

type run struct {
	cfg        Config
	format     *Format
	idx        *snapshot.Index
	byName     map[string][]*snapshot.Workload
	td         string
	inputs     []Input
	start, end int64
	window     snapshot.Window
	pool       *bufPool
	// syms interns the strings of the edges' keys, for all workers.
	syms *symbols
	// aggs recycles the chunk aggregators the merger is done with.
	aggs chan *aggregator
}

type chunk struct {
	input, seq int
	buf        []byte // the pooled buffer to give back
	data       []byte
	// long marks a line longer than the buffer, counted as one malformed line.
	long bool
}

type message struct {
	res  *chunkResult
	done *inputDone
}

type inputDone struct {
	input, chunks int
	err           error
}

// inputState is the merger's view of one input: its chunks are merged in
// order, so that line numbers and the path cap follow the input's order.
type inputState struct {
	next     int
	pending  map[int]*chunkResult
	chunks   int // -1 until the producer is done
	lineBase int64
	stats    counters
	lines    []int64
	reason   string
	agg      *aggregator
}

func (l *run) run(ctx context.Context) (*Result, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	workers := l.cfg.workers()
	open := min(l.cfg.openInputs(), max(1, len(l.inputs)))
	l.pool = newBufPool(2*open+workers+2, chunkSize)
	work := make(chan *chunk, workers)
	results := make(chan message, 2*workers+open)
	l.aggs = make(chan *aggregator, 2*workers+open)

	var producers, consumers sync.WaitGroup
	go func() {
		sem := make(chan struct{}, open)
	launch:
		for i := range l.inputs {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				break launch
			}
			producers.Add(1)
			go func() {
				defer producers.Done()
				n, err := l.produce(ctx, i, work)
				<-sem
				results <- message{done: &inputDone{input: i, chunks: n, err: err}}
			}()
		}
		producers.Wait()
		close(work)
	}()
	for range workers {
		consumers.Add(1)
		go func() {
			defer consumers.Done()
			w := newWorkerWith(l.syms, l.format, l.idx, l.td, l.byName, l.start, l.end, l.cfg.Strict)
			for c := range work {
				if ctx.Err() != nil {
					l.pool.put(c.buf)
					continue
				}
				res := &chunkResult{input: c.input, seq: c.seq, agg: l.chunkAggregator()}
				if c.long {
					res.lines, res.malformed = 1, 1
					res.malformedAt = []int64{1}
					res.reason = "longer than 1 MiB"
				} else {
					w.chunk(c.data, l.inputs[c.input].Pod, res)
				}
				l.pool.put(c.buf)
				results <- message{res: res}
			}
		}()
	}
	go func() {
		consumers.Wait()
		// The producers' done messages are sent before work is closed.
		close(results)
	}()

	states := make([]*inputState, len(l.inputs))
	for i := range states {
		states[i] = &inputState{pending: map[int]*chunkResult{}, chunks: -1, agg: newAggregator(l.cfg.MaxPathsPerDestination)}
	}
	var failure error
	fail := func(err error) {
		if failure == nil {
			failure = err
			cancel(err)
		}
	}
	for m := range results {
		if failure != nil {
			continue
		}
		if d := m.done; d != nil {
			if d.err != nil {
				fail(d.err)
				continue
			}
			states[d.input].chunks = d.chunks
			continue
		}
		st := states[m.res.input]
		st.pending[m.res.seq] = m.res
		for {
			r, ok := st.pending[st.next]
			if !ok {
				break
			}
			delete(st.pending, st.next)
			st.next++
			if err := l.mergeChunk(st, r); err != nil {
				fail(err)
				break
			}
		}
	}
	if failure != nil {
		return nil, failure
	}
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	for i, st := range states {
		if st.chunks != st.next {
			return nil, fmt.Errorf("reading access log %s: internal error: %d of %d blocks merged", l.inputs[i].Name, st.next, st.chunks)
		}
	}
	return l.finish(states), nil
}

func (l *run) mergeChunk(st *inputState, r *chunkResult) error {
	if r.malformed > 0 {
		if l.cfg.Strict {
			return badinput.Errorf("access log %s line %d: malformed: %s (--%s)",
				l.inputs[r.input].Name, st.lineBase+r.malformedAt[0], r.reason, FlagStrict)
		}
		for _, n := range r.malformedAt {
			if len(st.lines) < maxMalformedShown {
				st.lines = append(st.lines, st.lineBase+n)
			}
		}
		if st.reason == "" {
			st.reason = r.reason
		}
	}
	st.lineBase += r.lines
	st.stats.add(&r.counters)
	st.agg.absorb(r.agg)
	r.agg.reset()
	select {
	case l.aggs <- r.agg:
	default:
	}
	r.agg = nil
	return nil
}

func (l *run) chunkAggregator() *aggregator {
	select {
	case a := <-l.aggs:
		return a
	default:
		return newChunkAggregator()
	}
}

// produce reads one input into blocks of whole lines and returns how many
// it sent.
func (l *run) produce(ctx context.Context, idx int, work chan<- *chunk) (int, error) {
	in := &l.inputs[idx]
	r, closer, err := openStream(ctx, in)
	if err != nil {
		return 0, err
	}
	defer closer.Close()
	seq := 0
	send := func(c *chunk) error {
		c.input, c.seq = idx, seq
		select {
		case work <- c:
			seq++
			return nil
		case <-ctx.Done():
			l.pool.put(c.buf)
			return context.Cause(ctx)
		}
	}
	readErr := func(err error) error {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) {
			return badinput.Errorf("reading access log %s: the stream is truncated or damaged: %w", in.Name, err)
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return fmt.Errorf("reading access log %s: %w", in.Name, err)
	}
	cur, err := l.pool.get(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		eof := false
		for n < len(cur) {
			m, err := r.Read(cur[n:])
			n += m
			if err == io.EOF {
				eof = true
				break
			}
			if err != nil {
				l.pool.put(cur)
				return seq, readErr(err)
			}
		}
		if eof {
			if n == 0 {
				l.pool.put(cur)
				return seq, nil
			}
			return seq, send(&chunk{buf: cur, data: cur[:n]})
		}
		i := bytes.LastIndexByte(cur[:n], '\n')
		if i < 0 {
			// One line fills the whole buffer: count it as one malformed line
			// and skip to its end.
			if err := send(&chunk{long: true}); err != nil {
				l.pool.put(cur)
				return seq, err
			}
			n = 0
			for {
				m, err := r.Read(cur)
				if j := bytes.IndexByte(cur[:m], '\n'); j >= 0 {
					n = copy(cur, cur[j+1:m])
					break
				}
				if err == io.EOF {
					l.pool.put(cur)
					return seq, nil
				}
				if err != nil {
					l.pool.put(cur)
					return seq, readErr(err)
				}
			}
			continue
		}
		next, err := l.pool.get(ctx)
		if err != nil {
			l.pool.put(cur)
			return seq, err
		}
		rest := copy(next, cur[i+1:n])
		if err := send(&chunk{buf: cur, data: cur[:i+1]}); err != nil {
			l.pool.put(next)
			return seq, err
		}
		cur, n = next, rest
	}
}

// bufPool hands out at most n buffers, allocated on first use; get blocks
// while all are in use, which is what bounds the memory of a run.
type bufPool struct {
	ch   chan []byte
	size int
}

func newBufPool(n, size int) *bufPool {
	p := &bufPool{ch: make(chan []byte, n), size: size}
	for range n {
		p.ch <- nil
	}
	return p
}

func (p *bufPool) get(ctx context.Context) ([]byte, error) {
	select {
	case b := <-p.ch:
		if b == nil {
			b = make([]byte, p.size)
		}
		return b, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// put returns a buffer (nil for a chunk that had none, which returns a
// slot); it never blocks, since at most n buffers are out.
func (p *bufPool) put(b []byte) {
	if b == nil {
		return
	}
	p.ch <- b[:cap(b)]
}

// finish merges the inputs in order, applies the fill-in rule and builds the
// snapshot.
func (l *run) finish(states []*inputState) *Result {
	// Paths folded past the cap, by destination, in the inputs ...
	folded := map[destKey]int64{}
	addFolded := func(a *aggregator) {
		for dk, t := range a.tables {
			folded[dk] += t.folded
			t.folded = 0
		}
	}
	// Inputs merge in their order. The first input's aggregate is adopted as
	// is: merging it into an empty aggregate with the same cap would give
	// the same result, and a copy.
	var global *aggregator
	for _, st := range states {
		addFolded(st.agg)
		if global == nil {
			global = st.agg
		} else {
			global.absorb(st.agg)
		}
		st.agg = nil
	}
	if global == nil {
		global = newAggregator(l.cfg.MaxPathsPerDestination)
	}
	addFolded(global) // ... and in merging them
	s := snapshot.New()
	res := &Result{Snapshot: s}
	strs := l.syms.table()

	for dk, n := range folded {
		if n == 0 {
			continue
		}
		dst := strs[dk.ns] + "/" + strs[dk.workload]
		if dk.service != 0 {
			dst += " (" + strs[dk.service] + ")"
		}
		s.Metadata.Warnings = append(s.Metadata.Warnings, fmt.Sprintf(
			"access logs: destination %s had more than %d distinct paths (--%s); %d further requests were counted under path prefixes (edges with pathPrefix: true)",
			dst, l.cfg.MaxPathsPerDestination, FlagMaxPathsPerDestination, n))
	}

	// Fill-in: a client-side record is kept only when no server-side record
	// names the same caller calling the same destination workload.
	covered := make(map[pair]struct{}, len(global.entries))
	for i := range global.entries {
		if k := &global.entries[i].key; k.reporter != repSource {
			if k.srcWorkload != 0 {
				covered[pair{k.dstNamespace, k.dstWorkload, callerName{'w', k.srcNamespace, k.srcWorkload}}] = struct{}{}
			}
			if k.srcPrincipal != 0 {
				covered[pair{k.dstNamespace, k.dstWorkload, callerName{'p', 0, k.srcPrincipal}}] = struct{}{}
			}
			if k.srcWorkload == 0 && k.srcPrincipal == 0 {
				covered[pair{k.dstNamespace, k.dstWorkload, callerName{'i', 0, k.srcIP}}] = struct{}{}
			}
		}
	}
	// The aggregate has one entry per key already, so the edges need no
	// snapshot.Builder to merge them: only the canonical order
	// (snapshot.CompareKeys), which is the order of the ranks of the keys'
	// strings (sortKey).
	rank, pathRank := l.syms.ranks(), ranks(l.syms.paths.strs)
	order := make([]sortKey, 0, len(global.entries))
	// Principals seen, for the trust domains.
	principals := make([]bool, len(strs))
	for i := range global.entries {
		e := &global.entries[i]
		if e.key.reporter == repSource {
			// The client's most specific name: workloads that share a
			// service account share a principal.
			if _, ok := covered[pair{e.key.dstNamespace, e.key.dstWorkload, mostSpecificCaller(&e.key)}]; ok {
				res.Superseded += e.counts.Requests
				continue
			}
		}
		principals[e.key.srcPrincipal] = true
		principals[e.dstPrincipal] = true
		order = append(order, newSortKey(&e.key, rank, pathRank, int32(i)))
	}
	covered = nil
	slices.SortFunc(order, compareSortKeys)
	edges := make([]snapshot.Edge, len(order))
	for j := range order {
		edges[j] = global.entries[order[j].i].edgeOf(strs, l.syms.paths.strs)
	}
	global = nil
	order = nil

	var quietPods []string
	for i, st := range states {
		in := &l.inputs[i]
		c := &st.stats
		res.Inputs = append(res.Inputs, InputStats{
			Name: in.Name, Lines: c.lines, Records: c.records,
			Envoy: c.envoy, Waypoint: c.waypoint, Ztunnel: c.ztunnel,
			Skipped: c.skipped, Malformed: c.malformed, MalformedLines: st.lines,
			OutsideWindow: c.outside, NoTimestamp: c.noTime,
			UnresolvedDestination: c.unresolvedDst, UnresolvedSource: c.unresolvedSrc,
		})
		si := snapshot.SourceInfo{Kind: l.kindOf(in, c), Location: in.Name, Records: c.records, Malformed: c.malformed}
		if c.minTS != 0 {
			w := snapshot.Window{Start: time.Unix(0, c.minTS).UTC(), End: time.Unix(0, c.maxTS).UTC()}
			si.Window = &w
			s.Metadata.Windows = append(s.Metadata.Windows, w)
		}
		s.Metadata.Sources = append(s.Metadata.Sources, si)
		s.Metadata.Warnings = append(s.Metadata.Warnings, l.warnings(in, st)...)
		if c.records == 0 && in.Pod != nil {
			quietPods = append(quietPods, in.Name)
		}
	}
	if len(quietPods) > 0 {
		// A pod without traffic is normal; one warning names them.
		names := quietPods
		if len(names) > 10 {
			names = append(names[:10:10], "...")
		}
		s.Metadata.Warnings = append(s.Metadata.Warnings, fmt.Sprintf("access logs: %d of %d pod log streams had no access-log records: %s",
			len(quietPods), len(l.inputs), strings.Join(names, ", ")))
	}
	// Normalize sorts the metadata; the edges are in order already.
	s.Normalize()
	s.Edges = edges
	s.Metadata.TrustDomains = trustDomains(strs, principals)
	return res
}

// trustDomains returns the sorted trust domains of the principals marked,
// by ID: what snapshot.CollectTrustDomains finds in the edges, with each
// distinct principal parsed once instead of twice per edge.
func trustDomains(strs []string, marked []bool) []string {
	seen := map[string]bool{}
	var out []string
	for id, ok := range marked {
		if !ok {
			continue
		}
		if pp, err := snapshot.ParsePrincipal(strs[id]); err == nil && !seen[pp.TrustDomain] {
			seen[pp.TrustDomain] = true
			out = append(out, pp.TrustDomain)
		}
	}
	slices.Sort(out)
	return out
}

// pair is a destination workload and a name of a caller.
type pair struct {
	ns, workload uint32
	caller       callerName
}

// callerName is a caller's workload (kind 'w', with its namespace), its
// principal ('p') or its address ('i'), by IDs.
type callerName struct {
	kind     byte
	ns, name uint32
}

// mostSpecificCaller returns the most specific name a key's caller goes
// by: its workload, else its principal, else its address.
func mostSpecificCaller(k *key) callerName {
	switch {
	case k.srcWorkload != 0:
		return callerName{'w', k.srcNamespace, k.srcWorkload}
	case k.srcPrincipal != 0:
		return callerName{'p', 0, k.srcPrincipal}
	}
	return callerName{'i', 0, k.srcIP}
}

// evidenceLists are the evidence lists of edges, by the bits of an entry,
// shared (read-only, with no room to append in place) by the edges.
var evidenceLists = func() [8][]string {
	var out [8][]string
	for bits := range 8 {
		var l []string
		if bits&int(evEnvoy) != 0 {
			l = append(l, snapshot.EvidenceEnvoyLog)
		}
		if bits&int(evWaypoint) != 0 {
			l = append(l, snapshot.EvidenceWaypointLog)
		}
		if bits&int(evZtunnel) != 0 {
			l = append(l, snapshot.EvidenceZtunnelLog)
		}
		out[bits] = l[:len(l):len(l)]
	}
	return out
}()

// kindOf names an input's evidence: the kind most of its records were, else
// what its pod or the format say.
func (l *run) kindOf(in *Input, c *counters) string {
	switch {
	case c.seenZtunnel > 0 && c.seenZtunnel >= c.seenEnvoy && c.seenZtunnel >= c.seenWaypoint:
		return snapshot.EvidenceZtunnelLog
	case c.seenWaypoint > 0 && c.seenWaypoint >= c.seenEnvoy:
		return snapshot.EvidenceWaypointLog
	case c.seenEnvoy > 0:
		return snapshot.EvidenceEnvoyLog
	}
	if in.Pod != nil {
		switch in.Pod.Role {
		case RoleZtunnel:
			return snapshot.EvidenceZtunnelLog
		case RoleWaypoint:
			return snapshot.EvidenceWaypointLog
		}
	}
	if l.format.mode == modeZtunnelText || l.format.mode == modeZtunnelJSON {
		return snapshot.EvidenceZtunnelLog
	}
	return snapshot.EvidenceEnvoyLog
}

func (l *run) warnings(in *Input, st *inputState) []string {
	name := in.Name
	c := &st.stats
	var w []string
	if c.malformed > 0 {
		nums := make([]string, len(st.lines))
		for i, n := range st.lines {
			nums[i] = fmt.Sprint(n)
		}
		more := ""
		if c.malformed > int64(len(st.lines)) {
			more = ", ..."
		}
		w = append(w, fmt.Sprintf("access log %s: %d malformed lines skipped (line %s%s; the first: %s)",
			name, c.malformed, strings.Join(nums, ", "), more, st.reason))
	}
	if c.records == 0 && in.Pod == nil {
		w = append(w, fmt.Sprintf("access log %s: no access-log records in %d lines", name, c.lines))
	}
	if c.outside > 0 {
		w = append(w, fmt.Sprintf("access log %s: %d records outside the window %s to %s were skipped",
			name, c.outside, l.windowStart(), l.window.End.Format(time.RFC3339)))
	}
	if c.noTime > 0 {
		w = append(w, fmt.Sprintf("access log %s: %d records have no timestamp; the window was not applied to them", name, c.noTime))
	}
	if c.unresolvedDst > 0 {
		w = append(w, fmt.Sprintf(
			"access log %s: %d records were skipped because the workload they reached is unknown (for example %s); give an inventory that lists the pod IPs, use --%s, or collect logs with kubectl logs --prefix",
			name, c.unresolvedDst, cmp.Or(c.unresolvedExample, "no address"), FlagFromPods))
	}
	if c.unresolvedSrc > 0 {
		w = append(w, fmt.Sprintf(
			"access log %s: %d records name their caller only by its address (no certificate in the line, address not in the inventory)",
			name, c.unresolvedSrc))
	}
	return w
}

func (l *run) windowStart() string {
	if l.window.Start.IsZero() {
		return "the beginning"
	}
	return l.window.Start.Format(time.RFC3339)
}

// edge converts an aggregated entry to a snapshot edge.
func (e *entry) edge() snapshot.Edge {
	if e.tabs.chunk != nil {
		out := e.edgeOf(e.tabs.syms.table(), nil)
		out.Path = e.tabs.path(e.key.path)
		return out
	}
	return e.edgeOf(e.tabs.syms.table(), e.tabs.syms.paths.strs)
}

// edgeOf is edge with the strings of the run's symbols and paths at hand
// (without paths, the edge's path is left empty).
func (e *entry) edgeOf(strs, paths []string) snapshot.Edge {
	k := &e.key
	out := snapshot.Edge{
		Source: snapshot.Source{Principal: strs[k.srcPrincipal], Namespace: strs[k.srcNamespace], Workload: strs[k.srcWorkload], IP: strs[k.srcIP]},
		Destination: snapshot.Destination{
			Namespace: strs[k.dstNamespace], Workload: strs[k.dstWorkload], Service: strs[k.dstService], Principal: strs[e.dstPrincipal],
		},
		Reporter: reporterNames[k.reporter], Port: k.port, Protocol: protocolNames[k.protocol],
		Method: strs[k.method], PathPrefix: k.pathPrefix,
		Counts: e.counts,
	}
	if paths != nil {
		out.Path = paths[k.path]
	}
	if k.srcPrincipal != 0 {
		out.Source.IdentityFrom = identityNames[e.identityFrom]
	}
	if e.first != 0 {
		out.FirstSeen = time.Unix(0, e.first).UTC()
	}
	if e.last != 0 {
		out.LastSeen = time.Unix(0, e.last).UTC()
	}
	out.Evidence = evidenceLists[e.evidence&7]
	return out
}

// sortKey is a key in the canonical order of snapshot.CompareKeys: the
// ranks of its strings (symbols.ranks; paths ranked among paths) packed two
// to a word, field after field, with the index of its entry.
type sortKey struct {
	w    [3]uint64 // dst namespace|workload, dst service|src principal, src namespace|workload
	ip   uint64    // src IP|reporter
	port int
	op   uint64 // protocol|method
	path uint64 // path|prefix
	i    int32
}

func newSortKey(k *key, rank, pathRank []uint32, i int32) sortKey {
	pair := func(a, b uint32) uint64 { return uint64(a)<<32 | uint64(b) }
	var prefix uint64
	if k.pathPrefix {
		prefix = 1
	}
	return sortKey{
		w: [3]uint64{
			pair(rank[k.dstNamespace], rank[k.dstWorkload]),
			pair(rank[k.dstService], rank[k.srcPrincipal]),
			pair(rank[k.srcNamespace], rank[k.srcWorkload]),
		},
		ip:   pair(rank[k.srcIP], uint32(k.reporter)),
		port: k.port,
		op:   pair(uint32(k.protocol), rank[k.method]),
		path: uint64(pathRank[k.path])<<1 | prefix,
		i:    i,
	}
}

func compareSortKeys(a, b sortKey) int {
	switch {
	case a.w[0] != b.w[0]:
		return cmp.Compare(a.w[0], b.w[0])
	case a.w[1] != b.w[1]:
		return cmp.Compare(a.w[1], b.w[1])
	case a.w[2] != b.w[2]:
		return cmp.Compare(a.w[2], b.w[2])
	case a.ip != b.ip:
		return cmp.Compare(a.ip, b.ip)
	case a.port != b.port:
		return cmp.Compare(a.port, b.port)
	case a.op != b.op:
		return cmp.Compare(a.op, b.op)
	}
	return cmp.Compare(a.path, b.path)
}
