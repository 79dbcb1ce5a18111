package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// gitRepo is a Git work tree in a temporary directory, driven with the real
// git binary.
type gitRepo struct {
	t   *testing.T
	dir string
	env []string
}

func newGitRepo(t *testing.T) *gitRepo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("git is not installed: %v", err)
		}
		t.Skipf("git is not installed (%v); CI fails here", err)
	}
	home := t.TempDir()
	r := &gitRepo{t: t, dir: t.TempDir(), env: append(os.Environ(),
		"HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+filepath.Join(home, "gitconfig"),
		"GIT_AUTHOR_NAME=meshgen test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=meshgen test", "GIT_COMMITTER_EMAIL=test@example.com",
	)}
	r.git("init", "-q", "-b", "main")
	return r
}

func (r *gitRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Env = r.dir, r.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (r *gitRepo) commit(msg string) {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "-q", "-m", msg)
}

// status returns `git status --porcelain` lines, sorted.
func (r *gitRepo) status() []string {
	r.t.Helper()
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(r.git("status", "--porcelain", "--untracked-files=all"), "\n"), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	slices.Sort(lines)
	return lines
}

func (r *gitRepo) read(rel string) string {
	r.t.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir, filepath.FromSlash(rel)))
	if err != nil {
		r.t.Fatal(err)
	}
	return string(b)
}

func (r *gitRepo) write(rel, content string) {
	r.t.Helper()
	p := filepath.Join(r.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// TestEmitIntoGitRepoIntegration drives the repository flow with real git:
// emit into a repository, a person adds a file and edits the
// kustomization, emit again (the person's work survives, only meshgen's
// files change), a person edits a managed file (emit refuses, names it,
// writes nothing), --force, and a prune.
func TestEmitIntoGitRepoIntegration(t *testing.T) {
	r := newGitRepo(t)
	r.write("README.md", "# mesh policies\n")
	out := filepath.Join(r.dir, "policies")
	emit := func(snap string, extra ...string) (int, string) {
		t.Helper()
		code, stdout, stderr := runMeshgen(t, append([]string{"emit", "--observations", snap, "--out", out}, extra...)...)
		if stdout != "" {
			t.Errorf("emit wrote to stdout: %q", stdout)
		}
		return code, stderr
	}
	snap1 := writeSnapshotFile(t, meshSnapshot("shop", false))
	snap2 := writeSnapshotFile(t, meshSnapshot("shop", true))

	if code, stderr := emit(snap1); code != 0 {
		t.Fatalf("first emit = exit %d: %s", code, stderr)
	}
	wantFiles := []string{
		"?? README.md",
		"?? policies/.meshgen/.gitignore",
		"?? policies/.meshgen/SHA256SUMS",
		"?? policies/shop/authorizationpolicy-cart.yaml",
		"?? policies/shop/authorizationpolicy-catalog.yaml",
		"?? policies/shop/kustomization.yaml",
		"?? policies/shop/peerauthentication-default.yaml",
	}
	if got := r.status(); !slices.Equal(got, wantFiles) {
		t.Fatalf("after the first emit, git status =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantFiles, "\n"))
	}
	r.commit("meshgen emit")

	// A person adds a policy and lists it in the kustomization.
	person := "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: deny-admin\n  namespace: shop\nspec:\n  action: DENY\n  rules:\n  - to:\n    - operation:\n        paths: [\"/admin/*\"]\n"
	r.write("policies/shop/deny-admin.yaml", person)
	r.write("policies/shop/kustomization.yaml", r.read("policies/shop/kustomization.yaml")+"- deny-admin.yaml\n")
	r.commit("a person's DENY policy")

	// The second emit changes cart only.
	if code, stderr := emit(snap2); code != 0 {
		t.Fatalf("second emit = exit %d: %s", code, stderr)
	}
	want := []string{" M policies/.meshgen/SHA256SUMS", " M policies/shop/authorizationpolicy-cart.yaml"}
	if got := r.status(); !slices.Equal(got, want) {
		t.Errorf("after the second emit, git status =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := r.read("policies/shop/deny-admin.yaml"); got != person {
		t.Errorf("the person's file changed: %q", got)
	}
	if k := r.read("policies/shop/kustomization.yaml"); !strings.Contains(k, "- deny-admin.yaml\n") || !strings.Contains(k, "- authorizationpolicy-cart.yaml\n") {
		t.Errorf("the kustomization lost an entry:\n%s", k)
	}
	if d := r.git("diff", "policies/shop/authorizationpolicy-cart.yaml"); !strings.Contains(d, "cluster.local/ns/web/sa/admin") {
		t.Errorf("cart's change does not add web/admin:\n%s", d)
	}
	r.commit("meshgen emit")

	// A person edits meshgen's cart policy: emit refuses and writes nothing.
	edited := strings.Replace(r.read("policies/shop/authorizationpolicy-cart.yaml"), "/api/items", "/api/items-v2", 1)
	r.write("policies/shop/authorizationpolicy-cart.yaml", edited)
	code, stderr := emit(snap1)
	if code != 1 || !strings.Contains(stderr, "shop/authorizationpolicy-cart.yaml: edited since meshgen wrote it") || !strings.Contains(stderr, "--force") {
		t.Errorf("emit over an edited managed file = exit %d, stderr %q; want 1 naming the file and --force", code, stderr)
	}
	want = []string{" M policies/shop/authorizationpolicy-cart.yaml"}
	if got := r.status(); !slices.Equal(got, want) {
		t.Errorf("a refused emit changed the work tree: git status =\n%s\nwant only the person's edit", strings.Join(got, "\n"))
	}
	if got := r.read("policies/shop/authorizationpolicy-cart.yaml"); got != edited {
		t.Errorf("a refused emit overwrote the edit")
	}

	// --force overwrites it: the tree is the committed one again.
	code, stderr = emit(snap2, "--force")
	if code != 0 || !strings.Contains(stderr, "overwrote shop/authorizationpolicy-cart.yaml") {
		t.Errorf("emit --force = exit %d, stderr %q", code, stderr)
	}
	if got := r.status(); len(got) != 0 {
		t.Errorf("after emit --force with the committed snapshot, git status = %q, want clean", got)
	}

	// Catalog's traffic disappears: its policy is pruned, the person's file
	// and README stay.
	s := meshSnapshot("shop", true)
	s.Edges = slices.DeleteFunc(s.Edges, func(e snapshot.Edge) bool { return e.Destination.Workload == "catalog" })
	if code, stderr := emit(writeSnapshotFile(t, s)); code != 0 || !strings.Contains(stderr, "pruned shop/authorizationpolicy-catalog.yaml") {
		t.Fatalf("emit without catalog = exit %d: %s", code, stderr)
	}
	// cart's and the PeerAuthentication's header comments name the
	// namespace's workloads, so they change too.
	want = []string{
		" D policies/shop/authorizationpolicy-catalog.yaml",
		" M policies/.meshgen/SHA256SUMS",
		" M policies/shop/authorizationpolicy-cart.yaml",
		" M policies/shop/kustomization.yaml",
		" M policies/shop/peerauthentication-default.yaml",
	}
	if got := r.status(); !slices.Equal(got, want) {
		t.Errorf("after pruning, git status =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if r.read("policies/shop/deny-admin.yaml") != person || r.read("README.md") != "# mesh policies\n" {
		t.Errorf("pruning touched a person's file")
	}
	if k := r.read("policies/shop/kustomization.yaml"); strings.Contains(k, "catalog") || !strings.Contains(k, "- deny-admin.yaml\n") {
		t.Errorf("kustomization after pruning:\n%s", k)
	}
}
