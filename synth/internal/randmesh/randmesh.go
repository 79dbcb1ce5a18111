// Package randmesh generates random meshes and policy sets for the property tests of the evaluator's users.
package randmesh

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	securityapi "istio.io/api/security/v1beta1"
	typeapi "istio.io/api/type/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// Set is one policy set (the fields of eval.PolicySet; this package does not
// import eval, so that eval's own tests can use it).
type Set struct {
	AuthorizationPolicies []*securityv1.AuthorizationPolicy
	PeerAuthentications   []*securityv1.PeerAuthentication
	TrustDomain           string
	TrustDomainAliases    []string
}

// Generate builds a small mesh with every data-plane mode, callers of
// every kind (principals of several trust domains, malformed ones, plaintext
// with and without IP) and operations of every kind (reporters, unknown
// ports, protocols, methods and paths, folded prefixes, Services), and two
// random policy sets that use every matcher the evaluator knows.
func Generate(r *rand.Rand) (*snapshot.Snapshot, []Set) {
	pick := func(vals ...string) string { return vals[r.IntN(len(vals))] }
	some := func(pool []string, max int) []string {
		n := r.IntN(max + 1)
		var out []string
		for range n {
			out = append(out, pool[r.IntN(len(pool))])
		}
		return out
	}
	rare := func() bool { return r.IntN(4) == 0 }
	veryRare := func() bool { return r.IntN(16) == 0 }

	inv := snapshot.Inventory{Origin: snapshot.InventoryCluster}
	modes := []struct{ ns, mode, waypoint string }{
		{"ns0", snapshot.MeshSidecar, ""},
		{"ns1", snapshot.MeshAmbient, "wp"},
		{"ns2", snapshot.MeshAmbient, ""},
		{"ns3", snapshot.MeshNone, ""},
		{"ns4", "", ""},
		{"istio-system", snapshot.MeshSidecar, ""},
	}
	type wl struct{ ns, name string }
	var wls []wl
	for _, m := range modes {
		inv.Namespaces = append(inv.Namespaces, snapshot.Namespace{Name: m.ns, MeshMode: m.mode, Waypoint: m.waypoint})
		for w := range 2 + r.IntN(2) {
			name := fmt.Sprintf("w%d", w)
			labels := map[string]string{"app": name, "tier": pick("a", "b")}
			inferred := veryRare()
			if inferred {
				labels = nil
			}
			var ports []snapshot.ContainerPort
			if !rare() {
				ports = []snapshot.ContainerPort{{Name: "http", Port: 8080}, {Name: "grpc", Port: 9090}}
			}
			inv.Workloads = append(inv.Workloads, snapshot.Workload{
				Namespace: m.ns, Name: name, Labels: labels, Selector: labels, ServiceAccount: pick("sa0", "sa1", "default"),
				Ports: ports, MeshMode: m.mode, Inferred: inferred,
			})
			svc := snapshot.Service{
				Namespace: m.ns, Name: "svc" + name[1:], Selector: map[string]string{"app": name},
				Ports:     []snapshot.ServicePort{{Port: 80, TargetPort: 8080}, {Port: 90, TargetName: "grpc"}, {Port: 81, TargetPort: 8080}},
				Workloads: []string{name},
			}
			if m.ns == "ns2" && rare() {
				svc.Waypoint, svc.WaypointNamespace = "shared", "istio-system"
			}
			inv.Services = append(inv.Services, svc)
			wls = append(wls, wl{m.ns, name})
		}
	}
	inv.Waypoints = []snapshot.Waypoint{
		{Namespace: "ns1", Name: "wp", ServiceAccount: "wp-sa", For: "service"},
		{Namespace: "istio-system", Name: "shared", ServiceAccount: "shared", For: "all"},
	}

	principals := []string{"cluster.local/ns/a/b/sa/c", "spiffe-less", "cluster.local/ns/ns1/sa/wp-sa"}
	for _, td := range []string{"cluster.local", "td2.example"} {
		for _, ns := range []string{"ns0", "ns1", "ns2", "istio-system"} {
			for _, sa := range []string{"sa0", "sa1", "default"} {
				principals = append(principals, td+"/ns/"+ns+"/sa/"+sa)
			}
		}
	}
	ips := []string{"", "10.0.0.7", "10.0.0.200", "10.1.2.3", "::ffff:10.0.0.9", "not-an-ip"}
	var callers []snapshot.Source
	for range 6 + r.IntN(14) {
		s := snapshot.Source{Principal: pick(principals...), IdentityFrom: snapshot.IdentityCertificate}
		switch r.IntN(5) {
		case 0, 1:
			s = snapshot.Source{Namespace: pick("ns0", "ns3", ""), Workload: pick("w0", "w1", ""), IP: pick(ips...)}
		case 2:
			s.IP = pick(ips...)
		}
		callers = append(callers, s)
	}

	// Operations: a few workloads, each with a few shapes (Service,
	// reporter, port, protocol) and several methods and paths per shape, so
	// that operations share all but one attribute.
	snap := &snapshot.Snapshot{Inventory: inv}
	var focus []string
	for range 1 + r.IntN(4) {
		d := wls[r.IntN(len(wls))]
		if veryRare() {
			d.name = "ghost" // a workload missing from the inventory
		}
		focus = append(focus, d.ns)
		for range 1 + r.IntN(3) {
			shape := snapshot.Edge{
				Destination: snapshot.Destination{Namespace: d.ns, Workload: d.name, Service: pick("", "svc"+d.name[1:]+"."+d.ns+".svc.cluster.local", "svc"+d.name[1:], "svc9."+d.ns+".svc.cluster.local")},
				Reporter:    pick(snapshot.ReporterDestination, snapshot.ReporterDestination, snapshot.ReporterWaypoint, snapshot.ReporterSource),
				Port:        []int{0, 8080, 8080, 9090, 7070}[r.IntN(5)],
				Protocol:    pick("http", "http", "grpc", "tcp", ""),
			}
			for range 1 + r.IntN(6) {
				e := shape
				switch r.IntN(8) {
				case 0:
					e.Destination.Service = pick("", "svc"+d.name[1:]+"."+d.ns+".svc.cluster.local", "svc"+d.name[1:])
				case 1:
					e.Reporter = pick(snapshot.ReporterDestination, snapshot.ReporterWaypoint, snapshot.ReporterSource)
				case 2:
					e.Port = []int{0, 8080, 9090}[r.IntN(3)]
				case 3:
					e.Protocol = pick("http", "grpc", "tcp", "")
				}
				e.Source = callers[r.IntN(len(callers))]
				e.Method = pick("", "GET", "GET", "POST", "DELETE", "PATCH")
				e.Path = pick("", "/api/items/1", "/api/items/2", "/api/items/3/x", "/admin/x", "/api/", "/x", "/ad")
				e.Counts = snapshot.Counts{Requests: 1 + int64(r.IntN(10))}
				if e.Path != "" && r.IntN(3) == 0 {
					e.Path, e.PathPrefix = pick("/api/", "/api/items/", "/ad"), true
				}
				if e.Protocol == "tcp" && rare() {
					e.Method, e.Path, e.PathPrefix = "", "", false
				}
				snap.Edges = append(snap.Edges, e)
			}
		}
	}
	snapshot.SortEdges(snap.Edges)

	principalPats := append(slices.Clone(principals), "*", "cluster.local/ns/ns0/*", "*/sa/sa0", "td2.example/ns/ns1/sa/sa0", "*.example/ns/ns0/sa/sa0", "")
	namespacePats := []string{"ns0", "ns1", "ns*", "*", "*2", "istio-system"}
	saPats := []string{"sa0", "ns1/sa0", "ns0/sa1", "default"}
	tdPats := []string{"td2.example", "cluster.local", "*", "td*"}
	ipPats := []string{"10.0.0.0/25", "10.0.0.7", "10.0.0.0/8", "bad", "::/0"}
	pathPats := []string{"/api/items/{*}", "/api/*", "/admin/x", "*", "/api/{**}", "*/x", "/api/items/1", "/ad*", "/api/items/{*}/x"}
	methodPats := []string{"GET", "P*", "*", "*E"}
	portPats := []string{"8080", "9090", "80", "90", "x"}
	hostPats := []string{"svc0*", "*"}
	nsChoices := append([]string{"ns0", "ns1", "ns2", "ns4", "istio-system", "ns3"}, focus...)
	nsChoices = append(nsChoices, focus...)
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	newSet := func() Set {
		var ps Set
		if rare() {
			ps.TrustDomain = "td2.example"
			ps.TrustDomainAliases = []string{"cluster.local"}
		}
		for i := range r.IntN(7) {
			ns := pick(nsChoices...)
			ap := &securityv1.AuthorizationPolicy{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ap%d", i), Namespace: ns}}
			spec := &ap.Spec
			*spec = securityapi.AuthorizationPolicy{
				Action: []securityapi.AuthorizationPolicy_Action{securityapi.AuthorizationPolicy_ALLOW, securityapi.AuthorizationPolicy_ALLOW, securityapi.AuthorizationPolicy_ALLOW, securityapi.AuthorizationPolicy_DENY, securityapi.AuthorizationPolicy_DENY, securityapi.AuthorizationPolicy_CUSTOM, securityapi.AuthorizationPolicy_AUDIT}[r.IntN(7)],
			}
			switch r.IntN(5) {
			case 0:
				spec.Selector = &typeapi.WorkloadSelector{MatchLabels: map[string]string{"app": pick("w0", "w1", "w2")}}
			case 1:
				spec.Selector = &typeapi.WorkloadSelector{MatchLabels: map[string]string{"tier": pick("a", "b")}}
			case 2:
				spec.TargetRefs = []*typeapi.PolicyTargetReference{pick3(r,
					&typeapi.PolicyTargetReference{Kind: "Service", Name: pick("svc0", "svc1")},
					&typeapi.PolicyTargetReference{Group: "gateway.networking.k8s.io", Kind: "Gateway", Name: pick("wp", "shared")},
					&typeapi.PolicyTargetReference{Group: "gateway.networking.k8s.io", Kind: "GatewayClass", Name: "istio-waypoint"})}
			}
			for range r.IntN(3) + 1 {
				rule := &securityapi.Rule{}
				for range r.IntN(3) {
					s := &securityapi.Source{}
					switch r.IntN(9) {
					case 0, 1:
						s.Principals = some(principalPats, 3)
						s.NotPrincipals = some(principalPats, 1)
					case 2:
						s.Namespaces = some(namespacePats, 2)
						s.NotNamespaces = some(namespacePats, 1)
					case 3:
						s.ServiceAccounts = some(saPats, 2)
					case 4:
						s.TrustDomains = some(tdPats, 2)
					case 5:
						s.IpBlocks = some(ipPats, 2)
						s.NotIpBlocks = some(ipPats, 1)
					case 6:
						s.RemoteIpBlocks = some(ipPats, 1)
					case 7:
						s.RequestPrincipals = []string{"iss/sub"}
					}
					if rare() {
						s.Principals = append(s.Principals, pick(principalPats...))
					}
					rule.From = append(rule.From, &securityapi.Rule_From{Source: s})
				}
				for range r.IntN(3) {
					o := &securityapi.Operation{}
					switch r.IntN(5) {
					case 0:
						o.Ports = some(portPats, 2)
						o.NotPorts = some(portPats, 1)
					case 1:
						o.Methods = some(methodPats, 2)
						o.NotMethods = some(methodPats, 1)
					case 2, 3:
						o.Paths = some(pathPats, 2)
						o.NotPaths = some(pathPats, 1)
					case 4:
						o.Hosts = some(hostPats, 1)
					}
					rule.To = append(rule.To, &securityapi.Rule_To{Operation: o})
				}
				for range r.IntN(2) {
					key := pick("source.ip", "source.namespace", "source.principal", "request.headers[x-a]",
						"destination.port", "remote.ip", "source.serviceAccount", "source.trustDomain", "foo.bar")
					var vals []string
					switch key {
					case "source.ip", "remote.ip":
						vals = some(ipPats, 2)
					case "source.namespace":
						vals = some(namespacePats, 2)
					case "source.principal":
						vals = some(principalPats, 2)
					case "destination.port":
						vals = some(portPats, 2)
					case "source.serviceAccount":
						vals = some(saPats, 2)
					case "source.trustDomain":
						vals = some(tdPats, 2)
					default:
						vals = []string{"v"}
					}
					c := &securityapi.Condition{Key: key, Values: vals}
					if rare() {
						c.NotValues, c.Values = c.Values, nil
					}
					rule.When = append(rule.When, c)
				}
				spec.Rules = append(spec.Rules, rule)
			}
			if veryRare() {
				ap.Annotations = map[string]string{"istio.io/dry-run": "true"}
			}
			ps.AuthorizationPolicies = append(ps.AuthorizationPolicies, ap)
		}
		modesPA := []securityapi.PeerAuthentication_MutualTLS_Mode{securityapi.PeerAuthentication_MutualTLS_STRICT, securityapi.PeerAuthentication_MutualTLS_STRICT, securityapi.PeerAuthentication_MutualTLS_PERMISSIVE, securityapi.PeerAuthentication_MutualTLS_DISABLE, securityapi.PeerAuthentication_MutualTLS_UNSET}
		for i := range r.IntN(4) {
			pa := &securityv1.PeerAuthentication{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pa%d", i), Namespace: pick(nsChoices...),
					CreationTimestamp: metav1.NewTime(created.Add(time.Duration(r.IntN(3)) * time.Hour))},
			}
			spec := &pa.Spec
			spec.Mtls = &securityapi.PeerAuthentication_MutualTLS{Mode: modesPA[r.IntN(len(modesPA))]}
			if r.IntN(2) == 0 {
				spec.Selector = &typeapi.WorkloadSelector{MatchLabels: map[string]string{"app": pick("w0", "w1")}}
				if rare() {
					spec.PortLevelMtls = map[uint32]*securityapi.PeerAuthentication_MutualTLS{
						8080: {Mode: modesPA[r.IntN(len(modesPA))]},
					}
				}
			}
			ps.PeerAuthentications = append(ps.PeerAuthentications, pa)
		}
		return ps
	}
	return snap, []Set{newSet(), newSet()}
}

func pick3[T any](r *rand.Rand, a, b, c T) T {
	return []T{a, b, c}[r.IntN(3)]
}
