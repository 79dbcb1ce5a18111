package synth_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	securityv1beta1 "istio.io/api/security/v1beta1"

	"github.com/meshgen/meshgen/observe/snapshot"
	"github.com/meshgen/meshgen/synth"
	"github.com/meshgen/meshgen/synth/eval"
)

var t0 = time.Date(2026, 8, 20, 10, 0, 0, 0, time.UTC)

// mesh builds a small inventory: namespace shop (mode given) with workloads
// cart (ports 8080 and 5432), web and batch, and a Service cart 80→8080.
func mesh(mode string) snapshot.Inventory {
	return snapshot.Inventory{
		Origin:     snapshot.InventoryCluster,
		Namespaces: []snapshot.Namespace{{Name: "shop", MeshMode: mode}},
		Workloads: []snapshot.Workload{
			{Namespace: "shop", Name: "cart", Selector: map[string]string{"app": "cart"}, Labels: map[string]string{"app": "cart"}, ServiceAccount: "cart",
				Ports: []snapshot.ContainerPort{{Name: "http", Port: 8080}, {Name: "pg", Port: 5432}}},
			{Namespace: "shop", Name: "web", Selector: map[string]string{"app": "web"}, Labels: map[string]string{"app": "web"}, ServiceAccount: "web"},
			{Namespace: "shop", Name: "batch", Selector: map[string]string{"app": "batch"}, Labels: map[string]string{"app": "batch"}, ServiceAccount: "batch"},
		},
		Services: []snapshot.Service{{Namespace: "shop", Name: "cart", Selector: map[string]string{"app": "cart"},
			Ports: []snapshot.ServicePort{{Name: "http", Port: 80, TargetPort: 8080}}}},
	}
}

const (
	web   = "cluster.local/ns/shop/sa/web"
	batch = "cluster.local/ns/shop/sa/batch"
)

// call is an edge to shop/cart from a principal.
func call(principal string, port int, protocol, method, path string, n int64) snapshot.Edge {
	return snapshot.Edge{
		Source:      snapshot.Source{Principal: principal, IdentityFrom: snapshot.IdentityCertificate},
		Destination: snapshot.Destination{Namespace: "shop", Workload: "cart", Service: "cart.shop.svc.cluster.local"},
		Reporter:    snapshot.ReporterDestination, Port: port, Protocol: protocol, Method: method, Path: path,
		Counts: snapshot.Counts{Requests: n, MTLS: n}, FirstSeen: t0, LastSeen: t0, Evidence: []string{snapshot.EvidenceEnvoyLog},
	}
}

func plaintextCall(ip string, port int, n int64) snapshot.Edge {
	e := call("", port, snapshot.ProtocolHTTP, "GET", "/metrics", n)
	e.Source = snapshot.Source{IP: ip}
	e.Counts = snapshot.Counts{Requests: n, Plaintext: n}
	return e
}

func synthesize(t *testing.T, inv snapshot.Inventory, opts synth.Options, edges ...snapshot.Edge) *synth.Result {
	t.Helper()
	s := snapshot.New()
	s.Inventory = inv
	s.Edges = edges
	res, err := synth.Synthesize(s, opts)
	if err != nil {
		t.Fatalf("Synthesize() error: %v", err)
	}
	return res
}

// policy returns the policy of a kind and name, or nil.
func policy(res *synth.Result, ns, kind, name string) *synth.Policy {
	for _, n := range res.Namespaces {
		for _, p := range n.Policies {
			if n.Name == ns && p.Kind() == kind && p.Name() == name {
				return p
			}
		}
	}
	return nil
}

// rulesOf renders an AuthorizationPolicy's rules compactly: one string per
// rule, "from <principals> to <op>; <op>" with op "ports=.. methods=.. paths=..".
func rulesOf(p *synth.Policy) []string {
	if p == nil {
		return nil
	}
	var out []string
	for _, r := range p.AuthorizationPolicy.Spec.Rules {
		var parts []string
		for _, f := range r.From {
			parts = append(parts, "from "+strings.Join(f.Source.Principals, ","))
		}
		var ops []string
		for _, to := range r.To {
			ops = append(ops, opString(to.Operation))
		}
		if len(ops) > 0 {
			parts = append(parts, "to "+strings.Join(ops, "; "))
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

func opString(o *securityv1beta1.Operation) string {
	var f []string
	if len(o.Ports) > 0 {
		f = append(f, "ports="+strings.Join(o.Ports, ","))
	}
	if len(o.Methods) > 0 {
		f = append(f, "methods="+strings.Join(o.Methods, ","))
	}
	if len(o.Paths) > 0 {
		f = append(f, "paths="+strings.Join(o.Paths, ","))
	}
	return strings.Join(f, " ")
}

func TestRules(t *testing.T) {
	sidecar := synth.DefaultOptions()
	for _, tc := range []struct {
		name  string
		inv   snapshot.Inventory
		opts  synth.Options
		edges []snapshot.Edge
		want  []string
	}{{
		name: "methods and paths are not crossed",
		inv:  mesh(snapshot.MeshSidecar), opts: sidecar,
		edges: []snapshot.Edge{call(web, 8080, "http", "GET", "/a", 5), call(web, 8080, "http", "POST", "/b", 5), call(web, 8080, "http", "GET", "/b", 5)},
		want:  []string{"from " + web + " to ports=8080 methods=GET paths=/a; ports=8080 methods=GET,POST paths=/b"},
	}, {
		name: "callers do not widen each other",
		inv:  mesh(snapshot.MeshSidecar), opts: sidecar,
		edges: []snapshot.Edge{call(web, 8080, "http", "GET", "/a", 5), call(batch, 8080, "http", "DELETE", "/a", 5)},
		want: []string{
			"from " + batch + " to ports=8080 methods=DELETE paths=/a",
			"from " + web + " to ports=8080 methods=GET paths=/a",
		},
	}, {
		name: "callers with equal operations share a rule",
		inv:  mesh(snapshot.MeshSidecar), opts: sidecar,
		edges: []snapshot.Edge{call(web, 8080, "http", "GET", "/a", 5), call(batch, 8080, "http", "GET", "/a", 5)},
		want:  []string{"from " + batch + "," + web + " to ports=8080 methods=GET paths=/a"},
	}, {
		name: "TCP and HTTP from one caller give two rules",
		inv:  mesh(snapshot.MeshSidecar), opts: sidecar,
		edges: []snapshot.Edge{call(web, 8080, "http", "GET", "/a", 5), call(web, 5432, "tcp", "", "", 5)},
		want:  []string{"from " + web + " to ports=5432", "from " + web + " to ports=8080 methods=GET paths=/a"},
	}, {
		name: "a port seen as TCP and HTTP is L4 only",
		inv:  mesh(snapshot.MeshSidecar), opts: sidecar,
		edges: []snapshot.Edge{call(web, 8080, "http", "GET", "/a", 5), call(web, 8080, "tcp", "", "", 5)},
		want:  []string{"from " + web + " to ports=8080"},
	}, {
		name: "gRPC methods are POST",
		inv:  mesh(snapshot.MeshSidecar), opts: sidecar,
		edges: []snapshot.Edge{call(web, 8080, "grpc", "", "/shop.Cart/Get", 5)},
		want:  []string{"from " + web + " to ports=8080 methods=POST paths=/shop.Cart/Get"},
	}, {
		name: "metrics only: target ports from the inventory",
		inv:  mesh(snapshot.MeshSidecar), opts: sidecar,
		edges: []snapshot.Edge{call(web, 0, "http", "", "", 50)},
		want:  []string{"from " + web + " to ports=5432,8080"},
	}, {
		name: "metrics narrowed by logs of the same protocol",
		inv:  mesh(snapshot.MeshSidecar), opts: sidecar,
		edges: []snapshot.Edge{call(web, 0, "http", "", "", 50), call(web, 8080, "http", "GET", "/a", 40)},
		want:  []string{"from " + web + " to ports=8080 methods=GET paths=/a"},
	}, {
		name: "gRPC metrics are not narrowed by HTTP logs",
		inv:  mesh(snapshot.MeshSidecar), opts: sidecar,
		edges: []snapshot.Edge{call(web, 0, "grpc", "", "", 50), call(web, 8080, "http", "GET", "/a", 40)},
		want:  []string{"from " + web + " to ports=5432,8080", "from " + web + " to ports=8080 methods=GET paths=/a"},
	}, {
		name: "unknown method admits any method on the path",
		inv:  mesh(snapshot.MeshSidecar), opts: sidecar,
		edges: []snapshot.Edge{call(web, 8080, "http", "", "/a", 5), call(web, 8080, "http", "GET", "/a", 5)},
		want:  []string{"from " + web + " to ports=8080 paths=/a"},
	}, {
		name: "ambient without waypoint: L4 only",
		inv:  mesh(snapshot.MeshAmbient), opts: sidecar,
		edges: []snapshot.Edge{call(web, 8080, "http", "GET", "/a", 5), call(web, 5432, "tcp", "", "", 5)},
		want:  []string{"from " + web + " to ports=5432,8080"},
	}, {
		name: "forced ambient mode",
		inv:  mesh(snapshot.MeshSidecar), opts: withMode(synth.ModeAmbient),
		edges: []snapshot.Edge{call(web, 8080, "http", "GET", "/a", 5)},
		want:  []string{"from " + web + " to ports=8080"},
	}, {
		name: "trust domain aliases at ztunnel",
		inv:  mesh(snapshot.MeshAmbient), opts: withAliases("cluster.local", "old.example"),
		edges: []snapshot.Edge{call(web, 8080, "tcp", "", "", 5)},
		want:  []string{"from " + web + ",old.example/ns/shop/sa/web to ports=8080"},
	}, {
		name: "no aliases at sidecars (istiod rewrites them)",
		inv:  mesh(snapshot.MeshSidecar), opts: withAliases("cluster.local", "old.example"),
		edges: []snapshot.Edge{call(web, 8080, "tcp", "", "", 5)},
		want:  []string{"from " + web + " to ports=8080"},
	}, {
		name: "excluded caller",
		inv:  mesh(snapshot.MeshSidecar), opts: func() synth.Options {
			o := sidecar
			o.ExcludePrincipals = []string{"cluster.local/ns/shop/sa/b*"}
			return o
		}(),
		edges: []snapshot.Edge{call(web, 8080, "tcp", "", "", 5), call(batch, 8080, "tcp", "", "", 5)},
		want:  []string{"from " + web + " to ports=8080"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			res := synthesize(t, tc.inv, tc.opts, tc.edges...)
			if diff := cmp.Diff(tc.want, rulesOf(policy(res, "shop", "AuthorizationPolicy", "cart"))); diff != "" {
				t.Errorf("rules of shop/cart (-want +got):\n%s", diff)
			}
		})
	}
}

func withMode(m synth.Mode) synth.Options {
	o := synth.DefaultOptions()
	o.Mode = m
	return o
}

func withAliases(td string, aliases ...string) synth.Options {
	o := synth.DefaultOptions()
	o.TrustDomain, o.TrustDomainAliases = td, aliases
	return o
}

// TestNoCrossProductAdmits checks with the evaluator that a combination that
// was never observed is denied.
func TestNoCrossProductAdmits(t *testing.T) {
	inv := mesh(snapshot.MeshSidecar)
	res := synthesize(t, inv, synth.DefaultOptions(), call(web, 8080, "http", "GET", "/a", 5), call(web, 8080, "http", "POST", "/b", 5))
	ps := res.PolicySet()
	req := eval.Request{Principal: web, Namespace: "shop", WorkloadLabels: map[string]string{"app": "cart"}, Port: 8080, Protocol: "http"}
	for _, tc := range []struct {
		method, path string
		want         eval.Outcome
	}{{"GET", "/a", eval.Allow}, {"POST", "/b", eval.Allow}, {"POST", "/a", eval.Deny}, {"GET", "/b", eval.Deny}} {
		r := req
		r.Method, r.Path = tc.method, tc.path
		if got := ps.Decide(eval.Sidecar, r); got.Outcome != tc.want {
			t.Errorf("Decide(%s %s) = %v (%s), want %v", tc.method, tc.path, got.Outcome, got.Reason, tc.want)
		}
	}
}

func TestPlaintext(t *testing.T) {
	inv := mesh(snapshot.MeshSidecar)
	edges := []snapshot.Edge{call(web, 8080, "http", "GET", "/a", 5), plaintextCall("10.0.0.9", 8080, 7)}
	t.Run("no ALLOW policy by default", func(t *testing.T) {
		res := synthesize(t, inv, synth.DefaultOptions(), edges...)
		if p := policy(res, "shop", "AuthorizationPolicy", "cart"); p != nil {
			t.Errorf("cart got an ALLOW policy although it received plaintext: %v", rulesOf(p))
		}
		pa := policy(res, "shop", "PeerAuthentication", "cart-mtls")
		if pa == nil {
			t.Fatal("no PeerAuthentication cart-mtls")
		}
		spec := &pa.PeerAuthentication.Spec
		if spec.Mtls != nil || len(spec.PortLevelMtls) != 1 || spec.PortLevelMtls[8080].GetMode() != securityv1beta1.PeerAuthentication_MutualTLS_PERMISSIVE {
			t.Errorf("cart-mtls spec = %v, want only port 8080 PERMISSIVE", spec)
		}
		if ns := policy(res, "shop", "PeerAuthentication", "default"); ns.PeerAuthentication.Spec.Mtls.GetMode() != securityv1beta1.PeerAuthentication_MutualTLS_STRICT {
			t.Errorf("namespace PeerAuthentication is not STRICT")
		}
		if !hasFinding(res, synth.CodeNoAllowPolicy, "10.0.0.9") {
			t.Errorf("the report does not say why cart has no ALLOW policy: %v", res.Report.Findings)
		}
	})
	t.Run("allow-port opens only the plaintext port", func(t *testing.T) {
		o := synth.DefaultOptions()
		o.Plaintext = synth.PlaintextAllowPort
		res := synthesize(t, inv, o, edges...)
		want := []string{"from " + web + " to ports=8080 methods=GET paths=/a", "to ports=8080"}
		if diff := cmp.Diff(want, rulesOf(policy(res, "shop", "AuthorizationPolicy", "cart"))); diff != "" {
			t.Errorf("rules (-want +got):\n%s", diff)
		}
	})
	t.Run("metrics without port: every inventory port is PERMISSIVE", func(t *testing.T) {
		res := synthesize(t, inv, synth.DefaultOptions(), plaintextCall("10.0.0.9", 0, 7))
		spec := &policy(res, "shop", "PeerAuthentication", "cart-mtls").PeerAuthentication.Spec
		var ports []uint32
		for p := range spec.PortLevelMtls {
			ports = append(ports, p)
		}
		slices.Sort(ports)
		if diff := cmp.Diff([]uint32{5432, 8080}, ports); diff != "" {
			t.Errorf("PERMISSIVE ports (-want +got):\n%s", diff)
		}
	})
	t.Run("mTLS caller without principal withholds the ALLOW policy", func(t *testing.T) {
		e := call("", 8080, "http", "GET", "/a", 5)
		e.Source = snapshot.Source{Namespace: "shop", Workload: "web"}
		res := synthesize(t, inv, synth.DefaultOptions(), call(web, 8080, "http", "GET", "/a", 5), e)
		if p := policy(res, "shop", "AuthorizationPolicy", "cart"); p != nil {
			t.Errorf("cart got an ALLOW policy that would deny an unidentified mTLS caller: %v", rulesOf(p))
		}
	})
}

func hasFinding(res *synth.Result, code, substr string) bool {
	return slices.ContainsFunc(res.Report.Findings, func(f synth.Finding) bool { return f.Code == code && strings.Contains(f.Message, substr) })
}

func TestWaypoint(t *testing.T) {
	inv := mesh(snapshot.MeshAmbient)
	inv.Namespaces[0].Waypoint = "waypoint"
	inv.Waypoints = []snapshot.Waypoint{{Namespace: "shop", Name: "waypoint", ServiceAccount: "wp"}}
	inv.Services = append(inv.Services, snapshot.Service{Namespace: "shop", Name: "cart-pg", Selector: map[string]string{"app": "cart"},
		Ports: []snapshot.ServicePort{{Port: 5432, TargetPort: 5432}}})
	viaWaypoint := func(service string, port int, protocol, method, path string) snapshot.Edge {
		e := call(web, port, protocol, method, path, 9)
		e.Reporter = snapshot.ReporterWaypoint
		e.Destination.Service = service + ".shop.svc.cluster.local"
		return e
	}
	res := synthesize(t, inv, synth.DefaultOptions(),
		viaWaypoint("cart", 8080, "http", "GET", "/a"), viaWaypoint("cart-pg", 5432, "tcp", "", ""))
	for _, tc := range []struct {
		name string
		want []string
	}{
		// Service port 80 ≠ target 8080: no port at the waypoint.
		{"cart-waypoint", []string{"from " + web + " to methods=GET paths=/a"}},
		// Service port = target port: named.
		{"cart-pg-waypoint", []string{"from " + web + " to ports=5432"}},
		// ztunnel sees the waypoint, on the target ports.
		{"cart", []string{"from cluster.local/ns/shop/sa/wp to ports=5432,8080"}},
	} {
		if diff := cmp.Diff(tc.want, rulesOf(policy(res, "shop", "AuthorizationPolicy", tc.name))); diff != "" {
			t.Errorf("rules of %s (-want +got):\n%s", tc.name, diff)
		}
	}
	p := policy(res, "shop", "AuthorizationPolicy", "cart-waypoint")
	if refs := p.AuthorizationPolicy.Spec.TargetRefs; len(refs) != 1 || refs[0].Kind != "Service" || refs[0].Name != "cart" || p.AuthorizationPolicy.Spec.Selector != nil {
		t.Errorf("cart-waypoint targets %v, selector %v; want targetRefs to Service cart only", refs, p.AuthorizationPolicy.Spec.Selector)
	}
}

func TestSkippedDestinations(t *testing.T) {
	inv := mesh(snapshot.MeshSidecar)
	inv.Namespaces = append(inv.Namespaces, snapshot.Namespace{Name: "istio-system"}, snapshot.Namespace{Name: "outside", MeshMode: snapshot.MeshNone})
	inv.Workloads = append(inv.Workloads,
		snapshot.Workload{Namespace: "istio-system", Name: "istiod", Selector: map[string]string{"app": "istiod"}},
		snapshot.Workload{Namespace: "shop", Name: "istio-ingressgateway", Selector: map[string]string{"app": "gw"}},
		snapshot.Workload{Namespace: "outside", Name: "legacy", Selector: map[string]string{"app": "legacy"}},
	)
	to := func(ns, wl string) snapshot.Edge {
		e := call(web, 8080, "tcp", "", "", 5)
		e.Destination = snapshot.Destination{Namespace: ns, Workload: wl}
		return e
	}
	res := synthesize(t, inv, synth.DefaultOptions(),
		to("istio-system", "istiod"), to("shop", "istio-ingressgateway"), to("outside", "legacy"), to("shop", "ghost"))
	got := map[string]synth.Reason{}
	for _, d := range res.Destinations {
		got[d.Namespace+"/"+d.Workload] = d.Skipped
	}
	for _, s := range res.Report.Skipped {
		if s.Workload == "" {
			got[s.Namespace] = s.Reason
		}
	}
	want := map[string]synth.Reason{
		"istio-system":              synth.ReasonRootNamespace,
		"shop/istio-ingressgateway": synth.ReasonGateway,
		"outside/legacy":            synth.ReasonNotInMesh,
		"shop/ghost":                synth.ReasonNoSelector,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("skipped destinations (-want +got):\n%s", diff)
	}
	for _, n := range res.Namespaces {
		if n.Name == "istio-system" {
			t.Errorf("policies written into the root namespace: %v", n.Policies)
		}
	}
}

func TestDefaultDeny(t *testing.T) {
	o := synth.DefaultOptions()
	o.DefaultDeny, o.DryRun = true, true
	res := synthesize(t, mesh(snapshot.MeshSidecar), o, call(web, 8080, "tcp", "", "", 5))
	dd := policy(res, "shop", "AuthorizationPolicy", "default-deny")
	if dd == nil {
		t.Fatal("no default-deny policy")
	}
	spec := &dd.AuthorizationPolicy.Spec
	if spec.Selector != nil || len(spec.Rules) != 0 || len(spec.TargetRefs) != 0 || dd.AuthorizationPolicy.Annotations["istio.io/dry-run"] != "true" {
		t.Errorf("default-deny = %v annotations %v, want allow-nothing in dry-run", spec, dd.AuthorizationPolicy.Annotations)
	}
	// A gateway in the namespace blocks it: its traffic from outside is not observed.
	inv := mesh(snapshot.MeshSidecar)
	inv.Workloads = append(inv.Workloads, snapshot.Workload{Namespace: "shop", Name: "ingress", Selector: map[string]string{"app": "ingress"},
		Labels: map[string]string{"app": "ingress", "gateway.networking.k8s.io/gateway-name": "ingress"}})
	res = synthesize(t, inv, o, call(web, 8080, "tcp", "", "", 5))
	if policy(res, "shop", "AuthorizationPolicy", "default-deny") != nil || !hasFinding(res, synth.CodeDefaultDeny, "ingress") {
		t.Errorf("default-deny written next to an ingress gateway, or not reported: %v", res.Report.Findings)
	}
}

func TestNames(t *testing.T) {
	long := strings.Repeat("very-long-workload-name-", 4)
	inv := mesh(snapshot.MeshSidecar)
	inv.Workloads = append(inv.Workloads,
		snapshot.Workload{Namespace: "shop", Name: long + "a", Selector: map[string]string{"app": "a"}},
		snapshot.Workload{Namespace: "shop", Name: long + "b", Selector: map[string]string{"app": "b"}},
		snapshot.Workload{Namespace: "shop", Name: "default-deny", Selector: map[string]string{"app": "dd"}},
	)
	to := func(wl string) snapshot.Edge {
		e := call(web, 8080, "tcp", "", "", 5)
		e.Destination.Workload = wl
		return e
	}
	o := synth.DefaultOptions()
	o.DefaultDeny = true
	res := synthesize(t, inv, o, to(long+"a"), to(long+"b"), to("default-deny"))
	seen := map[string]bool{}
	for _, p := range res.Namespaces[0].Policies {
		name := p.Name()
		if len(name) > 63 || seen[p.Kind()+name] {
			t.Errorf("name %q: longer than 63 or used twice", name)
		}
		seen[p.Kind()+name] = true
	}
	if !seen["AuthorizationPolicydefault-deny"] {
		t.Errorf("the allow-nothing policy lost its name; names: %v", seen)
	}
	// Determinism of hashed names: same input, same names.
	again := synthesize(t, inv, o, to("default-deny"), to(long+"b"), to(long+"a"))
	var a, b []string
	for _, p := range res.Namespaces[0].Policies {
		a = append(a, p.Name())
	}
	for _, p := range again.Namespaces[0].Policies {
		b = append(b, p.Name())
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("names differ between runs (-first +second):\n%s", diff)
	}
}

func TestSplitRules(t *testing.T) {
	var edges []snapshot.Edge
	for i := range 600 {
		// Distinct operations per caller, so that no two rules can be shared.
		edges = append(edges, call(fmt.Sprintf("cluster.local/ns/shop/sa/caller-%03d", i), 10000+i, "tcp", "", "", 1))
	}
	res := synthesize(t, mesh(snapshot.MeshSidecar), synth.DefaultOptions(), edges...)
	first, second := policy(res, "shop", "AuthorizationPolicy", "cart"), policy(res, "shop", "AuthorizationPolicy", "cart-2")
	if first == nil || second == nil {
		var names []string
		for _, p := range res.Namespaces[0].Policies {
			names = append(names, p.Name())
		}
		t.Fatalf("want policies cart and cart-2; got %v (%v)", names, res.Report.Findings)
	}
	if n1, n2 := len(first.AuthorizationPolicy.Spec.Rules), len(second.AuthorizationPolicy.Spec.Rules); n1 != 512 || n2 != 88 {
		t.Errorf("rules split %d + %d, want 512 + 88", n1, n2)
	}
}

func TestTrustDomain(t *testing.T) {
	dst := func(td string) snapshot.Edge {
		e := call(web, 8080, "tcp", "", "", 5)
		e.Destination.Principal = td + "/ns/shop/sa/cart"
		return e
	}
	for _, tc := range []struct {
		name  string
		opts  synth.Options
		edges []snapshot.Edge
		want  string
	}{
		{"default", synth.DefaultOptions(), []snapshot.Edge{call(web, 8080, "tcp", "", "", 5)}, "cluster.local"},
		{"from the destinations", synth.DefaultOptions(), []snapshot.Edge{dst("corp.example")}, "corp.example"},
		{"flag", withAliases("prod.example"), []snapshot.Edge{dst("corp.example")}, "prod.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := synthesize(t, mesh(snapshot.MeshSidecar), tc.opts, tc.edges...).TrustDomain; got != tc.want {
				t.Errorf("TrustDomain = %q, want %q", got, tc.want)
			}
		})
	}
	// A cluster.local caller cannot be named at a sidecar of a mesh in another
	// trust domain (istiod rewrites cluster.local): left out and reported.
	res := synthesize(t, mesh(snapshot.MeshSidecar), withAliases("prod.example"), call(web, 8080, "tcp", "", "", 5))
	if p := policy(res, "shop", "AuthorizationPolicy", "cart"); p != nil {
		t.Errorf("cart rules = %v, want no rule for a cluster.local caller in trust domain prod.example", rulesOf(p))
	}
	if !slices.ContainsFunc(res.Report.Skipped, func(s synth.Skipped) bool { return s.Reason == synth.ReasonTrustDomain }) {
		t.Errorf("the cluster.local caller is not reported: %v", res.Report.Skipped)
	}
}

func TestPathCapIsReported(t *testing.T) {
	var edges []snapshot.Edge
	for _, w := range []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"} {
		for _, x := range []string{"north", "south", "east"} {
			edges = append(edges, call(web, 8080, "http", "GET", "/api/"+w+"/"+x, 3))
		}
	}
	o := synth.DefaultOptions()
	o.MaxPathsPerRule = 3
	res := synthesize(t, mesh(snapshot.MeshSidecar), o, edges...)
	rules := rulesOf(policy(res, "shop", "AuthorizationPolicy", "cart"))
	if len(rules) != 1 || strings.Count(rules[0], ",")+1 > 3 {
		t.Errorf("rules = %v, want one rule with at most 3 paths", rules)
	}
	if !slices.ContainsFunc(res.Report.Findings, func(f synth.Finding) bool { return f.Code == synth.CodePaths && strings.Contains(f.Message, "{**}") }) {
		t.Errorf("the cap is not reported: %v", res.Report.Findings)
	}
	// The merged pattern still admits every observed path.
	ps := res.PolicySet()
	for _, e := range edges {
		r := eval.Request{Principal: web, Namespace: "shop", WorkloadLabels: map[string]string{"app": "cart"}, Port: 8080, Protocol: "http", Method: "GET", Path: e.Path}
		if d := ps.Decide(eval.Sidecar, r); d.Outcome != eval.Allow {
			t.Errorf("GET %s = %v (%s), want allowed", e.Path, d.Outcome, d.Reason)
		}
	}
}

func TestNamespaceSelection(t *testing.T) {
	inv := mesh(snapshot.MeshSidecar)
	inv.Namespaces = append(inv.Namespaces, snapshot.Namespace{Name: "web", MeshMode: snapshot.MeshSidecar})
	inv.Workloads = append(inv.Workloads, snapshot.Workload{Namespace: "web", Name: "ui", Selector: map[string]string{"app": "ui"}})
	toUI := call(batch, 3000, "tcp", "", "", 5)
	toUI.Destination = snapshot.Destination{Namespace: "web", Workload: "ui"}
	for _, tc := range []struct {
		name    string
		only    []string
		exclude []string
		want    []string
	}{
		{name: "all", want: []string{"shop", "web"}},
		{name: "only", only: []string{"web"}, want: []string{"web"}},
		{name: "exclude", exclude: []string{"sh*"}, want: []string{"web"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := synth.DefaultOptions()
			o.Namespaces, o.ExcludeNamespaces = tc.only, tc.exclude
			res := synthesize(t, inv, o, call(web, 8080, "tcp", "", "", 5), toUI)
			var got []string
			for _, n := range res.Namespaces {
				got = append(got, n.Name)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("namespaces written (-want +got):\n%s", diff)
			}
		})
	}
}
