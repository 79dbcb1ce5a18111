package synth_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/meshgen/meshgen/observe/snapshot"
	"github.com/meshgen/meshgen/synth"
)

// genConfig tunes the random snapshot generator.
type genConfig struct {
	maxNamespaces int
	maxWorkloads  int
	maxEdges      int
}

var defaultGen = genConfig{maxNamespaces: 3, maxWorkloads: 4, maxEdges: 40}

// randomSnapshot builds a random but internally consistent snapshot: an
// inventory with sidecar, ambient and out-of-mesh workloads, Services,
// waypoints (some unknown to the inventory), shared and default service
// accounts; and edges of every kind (HTTP with ids in paths, gRPC, TCP,
// metrics-only, plaintext, denied, 403, client-side reports).
func randomSnapshot(r *rand.Rand, g genConfig) *snapshot.Snapshot {
	s := snapshot.New()
	s.Metadata.TrustDomains = []string{"cluster.local"}
	inv := &s.Inventory
	inv.Origin = pick(r, []string{snapshot.InventoryCluster, snapshot.InventoryCluster, snapshot.InventoryFile, snapshot.InventoryInferred})
	nns := 1 + r.IntN(g.maxNamespaces)
	for i := range nns {
		ns := snapshot.Namespace{Name: fmt.Sprintf("ns%d", i)}
		ns.MeshMode = pick(r, []string{snapshot.MeshSidecar, snapshot.MeshSidecar, snapshot.MeshAmbient, snapshot.MeshAmbient, snapshot.MeshNone})
		if ns.MeshMode == snapshot.MeshAmbient && r.IntN(2) == 0 {
			ns.Waypoint = "waypoint"
			if r.IntN(4) > 0 {
				inv.Waypoints = append(inv.Waypoints, snapshot.Waypoint{Namespace: ns.Name, Name: "waypoint",
					ServiceAccount: pick(r, []string{"waypoint", "wp-sa"}), For: pick(r, []string{"", "service", "all", "workload"})})
			}
		}
		inv.Namespaces = append(inv.Namespaces, ns)
		nwl := 1 + r.IntN(g.maxWorkloads)
		for j := range nwl {
			name := fmt.Sprintf("w%d", j)
			w := snapshot.Workload{
				Namespace: ns.Name, Name: name, Kind: "Deployment",
				Selector:       map[string]string{"app": name},
				Labels:         map[string]string{"app": name, "version": "v1"},
				ServiceAccount: pick(r, []string{name, name, "default", "shared"}),
				Inferred:       inv.Origin == snapshot.InventoryInferred,
			}
			for _, p := range pickN(r, []int{8080, 9090, 5432, 3000, 80}, r.IntN(3)) {
				w.Ports = append(w.Ports, snapshot.ContainerPort{Name: fmt.Sprintf("p%d", p), Port: p})
			}
			if r.IntN(6) == 0 {
				w.MeshMode = pick(r, []string{snapshot.MeshSidecar, snapshot.MeshAmbient, snapshot.MeshNone})
			}
			if r.IntN(40) == 0 {
				w.Selector["tier"] = "*" // not writable: the destination must be skipped
			}
			w.PodIPs = []string{fmt.Sprintf("10.%d.%d.1", i, j)}
			inv.Workloads = append(inv.Workloads, w)
			if len(w.Ports) > 0 && r.IntN(4) > 0 {
				svc := snapshot.Service{Namespace: ns.Name, Name: name + "-svc", Selector: map[string]string{"app": name}}
				for _, p := range w.Ports {
					sp := snapshot.ServicePort{Name: p.Name, Port: p.Port}
					switch r.IntN(3) {
					case 0:
						sp.Port, sp.TargetPort = 80+p.Port%7, p.Port
					case 1:
						sp.TargetName = p.Name
					}
					svc.Ports = append(svc.Ports, sp)
				}
				if r.IntN(4) == 0 {
					svc.Waypoint = "waypoint"
				}
				inv.Services = append(inv.Services, svc)
			}
		}
	}
	base := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	nedges := r.IntN(g.maxEdges + 1)
	for range nedges {
		s.Edges = append(s.Edges, randomEdge(r, inv, base))
	}
	return s
}

func randomEdge(r *rand.Rand, inv *snapshot.Inventory, base time.Time) snapshot.Edge {
	dst := inv.Workloads[r.IntN(len(inv.Workloads))]
	e := snapshot.Edge{Destination: snapshot.Destination{Namespace: dst.Namespace, Workload: dst.Name}}
	if r.IntN(15) == 0 {
		e.Destination.Workload = "unknown-wl"
	}
	for _, svc := range inv.Services {
		if svc.Namespace == dst.Namespace && svc.Selector["app"] == dst.Name && r.IntN(3) > 0 {
			e.Destination.Service = svc.Name + "." + svc.Namespace + ".svc.cluster.local"
		}
	}
	e.Source = randomSource(r, inv)
	e.Reporter = pick(r, []string{snapshot.ReporterDestination, snapshot.ReporterDestination, snapshot.ReporterDestination, snapshot.ReporterWaypoint, snapshot.ReporterSource})
	e.Protocol = pick(r, []string{snapshot.ProtocolHTTP, snapshot.ProtocolHTTP, snapshot.ProtocolGRPC, snapshot.ProtocolTCP, ""})
	metricOnly := r.IntN(4) == 0
	if !metricOnly {
		ports := []int{1234}
		for _, p := range dst.Ports {
			ports = append(ports, p.Port, p.Port)
		}
		e.Port = pick(r, ports)
		switch e.Protocol {
		case snapshot.ProtocolHTTP, "":
			if r.IntN(6) > 0 {
				e.Method = pick(r, []string{"GET", "GET", "POST", "DELETE", ""})
				e.Path = randomPath(r)
				e.PathPrefix = len(e.Path) > 1 && e.Path[len(e.Path)-1] == '/' && r.IntN(2) == 0
			}
		case snapshot.ProtocolGRPC:
			e.Method = "POST"
			e.Path = pick(r, []string{"/shop.v1.Cart/AddItem", "/shop.v1.Cart/GetCart", "/grpc.health.v1.Health/Check"})
		}
	}
	n := int64(1 + r.IntN(40))
	e.Counts.Requests = n
	switch {
	case e.Source.Principal == "":
		if r.IntN(5) == 0 {
			e.Counts.MTLS = n // an mTLS caller whose principal is unknown
		} else if r.IntN(5) > 0 {
			e.Counts.Plaintext = n
		}
	case r.IntN(8) == 0:
		e.Counts.Plaintext = n / 2
		e.Counts.MTLS = n - n/2
	default:
		e.Counts.MTLS = n
	}
	switch r.IntN(10) {
	case 0:
		e.Counts.Denied = n
	case 1:
		e.Counts.Unauthorized = n
	case 2:
		e.Counts.Denied = n / 3
	}
	e.FirstSeen = base.Add(time.Duration(r.IntN(100)) * time.Hour)
	e.LastSeen = e.FirstSeen.Add(time.Duration(r.IntN(100)) * time.Hour)
	e.Evidence = []string{pick(r, []string{snapshot.EvidencePrometheus, snapshot.EvidenceEnvoyLog, snapshot.EvidenceZtunnelLog, snapshot.EvidenceWaypointLog})}
	if metricOnly {
		e.Evidence = []string{snapshot.EvidencePrometheus}
	}
	return e
}

func randomSource(r *rand.Rand, inv *snapshot.Inventory) snapshot.Source {
	switch r.IntN(8) {
	case 0: // plaintext from outside the mesh
		return snapshot.Source{Namespace: pick(r, []string{"", "legacy"}), Workload: pick(r, []string{"", "batch"}), IP: pick(r, []string{"10.9.0.1", "10.9.0.2", ""})}
	case 1: // a foreign trust domain or an unlisted workload
		return snapshot.Source{Principal: pick(r, []string{"other.td/ns/x/sa/y", "cluster.local/ns/monitoring/sa/prometheus", "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"}),
			IdentityFrom: snapshot.IdentityCertificate}
	}
	w := inv.Workloads[r.IntN(len(inv.Workloads))]
	src := snapshot.Source{Principal: "cluster.local/ns/" + w.Namespace + "/sa/" + w.ServiceAccount, Namespace: w.Namespace, Workload: w.Name,
		IdentityFrom: pick(r, []string{snapshot.IdentityCertificate, snapshot.IdentityCertificate, snapshot.IdentityPodIP})}
	if r.IntN(5) == 0 {
		src.Workload = ""
	}
	return src
}

func randomPath(r *rand.Rand) string {
	switch r.IntN(9) {
	case 0:
		return fmt.Sprintf("/api/users/%d", r.IntN(1000))
	case 1:
		return fmt.Sprintf("/api/orders/%08x-1111-2222-3333-444455556666/items", r.Uint32())
	case 2:
		return "/static/"
	case 3:
		return pick(r, []string{"/a b", "/q\"uote", "/back\\slash", "/new\nline", "/#hash", "*star", "/{*}", "/x/{id}"})
	case 4:
		return "/healthz"
	default:
		return pick(r, []string{"/", "/api/items", "/api/cart", "/login", "/api/v1/products/shoes"})
	}
}

// randomOptions picks options that the properties must hold under.
func randomOptions(r *rand.Rand) synth.Options {
	o := synth.DefaultOptions()
	o.Mode = pick(r, []synth.Mode{synth.ModeAuto, synth.ModeAuto, synth.ModeAuto, synth.ModeSidecar, synth.ModeAmbient})
	o.MinRequests = pick(r, []int64{1, 1, 5})
	o.Plaintext = pick(r, []synth.PlaintextHandling{synth.PlaintextNoAllow, synth.PlaintextAllowPort})
	o.DefaultDeny = r.IntN(3) == 0
	o.IstioVersion = pick(r, []synth.Version{{Major: 1, Minor: 26}, {Major: 1, Minor: 26}, {Major: 1, Minor: 20}})
	if r.IntN(4) == 0 {
		o.TrustDomainAliases = []string{"old.td"}
	}
	if r.IntN(5) == 0 {
		o.MaxPathsPerRule = 2
		o.PathSiblingThreshold = 2
	}
	if r.IntN(6) == 0 {
		o.ExcludeWorkloads = []string{"ns0/w1"}
	}
	return o
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func pickN[T any](r *rand.Rand, xs []T, n int) []T {
	ys := slices.Clone(xs)
	r.Shuffle(len(ys), func(i, j int) { ys[i], ys[j] = ys[j], ys[i] })
	return ys[:min(n, len(ys))]
}
