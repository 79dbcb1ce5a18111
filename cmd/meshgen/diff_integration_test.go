package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/meshgen/meshgen/hack/testenv"
	"github.com/meshgen/meshgen/observe/snapshot"
	"github.com/meshgen/meshgen/synth/diff"
)

// meshSnapshot is a small sidecar mesh whose destinations are in ns:
// web/frontend calls cart (GET /api/items 1204 times, POST /api/cart 300
// times) and catalog (GET /products 500 times). changed drops the POST and
// adds web/admin calling GET /api/items 10 times.
func meshSnapshot(ns string, changed bool) *snapshot.Snapshot {
	s := snapshot.New()
	s.Inventory = snapshot.Inventory{
		Origin:     snapshot.InventoryFile,
		Namespaces: []snapshot.Namespace{{Name: ns, MeshMode: snapshot.MeshSidecar}, {Name: "web", MeshMode: snapshot.MeshSidecar}},
		Workloads: []snapshot.Workload{
			{Namespace: ns, Name: "cart", Kind: "Deployment", Selector: map[string]string{"app": "cart"}, Labels: map[string]string{"app": "cart"}, ServiceAccount: "cart", Ports: []snapshot.ContainerPort{{Port: 8080}}, MeshMode: snapshot.MeshSidecar},
			{Namespace: ns, Name: "catalog", Kind: "Deployment", Selector: map[string]string{"app": "catalog"}, Labels: map[string]string{"app": "catalog"}, ServiceAccount: "catalog", Ports: []snapshot.ContainerPort{{Port: 9090}}, MeshMode: snapshot.MeshSidecar},
			{Namespace: "web", Name: "frontend", Kind: "Deployment", Selector: map[string]string{"app": "frontend"}, Labels: map[string]string{"app": "frontend"}, ServiceAccount: "frontend", MeshMode: snapshot.MeshSidecar},
		},
	}
	at := time.Date(2026, 11, 13, 12, 0, 0, 0, time.UTC)
	edge := func(sa, wl string, port int, method, path string, n int64) snapshot.Edge {
		return snapshot.Edge{
			Source:      snapshot.Source{Principal: "cluster.local/ns/web/sa/" + sa, IdentityFrom: snapshot.IdentityCertificate},
			Destination: snapshot.Destination{Namespace: ns, Workload: wl},
			Reporter:    snapshot.ReporterDestination,
			Port:        port, Protocol: snapshot.ProtocolHTTP, Method: method, Path: path,
			Counts:    snapshot.Counts{Requests: n, MTLS: n},
			FirstSeen: at, LastSeen: at.Add(7 * 24 * time.Hour),
			Evidence: []string{snapshot.EvidenceEnvoyLog},
		}
	}
	s.Edges = []snapshot.Edge{
		edge("frontend", "cart", 8080, "GET", "/api/items", 1204),
		edge("frontend", "catalog", 9090, "GET", "/products", 500),
	}
	if changed {
		s.Edges = append(s.Edges, edge("admin", "cart", 8080, "GET", "/api/items", 10))
	} else {
		s.Edges = append(s.Edges, edge("frontend", "cart", 8080, "POST", "/api/cart", 300))
	}
	snapshot.SortEdges(s.Edges)
	s.Metadata.TrustDomains = []string{"cluster.local"}
	return s
}

func writeSnapshotFile(t *testing.T, s *snapshot.Snapshot) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "observations.json")
	if err := snapshot.WriteFile(p, s); err != nil {
		t.Fatal(err)
	}
	return p
}

// policyDocs concatenates the policy files of a namespace directory
// (without the kustomization) for a server-side apply.
func policyDocs(t *testing.T, dir string) []byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, e := range entries {
		if e.IsDir() || e.Name() == "kustomization.yaml" || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if b.Len() > 0 {
			b.WriteString("---\n")
		}
		b.Write(data)
	}
	return b.Bytes()
}

func diffJSON(t *testing.T, args ...string) (int, *diff.Report, string) {
	t.Helper()
	code, stdout, stderr := runMeshgen(t, append([]string{"diff", "-o", "json"}, args...)...)
	if code > 1 {
		return code, nil, stderr
	}
	var rep diff.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("meshgen diff -o json: %v\n%s", err, stdout)
	}
	return code, &rep, stderr
}

// TestDiffClusterIntegration is the review flow against a real API server:
// emit, server-side apply, diff --cluster (no differences; a person's DENY
// policy in the namespace is listed); then a changed snapshot, emitted into
// the same directory, diffs with the object and access changes and exit 1.
func TestDiffClusterIntegration(t *testing.T) {
	k := testenv.Kube(t)
	ns := k.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	snap1 := writeSnapshotFile(t, meshSnapshot(ns, false))
	out := filepath.Join(t.TempDir(), "policies")
	if code, _, stderr := runMeshgen(t, "emit", "--observations", snap1, "--out", out); code != 0 {
		t.Fatalf("emit = exit %d: %s", code, stderr)
	}
	if err := k.Apply(t, ctx, policyDocs(t, filepath.Join(out, ns))); err != nil {
		t.Fatalf("server-side apply of the emitted policies: %v", err)
	}
	denyAdmin := `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-admin
  namespace: ` + ns + `
spec:
  selector:
    matchLabels:
      app: cart
  action: DENY
  rules:
  - to:
    - operation:
        paths: ["/admin/*"]
`
	if err := k.Apply(t, ctx, []byte(denyAdmin)); err != nil {
		t.Fatalf("applying a person's DENY policy: %v", err)
	}

	cluster := []string{"--policies", out, "--cluster", "--kubeconfig", k.Kubeconfig, "--observations", snap1}
	code, rep, stderr := diffJSON(t, cluster...)
	if code != 0 {
		t.Fatalf("diff --cluster right after applying = exit %d (%s), want 0; report: %+v", code, stderr, rep)
	}
	if len(rep.Namespaces) != 1 || rep.Namespaces[0].Name != ns || len(rep.Namespaces[0].Objects) != 0 || rep.Summary.Unchanged == 0 {
		t.Errorf("diff --cluster right after applying: %+v, want %s with only unchanged objects", rep.Summary, ns)
	}
	if rep.Deployed != "cluster:meshgen-test" {
		t.Errorf("deployed = %q, want cluster:meshgen-test", rep.Deployed)
	}
	var deny *diff.Unmanaged
	for i, u := range rep.Namespaces[0].Unmanaged {
		if u.Name == "deny-admin" {
			deny = &rep.Namespaces[0].Unmanaged[i]
		}
	}
	if deny == nil || deny.Action != "DENY" || !slices.Equal(deny.Workloads, []string{"cart"}) || !strings.Contains(deny.Why, "DENY") {
		t.Errorf("the person's DENY policy is not listed as applying to cart: %+v", rep.Namespaces[0].Unmanaged)
	}

	// The snapshot changes: POST /api/cart is gone, web/admin calls cart.
	snap2 := writeSnapshotFile(t, meshSnapshot(ns, true))
	if code, _, stderr := runMeshgen(t, "emit", "--observations", snap2, "--out", out); code != 0 {
		t.Fatalf("second emit = exit %d: %s", code, stderr)
	}
	code, rep, stderr = diffJSON(t, cluster...)
	if code != 1 {
		t.Fatalf("diff --cluster after the snapshot changed = exit %d (%s), want 1", code, stderr)
	}
	var changed []string
	for _, o := range rep.Namespaces[0].Objects {
		changed = append(changed, o.Change+" "+o.Ref())
	}
	if !slices.Contains(changed, "changed AuthorizationPolicy "+ns+"/cart") {
		t.Errorf("objects = %v, want cart changed", changed)
	}
	acc := rep.Namespaces[0].Access
	if acc == nil {
		t.Fatal("no access changes")
	}
	var lost, gained []string
	for _, c := range acc.Lost {
		for _, o := range c.Operations {
			lost = append(lost, c.CallerString()+" "+o.String()+" "+o.Before.String()+">"+o.After.String()+" "+strconv.FormatInt(o.Requests, 10))
		}
	}
	for _, c := range acc.Gained {
		for _, o := range c.Operations {
			gained = append(gained, c.CallerString()+" "+o.String())
		}
	}
	wantLost := "cluster.local/ns/web/sa/frontend POST /api/cart port 8080 allow>deny 300"
	if !slices.Contains(lost, wantLost) || rep.Summary.BreakingRequests != 300 {
		t.Errorf("lost = %q (breaking %d), want %q and 300 breaking requests", lost, rep.Summary.BreakingRequests, wantLost)
	}
	if !slices.Contains(gained, "cluster.local/ns/web/sa/admin GET /api/items port 8080") {
		t.Errorf("gained = %q, want web/admin on GET /api/items", gained)
	}
	// The text report says it in words, with the same exit code.
	code, text, _ := runMeshgen(t, append([]string{"diff"}, cluster...)...)
	if code != 1 || !strings.Contains(text, "WOULD BREAK: 300 observed requests") || !strings.Contains(text, "AuthorizationPolicy "+ns+"/deny-admin (DENY") {
		t.Errorf("text diff = exit %d:\n%s", code, text)
	}
}

// TestDiffClusterPermissionIntegration checks that a token without list on
// AuthorizationPolicies gets an error naming the verb and the resource.
func TestDiffClusterPermissionIntegration(t *testing.T) {
	k := testenv.Kube(t)
	ns := k.Namespace(t)
	_, kubeconfig := k.RestrictedConfig(t, ns, []rbacv1.PolicyRule{
		{APIGroups: []string{"security.istio.io"}, Resources: []string{"peerauthentications"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"security.istio.io"}, Resources: []string{"authorizationpolicies"}, Verbs: []string{"get", "watch"}},
	})
	dir := t.TempDir()
	ap := "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: a\n  namespace: " + ns + "\nspec: {}\n"
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(ap), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runMeshgen(t, "diff", "--policies", dir, "--cluster", "--kubeconfig", kubeconfig, "--root-namespace", ns)
	if code != 3 || stdout != "" {
		t.Errorf("diff --cluster without list = exit %d, stdout %q; want 3 and nothing on stdout", code, stdout)
	}
	for _, want := range []string{`verb "list"`, `resource "authorizationpolicies"`, `API group "security.istio.io"`, "in namespace " + ns} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr = %q, want it to say %s", stderr, want)
		}
	}
}
