package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

type logLine struct {
	pod  string
	at   time.Time
	text string
}

type logWriter struct {
	rng                        *rand.Rand
	sidecar, waypoint, ztunnel []logLine
	ephemeral                  int
}

func newLogWriter() *logWriter {
	return &logWriter{rng: rand.New(rand.NewPCG(3, 4)), ephemeral: 40000}
}

func (l *logWriter) uuid() string {
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", l.rng.Uint32(), l.rng.Uint32()&0xffff, l.rng.Uint32()&0xfff,
		0x8000|l.rng.Uint32()&0x3fff, l.rng.Uint64()&0xffffffffffff)
}

func (l *logWriter) port() int {
	l.ephemeral++
	if l.ephemeral > 60999 {
		l.ephemeral = 40000
	}
	return l.ephemeral
}

// fill replaces the placeholders of an operation's path with fresh values.
func (l *logWriter) fill(path string) string {
	for strings.Contains(path, "{") {
		i := strings.Index(path, "{")
		j := strings.Index(path, "}")
		var v string
		switch path[i+1 : j] {
		case "id":
			v = fmt.Sprint(100000 + l.rng.IntN(900000))
		case "uuid":
			v = l.uuid()
		case "sku":
			v = fmt.Sprintf("SKU-%05d", l.rng.IntN(100000))
		}
		path = path[:i] + v + path[j+1:]
	}
	return path
}

func (l *logWriter) pick(ops []operation) operation {
	var total float64
	for _, o := range ops {
		total += o.weight
	}
	x := l.rng.Float64() * total
	for _, o := range ops {
		if x < o.weight {
			return o
		}
		x -= o.weight
	}
	return ops[len(ops)-1]
}

func (l *logWriter) code(codes map[int]float64) int {
	keys := make([]int, 0, len(codes))
	for k := range codes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	x := l.rng.Float64()
	for _, k := range keys {
		if x < codes[k] {
			return k
		}
		x -= codes[k]
	}
	return keys[len(keys)-1]
}

// arrivals returns the times of requests at a rate per second within the log window.
func (l *logWriter) arrivals(rate float64) []time.Time {
	var out []time.Time
	t := end.Add(-logWindow)
	for {
		gap := -math.Log(1-l.rng.Float64()) / rate
		t = t.Add(time.Duration(gap * float64(time.Second)))
		if !t.Before(end) {
			return out
		}
		out = append(out, t.Truncate(time.Millisecond))
	}
}

func envoyTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func userAgent(src workload, proto string) string {
	switch {
	case src.name == "prometheus":
		return "Prometheus/2.53.0"
	case src.name == "istio-ingressgateway":
		return "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"
	case proto == "grpc":
		return "grpc-go/1.66.0"
	default:
		return src.name + "/1.4.2"
	}
}

func (l *logWriter) generate() error {
	for _, f := range flows {
		src, dst := find(f.src), find(f.dst)
		dstNS := nsOf(dst.ns)
		mtls := meshed(src) && meshed(dst)
		switch {
		case f.proto == "tcp":
			for _, at := range l.arrivals(f.rps) {
				l.sidecarTCP(at, src, dst, f, mtls)
			}
		case dstNS.ambient && f.viaWaypoint:
			wp := find(dst.ns + "/" + dstNS.waypoint)
			for _, at := range l.arrivals(f.rps) {
				l.waypointHTTP(at, src, dst, wp, f)
			}
			for _, at := range l.arrivals(f.rps / 40) {
				l.ztunnelConn(at, wp, dst, f.targetPort, true)
			}
		case dstNS.ambient:
			for _, at := range l.arrivals(f.rps / 40) {
				l.ztunnelConn(at, src, dst, f.targetPort, true)
				l.ztunnelConn(at, src, dst, f.targetPort, false)
			}
		default:
			for _, at := range l.arrivals(f.rps) {
				l.sidecarHTTP(at, src, dst, f, mtls)
			}
		}
	}
	return nil
}

func svcPortFor(dst workload, target int) int {
	for _, p := range dst.ports {
		if p.port == target && p.svcPort != 0 {
			return p.svcPort
		}
	}
	return 0
}

func sni(dst workload, target int, mtls bool) string {
	if !mtls {
		return "-"
	}
	return fmt.Sprintf("outbound_.%d_._.%s", svcPortFor(dst, target), svcHost(dst))
}

func authority(dst workload, target int) string {
	if sp := svcPortFor(dst, target); sp != 0 {
		return fmt.Sprintf("%s:%d", svcHost(dst), sp)
	}
	return fmt.Sprintf("%s:%d", dst.podIP, target)
}

// sidecarHTTP writes the destination sidecar's inbound line in Istio's default
// TEXT format (Istio 1.24 and later), and for frontend → cart also the client
// sidecar's outbound line.
func (l *logWriter) sidecarHTTP(at time.Time, src, dst workload, f flow, mtls bool) {
	op := l.pick(f.ops)
	path := l.fill(op.path)
	if op.method == "GET" && l.rng.IntN(8) == 0 && f.proto == "http" {
		path += "?page=" + fmt.Sprint(1+l.rng.IntN(5))
	}
	code := l.code(f.codes)
	httpProto := "HTTP/1.1"
	if f.proto == "grpc" {
		httpProto = "HTTP/2"
	}
	dur := 1 + l.rng.IntN(30)
	rid := l.uuid()
	srcPort := l.port()
	text := fmt.Sprintf(`[%s] "%s %s %s" %d - via_upstream - "-" %d %d %d %d "-" "%s" "%s" "%s" "%s:%d" inbound|%d|| 127.0.0.6:%d %s:%d %s:%d %s default`,
		envoyTime(at), op.method, path, httpProto, code, 40+l.rng.IntN(400), 100+l.rng.IntN(4000), dur, dur-1+1,
		userAgent(src, f.proto), rid, authority(dst, f.targetPort), dst.podIP, f.targetPort, f.targetPort, l.port(),
		dst.podIP, f.targetPort, src.podIP, srcPort, sni(dst, f.targetPort, mtls))
	l.sidecar = append(l.sidecar, logLine{pod: podName(dst), at: at, text: text})
	if src.name == "frontend" && dst.name == "cart" {
		sp := svcPortFor(dst, f.targetPort)
		out := fmt.Sprintf(`[%s] "%s %s %s" %d - via_upstream - "-" %d %d %d %d "-" "%s" "%s" "%s" "%s:%d" outbound|%d||%s %s:%d %s:%d %s:%d - default`,
			envoyTime(at.Add(-time.Millisecond)), op.method, path, httpProto, code, 40, 200, dur+1, dur,
			userAgent(src, f.proto), rid, authority(dst, f.targetPort), dst.podIP, f.targetPort, sp, svcHost(dst),
			src.podIP, srcPort, clusterIP(dst), sp, src.podIP, l.port())
		l.sidecar = append(l.sidecar, logLine{pod: podName(src), at: at.Add(-time.Millisecond), text: out})
	}
}

func (l *logWriter) sidecarTCP(at time.Time, src, dst workload, f flow, mtls bool) {
	dur := 1000 + l.rng.IntN(60000)
	text := fmt.Sprintf(`[%s] "- - -" 0 - - - "-" %d %d %d - "-" "-" "-" "-" "%s:%d" inbound|%d|| 127.0.0.6:%d %s:%d %s:%d %s -`,
		envoyTime(at), 200+l.rng.IntN(2000), 500+l.rng.IntN(20000), dur, dst.podIP, f.targetPort, f.targetPort, l.port(),
		dst.podIP, f.targetPort, src.podIP, l.port(), sni(dst, f.targetPort, mtls))
	l.sidecar = append(l.sidecar, logLine{pod: podName(dst), at: at, text: text})
}

// waypointHTTP writes the waypoint's line, as `kubectl logs --timestamps`
// prints it: the Service is the destination, the upstream host the pod.
func (l *logWriter) waypointHTTP(at time.Time, src, dst, wp workload, f flow) {
	op := l.pick(f.ops)
	path := l.fill(op.path)
	code := l.code(f.codes)
	sp := svcPortFor(dst, f.targetPort)
	dur := 2 + l.rng.IntN(20)
	text := fmt.Sprintf(`%s [%s] "%s %s HTTP/1.1" %d - via_upstream - "-" %d %d %d %d "-" "%s" "%s" "%s:%d" "envoy://connect_originate/%s:%d" inbound-vip|%d|http|%s envoy://internal_client_address/ %s:%d %s:%d - default`,
		at.Add(3*time.Millisecond).UTC().Format("2006-01-02T15:04:05.000000000Z"), envoyTime(at), op.method, path, code, 100+l.rng.IntN(300),
		100+l.rng.IntN(500), dur, dur-1, userAgent(src, f.proto), l.uuid(), svcHost(dst), sp, dst.podIP, f.targetPort, sp,
		svcHost(dst), clusterIP(dst), sp, src.podIP, l.port())
	l.waypoint = append(l.waypoint, logLine{pod: podName(wp), at: at, text: text})
}

// ztunnelConn writes a ztunnel access line: inbound at the destination's
// node, or outbound at the source's.
func (l *logWriter) ztunnelConn(at time.Time, src, dst workload, target int, inbound bool) {
	dir, dstAddr := "outbound", fmt.Sprintf("%s:15008", dst.podIP)
	if inbound {
		dir = "inbound"
	}
	text := fmt.Sprintf("%s\tinfo\taccess\tconnection complete\tsrc.addr=%s:%d src.workload=%q src.namespace=%q src.identity=%q dst.addr=%s dst.hbone_addr=%s:%d dst.service=%q dst.workload=%q dst.namespace=%q dst.identity=%q direction=%q bytes_sent=%d bytes_recv=%d duration=\"%dms\"",
		at.UTC().Format("2006-01-02T15:04:05.000000Z"), src.podIP, l.port(), podName(src), src.ns, principal(src),
		dstAddr, dst.podIP, target, svcHost(dst), podName(dst), dst.ns, principal(dst), dir,
		200+l.rng.IntN(5000), 100+l.rng.IntN(3000), 1+l.rng.IntN(60000))
	node := "ztunnel-node-a"
	if inbound {
		l.ztunnel = append(l.ztunnel, logLine{pod: node, at: at, text: text})
		return
	}
	l.ztunnel = append(l.ztunnel, logLine{pod: node, at: at.Add(-time.Millisecond), text: text})
}

// flush returns a writer function that prints lines grouped by pod and in time
// order, with the `kubectl logs --prefix` pod prefix for sidecar lines.
func (l *logWriter) flush(lines []logLine) func(io.Writer) error {
	return func(w io.Writer) error {
		sorted := slices.Clone(lines)
		slices.SortStableFunc(sorted, func(a, b logLine) int {
			if c := strings.Compare(a.pod, b.pod); c != 0 {
				return c
			}
			return a.at.Compare(b.at)
		})
		for _, ln := range sorted {
			prefix := ""
			if strings.HasPrefix(ln.text, "[") {
				prefix = "[pod/" + ln.pod + "/istio-proxy] "
			}
			if _, err := fmt.Fprintf(w, "%s%s\n", prefix, ln.text); err != nil {
				return err
			}
		}
		return nil
	}
}
