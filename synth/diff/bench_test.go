package diff_test

import (
	"fmt"
	"testing"
	"time"

	securityapi "istio.io/api/security/v1beta1"
	typeapi "istio.io/api/type/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshgen/meshgen/observe/snapshot"
	"github.com/meshgen/meshgen/synth/diff"
)

// benchInput is one namespace of 50 workloads, each called on 4 operations
// by 2 of 100 callers (20,000 caller-operation combinations), with an ALLOW
// policy per workload on each side (the proposed side drops one caller).
func benchInput() diff.Input {
	s := snapshot.New()
	s.Inventory.Namespaces = []snapshot.Namespace{{Name: "big", MeshMode: snapshot.MeshSidecar}}
	var deployed, proposed []diff.Object
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for w := range 50 {
		name := fmt.Sprintf("w%02d", w)
		labels := map[string]string{"app": name}
		s.Inventory.Workloads = append(s.Inventory.Workloads, snapshot.Workload{Namespace: "big", Name: name, Labels: labels, Selector: labels, Ports: []snapshot.ContainerPort{{Port: 8080}}, MeshMode: snapshot.MeshSidecar})
		var principals []string
		for c := range 2 {
			p := fmt.Sprintf("cluster.local/ns/callers/sa/c%02d", (w*2+c)%100)
			principals = append(principals, p)
			for op := range 4 {
				s.Edges = append(s.Edges, snapshot.Edge{
					Source:      snapshot.Source{Principal: p},
					Destination: snapshot.Destination{Namespace: "big", Workload: name},
					Reporter:    snapshot.ReporterDestination, Port: 8080, Protocol: snapshot.ProtocolHTTP,
					Method: "GET", Path: fmt.Sprintf("/op%d", op),
					Counts: snapshot.Counts{Requests: 10}, FirstSeen: at, LastSeen: at,
				})
			}
		}
		mk := func(ps []string) diff.Object {
			return diff.Object{Source: "bench", AuthorizationPolicy: &securityv1.AuthorizationPolicy{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "big", Labels: map[string]string{"app.kubernetes.io/managed-by": "meshgen"}},
				Spec: securityapi.AuthorizationPolicy{
					Selector: &typeapi.WorkloadSelector{MatchLabels: labels},
					Rules: []*securityapi.Rule{{
						From: []*securityapi.Rule_From{{Source: &securityapi.Source{Principals: ps}}},
						To:   []*securityapi.Rule_To{{Operation: &securityapi.Operation{Ports: []string{"8080"}, Methods: []string{"GET"}, Paths: []string{"/op*"}}}},
					}},
				},
			}}
		}
		deployed = append(deployed, mk(principals))
		proposed = append(proposed, mk(principals[:1]))
	}
	snapshot.SortEdges(s.Edges)
	return diff.Input{Proposed: proposed, Deployed: deployed, Snapshot: s}
}

func BenchmarkCompute(b *testing.B) {
	in := benchInput()
	b.ReportAllocs()
	for b.Loop() {
		rep, err := diff.Compute(in)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Summary.Lost != 200 {
			b.Fatalf("lost = %d, want 200 (50 workloads x 4 operations of the dropped caller)", rep.Summary.Lost)
		}
	}
}
