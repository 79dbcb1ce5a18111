package diff_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshgen/meshgen/synth/diff"
	"github.com/meshgen/meshgen/synth/eval"
)

type change struct {
	caller, workload, op string
	before, after        eval.Outcome
	requests             int64
}

func changes(list []diff.AccessChange) []change {
	var out []change
	for _, c := range list {
		for _, o := range c.Operations {
			out = append(out, change{c.CallerString(), c.Workload, o.String(), o.Before, o.After, o.Requests})
		}
	}
	return out
}

// TestComputeShop checks the shop fixture against what was worked out by
// hand from testdata/shop (see the comments in the YAML): cart drops POST
// /api/cart for frontend (observed 300 times) and adds web/admin for GET
// /api/items; the managed policy old (legacy/old on catalog) goes away;
// catalog is the same policy written differently; a PeerAuthentication is
// added. deny-admin (a DENY on cart) and the mesh-wide STRICT
// PeerAuthentication are not meshgen's and apply to the same workloads;
// legacy selects no workload meshgen writes for.
func TestComputeShop(t *testing.T) {
	rep := shopReport(t, true)
	if len(rep.Namespaces) != 1 || rep.Namespaces[0].Name != "shop" {
		t.Fatalf("namespaces = %+v, want only shop", rep.Namespaces)
	}
	ns := rep.Namespaces[0]
	var objs []string
	for _, o := range ns.Objects {
		objs = append(objs, o.Change+" "+o.Ref())
	}
	wantObjs := []string{"changed AuthorizationPolicy shop/cart", "removed AuthorizationPolicy shop/old", "added PeerAuthentication shop/default"}
	if diff := cmp.Diff(wantObjs, objs); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	if ns.Unchanged != 1 {
		t.Errorf("unchanged = %d, want 1 (catalog)", ns.Unchanged)
	}
	cart := ns.Objects[0].Diff
	for _, want := range []string{"+        - cluster.local/ns/web/sa/admin\n", "-        - POST\n", "-        - /api/cart\n"} {
		if !strings.Contains(cart, want) {
			t.Errorf("cart's diff lacks %q:\n%s", want, cart)
		}
	}
	if strings.Contains(cart, "last-applied") || strings.Contains(cart, "v1beta1") || strings.Contains(cart, "resourceVersion") {
		t.Errorf("cart's diff shows what normalisation drops:\n%s", cart)
	}

	if ns.Access == nil {
		t.Fatal("no access changes")
	}
	wantLost := []change{
		{"cluster.local/ns/web/sa/frontend", "shop/cart", "POST /api/cart port 8080", eval.Allow, eval.Deny, 300},
		{"cluster.local/ns/legacy/sa/old", "shop/catalog", "GET /products port 9090", eval.Allow, eval.Deny, 0},
	}
	if diff := cmp.Diff(wantLost, changes(ns.Access.Lost), cmp.AllowUnexported(change{})); diff != "" {
		t.Errorf("lost (-want +got):\n%s", diff)
	}
	wantGained := []change{{"cluster.local/ns/web/sa/admin", "shop/cart", "GET /api/items port 8080", eval.Deny, eval.Allow, 0}}
	if diff := cmp.Diff(wantGained, changes(ns.Access.Gained), cmp.AllowUnexported(change{})); diff != "" {
		t.Errorf("gained (-want +got):\n%s", diff)
	}
	if len(ns.Access.Uncertain) != 0 {
		t.Errorf("uncertain = %+v, want none", ns.Access.Uncertain)
	}
	// 2 observed callers + 2 named in policies; 4 observed operations.
	if ns.Access.Callers != 4 || ns.Access.Operations != 4 || ns.Access.Combinations != 16 {
		t.Errorf("callers, operations, combinations = %d, %d, %d; want 4, 4, 16", ns.Access.Callers, ns.Access.Operations, ns.Access.Combinations)
	}
	lost := ns.Access.Lost[0]
	if lost.FirstSeen == nil || !lost.FirstSeen.Equal(first) || lost.LastSeen == nil || !lost.LastSeen.Equal(last) {
		t.Errorf("lost first/last seen = %v/%v, want %v/%v", lost.FirstSeen, lost.LastSeen, first, last)
	}

	var unmanaged []string
	for _, u := range ns.Unmanaged {
		unmanaged = append(unmanaged, u.Ref()+" "+u.Action+" "+strings.Join(u.Workloads, ","))
	}
	wantUnmanaged := []string{"PeerAuthentication istio-system/default STRICT cart,catalog", "AuthorizationPolicy shop/deny-admin DENY cart"}
	if diff := cmp.Diff(wantUnmanaged, unmanaged); diff != "" {
		t.Errorf("unmanaged (-want +got):\n%s", diff)
	}

	s := rep.Summary
	if s.Added != 1 || s.Removed != 1 || s.Changed != 1 || s.Unchanged != 1 || s.Lost != 2 || s.LostObserved != 1 || s.BreakingRequests != 300 || s.Gained != 1 || s.Unmanaged != 2 || !s.Differences() {
		t.Errorf("summary = %+v", s)
	}
	if rep.ObservedFrom == nil || !rep.ObservedFrom.Equal(first) || rep.ObservedTo == nil || !rep.ObservedTo.Equal(last) {
		t.Errorf("observed span = %v to %v", rep.ObservedFrom, rep.ObservedTo)
	}
}

func TestComputeNoObservations(t *testing.T) {
	rep := shopReport(t, false)
	if rep.Summary.AccessSkipped == "" || rep.Namespaces[0].Access != nil {
		t.Errorf("without a snapshot: AccessSkipped %q, access %+v; want skipped", rep.Summary.AccessSkipped, rep.Namespaces[0].Access)
	}
	// Without an inventory, selectors decide: deny-admin {app=cart} may
	// overlap cart's policy, legacy {app=legacy} overlaps the namespace-wide
	// PeerAuthentication meshgen proposes.
	var names []string
	for _, u := range rep.Namespaces[0].Unmanaged {
		names = append(names, u.Name)
		if u.Namespace == "shop" && !strings.Contains(u.Scope, "may apply") {
			t.Errorf("%s scope = %q, want it to say it may apply", u.Ref(), u.Scope)
		}
	}
	if diff := cmp.Diff([]string{"default", "deny-admin", "legacy"}, names); diff != "" {
		t.Errorf("unmanaged without inventory (-want +got):\n%s", diff)
	}
}

func TestComputeSameIsQuiet(t *testing.T) {
	objs := loadObjects(t, "testdata/shop/proposed")
	rep, err := diff.Compute(diff.Input{Proposed: objs, Deployed: objs, Snapshot: shopSnapshot()})
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Summary
	if s.Differences() || s.Gained+s.Lost+s.Uncertain != 0 || s.Unchanged != 3 {
		t.Errorf("comparing a set with itself: %+v", s)
	}
}

// TestComputeScope checks which namespaces are compared and that a
// namespace whose policies all went away shows them removed.
func TestComputeScope(t *testing.T) {
	proposed := loadObjects(t, "testdata/shop/proposed")
	deployed := loadObjects(t, "testdata/shop/deployed")
	// Proposed has nothing: by default nothing is compared...
	rep, err := diff.Compute(diff.Input{Deployed: deployed})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Namespaces) != 0 {
		t.Errorf("empty proposal compared %d namespaces", len(rep.Namespaces))
	}
	// ...with AllManaged, shop's meshgen policies are removed, and the
	// person's are not.
	rep, err = diff.Compute(diff.Input{Deployed: deployed, AllManaged: true})
	if err != nil {
		t.Fatal(err)
	}
	if s := rep.Summary; len(rep.Namespaces) != 1 || s.Removed != 3 || s.Added+s.Changed != 0 {
		t.Errorf("AllManaged over an empty proposal: %d namespaces, summary %+v; want shop with 3 removed", len(rep.Namespaces), s)
	}
	// --namespace picks.
	rep, err = diff.Compute(diff.Input{Proposed: proposed, Deployed: deployed, Namespaces: []string{"other"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Namespaces) != 1 || rep.Namespaces[0].Name != "other" || rep.Summary.Differences() {
		t.Errorf("Namespaces [other]: %+v", rep.Namespaces)
	}
}

// TestComputeTakesOverUnmanaged checks that a proposed object with the name
// of a person's deployed one is compared with it and flagged.
func TestComputeTakesOverUnmanaged(t *testing.T) {
	deployed := loadObjects(t, "testdata/shop/deployed")
	for i := range deployed {
		if deployed[i].Meta().Name == "cart" {
			delete(deployed[i].Meta().Labels, "app.kubernetes.io/managed-by")
		}
	}
	rep, err := diff.Compute(diff.Input{Proposed: loadObjects(t, "testdata/shop/proposed"), Deployed: deployed})
	if err != nil {
		t.Fatal(err)
	}
	o := rep.Namespaces[0].Objects[0]
	if o.Name != "cart" || o.Change != diff.Changed || !o.DeployedUnmanaged || !strings.Contains(o.Diff, "+    app.kubernetes.io/managed-by: meshgen") {
		t.Errorf("cart = %+v, want changed, deployed unmanaged, the label added", o)
	}
}
