package repo

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Options control Apply.
type Options struct {
	// Owns reports whether emit is responsible for namespace ns in this run:
	// meshgen's files in the directories of the namespaces it owns are
	// rewritten or pruned; those of other namespaces (not selected with
	// --namespace, excluded, the root namespace) are left as they are. nil
	// owns every namespace.
	Owns func(ns string) bool
	// Force overwrites (or prunes) managed files that a person edited or
	// deleted. It never touches a file meshgen does not manage.
	Force bool

	hook hook // test hook, see txn.go
}

func (o *Options) owns(ns string) bool { return o.Owns == nil || o.Owns(ns) }

// Result says what Apply did. Paths are relative to the directory and
// slash-separated, sorted.
type Result struct {
	Written   []string // files created or changed
	Unchanged []string // managed files whose content stayed the same
	Pruned    []string // managed files removed because meshgen no longer writes them
	// Overwritten are the managed files a person had edited (or deleted)
	// that Force overwrote or pruned; they are also in Written or Pruned.
	Overwritten []string
	// Warnings are things the user should act on that did not stop the
	// write, e.g. a person's kustomization.yaml that lacks meshgen's files.
	Warnings []string
	// Recovered is true when an interrupted earlier run was undone first.
	Recovered bool
}

// Changed reports whether any file was written or removed.
func (r *Result) Changed() bool { return len(r.Written)+len(r.Pruned) > 0 }

// Conflict is a file that stops the write.
type Conflict struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
	// Forceable is true when Force would overwrite it (a managed file a
	// person edited); false for a person's file in meshgen's way.
	Forceable bool `json:"forceable"`
}

// ConflictError is returned when files in the directory stop the write;
// nothing was written.
type ConflictError struct {
	Dir       string
	Conflicts []Conflict
}

func (e *ConflictError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s in %s changed by hand, nothing was written:", len(e.Conflicts), plural(len(e.Conflicts), "file", "files"), e.Dir)
	forceable := true
	for _, c := range e.Conflicts {
		fmt.Fprintf(&b, "\n  %s: %s", c.Path, c.Reason)
		forceable = forceable && c.Forceable
	}
	if forceable {
		b.WriteString("\nmerge the edits into meshgen.yaml or the snapshot (or take a file over by removing its meshgen header and label), then emit again; --force overwrites the edits")
	} else {
		b.WriteString("\nmove or rename the files that are not meshgen's, then emit again (--force does not touch them)")
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// namespaceRE matches Kubernetes namespace names (RFC 1123 labels): only
// directories so named are looked at for meshgen's files.
var namespaceRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// ErrLocked is returned by Apply when another run holds the directory.
var ErrLocked = errors.New("another meshgen run is writing to this directory")

// Apply makes dir hold files, the complete rendered output of emit
// (<namespace>/<file> -> content), as one transaction:
//
//   - A file is meshgen's (managed) when it starts with meshgen's header
//     comment and its objects carry the label app.kubernetes.io/managed-by:
//     meshgen (IsManaged). Any other file is a person's and is never
//     written, moved or removed; a person's file at a path meshgen wants to
//     write is a conflict.
//   - .meshgen/SHA256SUMS records what meshgen wrote. A managed file whose
//     content differs from the record (or that has no record, or that a
//     person deleted) was edited by hand: it is a conflict unless
//     opts.Force.
//   - In the namespaces meshgen owns (opts.Owns), a managed file that files
//     no longer holds is pruned; empty namespace directories are removed.
//   - kustomization.yaml is meshgen's when it carries the header: meshgen
//     sets its resources to the files it writes and keeps the entries and
//     keys a person added (its edits are merged, never a conflict). A
//     kustomization.yaml without the header is a person's: it is left alone,
//     and a warning names the meshgen files it does not list.
//
// Apply holds an exclusive lock on dir while it runs (flock(2), where there
// is one): a second run into the same directory fails with ErrLocked
// instead of interleaving with the first or undoing its journal.
//
// On any conflict nothing is written and the error is a *ConflictError.
// Otherwise every change is staged in full, then swapped in file by file
// under a journal; a failure undoes the steps already taken, and a run that
// was killed is undone by the next one (Recover), so the tree is either the
// old one or the new one. .git and every file outside the namespace
// directories of files are not looked at.
func Apply(dir string, files map[string][]byte, opts Options) (*Result, error) {
	for p := range files {
		if err := checkTarget(p); err != nil {
			return nil, fmt.Errorf("writing policies: %w", err)
		}
		if ns, _, _ := strings.Cut(p, "/"); !opts.owns(ns) {
			return nil, fmt.Errorf("writing policies: %s is in namespace %s, which this run does not own", p, ns)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("writing policies: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("writing policies: %w", err)
	}
	defer unlock()
	res := &Result{}
	recovered, err := Recover(dir)
	if err != nil {
		return nil, err
	}
	res.Recovered = recovered
	sums, err := readSums(dir)
	if err != nil {
		return nil, err
	}
	p := &planner{dir: dir, files: files, sums: sums, opts: &opts, res: res, changes: map[string][]byte{}, existed: map[string]bool{}}
	if err := p.plan(); err != nil {
		return nil, err
	}
	if len(p.conflicts) > 0 {
		slices.SortFunc(p.conflicts, func(a, b Conflict) int { return strings.Compare(a.Path, b.Path) })
		return nil, &ConflictError{Dir: dir, Conflicts: p.conflicts}
	}
	p.stateChanges()
	if len(p.changes) > 0 {
		if err := commit(dir, p.changes, p.existed, opts.hook); err != nil {
			return nil, fmt.Errorf("writing policies to %s (the old tree is in place): %w", dir, err)
		}
	}
	for _, s := range [][]string{res.Written, res.Unchanged, res.Pruned, res.Overwritten, res.Warnings} {
		slices.Sort(s)
	}
	return res, nil
}

// checkTarget accepts "<namespace>/<file>.yaml".
func checkTarget(p string) error {
	if err := checkRel(p); err != nil {
		return err
	}
	ns, name, ok := strings.Cut(p, "/")
	if !ok || strings.Contains(name, "/") || !namespaceRE.MatchString(ns) || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".yaml") {
		return fmt.Errorf("%q is not <namespace>/<file>.yaml", p)
	}
	return nil
}

type planner struct {
	dir       string
	files     map[string][]byte
	sums      map[string]string
	opts      *Options
	res       *Result
	conflicts []Conflict
	// changes maps a path to its new content, nil to remove it; existed says
	// which of them have a file now.
	changes map[string][]byte
	existed map[string]bool
	// newSums is the record after the run for the paths looked at.
	looked  map[string]bool
	newSums map[string]string
}

// namespaces lists the namespace directories to look at: those of files,
// those the record names, and the existing directories named like
// namespaces, all restricted to the owned ones.
func (p *planner) namespaces() ([]string, error) {
	set := map[string]bool{}
	for f := range p.files {
		ns, _, _ := strings.Cut(f, "/")
		set[ns] = true
	}
	for f := range p.sums {
		if ns, _, ok := strings.Cut(f, "/"); ok && namespaceRE.MatchString(ns) && p.opts.owns(ns) {
			set[ns] = true
		}
	}
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p.dir, err)
	}
	for _, e := range entries {
		if e.IsDir() && namespaceRE.MatchString(e.Name()) && p.opts.owns(e.Name()) {
			set[e.Name()] = true
		}
	}
	out := make([]string, 0, len(set))
	for ns := range set {
		out = append(out, ns)
	}
	slices.Sort(out)
	return out, nil
}

func (p *planner) plan() error {
	p.looked, p.newSums = map[string]bool{}, map[string]string{}
	nss, err := p.namespaces()
	if err != nil {
		return err
	}
	for _, ns := range nss {
		if err := p.planNamespace(ns); err != nil {
			return err
		}
	}
	return nil
}

// current reads the .yaml files directly in a namespace directory.
func (p *planner) current(ns string) (map[string][]byte, error) {
	out := map[string][]byte{}
	d := filepath.Join(p.dir, ns)
	entries, err := os.ReadDir(d)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", d, err)
	}
	for _, e := range entries {
		// meshgen writes only .yaml files; others (a README, a binary in a
		// directory of the repository root) are not even read.
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", filepath.Join(d, e.Name()), err)
		}
		out[e.Name()] = b
	}
	return out, nil
}

func (p *planner) planNamespace(ns string) error {
	have, err := p.current(ns)
	if err != nil {
		return err
	}
	// The names in this namespace that are meshgen's: written now, managed
	// now, or recorded as written before.
	names := map[string]bool{}
	ours := map[string]bool{}
	for f := range p.files {
		if n, ok := strings.CutPrefix(f, ns+"/"); ok {
			names[n], ours[n] = true, true
		}
	}
	for n, b := range have {
		if strings.HasSuffix(n, ".yaml") && IsManaged(n, b) {
			names[n], ours[n] = true, true
		}
	}
	for f := range p.sums {
		if n, ok := strings.CutPrefix(f, ns+"/"); ok && !strings.Contains(n, "/") {
			names[n] = true
			if b, ok := have[n]; !ok || IsManaged(n, b) {
				ours[n] = true
			}
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	slices.Sort(sorted)
	for _, n := range sorted {
		if n == KustomizationFile {
			continue
		}
		p.planFile(ns+"/"+n, have, n)
	}
	return p.planKustomization(ns, have, ours)
}

// planFile decides one policy file.
func (p *planner) planFile(path string, have map[string][]byte, name string) {
	p.looked[path] = true
	want, produced := p.files[path]
	cur, exists := have[name]
	recorded, hasRecord := p.sums[path]
	switch {
	case !exists && !produced:
		// Gone and not wanted: drop the record.
	case !exists:
		if hasRecord && !p.opts.Force {
			p.conflict(path, "meshgen wrote it and a person deleted it", true)
			return
		}
		if hasRecord {
			p.res.Overwritten = append(p.res.Overwritten, path)
		}
		p.write(path, want, false)
	case !IsManaged(name, cur):
		if produced {
			p.conflict(path, "meshgen writes this path, and the file here is not meshgen's (no meshgen header, or no label "+managedLabel()+")", false)
		}
		// A person's file: untouched, and no longer recorded.
	default:
		edited := !hasRecord || sum(cur) != recorded
		if produced && bytes.Equal(cur, want) {
			p.res.Unchanged = append(p.res.Unchanged, path)
			p.newSums[path] = sum(want)
			return
		}
		if edited && !p.opts.Force {
			reason := "edited since meshgen wrote it (its SHA-256 differs from " + SumsFile + ")"
			if !hasRecord {
				reason = "it has meshgen's header but " + SumsFile + " has no record of it, so meshgen cannot tell whether a person edited it"
			}
			p.conflict(path, reason, true)
			return
		}
		if edited {
			p.res.Overwritten = append(p.res.Overwritten, path)
		}
		if produced {
			p.write(path, want, true)
		} else {
			p.prune(path)
		}
	}
}

func managedLabel() string { return "app.kubernetes.io/managed-by: meshgen" }

func (p *planner) conflict(path, reason string, forceable bool) {
	p.conflicts = append(p.conflicts, Conflict{Path: path, Reason: reason, Forceable: forceable})
}

func (p *planner) write(path string, b []byte, existed bool) {
	p.changes[path] = b
	p.existed[path] = existed
	p.newSums[path] = sum(b)
	p.res.Written = append(p.res.Written, path)
}

func (p *planner) prune(path string) {
	p.changes[path] = nil
	p.existed[path] = true
	p.res.Pruned = append(p.res.Pruned, path)
}

// planKustomization decides the namespace's kustomization.yaml.
func (p *planner) planKustomization(ns string, have map[string][]byte, ours map[string]bool) error {
	path := ns + "/" + KustomizationFile
	p.looked[path] = true
	want, produced := p.files[path]
	cur, exists := have[KustomizationFile]
	switch {
	case !exists && !produced:
	case !exists:
		p.write(path, want, false)
	case !HasHeader(cur):
		// A person's kustomization: never touched.
		if !produced {
			return nil
		}
		k, err := parseKustomization(want)
		if err != nil {
			return fmt.Errorf("parsing meshgen's kustomization for %s: %w", ns, err)
		}
		missing, err := missingEntries(cur, k.entries())
		if err != nil {
			p.res.Warnings = append(p.res.Warnings, fmt.Sprintf("%s is not meshgen's and does not parse (%v): make sure it lists meshgen's files", path, err))
			return nil
		}
		if len(missing) > 0 {
			p.res.Warnings = append(p.res.Warnings, fmt.Sprintf("%s is not meshgen's (no meshgen header) and was left as it is; add to its resources: %s", path, strings.Join(missing, ", ")))
		}
	default:
		merged, err := mergeKustomization(cur, want, func(n string) bool { return ours[n] })
		if err != nil {
			if !p.opts.Force {
				p.conflict(path, "meshgen's kustomization was edited and "+err.Error(), true)
				return nil
			}
			p.res.Overwritten = append(p.res.Overwritten, path)
			merged = want
		}
		switch {
		case merged == nil:
			p.prune(path)
		case bytes.Equal(merged, cur):
			p.res.Unchanged = append(p.res.Unchanged, path)
			p.newSums[path] = sum(cur)
		default:
			p.write(path, merged, true)
		}
	}
	return nil
}

// stateChanges adds the record (and the state directory's .gitignore) to
// the changes when they change.
func (p *planner) stateChanges() {
	next := map[string]string{}
	for f, s := range p.sums {
		if !p.looked[f] {
			next[f] = s
		}
	}
	for f, s := range p.newSums {
		next[f] = s
	}
	old, err := os.ReadFile(filepath.Join(p.dir, filepath.FromSlash(SumsFile)))
	oldExists := err == nil
	b := formatSums(next)
	if len(next) == 0 {
		if oldExists {
			p.changes[SumsFile], p.existed[SumsFile] = nil, true
		}
	} else if !bytes.Equal(old, b) {
		p.changes[SumsFile], p.existed[SumsFile] = b, oldExists
	}
	if len(next) > 0 {
		if _, err := os.Lstat(filepath.Join(p.dir, filepath.FromSlash(gitignoreFile))); errors.Is(err, fs.ErrNotExist) {
			p.changes[gitignoreFile], p.existed[gitignoreFile] = []byte(gitignoreContent), false
		}
	}
}
