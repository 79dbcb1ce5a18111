package eval

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshgen/meshgen/observe/snapshot"
)

func TestCheck(t *testing.T) {
	cart := snapshot.Destination{Namespace: "shop", Workload: "cart"}
	webSrc := snapshot.Source{Principal: web, Namespace: "shop", Workload: "web", IdentityFrom: snapshot.IdentityCertificate}
	batchSrc := snapshot.Source{Principal: batch, Namespace: "batch", Workload: "job", IdentityFrom: snapshot.IdentityCertificate}
	plainSrc := snapshot.Source{Namespace: "shop", Workload: "legacy-job"}
	snap := &snapshot.Snapshot{
		Inventory: *testInventory(),
		Edges: []snapshot.Edge{
			// 1: allowed by rule 0.
			{Source: webSrc, Destination: cart, Reporter: "destination", Port: 8080, Protocol: "http", Method: "GET", Path: "/cart", Counts: snapshot.Counts{Requests: 10}},
			// 2: TCP from batch: rule 1 (paths) is dropped on TCP, rule 0 is for web.
			{Source: batchSrc, Destination: cart, Reporter: "destination", Port: 9090, Protocol: "tcp", Counts: snapshot.Counts{Requests: 5}},
			// 3: client-side report of edge 1: skipped.
			{Source: webSrc, Destination: cart, Reporter: "source", Port: 8080, Protocol: "http", Method: "GET", Path: "/cart", Counts: snapshot.Counts{Requests: 10}},
			// 4: every request denied when observed: skipped.
			{Source: snapshot.Source{Principal: other}, Destination: cart, Reporter: "destination", Protocol: "http", Counts: snapshot.Counts{Requests: 3, Denied: 3}},
			// 5: plaintext: denied.
			{Source: plainSrc, Destination: cart, Reporter: "destination", Port: 8080, Protocol: "http", Method: "GET", Path: "/cart", Counts: snapshot.Counts{Requests: 2}},
			// 7: every allowed request answered 403: skipped.
			{Source: webSrc, Destination: cart, Reporter: "destination", Port: 8080, Protocol: "http", Method: "DELETE", Path: "/cart", Counts: snapshot.Counts{Requests: 6, Denied: 2, Unauthorized: 4}},
			// 6: batch with an unknown path: rule 1 depends on it.
			{Source: batchSrc, Destination: cart, Reporter: "destination", Port: 8080, Protocol: "http", Method: "GET", Counts: snapshot.Counts{Requests: 4}},
		},
	}
	ps := mustSet(t, `
kind: AuthorizationPolicy
metadata: {name: cart-allow, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  rules:
  - from: [{source: {principals: ["cluster.local/ns/shop/sa/web"]}}]
    to: [{operation: {ports: ["8080"]}}]
  - from: [{source: {principals: ["cluster.local/ns/batch/sa/job"]}}]
    to: [{operation: {paths: ["/admin/*"]}}]`)

	rep := Check(snap, ps, CheckOptions{})

	wantSummary := Summary{
		Edges:    EdgeSummary{Observed: 7, Replayed: 4, SkippedSourceReported: 1, SkippedNoAllowed: 1, SkippedUnauthorized: 1, Allowed: 1, Denied: 2, Undecided: 1},
		Requests: RequestSummary{Observed: 21, Allowed: 10, Denied: 7, Undecided: 4},
		Privilege: PrivilegeSummary{
			Definition: PrivilegeDefinition,
			Callers:    3, Operations: 3, Combinations: 9, Observed: 4,
			Baseline: OutcomeCount{Allowed: 9},
			// web: op 8080 GET /cart and 8080 GET (no path) allowed, 9090 denied;
			// batch: only 8080 GET (no path) undecided; plaintext: all denied.
			Policy: OutcomeCount{Allowed: 2, Denied: 6, Undecided: 1},
		},
	}
	if diff := cmp.Diff(wantSummary, rep.Summary); diff != "" {
		t.Errorf("Check() summary (-want +got):\n%s", diff)
	}

	type brief struct {
		Src, Reason, Policy string
		Port, Rule          int
		Requests            int64
		Point               Point
	}
	var denied, undecided []brief
	for _, f := range rep.Denied {
		denied = append(denied, brief{f.Source.String(), f.Reason, f.Policy, f.Port, f.Rule, f.Requests, f.Point})
	}
	for _, f := range rep.Undecided {
		undecided = append(undecided, brief{f.Source.String(), f.Reason, f.Policy, f.Port, f.Rule, f.Requests, f.Point})
	}
	wantDenied := []brief{
		{batch, "no ALLOW rule matched (ALLOW policies: shop/cart-allow); shop/cart-allow rule 1 does not apply to TCP traffic: it has the HTTP-only field paths", "", 9090, -1, 5, Sidecar},
		{"plaintext shop/legacy-job", "no ALLOW rule matched (ALLOW policies: shop/cart-allow)", "", 8080, -1, 2, Sidecar},
	}
	if diff := cmp.Diff(wantDenied, denied); diff != "" {
		t.Errorf("Check() denied (-want +got):\n%s", diff)
	}
	wantUndecided := []brief{
		{batch, "could not be decided: ALLOW policy shop/cart-allow rule 1 depends on the unknown path", "shop/cart-allow", 8080, 1, 4, Sidecar},
	}
	if diff := cmp.Diff(wantUndecided, undecided); diff != "" {
		t.Errorf("Check() undecided (-want +got):\n%s", diff)
	}

	// With the policy set as its own baseline, both sides agree.
	rep = Check(snap, ps, CheckOptions{Baseline: ps})
	if rep.Summary.Privilege.Baseline != rep.Summary.Privilege.Policy {
		t.Errorf("Check() with the same baseline: baseline %+v, policy %+v", rep.Summary.Privilege.Baseline, rep.Summary.Privilege.Policy)
	}

	// The combination limit skips the privilege evaluation and says so.
	rep = Check(snap, ps, CheckOptions{MaxCombinations: 8})
	if got := rep.Summary.Privilege; got.Skipped != "9 combinations exceed the limit of 8" || got.Policy != (OutcomeCount{}) {
		t.Errorf("Check() with a limit of 8: privilege %+v", got)
	}
}
