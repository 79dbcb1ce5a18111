// Package loggen writes synthetic but realistic access logs (Istio's Envoy
// text and JSON formats, ztunnel text and JSON) and the inventory that
// matches them, for benchmarks.
package loggen

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// Formats Gen can write.
const (
	EnvoyText   = "envoy"
	EnvoyJSON   = "envoy-json"
	ZtunnelText = "ztunnel"
	ZtunnelJSON = "ztunnel-json"
)

type workload struct {
	ns, name, pod, ip, sa string
	port                  int
}

// Gen writes lines. It is deterministic for a seed.
type Gen struct {
	rng       *rand.Rand
	workloads []workload
	paths     []string
	t         time.Time
}

// New returns a generator over 8 namespaces of 25 workloads each.
func New(seed uint64) *Gen {
	g := &Gen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), t: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	for n := range 8 {
		for w := range 25 {
			name := fmt.Sprintf("svc%02d-v1", w)
			g.workloads = append(g.workloads, workload{
				ns: fmt.Sprintf("team%d", n), name: name,
				pod:  fmt.Sprintf("%s-6b4d5c7f9-x%04d", name, w),
				ip:   fmt.Sprintf("10.%d.%d.%d", 8+n, w/200, 10+w%200),
				sa:   name,
				port: 8080 + w%3,
			})
		}
	}
	g.paths = []string{"/api/v1/orders", "/api/v1/orders/%d", "/api/v1/users/%d/cart", "/healthz", "/static/app.js",
		"/api/v2/items/%d/reviews", "/shop.v1.Cart/AddItem", "/metrics"}
	return g
}

// Inventory returns the workloads the lines name, with their pod IPs.
func (g *Gen) Inventory() snapshot.Inventory {
	inv := snapshot.Inventory{Origin: snapshot.InventoryFile}
	seen := map[string]bool{}
	for _, w := range g.workloads {
		if !seen[w.ns] {
			seen[w.ns] = true
			inv.Namespaces = append(inv.Namespaces, snapshot.Namespace{Name: w.ns, MeshMode: snapshot.MeshSidecar})
		}
		inv.Workloads = append(inv.Workloads, snapshot.Workload{
			Namespace: w.ns, Name: w.name, Kind: "Deployment", ServiceAccount: w.sa,
			PodIPs: []string{w.ip}, Ports: []snapshot.ContainerPort{{Port: w.port}},
		})
		inv.Services = append(inv.Services, snapshot.Service{
			Namespace: w.ns, Name: w.name, Workloads: []string{w.name},
			Ports: []snapshot.ServicePort{{Port: 80, TargetPort: w.port}},
		})
	}
	return inv
}

// pick returns a call: each destination has three regular callers in its
// namespace and, one call in twenty, a caller from anywhere.
func (g *Gen) pick() (src, dst workload) {
	d := g.rng.IntN(len(g.workloads))
	s := (d/25)*25 + (d+1+g.rng.IntN(3))%25
	if g.rng.IntN(20) == 0 {
		s = g.rng.IntN(len(g.workloads))
	}
	return g.workloads[s], g.workloads[d]
}

// path returns a path and a query string: one of eight choices, four with
// an ID (three from twenty values, one from a thousand), so that about one
// call in ten has a path (and edge) not seen before, as REST APIs with IDs
// in their paths do.
func (g *Gen) path() (string, string) {
	i := g.rng.IntN(len(g.paths))
	p := g.paths[i]
	switch {
	case i == 4:
		p = fmt.Sprintf(g.paths[1], g.rng.IntN(1000))
	case p[len(p)-1] == 'd' || strings.Contains(p, "%d"):
		p = fmt.Sprintf(p, g.rng.IntN(20))
	}
	q := ""
	if g.rng.IntN(3) == 0 {
		q = "?page=" + strconv.Itoa(g.rng.IntN(9)) + "&sort=desc"
	}
	return p, q
}

func (g *Gen) code() int {
	switch g.rng.IntN(50) {
	case 0:
		return 503
	case 1:
		return 403
	case 2:
		return 404
	}
	return 200
}

// Write writes lines in format until at least size bytes are written and
// returns the number of lines.
func (g *Gen) Write(w io.Writer, format string, size int64) (int64, error) {
	var written, lines int64
	buf := make([]byte, 0, 1<<20)
	for written < size {
		buf = buf[:0]
		for len(buf) < 1<<20-4096 {
			buf = g.Line(buf, format)
			lines++
		}
		n, err := w.Write(buf)
		written += int64(n)
		if err != nil {
			return lines, err
		}
	}
	return lines, nil
}

// Line appends one line (with its newline) to b.
func (g *Gen) Line(b []byte, format string) []byte {
	g.t = g.t.Add(time.Duration(g.rng.IntN(2000)) * time.Microsecond)
	src, dst := g.pick()
	sport := 30000 + g.rng.IntN(30000)
	switch format {
	case ZtunnelText:
		return g.ztunnelText(b, src, dst, sport)
	case ZtunnelJSON:
		return g.ztunnelJSON(b, src, dst, sport)
	case EnvoyJSON:
		return g.envoyJSON(b, src, dst, sport)
	default:
		return g.envoyText(b, src, dst, sport)
	}
}

func (g *Gen) reqID() string {
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", g.rng.Uint32(), g.rng.IntN(1<<16), g.rng.IntN(1<<16), g.rng.IntN(1<<16), g.rng.Uint64()&(1<<48-1))
}

func (g *Gen) envoyText(b []byte, src, dst workload, sport int) []byte {
	p, q := g.path()
	code := g.code()
	details := "via_upstream"
	if code == 403 {
		details = "rbac_access_denied_matched_policy[none]"
	}
	method, proto := "GET", "HTTP/1.1"
	if p == "/shop.v1.Cart/AddItem" {
		method, proto = "POST", "HTTP/2"
	}
	return fmt.Appendf(b, `[%s] "%s %s%s %s" %d - %s - "-" 0 %d %d %d "-" "Go-http-client/1.1" "%s" "%s.%s:80" "%s:%d" inbound|%d|| 127.0.0.6:%d %s:%d %s:%d outbound_.80_._.%s.%s.svc.cluster.local default`+"\n",
		g.t.Format("2006-01-02T15:04:05.000Z"), method, p, q, proto, code, details, 100+g.rng.IntN(5000), g.rng.IntN(40), g.rng.IntN(30),
		g.reqID(), dst.name, dst.ns, dst.ip, dst.port, dst.port, 40000+g.rng.IntN(20000), dst.ip, dst.port, src.ip, sport, dst.name, dst.ns)
}

func (g *Gen) envoyJSON(b []byte, src, dst workload, sport int) []byte {
	p, q := g.path()
	code := g.code()
	details := "via_upstream"
	if code == 403 {
		details = "rbac_access_denied_matched_policy[none]"
	}
	method, proto := "GET", "HTTP/1.1"
	if p == "/shop.v1.Cart/AddItem" {
		method, proto = "POST", "HTTP/2"
	}
	return fmt.Appendf(b, `{"authority":"%s.%s:80","bytes_received":0,"bytes_sent":%d,"connection_termination_details":null,"downstream_local_address":"%s:%d","downstream_remote_address":"%s:%d","duration":%d,"method":"%s","path":"%s%s","protocol":"%s","request_id":"%s","requested_server_name":"outbound_.80_._.%s.%s.svc.cluster.local","response_code":%d,"response_code_details":"%s","response_flags":"-","route_name":"default","start_time":"%s","upstream_cluster":"inbound|%d||","upstream_host":"%s:%d","upstream_local_address":"127.0.0.6:%d","upstream_service_time":"%d","upstream_transport_failure_reason":null,"user_agent":"Go-http-client/1.1","x_forwarded_for":null}`+"\n",
		dst.name, dst.ns, 100+g.rng.IntN(5000), dst.ip, dst.port, src.ip, sport, g.rng.IntN(40), method, p, q, proto, g.reqID(), dst.name, dst.ns,
		code, details, g.t.Format("2006-01-02T15:04:05.000Z"), dst.port, dst.ip, dst.port, 40000+g.rng.IntN(20000), g.rng.IntN(30))
}

func (g *Gen) ztunnelText(b []byte, src, dst workload, sport int) []byte {
	dir := "inbound"
	if g.rng.IntN(2) == 0 {
		dir = "outbound"
	}
	return fmt.Appendf(b, "%s\tinfo\taccess\tconnection complete\tsrc.addr=%s:%d src.workload=\"%s\" src.namespace=\"%s\" src.identity=\"spiffe://cluster.local/ns/%s/sa/%s\" dst.addr=%s:15008 dst.hbone_addr=%s:%d dst.service=\"%s.%s.svc.cluster.local\" dst.workload=\"%s\" dst.namespace=\"%s\" dst.identity=\"spiffe://cluster.local/ns/%s/sa/%s\" direction=\"%s\" bytes_sent=%d bytes_recv=%d duration=\"%dms\"\n",
		g.t.Format("2006-01-02T15:04:05.000000Z"), src.ip, sport, src.pod, src.ns, src.ns, src.sa, dst.ip, dst.ip, dst.port, dst.name, dst.ns,
		dst.pod, dst.ns, dst.ns, dst.sa, dir, g.rng.IntN(9000), g.rng.IntN(9000), g.rng.IntN(40))
}

func (g *Gen) ztunnelJSON(b []byte, src, dst workload, sport int) []byte {
	dir := "inbound"
	if g.rng.IntN(2) == 0 {
		dir = "outbound"
	}
	return fmt.Appendf(b, `{"level":"info","time":"%s","scope":"access","message":"connection complete","src.addr":"%s:%d","src.workload":"%s","src.namespace":"%s","src.identity":"spiffe://cluster.local/ns/%s/sa/%s","dst.addr":"%s:15008","dst.hbone_addr":"%s:%d","dst.service":"%s.%s.svc.cluster.local","dst.workload":"%s","dst.namespace":"%s","dst.identity":"spiffe://cluster.local/ns/%s/sa/%s","direction":"%s","bytes_sent":%d,"bytes_recv":%d,"duration":"%dms"}`+"\n",
		g.t.Format("2006-01-02T15:04:05.000000Z"), src.ip, sport, src.pod, src.ns, src.ns, src.sa, dst.ip, dst.ip, dst.port, dst.name, dst.ns,
		dst.pod, dst.ns, dst.ns, dst.sa, dir, g.rng.IntN(9000), g.rng.IntN(9000), g.rng.IntN(40))
}
