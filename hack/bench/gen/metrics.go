package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
)

// series is one Istio counter: its metric family, its labels (rendered once)
// and its rate per second.
type series struct {
	metric string
	labels string
	rate   float64
}

// peerLabels are the source_* or destination_* labels of a workload as the
// reporting proxy writes them; "unknown" when the peer presented no identity.
func peerLabels(l map[string]string, prefix string, w *workload, known bool) {
	if !known {
		for _, k := range []string{"workload", "workload_namespace", "principal", "app", "version", "canonical_service", "canonical_revision", "cluster"} {
			l[prefix+k] = "unknown"
		}
		return
	}
	l[prefix+"workload"] = w.name
	l[prefix+"workload_namespace"] = w.ns.name
	l[prefix+"principal"] = w.principal()
	l[prefix+"app"] = orDefault(w.app, "unknown")
	l[prefix+"version"] = orDefault(w.version, "unknown")
	l[prefix+"canonical_service"] = orDefault(w.app, w.name)
	l[prefix+"canonical_revision"] = orDefault(w.version, "latest")
	l[prefix+"cluster"] = "Kubernetes"
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func labelString(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(l[k]))
	}
	b.WriteByte('}')
	return b.String()
}

// seriesBuilder collects series; identical label sets (two plaintext callers
// the server cannot tell apart) add up, as they do in Istio.
type seriesBuilder struct {
	byKey map[string]int
	out   []series
}

func (b *seriesBuilder) add(metric string, src, dst *workload, srcKnown bool, extra map[string]string, rate float64) {
	l := map[string]string{}
	peerLabels(l, "source_", src, srcKnown)
	peerLabels(l, "destination_", dst, true)
	l["destination_service"] = dst.host()
	l["destination_service_name"] = dst.name
	l["destination_service_namespace"] = dst.ns.name
	l["response_flags"] = "-"
	for k, v := range extra {
		l[k] = v
	}
	ls := labelString(l)
	key := metric + ls
	if i, ok := b.byKey[key]; ok {
		b.out[i].rate += rate
		return
	}
	b.byKey[key] = len(b.out)
	b.out = append(b.out, series{metric, ls, rate})
}

const (
	metricRequests = "istio_requests"
	metricTCP      = "istio_tcp_connections_opened"
)

// buildSeries returns the counters Istio keeps for the mesh's traffic:
// istio_requests_total for HTTP and gRPC at sidecars and waypoints,
// istio_tcp_connections_opened_total for TCP and at ztunnel, each with
// reporter="destination" (or "waypoint") and, where the client has a proxy of
// its own, reporter="source".
func buildSeries(m *mesh) []series {
	b := &seriesBuilder{byKey: map[string]int{}}
	for _, p := range m.pairs {
		src, dst := p.src, p.dst
		mtls := p.mtls()
		secPolicy := "none"
		if mtls {
			secPolicy = "mutual_tls"
		}
		srcSidecar := src.role == roleGateway || src.ns.mode == modeSidecar
		srcAmbient := src.ns.mode == modeAmbient || src.ns.mode == modeAmbientWaypoint
		proto := p.protocol()
		codes := p.codeShares()
		tcpConn := func(reporter string, from *workload, known bool, policy string, rate float64) {
			b.add(metricTCP, from, dst, known, map[string]string{"reporter": reporter, "request_protocol": "tcp", "connection_security_policy": policy}, rate)
		}
		requests := func(reporter string, known bool, policy string) {
			for _, c := range codes {
				extra := map[string]string{"reporter": reporter, "request_protocol": proto, "response_code": strconv.Itoa(c.code), "connection_security_policy": policy}
				if proto == "grpc" {
					extra["grpc_response_status"] = "0"
				}
				b.add(metricRequests, src, dst, known, extra, p.rate*c.share)
			}
		}
		switch dst.ns.mode {
		case modeNone:
			// No proxy at the server: only a meshed client reports the call.
			if srcSidecar {
				if proto == "tcp" {
					tcpConn("source", src, true, "unknown", p.rate)
				} else {
					requests("source", true, "unknown")
				}
			}
		case modeSidecar:
			if proto == "tcp" {
				tcpConn("destination", src, mtls, secPolicy, p.rate)
				if srcSidecar {
					tcpConn("source", src, true, "unknown", p.rate)
				}
				break
			}
			requests("destination", mtls, secPolicy)
			if srcSidecar {
				requests("source", true, "unknown")
			}
		case modeAmbient, modeAmbientWaypoint:
			connRate := p.rate / 40 // HTTP keep-alive: few connections
			if proto == "tcp" {
				connRate = p.rate
			}
			if dst.ns.mode == modeAmbientWaypoint && proto != "tcp" && mtls {
				// The waypoint reports the requests with the client's
				// identity; the destination's ztunnel sees the waypoint.
				requests("waypoint", true, "mutual_tls")
				tcpConn("destination", dst.ns.waypoint, true, "mutual_tls", connRate)
				break
			}
			tcpConn("destination", src, mtls, secPolicy, connRate)
			if srcAmbient || srcSidecar {
				tcpConn("source", src, true, "unknown", connRate)
			}
		}
	}
	return b.out
}

// codeShares are the pair's response codes with their shares, 200 taking
// what the others leave; TCP has none (one entry with code 0 is not used).
func (p *pair) codeShares() []codeShare {
	rest := 1.0
	var out []codeShare
	for _, c := range p.codes {
		out = append(out, c)
		rest -= c.share
	}
	return append([]codeShare{{200, rest}}, out...)
}

// writeMetrics writes the counters as OpenMetrics, one sample per scrape
// interval over [end-window, end], with a diurnal swing and Poisson-like
// noise on each increment.
func writeMetrics(w io.Writer, all []series, end time.Time, window, scrape time.Duration, seed uint64) (lines int64, err error) {
	rng := rand.New(rand.NewPCG(seed, 99))
	bw := bufio.NewWriterSize(w, 1<<20)
	start := end.Add(-window)
	sort.SliceStable(all, func(i, j int) bool { return all[i].metric < all[j].metric })
	last := ""
	var buf []byte
	for _, s := range all {
		if s.metric != last {
			help := "Total requests."
			if s.metric == metricTCP {
				help = "Total TCP connections opened."
			}
			fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s counter\n", s.metric, help, s.metric)
			last = s.metric
		}
		var v float64
		for t := start; !t.After(end); t = t.Add(scrape) {
			hour := float64(t.Hour()) + float64(t.Minute())/60
			mean := s.rate * scrape.Seconds() * (1 + 0.3*math.Sin((hour-6)/24*2*math.Pi))
			v += math.Max(0, math.Round(mean+rng.NormFloat64()*math.Sqrt(mean)))
			buf = buf[:0]
			buf = append(buf, s.metric...)
			buf = append(buf, "_total"...)
			buf = append(buf, s.labels...)
			buf = append(buf, ' ')
			buf = strconv.AppendFloat(buf, v, 'f', -1, 64)
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, t.Unix(), 10)
			buf = append(buf, '\n')
			if _, err := bw.Write(buf); err != nil {
				return lines, err
			}
			lines++
		}
	}
	if _, err := io.WriteString(bw, "# EOF\n"); err != nil {
		return lines, err
	}
	return lines, bw.Flush()
}
