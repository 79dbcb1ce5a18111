package policyset

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/meshgen/meshgen/synth/config"
)

// TestLoadDirSkipsConfig checks that emit's meshgen.yaml at the top of a
// policy repository is not read as a policy, and that the constant matches
// synth/config's.
func TestLoadDirSkipsConfig(t *testing.T) {
	if configFile != config.FileName {
		t.Fatalf("configFile = %q, want config.FileName %q", configFile, config.FileName)
	}
	dir := t.TempDir()
	ap := "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: a\n  namespace: shop\nspec: {}\n"
	for name, content := range map[string]string{
		"meshgen.yaml":        "emit:\n  minRequests: 2\n",
		"shop/a.yaml":         ap,
		"shop/meshgen.yaml":   "not: [a policy\n", // not at the top: read, and an error
		".meshgen/SHA256SUMS": "x\n",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := LoadDir(dir); err == nil {
		t.Errorf("LoadDir read past a broken shop/meshgen.yaml")
	}
	if err := os.Remove(filepath.Join(dir, "shop", "meshgen.yaml")); err != nil {
		t.Fatal(err)
	}
	ps, _, err := LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir with meshgen.yaml at the top: %v", err)
	}
	if len(ps.AuthorizationPolicies) != 1 {
		t.Errorf("loaded %d AuthorizationPolicies, want 1", len(ps.AuthorizationPolicies))
	}
}
