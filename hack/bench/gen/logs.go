package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Access logs: the server side of every call that a proxy logs, in the
// formats Istio writes them:
//   - sidecars: Envoy's JSON access log with Istio's default keys
//     (meshConfig.accessLogEncoding: JSON), one line per request or TCP
//     connection;
//   - waypoints: the same JSON, with the inbound-vip clusters of a waypoint;
//   - ztunnel: its text access log, one "connection complete" line per
//     connection, at the destination's node.
//
// Every distinct request (caller, destination, method, raw path) appears on
// average `repeat` times; the lines of a file are shuffled and time-ordered
// over the log window, as a real file would be. Sidecar namespaces whose
// index ends in 6 have access logging off: they are learnt from metrics only.

const (
	lineSidecar uint8 = iota
	lineWaypoint
	lineZtunnel
	lineZtunnelFromWaypoint
	lineZtunnelOutbound
)

// event is one line to write.
type event struct {
	pair int32
	item int16
	kind uint8
}

// item is a distinct request of a pair: an operation and, for paths with
// {id}, which identifier.
type item struct{ op, id int8 }

func (p *pair) items() []item {
	var out []item
	for i, o := range p.ops {
		if o.ids {
			for j := range p.ids {
				out = append(out, item{int8(i), int8(j)})
			}
			continue
		}
		out = append(out, item{int8(i), -1})
	}
	if len(out) == 0 {
		out = append(out, item{-1, -1}) // TCP: one kind of connection
	}
	return out
}

// logsOff reports whether the namespace has access logging turned off.
func logsOff(ns *namespace) bool { return ns.mode == modeSidecar && ns.index%10 == 6 }

type logFiles struct {
	sidecar, waypoint, ztunnel [][]event
}

// planLogs decides every line: which file, which pair and request.
func planLogs(m *mesh, files, repeat int, rng *rand.Rand) *logFiles {
	lf := &logFiles{sidecar: make([][]event, files), waypoint: make([][]event, files), ztunnel: make([][]event, files)}
	times := func() int { return 1 + rng.IntN(2*repeat-1) }
	for pi, p := range m.pairs {
		dst := p.dst
		if dst.ns.mode == modeNone || logsOff(dst.ns) {
			continue
		}
		shard := dst.ns.index % files
		if dst.ns.index < 0 {
			shard = 0
		}
		items := p.items()
		switch {
		case dst.ns.mode == modeSidecar:
			for ii := range items {
				for range times() {
					lf.sidecar[shard] = append(lf.sidecar[shard], event{int32(pi), int16(ii), lineSidecar})
				}
			}
		case dst.ns.mode == modeAmbientWaypoint && p.protocol() != "tcp" && p.mtls():
			for ii := range items {
				for range times() {
					lf.waypoint[shard] = append(lf.waypoint[shard], event{int32(pi), int16(ii), lineWaypoint})
				}
			}
			for range max(1, times()/4) {
				lf.ztunnel[shard] = append(lf.ztunnel[shard], event{int32(pi), 0, lineZtunnelFromWaypoint})
			}
		default:
			// One connection per request: ztunnel sees connections, and
			// many clients do not keep them open.
			for range items {
				for range times() {
					lf.ztunnel[shard] = append(lf.ztunnel[shard], event{int32(pi), 0, lineZtunnel})
				}
			}
		}
		// The client's ztunnel logs its side of connections from ambient pods.
		if s := p.src.ns; (s.mode == modeAmbient || s.mode == modeAmbientWaypoint) && p.src.role != roleWaypoint {
			ss := s.index % files
			for range times() {
				lf.ztunnel[ss] = append(lf.ztunnel[ss], event{int32(pi), 0, lineZtunnelOutbound})
			}
		}
	}
	for _, f := range [][][]event{lf.sidecar, lf.waypoint, lf.ztunnel} {
		for _, evs := range f {
			rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
		}
	}
	return lf
}

type logStats struct {
	files, lines, bytes int64
}

// writeLogs writes the planned files under dir.
func writeLogs(dir string, m *mesh, lf *logFiles, window time.Duration, endTime time.Time, seed uint64) (map[string]*logStats, error) {
	stats := map[string]*logStats{"envoy-json": {}, "ztunnel": {}}
	items := make([][]item, len(m.pairs))
	for i, p := range m.pairs {
		items[i] = p.items()
	}
	write := func(name, format string, evs []event) error {
		if len(evs) == 0 {
			return nil
		}
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		cw := &countingWriter{w: f}
		bw := bufio.NewWriterSize(cw, 1<<20)
		lw := &lineWriter{rng: rand.New(rand.NewPCG(seed, uint64(len(name))*7919+uint64(len(evs)))), port: 40000}
		start := endTime.Add(-window)
		gap := window / time.Duration(len(evs)+1)
		var buf []byte
		for i, ev := range evs {
			t := start.Add(time.Duration(i+1) * gap)
			p := m.pairs[ev.pair]
			buf = buf[:0]
			switch ev.kind {
			case lineSidecar:
				buf = lw.envoyJSON(buf, t, p, items[ev.pair][ev.item], false)
			case lineWaypoint:
				buf = lw.envoyJSON(buf, t, p, items[ev.pair][ev.item], true)
			case lineZtunnel:
				buf = lw.ztunnel(buf, t, p.src, p.dst, p.mtls(), true)
			case lineZtunnelFromWaypoint:
				buf = lw.ztunnel(buf, t, p.dst.ns.waypoint, p.dst, true, true)
			case lineZtunnelOutbound:
				buf = lw.ztunnel(buf, t, p.src, p.dst, p.mtls(), false)
			}
			if _, err := bw.Write(buf); err != nil {
				f.Close()
				return err
			}
		}
		if err := bw.Flush(); err != nil {
			f.Close()
			return err
		}
		s := stats[format]
		s.files++
		s.lines += int64(len(evs))
		s.bytes += cw.n
		return f.Close()
	}
	for i := range lf.sidecar {
		if err := write(fmt.Sprintf("sidecar-%02d.json.log", i), "envoy-json", lf.sidecar[i]); err != nil {
			return nil, err
		}
		if err := write(fmt.Sprintf("waypoint-%02d.json.log", i), "envoy-json", lf.waypoint[i]); err != nil {
			return nil, err
		}
		if err := write(fmt.Sprintf("ztunnel-%02d.log", i), "ztunnel", lf.ztunnel[i]); err != nil {
			return nil, err
		}
	}
	return stats, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

type lineWriter struct {
	rng  *rand.Rand
	port int
}

func (l *lineWriter) ephemeral() int {
	l.port++
	if l.port > 60999 {
		l.port = 32768
	}
	return l.port
}

func (l *lineWriter) pick(ips []string) string { return ips[l.rng.IntN(len(ips))] }

func (l *lineWriter) code(p *pair) int {
	x := l.rng.Float64()
	for _, c := range p.codes {
		if x < c.share {
			return c.code
		}
		x -= c.share
	}
	return 200
}

func appendTime(b []byte, t time.Time, layout string) []byte { return t.UTC().AppendFormat(b, layout) }

func appendQuoted(b []byte, key, v string) []byte {
	b = append(b, '"')
	b = append(b, key...)
	b = append(b, `":"`...)
	b = append(b, v...)
	return append(b, `",`...)
}

func appendNum(b []byte, key string, v int) []byte {
	b = append(b, '"')
	b = append(b, key...)
	b = append(b, `":`...)
	b = strconv.AppendInt(b, int64(v), 10)
	return append(b, ',')
}

func appendNull(b []byte, key string) []byte {
	b = append(b, '"')
	b = append(b, key...)
	return append(b, `":null,`...)
}

func (l *lineWriter) requestID() string { return uuid(l.rng) }

func userAgent(src *workload, proto string) string {
	switch {
	case src.role == roleGateway:
		return "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
	case proto == "grpc":
		return "grpc-go/1.66.0"
	}
	return src.name + "/1.4.2 Go-http-client/1.1"
}

// envoyJSON writes one line of Istio's JSON access log: at the destination's
// sidecar (inbound|port|| cluster), or at its namespace's waypoint
// (inbound-vip cluster, the pod reached through connect_originate).
func (l *lineWriter) envoyJSON(b []byte, t time.Time, p *pair, it item, waypoint bool) []byte {
	src, dst := p.src, p.dst
	dstIP := l.pick(dst.podIPs)
	srcIP := l.pick(src.podIPs)
	tcp := it.op < 0
	b = append(b, '{')
	if tcp {
		b = appendNull(b, "authority")
	} else {
		b = appendQuoted(b, "authority", dst.host()+":"+strconv.Itoa(dst.svcPort))
	}
	b = appendNum(b, "bytes_received", 50+l.rng.IntN(2000))
	b = appendNum(b, "bytes_sent", 100+l.rng.IntN(20000))
	b = appendNull(b, "connection_termination_details")
	if waypoint {
		b = appendQuoted(b, "downstream_local_address", dst.svcIP+":"+strconv.Itoa(dst.svcPort))
	} else {
		b = appendQuoted(b, "downstream_local_address", dstIP+":"+strconv.Itoa(dst.port))
	}
	b = appendQuoted(b, "downstream_remote_address", srcIP+":"+strconv.Itoa(l.ephemeral()))
	b = appendNum(b, "duration", 1+l.rng.IntN(80))
	code := 0
	details := "via_upstream"
	if tcp {
		b = appendNull(b, "method")
		b = appendNull(b, "path")
		b = appendNull(b, "protocol")
	} else {
		o := p.ops[it.op]
		path := o.path
		if it.id >= 0 {
			path = fill(path, p.ids[it.id])
		}
		if o.method == "GET" && p.protocol() == "http" && l.rng.IntN(3) == 0 {
			path += "?page=" + strconv.Itoa(1+l.rng.IntN(9)) + "&sort=desc"
		}
		b = appendQuoted(b, "method", o.method)
		b = appendQuoted(b, "path", path)
		proto := "HTTP/1.1"
		if p.protocol() == "grpc" {
			proto = "HTTP/2"
		}
		b = appendQuoted(b, "protocol", proto)
		code = l.code(p)
		if code == 403 {
			details = "rbac_access_denied_matched_policy[none]"
		}
	}
	if tcp {
		b = appendNull(b, "request_id")
	} else {
		b = appendQuoted(b, "request_id", l.requestID())
	}
	switch {
	case waypoint || !p.mtls():
		b = appendNull(b, "requested_server_name")
	default:
		b = appendQuoted(b, "requested_server_name", "outbound_."+strconv.Itoa(dst.svcPort)+"_._."+dst.host())
	}
	b = appendNum(b, "response_code", code)
	if tcp {
		b = appendNull(b, "response_code_details")
	} else {
		b = appendQuoted(b, "response_code_details", details)
	}
	b = appendQuoted(b, "response_flags", "-")
	if tcp {
		b = appendNull(b, "route_name")
	} else {
		b = appendQuoted(b, "route_name", "default")
	}
	b = append(b, `"start_time":"`...)
	b = appendTime(b, t, "2006-01-02T15:04:05.000Z")
	b = append(b, `",`...)
	if waypoint {
		b = appendQuoted(b, "upstream_cluster", "inbound-vip|"+strconv.Itoa(dst.svcPort)+"|http|"+dst.host())
		b = appendQuoted(b, "upstream_host", "envoy://connect_originate/"+dstIP+":"+strconv.Itoa(dst.port))
		b = appendQuoted(b, "upstream_local_address", "envoy://internal_client_address/")
	} else {
		b = appendQuoted(b, "upstream_cluster", "inbound|"+strconv.Itoa(dst.port)+"||")
		b = appendQuoted(b, "upstream_host", dstIP+":"+strconv.Itoa(dst.port))
		b = appendQuoted(b, "upstream_local_address", "127.0.0.6:"+strconv.Itoa(l.ephemeral()))
	}
	if tcp {
		b = appendNull(b, "upstream_service_time")
	} else {
		b = appendQuoted(b, "upstream_service_time", strconv.Itoa(l.rng.IntN(60)))
	}
	b = appendNull(b, "upstream_transport_failure_reason")
	if tcp {
		b = appendNull(b, "user_agent")
	} else {
		b = appendQuoted(b, "user_agent", userAgent(src, p.protocol()))
	}
	b = append(b, `"x_forwarded_for":null}`...)
	return append(b, '\n')
}

func fill(path, id string) string {
	for i := 0; i+4 <= len(path); i++ {
		if path[i:i+4] == "{id}" {
			return path[:i] + id + path[i+4:]
		}
	}
	return path
}

// ztunnel writes ztunnel's text access line for a connection it accepted
// for dst (inbound, at the destination's node) or opened for src (outbound,
// at the source's node). A plaintext caller has no identity and reaches the
// pod's port directly, not over HBONE.
func (l *lineWriter) ztunnel(b []byte, t time.Time, src, dst *workload, mtls, inbound bool) []byte {
	si, di := l.rng.IntN(len(src.podIPs)), l.rng.IntN(len(dst.podIPs))
	srcIP, dstIP := src.podIPs[si], dst.podIPs[di]
	b = appendTime(b, t, "2006-01-02T15:04:05.000000Z")
	b = append(b, "\tinfo\taccess\tconnection complete\tsrc.addr="...)
	b = append(b, srcIP...)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(l.ephemeral()), 10)
	b = append(b, ` src.workload="`...)
	b = append(b, src.pod(si)...)
	b = append(b, `" src.namespace="`...)
	b = append(b, src.ns.name...)
	if mtls {
		b = append(b, `" src.identity="`...)
		b = append(b, src.principal()...)
	}
	b = append(b, `" dst.addr=`...)
	b = append(b, dstIP...)
	if mtls {
		b = append(b, ":15008 dst.hbone_addr="...)
		b = append(b, dstIP...)
	}
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(dst.port), 10)
	b = append(b, ` dst.service="`...)
	b = append(b, dst.host()...)
	b = append(b, `" dst.workload="`...)
	b = append(b, dst.pod(di)...)
	b = append(b, `" dst.namespace="`...)
	b = append(b, dst.ns.name...)
	b = append(b, `" dst.identity="`...)
	b = append(b, dst.principal()...)
	if inbound {
		b = append(b, `" direction="inbound" bytes_sent=`...)
	} else {
		b = append(b, `" direction="outbound" bytes_sent=`...)
	}
	b = strconv.AppendInt(b, int64(l.rng.IntN(90000)), 10)
	b = append(b, " bytes_recv="...)
	b = strconv.AppendInt(b, int64(l.rng.IntN(9000)), 10)
	b = append(b, ` duration="`...)
	b = strconv.AppendInt(b, int64(1+l.rng.IntN(60000)), 10)
	b = append(b, "ms\"\n"...)
	return b
}
