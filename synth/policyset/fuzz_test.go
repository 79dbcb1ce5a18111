package policyset

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/meshgen/meshgen/observe/badinput"
)

// FuzzParse feeds arbitrary bytes to the YAML loader: it must not panic,
// every error must be bad input, and every loaded object must be complete.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/v1/policies.yaml", "testdata/v1/sub/cart-ports.yml", "testdata/list/dump.yaml"} {
		b, err := os.ReadFile(filepath.FromSlash(p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: &m {name: x, namespace: y}\nspec: {rules: [{from: [{source: {principals: [*m]}}]}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := Parse("fuzz.yaml", data)
		if err != nil {
			if !badinput.Is(err) {
				t.Fatalf("Parse() error %q is not bad input", err)
			}
			return
		}
		for _, o := range objs {
			if o.Skipped {
				continue
			}
			if o.Name == "" || o.Namespace == "" {
				t.Errorf("Parse() loaded %s without name or namespace", o.Kind)
			}
			if (o.AuthorizationPolicy == nil) == (o.PeerAuthentication == nil) {
				t.Errorf("Parse() loaded %s %s/%s with %v/%v", o.Kind, o.Namespace, o.Name, o.AuthorizationPolicy, o.PeerAuthentication)
			}
		}
	})
}
