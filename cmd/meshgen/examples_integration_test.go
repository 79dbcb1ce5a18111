package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/hack/testenv"
)

// TestKubernetesExamplesIntegration server-side applies every manifest of
// examples/kubernetes with dryRun=All, so that the API server validates
// them as it would in a real cluster.
func TestKubernetesExamplesIntegration(t *testing.T) {
	k := testenv.Kube(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	files, _ := filepath.Glob(filepath.Join(examplesDir, "kubernetes", "*.yaml"))
	n := 0
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		n++
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := k.DryRunApply(ctx, b); err != nil {
			t.Errorf("server-side dry run of %s: %v", f, err)
		}
	}
	if n != 4 {
		t.Errorf("dry-ran %d manifests, want 4 (namespace, rbac, pvc, cronjob)", n)
	}
	// The kustomization lists exactly those files.
	kust := readYAML(t, filepath.Join(examplesDir, "kubernetes", "kustomization.yaml"))
	var listed []string
	for _, r := range kust["resources"].([]any) {
		listed = append(listed, r.(string))
	}
	slices.Sort(listed)
	if want := []string{"cronjob.yaml", "namespace.yaml", "pvc.yaml", "rbac.yaml"}; !slices.Equal(listed, want) {
		t.Errorf("kustomization resources = %v, want %v", listed, want)
	}
}

// exampleRules reads the ClusterRole of examples/kubernetes/rbac.yaml.
func exampleRules(t *testing.T) []rbacv1.PolicyRule {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(examplesDir, "kubernetes", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var role rbacv1.ClusterRole
		if err := yaml.UnmarshalStrict([]byte(doc), &role); err == nil && role.Kind == "ClusterRole" {
			return role.Rules
		}
	}
	t.Fatal("rbac.yaml has no ClusterRole")
	return nil
}

// TestExampleClusterRoleIntegration checks that the example's rules are
// enough for learn --cluster and diff --cluster (granted here by a Role in
// one namespace, so both read that namespace only), and that they grant
// read-only verbs on exactly the resources docs/permissions.md lists.
func TestExampleClusterRoleIntegration(t *testing.T) {
	rules := exampleRules(t)
	want := map[string][]string{
		"/namespaces": {"get", "list", "watch"}, "/serviceaccounts": {"get", "list", "watch"},
		"/services": {"get", "list", "watch"}, "/pods": {"get", "list", "watch"}, "/pods/log": {"get"},
		"apps/deployments": {"get", "list", "watch"}, "apps/statefulsets": {"get", "list", "watch"},
		"apps/daemonsets": {"get", "list", "watch"}, "apps/replicasets": {"get", "list", "watch"},
		"security.istio.io/authorizationpolicies": {"get", "list", "watch"},
		"security.istio.io/peerauthentications":   {"get", "list", "watch"},
	}
	got := map[string][]string{}
	for _, r := range rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				got[g+"/"+res] = append(got[g+"/"+res], r.Verbs...)
			}
		}
		if len(r.ResourceNames) > 0 || len(r.NonResourceURLs) > 0 {
			t.Errorf("unexpected rule %+v", r)
		}
	}
	for k, v := range got {
		slices.Sort(v)
		if !slices.Equal(v, want[k]) {
			t.Errorf("ClusterRole grants %v on %s, want %v", v, k, want[k])
		}
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("ClusterRole lacks %s", k)
		}
	}

	k := testenv.Kube(t)
	ns := k.Namespace(t)
	_, kubeconfig := k.RestrictedConfig(t, ns, rules)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.log")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runMeshgen(t, "learn", "--access-log", empty, "--cluster", "--kubeconfig", kubeconfig, "--namespace", ns, "-o", filepath.Join(dir, "obs.json"))
	if code != 0 {
		t.Errorf("learn --cluster with the example's rules = exit %d: %s", code, stderr)
	}
	policies := filepath.Join(dir, "policies")
	if err := os.MkdirAll(policies, 0o755); err != nil {
		t.Fatal(err)
	}
	ap := "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: a\n  namespace: " + ns + "\nspec: {}\n"
	if err := os.WriteFile(filepath.Join(policies, "a.yaml"), []byte(ap), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runMeshgen(t, "diff", "--policies", policies, "--cluster", "--kubeconfig", kubeconfig, "--root-namespace", ns)
	if code != 1 {
		t.Errorf("diff --cluster with the example's rules = exit %d (%s), want 1 (a is not deployed)", code, stderr)
	}
}
