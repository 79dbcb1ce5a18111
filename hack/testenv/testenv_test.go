package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

func TestMain(m *testing.M) { Main(m) }

func TestFindModuleRoot(t *testing.T) {
	root := t.TempDir()
	tool := filepath.Join(root, "hack", "tools", "x")
	pkg := filepath.Join(tool, "sub")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module github.com/meshgen/meshgen\n\ngo 1.26.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tool, "go.mod"), []byte("module meshgen.dev/hack/tools/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := findModuleRoot(pkg)
	if err != nil || got != root {
		t.Errorf("findModuleRoot(%s) = %q, %v, want %q (past the nested tool module)", pkg, got, err, root)
	}
	if _, err := findModuleRoot(t.TempDir()); err == nil {
		t.Errorf("findModuleRoot(dir outside meshgen) succeeded, want an error")
	}
}

func TestNamespaceName(t *testing.T) {
	tests := []struct {
		name     string
		testName string
		want     string
	}{
		{name: "simple", testName: "TestApply", want: "t-testapply-abc123"},
		{name: "subtest", testName: "TestApply/valid_policy#01", want: "t-testapply-valid-policy-01-abc123"},
		{name: "long", testName: strings.Repeat("TestLong", 20), want: "t-" + strings.Repeat("testlong", 20)[:54] + "-abc123"},
		{name: "leading punctuation", testName: "__x", want: "t-x-abc123"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := namespaceName(tc.testName, "abc123")
			if got != tc.want {
				t.Errorf("namespaceName(%q) = %q, want %q", tc.testName, got, tc.want)
			}
			if len(got) > 63 {
				t.Errorf("namespaceName(%q) has %d characters, want at most 63", tc.testName, len(got))
			}
		})
	}
}

func TestDecodeDocs(t *testing.T) {
	in := `# a comment-only document
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: a
  namespace: ns1
data:
  flag: "y"
---
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: b
  namespace: ns2
`
	docs, err := decodeDocs([]byte(in))
	if err != nil {
		t.Fatalf("decodeDocs = %v", err)
	}
	var got []string
	for _, d := range docs {
		got = append(got, d.String())
	}
	want := []string{"document 2 at line 3 (ConfigMap ns1/a)", "document 4 at line 12 (AuthorizationPolicy ns2/b)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decodeDocs documents mismatch (-want +got):\n%s", diff)
	}

	bad := []struct {
		name    string
		yaml    string
		wantErr string
	}{
		{name: "no kind", yaml: "apiVersion: v1\nmetadata:\n  name: a\n", wantErr: "decoding document 1 at line 1"},
		{name: "no name", yaml: "---\napiVersion: v1\nkind: ConfigMap\n", wantErr: "document 2 at line 2 (ConfigMap): metadata.name is empty"},
		{name: "bad yaml", yaml: "# x\n---\nkind: [\n", wantErr: "parsing document 2 at line 3"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeDocs([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("decodeDocs(%s) = %v, want an error containing %q", tc.name, err, tc.wantErr)
			}
		})
	}
}

func TestSplitDocs(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantDocs  []string
		wantLines []int
	}{
		{name: "one", in: "a: 1\n", wantDocs: []string{"a: 1\n"}, wantLines: []int{1}},
		{name: "leading separator", in: "---\na: 1\n", wantDocs: []string{"", "a: 1\n"}, wantLines: []int{1, 2}},
		{name: "no final newline", in: "a: 1\n---\nb: 2", wantDocs: []string{"a: 1\n", "b: 2"}, wantLines: []int{1, 3}},
		{name: "separator with comment and CRLF", in: "a: 1\r\n--- # x\r\nb: 2\r\n", wantDocs: []string{"a: 1\r\n", "b: 2\r\n"}, wantLines: []int{1, 3}},
		{name: "dashes inside a value", in: "a: |\n  ---x\nb: ---\n", wantDocs: []string{"a: |\n  ---x\nb: ---\n"}, wantLines: []int{1}},
		{name: "trailing separator", in: "a: 1\n---\n", wantDocs: []string{"a: 1\n", ""}, wantLines: []int{1, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			docs, lines := splitDocs([]byte(tc.in))
			var got []string
			for _, d := range docs {
				got = append(got, string(d))
			}
			if diff := cmp.Diff(tc.wantDocs, got); diff != "" {
				t.Errorf("splitDocs(%q) documents mismatch (-want +got):\n%s", tc.in, diff)
			}
			if diff := cmp.Diff(tc.wantLines, lines); diff != "" {
				t.Errorf("splitDocs(%q) lines mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestFirstResourceAttributes(t *testing.T) {
	tests := []struct {
		name  string
		rules []rbacv1.PolicyRule
		want  *authorizationv1.ResourceAttributes
	}{
		{name: "no rules"},
		{name: "non-resource only", rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/healthz"}, Verbs: []string{"get"}}}},
		{
			name:  "core group",
			rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list", "get"}}},
			want:  &authorizationv1.ResourceAttributes{Namespace: "ns", Verb: "list", Resource: "pods"},
		},
		{
			name:  "subresource and name",
			rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods/log"}, ResourceNames: []string{"p"}, Verbs: []string{"get"}}},
			want:  &authorizationv1.ResourceAttributes{Namespace: "ns", Verb: "get", Resource: "pods", Subresource: "log", Name: "p"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := firstResourceAttributes("ns", tc.rules)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("firstResourceAttributes mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTailLines(t *testing.T) {
	if got, want := tailLines([]byte("a\nb\nc\n"), 2), "b\nc"; got != want {
		t.Errorf("tailLines(a b c, 2) = %q, want %q", got, want)
	}
	if got, want := tailLines([]byte("a"), 5), "a"; got != want {
		t.Errorf("tailLines(a, 5) = %q, want %q", got, want)
	}
}

func TestMissingBinaryHint(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := lookBinary("no-such-meshgen-tool")
	if err == nil || !strings.Contains(err.Error(), "make tools") {
		t.Errorf("lookBinary(missing) = %v, want an error telling to run make tools", err)
	}
	for _, ci := range []string{"true", ""} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			ft := runFake(func(tb testing.TB) { requireBinaries(tb, "no-such-meshgen-tool") })
			want := "skip: "
			if ci == "true" {
				want = "fatal: "
			}
			if !strings.HasPrefix(ft.msg, want) || !strings.Contains(ft.msg, "make tools") {
				t.Errorf("requireBinaries(missing) with CI=%q ended with %q, want %q... naming make tools", ci, ft.msg, want)
			}
		})
	}
}

func TestPrometheusRejectsTextWithoutEOF(t *testing.T) {
	// The check runs before anything starts, even in -short mode or without the binaries.
	ft := runFake(func(tb testing.TB) { Prometheus(tb, []byte("x_total 1 1700000000\n")) })
	if !strings.HasPrefix(ft.msg, "fatal: ") || !strings.Contains(ft.msg, "# EOF") {
		t.Errorf("Prometheus(text without # EOF) ended with %q, want a failure about \"# EOF\"", ft.msg)
	}
}

// fatalTB records the message of the first Fatalf/Skipf and ends the goroutine, like testing does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = "fatal: " + fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fatalTB) Skipf(format string, args ...any) {
	f.msg = "skip: " + fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// runFake runs f with a fatalTB in its own goroutine and waits for it.
func runFake(f func(testing.TB)) *fatalTB {
	ft := &fatalTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(ft)
	}()
	<-done
	return ft
}
