package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// The mesh: N namespaces of 25 workloads each, in four mesh modes, with a
// fixed shape per namespace (a web front end, fifteen REST APIs, six gRPC
// services, three TCP stores), each destination called by about four callers,
// mostly from its own namespace and one from anywhere in the mesh.

// mode is a namespace's data plane.
type mode int

const (
	modeSidecar mode = iota
	modeAmbientWaypoint
	modeAmbient
	modeNone // no proxy: plaintext callers, unobserved as destinations
)

func (m mode) String() string {
	return [...]string{"sidecar", "ambient+waypoint", "ambient", "none"}[m]
}

// modeCycle assigns modes to namespaces in turn: 7 in 10 sidecar, 1 ambient
// behind a waypoint, 1 ambient (L4 only), 1 outside the mesh.
var modeCycle = []mode{modeSidecar, modeAmbientWaypoint, modeSidecar, modeAmbient, modeSidecar, modeNone, modeSidecar, modeSidecar, modeSidecar, modeSidecar}

// domains name the namespaces: domain-<n>.
var domains = []string{"shop", "billing", "search", "identity", "logistics", "media", "ads", "support", "analytics", "catalog",
	"payments", "growth", "risk", "partners", "mobile", "platform", "content", "pricing", "loyalty", "messaging"}

// role is what a workload does.
type role int

const (
	roleWeb role = iota
	roleREST
	roleGRPC
	roleTCP
	roleWaypoint
	roleGateway
)

// The 25 workloads of every namespace, by index.
var (
	restNames = []string{"orders", "carts", "products", "users", "accounts", "invoices", "shipments", "reviews",
		"searches", "prices", "stock", "notifications", "profiles", "sessions", "reports"}
	grpcNames = []string{"auth", "ratings", "recommendations", "geo", "fraud", "tax"}
	tcpStores = []struct {
		name string
		port int
	}{{"postgres", 5432}, {"redis", 6379}, {"kafka", 9092}}
)

type namespace struct {
	name     string
	mode     mode
	index    int
	waypoint *workload
}

type workload struct {
	ns      *namespace
	name    string
	role    role
	kind    string // Deployment, StatefulSet
	sa      string
	app     string
	version string
	// port is the container (target) port; svcPort the Service port.
	port, svcPort int
	portName      string
	// resource is the REST resource or the gRPC service it serves.
	resource string
	podHash  string
	podIPs   []string
	// index is the workload's position in mesh.workloads; pods are numbered globally.
	index int
	svcIP string
}

func (w *workload) meshed() bool {
	return w.role == roleGateway || w.ns.mode != modeNone
}

func (w *workload) principal() string {
	return "spiffe://cluster.local/ns/" + w.ns.name + "/sa/" + w.sa
}

func (w *workload) host() string { return w.name + "." + w.ns.name + ".svc.cluster.local" }

func (w *workload) pod(i int) string {
	if w.kind == "StatefulSet" {
		return fmt.Sprintf("%s-%d", w.name, i)
	}
	return fmt.Sprintf("%s-%s-%s", w.name, w.podHash, podSuffix(w.index*7+i))
}

// op is a kind of request a caller makes: method and path template, where
// {id} is filled from the pair's identifiers.
type op struct {
	method, path string
	ids          bool
}

// pair is one caller → destination relation, with what the caller does.
type pair struct {
	src, dst *workload
	ops      []op
	// ids are the identifiers this caller uses in paths with {id}.
	ids []string
	// rate is the calls (or connections) per second.
	rate float64
	// codes are the response codes besides 200, with their shares.
	codes []codeShare
}

type codeShare struct {
	code  int
	share float64
}

type mesh struct {
	namespaces []*namespace
	workloads  []*workload
	gateway    *workload
	pairs      []*pair
}

// build makes the mesh of n namespaces. idsPerOp is how many distinct
// identifiers each caller uses per path template.
func build(n int, idsPerOp int, seed uint64) *mesh {
	rng := rand.New(rand.NewPCG(seed, seed^0x5bd1e995))
	m := &mesh{}
	gwNS := &namespace{name: "istio-system", mode: modeSidecar, index: -1}
	m.namespaces = append(m.namespaces, gwNS)
	m.gateway = m.add(&workload{ns: gwNS, name: "istio-ingressgateway", role: roleGateway, kind: "Deployment",
		sa: "istio-ingressgateway-service-account", app: "istio-ingressgateway", port: 8080, svcPort: 80, portName: "http2"})
	for i := range n {
		ns := &namespace{name: fmt.Sprintf("%s-%d", domains[i%len(domains)], i/len(domains)), mode: modeCycle[i%len(modeCycle)], index: i}
		m.namespaces = append(m.namespaces, ns)
		m.add(&workload{ns: ns, name: "web", role: roleWeb, kind: "Deployment", sa: "web", app: "web", version: "v1",
			port: 8080, svcPort: 80, portName: "http"})
		for j, r := range restNames {
			sa := r
			switch j {
			case 12:
				sa = "default"
			case 13, 14:
				sa = "batch" // two workloads share one service account
			}
			m.add(&workload{ns: ns, name: r, role: roleREST, kind: "Deployment", sa: sa, app: r, version: fmt.Sprintf("v%d", 1+j%3),
				port: 8080, svcPort: 80, portName: "http", resource: r})
		}
		for _, g := range grpcNames {
			m.add(&workload{ns: ns, name: g, role: roleGRPC, kind: "Deployment", sa: g, app: g, version: "v1",
				port: 9090, svcPort: 9090, portName: "grpc", resource: g})
		}
		for _, t := range tcpStores {
			m.add(&workload{ns: ns, name: t.name, role: roleTCP, kind: "StatefulSet", sa: t.name, app: t.name,
				port: t.port, svcPort: t.port, portName: "tcp-" + t.name})
		}
		if ns.mode == modeAmbientWaypoint {
			ns.waypoint = m.add(&workload{ns: ns, name: "waypoint", role: roleWaypoint, kind: "Deployment", sa: "waypoint",
				port: 15008, svcPort: 15008, portName: "mesh"})
		}
	}
	m.connect(rng, idsPerOp)
	return m
}

func (m *mesh) add(w *workload) *workload {
	w.index = len(m.workloads)
	w.podHash = podHash(w.index)
	replicas := 2
	if w.kind == "StatefulSet" || w.role == roleWaypoint {
		replicas = 1
	}
	for i := range replicas {
		w.podIPs = append(w.podIPs, podIP(w.index*2+i))
	}
	w.svcIP = fmt.Sprintf("10.96.%d.%d", w.index/250, 1+w.index%250)
	m.workloads = append(m.workloads, w)
	return w
}

// podIP numbers pods 10.16.0.1 upwards.
func podIP(i int) string {
	i++
	return fmt.Sprintf("10.%d.%d.%d", 16+i/65536, i/256%256, i%256)
}

const hashAlphabet = "bcdfghjklmnpqrstvwxz2456789"

func podHash(i int) string {
	var b [9]byte
	x := uint64(i)*0x9e3779b97f4a7c15 + 12345
	for k := range b {
		b[k] = hashAlphabet[x%uint64(len(hashAlphabet))]
		x /= uint64(len(hashAlphabet))
		x ^= x << 13
	}
	return string(b[:])
}

func podSuffix(i int) string { return podHash(i + 1000003)[:5] }

// connect chooses the callers of every destination and what they do.
func (m *mesh) connect(rng *rand.Rand, idsPerOp int) {
	byNS := map[*namespace][]*workload{}
	var callersAnywhere []*workload // web and REST workloads of every namespace
	for _, w := range m.workloads {
		byNS[w.ns] = append(byNS[w.ns], w)
		if w.role == roleWeb || w.role == roleREST {
			callersAnywhere = append(callersAnywhere, w)
		}
	}
	for _, ns := range m.namespaces[1:] {
		wls := byNS[ns]
		var web *workload
		var rest []*workload
		for _, w := range wls {
			switch w.role {
			case roleWeb:
				web = w
			case roleREST:
				rest = append(rest, w)
			}
		}
		local := append([]*workload{web}, rest...)
		for _, dst := range wls {
			var callers []*workload
			switch dst.role {
			case roleWeb:
				callers = []*workload{m.gateway}
			case roleREST:
				callers = append(callers, web)
				callers = append(callers, pickOthers(rng, rest, dst, 2)...)
				callers = append(callers, pickRemote(rng, callersAnywhere, dst))
			case roleGRPC:
				callers = append(callers, pickOthers(rng, rest, dst, 3)...)
				callers = append(callers, pickRemote(rng, callersAnywhere, dst))
			case roleTCP:
				callers = pickOthers(rng, local, dst, 4)
			default:
				continue
			}
			for _, src := range callers {
				m.pairs = append(m.pairs, newPair(rng, src, dst, idsPerOp))
			}
		}
	}
}

func pickOthers(rng *rand.Rand, from []*workload, not *workload, n int) []*workload {
	var out []*workload
	for _, i := range rng.Perm(len(from)) {
		if from[i] != not && len(out) < n {
			out = append(out, from[i])
		}
	}
	return out
}

func pickRemote(rng *rand.Rand, from []*workload, dst *workload) *workload {
	for {
		w := from[rng.IntN(len(from))]
		if w.ns != dst.ns {
			return w
		}
	}
}

func newPair(rng *rand.Rand, src, dst *workload, idsPerOp int) *pair {
	p := &pair{src: src, dst: dst}
	// Rates are log-uniform between 0.005 and 20 per second.
	p.rate = 0.005 * math.Pow(4000, rng.Float64())
	all := opsOf(dst)
	if len(all) > 0 {
		k := 2 + rng.IntN(min(4, len(all)-1))
		for _, i := range rng.Perm(len(all))[:k] {
			p.ops = append(p.ops, all[i])
		}
	}
	for range idsPerOp {
		switch {
		case dst.role == roleREST && len(dst.resource)%2 == 0:
			p.ids = append(p.ids, uuid(rng))
		default:
			p.ids = append(p.ids, fmt.Sprint(10000+rng.IntN(990000)))
		}
	}
	if dst.role == roleREST || dst.role == roleWeb {
		if rng.IntN(10) < 3 {
			p.codes = append(p.codes, codeShare{404, 0.02})
		}
		if rng.IntN(10) == 0 {
			p.codes = append(p.codes, codeShare{503, 0.01})
		}
		if rng.IntN(30) == 0 {
			p.codes = append(p.codes, codeShare{403, 0.05})
		}
		for _, o := range p.ops {
			if o.method == "POST" {
				p.codes = append(p.codes, codeShare{201, 0.2})
				break
			}
		}
	}
	return p
}

func uuid(rng *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xfff,
		0x8000|rng.Uint32()&0x3fff, rng.Uint64()&0xffffffffffff)
}

// opsOf returns what a destination serves.
func opsOf(w *workload) []op {
	switch w.role {
	case roleWeb:
		return []op{{"GET", "/", false}, {"GET", "/products/{id}", true}, {"GET", "/static/js/app.3f9c2d.js", false}, {"POST", "/checkout", false}}
	case roleREST:
		r := "/api/v1/" + w.resource
		return []op{{"GET", r, false}, {"GET", r + "/{id}", true}, {"POST", r, false}, {"PUT", r + "/{id}", true},
			{"DELETE", r + "/{id}", true}, {"GET", r + "/{id}/history", true}}
	case roleGRPC:
		svc := "/" + w.resource + ".v1." + strings.ToUpper(w.resource[:1]) + w.resource[1:] + "Service/"
		var out []op
		for _, meth := range []string{"Get", "List", "Create", "Update", "Delete", "Watch"} {
			out = append(out, op{"POST", svc + meth, false})
		}
		return out
	}
	return nil
}

// protocol is the protocol of the pair's calls as Istio labels it.
func (p *pair) protocol() string {
	switch p.dst.role {
	case roleGRPC:
		return "grpc"
	case roleTCP:
		return "tcp"
	}
	return "http"
}

// mtls: both ends have a proxy (ambient or sidecar interoperate over HBONE).
func (p *pair) mtls() bool { return p.src.meshed() && p.dst.meshed() }
