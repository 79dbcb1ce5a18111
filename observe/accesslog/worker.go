package accesslog

import (
	"bytes"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// counters are what a chunk, and then an input, counted.
type counters struct {
	lines     int64
	records   int64 // access-log records read (in the window or not)
	skipped   int64 // other log output
	malformed int64
	outside   int64 // records outside the window
	noTime    int64 // records with no timestamp (kept)
	// unresolvedDst: records dropped because their destination workload is
	// unknown; unresolvedSrc: records kept with the caller known only by
	// its address (or not at all).
	unresolvedDst, unresolvedSrc int64
	// envoy, waypoint and ztunnel count the records kept, by evidence;
	// seen* count the records read of each kind, kept or not.
	envoy, waypoint, ztunnel             int64
	seenEnvoy, seenWaypoint, seenZtunnel int64
	// minTS and maxTS bound the times of the records kept.
	minTS, maxTS      int64
	unresolvedExample string
}

func (c *counters) add(o *counters) {
	c.lines += o.lines
	c.records += o.records
	c.skipped += o.skipped
	c.malformed += o.malformed
	c.outside += o.outside
	c.noTime += o.noTime
	c.unresolvedDst += o.unresolvedDst
	c.unresolvedSrc += o.unresolvedSrc
	c.envoy += o.envoy
	c.waypoint += o.waypoint
	c.ztunnel += o.ztunnel
	c.seenEnvoy += o.seenEnvoy
	c.seenWaypoint += o.seenWaypoint
	c.seenZtunnel += o.seenZtunnel
	if o.minTS != 0 && (c.minTS == 0 || o.minTS < c.minTS) {
		c.minTS = o.minTS
	}
	if o.maxTS > c.maxTS {
		c.maxTS = o.maxTS
	}
	if c.unresolvedExample == "" {
		c.unresolvedExample = o.unresolvedExample
	}
}

// maxMalformedShown is how many malformed line numbers a warning names.
const maxMalformedShown = 5

// chunkResult is what a worker made of one chunk.
type chunkResult struct {
	input, seq int
	counters
	// malformedAt are the first malformed lines, numbered within the chunk
	// from 1, with the reason for the first.
	malformedAt []int64
	reason      string
	agg         *aggregator
}

// worker parses chunks. Each goroutine owns one.
type worker struct {
	p   *parser
	res *resolver
	r   record
	e   entry
	// method and path are the current line's, from operation.
	method, path []byte

	start, end int64
	strict     bool

	// Per chunk.
	st  *counters
	agg *aggregator
	ts  int64
}

// newWorker returns a worker with symbols of its own.
func newWorker(f *Format, idx *snapshot.Index, td string, byName map[string][]*snapshot.Workload, start, end int64, strict bool) *worker {
	return newWorkerWith(newSymbols(), f, idx, td, byName, start, end, strict)
}

// newWorkerWith returns a worker that interns into syms, which a run's
// workers share.
func newWorkerWith(syms *symbols, f *Format, idx *snapshot.Index, td string, byName map[string][]*snapshot.Workload, start, end int64, strict bool) *worker {
	return &worker{
		p:     newParser(f),
		res:   newResolver(idx, td, byName, syms),
		start: start, end: end, strict: strict,
	}
}

// chunk parses a block of whole lines from input.
func (w *worker) chunk(data []byte, pod *Pod, res *chunkResult) {
	w.st = &res.counters
	w.agg = res.agg
	w.agg.tabs.syms = w.res.syms
	var n int64
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		n++
		if reason := w.line(line, pod); reason != "" {
			res.malformed++
			if len(res.malformedAt) < maxMalformedShown {
				res.malformedAt = append(res.malformedAt, n)
			}
			if res.reason == "" {
				res.reason = reason
			}
			if w.strict {
				break
			}
		}
	}
	res.lines += n
}

// line handles one line and returns why it is malformed, or "".
func (w *worker) line(line []byte, pod *Pod) string {
	if len(line) > MaxLineBytes {
		return "longer than 1 MiB"
	}
	for len(line) > 0 && (line[len(line)-1] == '\r' || line[len(line)-1] == ' ' || line[len(line)-1] == '\t') {
		line = line[:len(line)-1]
	}
	if len(line) == 0 {
		return ""
	}
	rest, pre := stripKubectl(line)
	r := &w.r
	kind := w.p.parse(rest, r)
	switch kind {
	case lineEmpty:
		return ""
	case lineSkip:
		w.st.skipped++
		return ""
	case lineMalformed:
		return w.p.reason
	}
	w.st.records++
	ts := r.ts
	if ts == 0 {
		if v := r.get(fStartTime); v != nil {
			ts, _, _ = parseTime(v)
		}
	}
	if ts == 0 {
		ts = pre.ts
	}
	if ts == 0 {
		w.st.noTime++
	} else if ts < w.start || ts > w.end {
		w.st.outside++
		return ""
	}
	w.ts = ts
	lc := lineCtx{pod: pod, prefixPod: pre.pod}
	var res foldResult
	var ev *int64
	if kind == lineZtunnel {
		res = w.foldZtunnel(r)
		ev = &w.st.ztunnel
		w.st.seenZtunnel++
	} else {
		res = w.foldEnvoy(r, &lc)
		if w.e.evidence == evWaypoint {
			ev = &w.st.waypoint
			w.st.seenWaypoint++
		} else {
			ev = &w.st.envoy
			w.st.seenEnvoy++
		}
	}
	switch res {
	case foldMalformed:
		w.st.records--
		return "a value that is not valid UTF-8 or not usable"
	case foldOK:
		*ev++
		if ts != 0 {
			if w.st.minTS == 0 || ts < w.st.minTS {
				w.st.minTS = ts
			}
			if ts > w.st.maxTS {
				w.st.maxTS = ts
			}
		}
	}
	return ""
}
