package eval

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshgen/meshgen/observe/snapshot"
)

func testInventory() *snapshot.Inventory {
	return &snapshot.Inventory{
		Origin: snapshot.InventoryCluster,
		Namespaces: []snapshot.Namespace{
			{Name: "shop", MeshMode: snapshot.MeshSidecar},
			{Name: "amb", MeshMode: snapshot.MeshAmbient, Waypoint: "waypoint"},
			{Name: "legacy", MeshMode: snapshot.MeshNone},
		},
		Workloads: []snapshot.Workload{
			{Namespace: "shop", Name: "cart", Labels: map[string]string{"app": "cart"}, ServiceAccount: "cart",
				Ports: []snapshot.ContainerPort{{Port: 8080}, {Port: 9090}}, MeshMode: snapshot.MeshSidecar},
			{Namespace: "shop", Name: "noports", Labels: map[string]string{"app": "noports"}, MeshMode: snapshot.MeshSidecar},
			{Namespace: "amb", Name: "orders", Labels: map[string]string{"app": "orders"}, ServiceAccount: "orders",
				Ports: []snapshot.ContainerPort{{Name: "http", Port: 8080}}, MeshMode: snapshot.MeshAmbient},
			{Namespace: "legacy", Name: "db", Labels: map[string]string{"app": "db"}, MeshMode: snapshot.MeshNone},
		},
		Services: []snapshot.Service{
			{Namespace: "amb", Name: "orders", Selector: map[string]string{"app": "orders"},
				Ports: []snapshot.ServicePort{{Port: 80, TargetName: "http"}}, Workloads: []string{"orders"}},
		},
		Waypoints: []snapshot.Waypoint{{Namespace: "amb", Name: "waypoint", ServiceAccount: "waypoint", For: "service"}},
	}
}

func TestReplay(t *testing.T) {
	idx := snapshot.NewIndex(testInventory())
	edge := func(mods ...func(*snapshot.Edge)) *snapshot.Edge {
		e := &snapshot.Edge{
			Source:      snapshot.Source{Principal: web, Namespace: "shop", Workload: "web", IdentityFrom: snapshot.IdentityCertificate},
			Destination: snapshot.Destination{Namespace: "shop", Workload: "cart"},
			Reporter:    snapshot.ReporterDestination,
			Port:        8080, Protocol: "http", Method: "GET", Path: "/cart",
			Counts: snapshot.Counts{Requests: 10},
		}
		for _, m := range mods {
			m(e)
		}
		return e
	}
	toOrders := func(e *snapshot.Edge) {
		e.Destination = snapshot.Destination{Namespace: "amb", Workload: "orders", Service: "orders.amb.svc.cluster.local"}
	}
	viaWaypoint := func(e *snapshot.Edge) { e.Reporter = snapshot.ReporterWaypoint }

	type hopWant struct {
		Point     Point
		Principal string
		Port      int
		Outcome   Outcome
	}
	tests := []struct {
		name     string
		policies string
		edge     *snapshot.Edge
		want     Outcome
		hops     []hopWant
		note     string
	}{
		{
			name:     "sidecar destination: one sidecar hop with the source principal",
			policies: allowFrom("principals", web),
			edge:     edge(),
			want:     Allow,
			hops:     []hopWant{{Sidecar, web, 8080, Allow}},
		},
		{
			name:     "sidecar destination: a caller missing from the policy is denied",
			policies: allowFrom("principals", batch),
			edge:     edge(),
			want:     Deny,
			hops:     []hopWant{{Sidecar, web, 8080, Deny}},
		},
		{
			name: "mesh mode none: nothing enforces policy",
			policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: legacy}
spec: {}`,
			edge: edge(func(e *snapshot.Edge) { e.Destination = snapshot.Destination{Namespace: "legacy", Workload: "db"} }),
			want: Allow,
			note: "destination is not in the mesh: nothing enforces policy",
		},
		{
			name:     "port 0: every target port is tried and the best outcome kept",
			policies: allowTo("ports", "9090"),
			edge:     edge(func(e *snapshot.Edge) { e.Port = 0 }),
			want:     Allow,
			hops:     []hopWant{{Sidecar, web, 9090, Allow}},
			note:     "port unknown: tried 8080 (deny), 9090 (allow)",
		},
		{
			name:     "port 0 without known ports stays unknown",
			policies: allowTo("ports", "9090"),
			edge: edge(func(e *snapshot.Edge) {
				e.Port = 0
				e.Destination.Workload = "noports"
			}),
			want: Unknown,
			hops: []hopWant{{Sidecar, web, 0, Unknown}},
		},
		{
			name:     "plaintext edges are replayed as plaintext",
			policies: `{kind: PeerAuthentication, metadata: {name: default, namespace: shop}, spec: {mtls: {mode: STRICT}}}`,
			edge:     edge(func(e *snapshot.Edge) { e.Source = snapshot.Source{Namespace: "shop", Workload: "web"} }),
			want:     Deny,
			hops:     []hopWant{{Sidecar, "", 8080, Deny}},
		},
		{
			name: "ambient, no waypoint reporter: one ztunnel hop with the recorded principal",
			policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: amb}
spec:
  rules: [{from: [{source: {principals: ["cluster.local/ns/shop/sa/web"]}}]}]`,
			edge: edge(toOrders, func(e *snapshot.Edge) { e.Protocol, e.Method, e.Path = "tcp", "", "" }),
			want: Allow,
			hops: []hopWant{{Ztunnel, web, 8080, Allow}},
		},
		{
			name: "2.3 behind a waypoint ztunnel sees the waypoint's identity",
			policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: amb}
spec:
  rules: [{from: [{source: {principals: ["cluster.local/ns/shop/sa/web"]}}]}]`,
			edge: edge(toOrders, viaWaypoint),
			want: Deny,
			hops: []hopWant{{Waypoint, web, 80, Allow}, {Ztunnel, "cluster.local/ns/amb/sa/waypoint", 8080, Deny}},
		},
		{
			name: "2.3 an L7 policy at the waypoint sees the client, an L4 policy admits the waypoint",
			policies: `
kind: AuthorizationPolicy
metadata: {name: orders-api, namespace: amb}
spec:
  targetRefs: [{kind: Service, group: "", name: orders}]
  rules:
  - from: [{source: {principals: ["cluster.local/ns/shop/sa/web"]}}]
    to: [{operation: {ports: ["80"], methods: ["GET"], paths: ["/cart"]}}]
---
kind: AuthorizationPolicy
metadata: {name: orders-l4, namespace: amb}
spec:
  selector: {matchLabels: {app: orders}}
  rules: [{from: [{source: {principals: ["cluster.local/ns/amb/sa/waypoint"]}}]}]`,
			edge: edge(toOrders, viaWaypoint),
			want: Allow,
			hops: []hopWant{{Waypoint, web, 80, Allow}, {Ztunnel, "cluster.local/ns/amb/sa/waypoint", 8080, Allow}},
		},
		{
			name: "2.3 the waypoint policy denies another caller",
			policies: `
kind: AuthorizationPolicy
metadata: {name: orders-api, namespace: amb}
spec:
  targetRefs: [{kind: Service, group: "", name: orders}]
  rules: [{from: [{source: {principals: ["cluster.local/ns/shop/sa/web"]}}]}]`,
			edge: edge(toOrders, viaWaypoint, func(e *snapshot.Edge) { e.Source.Principal = batch }),
			want: Deny,
			hops: []hopWant{{Waypoint, batch, 80, Deny}, {Ztunnel, "cluster.local/ns/amb/sa/waypoint", 8080, Allow}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := mustSet(t, tc.policies)
			got := Replay(ps, idx, "cluster.local", tc.edge)
			if got.Outcome != tc.want {
				t.Errorf("Replay().Outcome = %s, want %s (hops %+v)", got.Outcome, tc.want, got.Hops)
			}
			var hops []hopWant
			for _, h := range got.Hops {
				hops = append(hops, hopWant{h.Point, h.Request.Principal, h.Request.Port, h.Decision.Outcome})
			}
			if diff := cmp.Diff(tc.hops, hops); diff != "" {
				t.Errorf("Replay() hops (-want +got):\n%s", diff)
			}
			if got.Note != tc.note {
				t.Errorf("Replay().Note = %q, want %q", got.Note, tc.note)
			}
		})
	}
}

func TestDecideIsDeterministicAndCached(t *testing.T) {
	ps := mustSet(t, nsAllowWebOnly)
	first := ps.Decide(Sidecar, req(principal(batch)))
	for range 5 {
		if got := ps.Decide(Sidecar, req(principal(batch))); !cmp.Equal(got, first) {
			t.Fatalf("Decide() = %+v, then %+v", first, got)
		}
	}
	// Appending to the set is seen without Invalidate.
	ps.AuthorizationPolicies = append(ps.AuthorizationPolicies, mustSet(t, `
kind: AuthorizationPolicy
metadata: {name: batch, namespace: shop}
spec: {rules: [{from: [{source: {namespaces: [batch]}}]}]}`).AuthorizationPolicies...)
	if got := ps.Decide(Sidecar, req(principal(batch))); got.Outcome != Allow {
		t.Errorf("Decide() after append = %s (%s), want allow", got.Outcome, got.Reason)
	}
	// An in-place change needs Invalidate.
	ps.AuthorizationPolicies[1].Spec.Rules = nil
	ps.Invalidate()
	if got := ps.Decide(Sidecar, req(principal(batch))); got.Outcome != Deny {
		t.Errorf("Decide() after Invalidate = %s (%s), want deny", got.Outcome, got.Reason)
	}
}

func TestSplitPrincipal(t *testing.T) {
	tests := []struct {
		in         string
		td, ns, sa string
		ok         bool
	}{
		{"cluster.local/ns/shop/sa/web", "cluster.local", "shop", "web", true},
		{"example.org/ns/ns/sa/sa", "example.org", "ns", "sa", true},
		{"cluster.local/ns/shop/sa/web/extra", "", "", "", false},
		{"cluster.local/ns//sa/web", "", "", "", false},
		{"/ns/shop/sa/web", "", "", "", false},
		{"a/b/ns/shop/sa/web", "", "", "", false},
		{"cluster.local/ns/shop", "", "", "", false},
	}
	for _, tc := range tests {
		td, ns, sa, ok := splitPrincipal(tc.in)
		if td != tc.td || ns != tc.ns || sa != tc.sa || ok != tc.ok {
			t.Errorf("splitPrincipal(%q) = %q, %q, %q, %v, want %q, %q, %q, %v", tc.in, td, ns, sa, ok, tc.td, tc.ns, tc.sa, tc.ok)
		}
	}
}

// TestConcurrentDecide runs decisions on one set from many goroutines (run
// with -race): compiling and caching must be safe.
func TestConcurrentDecide(t *testing.T) {
	ps := mustSet(t, nsAllowWebOnly)
	done := make(chan Outcome)
	for range 8 {
		go func() { done <- ps.Decide(Sidecar, req()).Outcome }()
	}
	for range 8 {
		if got := <-done; got != Allow {
			t.Errorf("Decide() = %s, want allow", got)
		}
	}
}
