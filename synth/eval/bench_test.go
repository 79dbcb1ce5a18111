package eval

import (
	"fmt"
	"testing"

	securityapi "istio.io/api/security/v1beta1"
	typeapi "istio.io/api/type/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// benchMesh builds a sidecar mesh of nsCount namespaces with wlCount
// workloads each; every workload has an ALLOW policy naming callers callers
// (one rule each, with a port, methods and path templates), and every
// namespace a STRICT PeerAuthentication. It returns edges edgeCount edges
// spread over the workloads.
func benchMesh(nsCount, wlCount, callers, edgeCount, paths int) (*PolicySet, *snapshot.Snapshot) {
	ps := &PolicySet{}
	snap := &snapshot.Snapshot{}
	principal := func(ns, wl int) string { return fmt.Sprintf("cluster.local/ns/ns%d/sa/wl%d", ns, wl) }
	for n := range nsCount {
		ns := fmt.Sprintf("ns%d", n)
		snap.Inventory.Namespaces = append(snap.Inventory.Namespaces, snapshot.Namespace{Name: ns, MeshMode: snapshot.MeshSidecar})
		ps.PeerAuthentications = append(ps.PeerAuthentications, &securityv1.PeerAuthentication{
			ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns},
			Spec:       securityapi.PeerAuthentication{Mtls: &securityapi.PeerAuthentication_MutualTLS{Mode: securityapi.PeerAuthentication_MutualTLS_STRICT}},
		})
		for w := range wlCount {
			name := fmt.Sprintf("wl%d", w)
			snap.Inventory.Workloads = append(snap.Inventory.Workloads, snapshot.Workload{
				Namespace: ns, Name: name, Labels: map[string]string{"app": name},
				ServiceAccount: name, Ports: []snapshot.ContainerPort{{Port: 8080}}, MeshMode: snapshot.MeshSidecar,
			})
			var rules []*securityapi.Rule
			for c := range callers {
				rules = append(rules, &securityapi.Rule{
					From: []*securityapi.Rule_From{{Source: &securityapi.Source{Principals: []string{principal((n+c)%nsCount, (w+c)%wlCount)}}}},
					To: []*securityapi.Rule_To{{Operation: &securityapi.Operation{
						Ports: []string{"8080"}, Methods: []string{"GET", "POST"},
						Paths: []string{"/api/v1/items/{*}", "/api/v1/items", fmt.Sprintf("/c%d/*", c)},
					}}},
				})
			}
			ps.AuthorizationPolicies = append(ps.AuthorizationPolicies, &securityv1.AuthorizationPolicy{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				Spec: securityapi.AuthorizationPolicy{
					Selector: &typeapi.WorkloadSelector{MatchLabels: map[string]string{"app": name}},
					Rules:    rules,
				},
			})
		}
	}
	for i := range edgeCount {
		n, w, c := i%nsCount, (i/nsCount)%wlCount, i%callers
		snap.Edges = append(snap.Edges, snapshot.Edge{
			Source:      snapshot.Source{Principal: principal((n+c)%nsCount, (w+c)%wlCount)},
			Destination: snapshot.Destination{Namespace: fmt.Sprintf("ns%d", n), Workload: fmt.Sprintf("wl%d", w)},
			Reporter:    snapshot.ReporterDestination,
			Port:        8080, Protocol: "http", Method: "GET", Path: fmt.Sprintf("/api/v1/items/%d", i%paths),
			Counts: snapshot.Counts{Requests: 1},
		})
	}
	return ps, snap
}

// BenchmarkReplay replays one edge at a time against 2,000 policies of 5
// rules each in 100 namespaces.
func BenchmarkReplay(b *testing.B) {
	ps, snap := benchMesh(100, 20, 5, 10_000, 10_000)
	idx := snapshot.NewIndex(&snap.Inventory)
	if v := Replay(ps, idx, "", &snap.Edges[0]); v.Outcome != Allow {
		b.Fatalf("Replay() = %s (%+v), want allow", v.Outcome, v.Hops)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		Replay(ps, idx, "", &snap.Edges[i%len(snap.Edges)])
	}
}

// BenchmarkCheck runs Check over 10,000 edges and 2,000 policies, with a
// privilege summary of 2,000 callers x 10,000 operations (20 million
// combinations, decided by classes with 12,000 replays).
func BenchmarkCheck(b *testing.B) {
	benchCheck(b, 100, 20, 5, 10_000, 10_000)
}

// BenchmarkCheckPrivilege runs Check over 2,000 edges and 200 policies with
// a privilege summary of 200 callers x 2,000 operations (400,000
// combinations, decided by classes with 1,200 replays).
func BenchmarkCheckPrivilege(b *testing.B) {
	benchCheck(b, 20, 10, 5, 2_000, 2_000)
}

func benchCheck(b *testing.B, nsCount, wlCount, callers, edgeCount, paths int) {
	ps, snap := benchMesh(nsCount, wlCount, callers, edgeCount, paths)
	b.ReportAllocs()
	for b.Loop() {
		rep := Check(snap, ps, CheckOptions{})
		if len(rep.Denied) != 0 {
			b.Fatalf("Check() denied %d edges, e.g. %+v", len(rep.Denied), rep.Denied[0])
		}
	}
}
