// Command gen-demo writes the demo mesh's sample data: Istio standard metrics
// as OpenMetrics (for promtool backfill), the cluster inventory as the output of
// `kubectl get ... -A -o json`, and access logs of sidecars, the waypoint and
// ztunnel in their wire formats. The output is deterministic (fixed seed and
// times), so the committed files under examples/demo can be regenerated and
// compared.
//
//	go run ./hack/gen-demo -out examples/demo
package main

import (
	"bufio"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

var (
	// The demo window: metrics cover [end-6h, end] scraped every 30s; logs
	// cover the last 5 minutes.
	end       = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	window    = 6 * time.Hour
	scrape    = 30 * time.Second
	logWindow = 5 * time.Minute
)

func main() {
	out := flag.String("out", "examples/demo", "output directory")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintf(os.Stderr, "gen-demo: %v\n", err)
		os.Exit(1)
	}
}

func run(out string) error {
	if err := os.MkdirAll(filepath.Join(out, "logs"), 0o755); err != nil {
		return err
	}
	if err := writeGz(filepath.Join(out, "metrics.om.gz"), writeMetrics); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(out, "inventory.json"), writeInventory); err != nil {
		return err
	}
	logs := newLogWriter()
	if err := logs.generate(); err != nil {
		return err
	}
	if err := writeGz(filepath.Join(out, "logs", "shop-sidecars.log.gz"), logs.flush(logs.sidecar)); err != nil {
		return err
	}
	if err := writeGz(filepath.Join(out, "logs", "payments-waypoint.log.gz"), logs.flush(logs.waypoint)); err != nil {
		return err
	}
	return writeGz(filepath.Join(out, "logs", "ztunnel.log.gz"), logs.flush(logs.ztunnel))
}

func writeFile(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	if err := fn(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeGz(path string, fn func(io.Writer) error) error {
	return writeFile(path, func(w io.Writer) error {
		zw := gzip.NewWriter(w) // no name or time in the header: deterministic
		if err := fn(zw); err != nil {
			return err
		}
		return zw.Close()
	})
}

func find(ref string) workload {
	ns, name, _ := strings.Cut(ref, "/")
	for _, w := range workloads {
		if w.ns == ns && w.name == name {
			return w
		}
	}
	panic("unknown workload " + ref)
}

func nsOf(name string) namespace {
	for _, n := range namespaces {
		if n.name == name {
			return n
		}
	}
	panic("unknown namespace " + name)
}

// meshed reports whether a workload has a proxy: a sidecar, or ztunnel in ambient.
func meshed(w workload) bool {
	n := nsOf(w.ns)
	return (n.sidecar && !w.noSidecar) || n.ambient || w.name == "istio-ingressgateway"
}

func principal(w workload) string {
	return "spiffe://cluster.local/ns/" + w.ns + "/sa/" + w.sa
}

func podName(w workload) string {
	if w.kind == "StatefulSet" {
		return w.name + "-" + w.podHash
	}
	return w.name + "-" + w.podHash
}

func svcHost(w workload) string { return w.name + "." + w.ns + ".svc.cluster.local" }

// ---- metrics ----

type series struct {
	metric string
	labels map[string]string
	rate   float64 // per second
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
		fmt.Fprintf(&b, "%s=%q", k, l[k])
	}
	b.WriteByte('}')
	return b.String()
}

// peerLabels returns the source_* or destination_* labels of a workload as a
// server-side proxy reports them; unknown when the peer presented no identity.
func peerLabels(prefix string, w workload, known bool) map[string]string {
	l := map[string]string{}
	if !known {
		for _, k := range []string{"workload", "workload_namespace", "principal", "app", "version", "canonical_service", "canonical_revision", "cluster"} {
			l[prefix+k] = "unknown"
		}
		return l
	}
	l[prefix+"workload"] = w.name
	l[prefix+"workload_namespace"] = w.ns
	l[prefix+"principal"] = principal(w)
	l[prefix+"app"] = orUnknown(w.app)
	l[prefix+"version"] = orUnknown(w.version)
	l[prefix+"canonical_service"] = orDefault(w.app, w.name)
	l[prefix+"canonical_revision"] = orDefault(w.version, "latest")
	l[prefix+"cluster"] = "Kubernetes"
	return l
}

func orUnknown(s string) string { return orDefault(s, "unknown") }
func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func destLabels(f flow, dst workload) map[string]string {
	l := peerLabels("destination_", dst, true)
	l["destination_service"] = svcHost(dst)
	l["destination_service_name"] = dst.name
	l["destination_service_namespace"] = dst.ns
	return l
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func buildSeries() []series {
	var out []series
	for _, f := range flows {
		src, dst := find(f.src), find(f.dst)
		mtls := meshed(src) && meshed(dst)
		secPolicy := "none"
		if mtls {
			secPolicy = "mutual_tls"
		}
		dstNS := nsOf(dst.ns)
		if f.proto == "tcp" {
			l := merge(peerLabels("source_", src, mtls), destLabels(f, dst), map[string]string{
				"reporter": "destination", "request_protocol": "tcp", "response_flags": "-",
				"connection_security_policy": secPolicy,
			})
			out = append(out, series{"istio_tcp_connections_opened", l, f.rps})
			if meshed(src) {
				ls := merge(peerLabels("source_", src, true), destLabels(f, dst), map[string]string{
					"reporter": "source", "request_protocol": "tcp", "response_flags": "-",
					"connection_security_policy": "unknown",
				})
				out = append(out, series{"istio_tcp_connections_opened", ls, f.rps})
			}
			continue
		}
		if dstNS.ambient {
			// Without a waypoint, only ztunnel sees the traffic: TCP metrics.
			// With one, the waypoint reports HTTP metrics with the client's
			// identity, and the destination ztunnel sees the waypoint.
			connRate := f.rps / 40 // HTTP keep-alive: few connections
			if f.viaWaypoint {
				wp := find(dst.ns + "/" + dstNS.waypoint)
				out = append(out, series{"istio_tcp_connections_opened", merge(peerLabels("source_", wp, true), destLabels(f, dst), map[string]string{
					"reporter": "destination", "request_protocol": "tcp", "response_flags": "-",
					"connection_security_policy": "mutual_tls",
				}), connRate})
				for code, share := range f.codes {
					out = append(out, series{"istio_requests", merge(peerLabels("source_", src, true), destLabels(f, dst), map[string]string{
						"reporter": "waypoint", "request_protocol": f.proto, "response_code": fmt.Sprint(code),
						"response_flags": "-", "connection_security_policy": "mutual_tls",
					}), f.rps * share})
				}
				continue
			}
			out = append(out, series{"istio_tcp_connections_opened", merge(peerLabels("source_", src, mtls), destLabels(f, dst), map[string]string{
				"reporter": "destination", "request_protocol": "tcp", "response_flags": "-",
				"connection_security_policy": secPolicy,
			}), connRate})
			out = append(out, series{"istio_tcp_connections_opened", merge(peerLabels("source_", src, true), destLabels(f, dst), map[string]string{
				"reporter": "source", "request_protocol": "tcp", "response_flags": "-",
				"connection_security_policy": "unknown",
			}), connRate})
			continue
		}
		for code, share := range f.codes {
			extra := map[string]string{"reporter": "destination", "request_protocol": f.proto, "response_code": fmt.Sprint(code), "response_flags": "-", "connection_security_policy": secPolicy}
			if f.proto == "grpc" {
				extra["grpc_response_status"] = "0"
			}
			out = append(out, series{"istio_requests", merge(peerLabels("source_", src, mtls), destLabels(f, dst), extra), f.rps * share})
			if meshed(src) {
				extra := merge(extra, map[string]string{"reporter": "source", "connection_security_policy": "unknown"})
				out = append(out, series{"istio_requests", merge(peerLabels("source_", src, true), destLabels(f, dst), extra), f.rps * share})
			}
		}
	}
	// Flows that a server cannot tell apart (two plaintext callers without
	// identity) land in one series, as they do in Istio.
	byKey := map[string]*series{}
	var keys []string
	for i := range out {
		k := out[i].metric + labelString(out[i].labels)
		if cur, ok := byKey[k]; ok {
			cur.rate += out[i].rate
			continue
		}
		byKey[k] = &out[i]
		keys = append(keys, k)
	}
	sort.Strings(keys)
	merged := make([]series, 0, len(keys))
	for _, k := range keys {
		merged = append(merged, *byKey[k])
	}
	return merged
}

func writeMetrics(w io.Writer) error {
	rng := rand.New(rand.NewPCG(1, 2))
	all := buildSeries()
	start := end.Add(-window)
	lastFamily := ""
	for _, s := range all {
		if s.metric != lastFamily {
			help := "Total requests."
			if s.metric == "istio_tcp_connections_opened" {
				help = "Total TCP connections opened."
			}
			fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", s.metric, help, s.metric)
			lastFamily = s.metric
		}
		ls := labelString(s.labels)
		var v float64
		for t := start; !t.After(end); t = t.Add(scrape) {
			// A diurnal swing and Poisson-like noise on the increment.
			hour := float64(t.Hour()) + float64(t.Minute())/60
			mean := s.rate * scrape.Seconds() * (1 + 0.3*math.Sin((hour-6)/24*2*math.Pi))
			v += math.Max(0, math.Round(mean+rng.NormFloat64()*math.Sqrt(mean)))
			fmt.Fprintf(w, "%s_total%s %g %d\n", s.metric, ls, v, t.Unix())
		}
	}
	_, err := io.WriteString(w, "# EOF\n")
	return err
}
