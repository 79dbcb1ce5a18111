package repo

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/meshgen/meshgen/observe/atomic"
)

// The transaction. Every new file is first written in full under
// .meshgen/tmp/<run>/new/ (same file system as the tree, so renames are
// atomic). A journal (.meshgen/journal) then lists every step: for each path,
// whether a file was there before and whether a new one replaces it, and the
// directories the run creates. Each step moves the old file to
// .meshgen/tmp/<run>/old/<path> and the new one into place. Removing the
// journal is the commit point. On an error before it, the steps are undone in
// reverse order; a run that was killed leaves the journal behind and the next
// run undoes it before anything else (see Recover).
//
// What must be on disk, and when (so that a machine that stops, not only a
// process that is killed, finds the old tree or the new one):
//   - the staged files' contents, before the journal exists: once it exists,
//     the swap may move them into place, and after the commit nothing undoes
//     that. Until then nothing refers to the staging area (a run that stops
//     without a journal leaves only temporary files, which the next run
//     removes), so the files are written directly, without a temporary file
//     each, and flushed together: one syncfs(2) on Linux (syncStaged), where
//     an fsync per file would cost a journal commit each;
//   - the journal, and its name in .meshgen, before the first file is moved
//     aside: without it a stop in the middle of the swap could not be undone;
//   - the renames of the swap, before the journal is removed (syncSwapped);
//   - the removal of the journal (the commit), before the backups of the old
//     files are removed: a journal that came back after a stop, without its
//     backups, could not be undone.

const (
	journalFile = StateDir + "/journal"
	tmpDir      = StateDir + "/tmp"
)

// op is one step of the journal.
type op struct {
	Path    string `json:"path"`    // relative, slash-separated
	Existed bool   `json:"existed"` // a file was at Path before the run
	Write   bool   `json:"write"`   // a new file replaces it (else it is removed)
}

type journal struct {
	Run  string   `json:"run"`
	Ops  []op     `json:"ops"`
	Dirs []string `json:"dirs,omitempty"` // directories the run created, parents first
}

// errCrash, returned by a test hook, stops a transaction as a kill would:
// without undoing anything.
var errCrash = errors.New("simulated crash")

// hook is called before each step of a transaction ("stage", "journal",
// "op <path>", "commit"); an error aborts the transaction there. Tests set it.
type hook func(step string) error

func (h hook) call(step string) error {
	if h == nil {
		return nil
	}
	return h(step)
}

func newRunID() string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail
	}
	return hex.EncodeToString(b)
}

// commit applies changes (path -> new content, nil to remove) to dir as one
// transaction. existed says which paths have a file now.
func commit(dir string, changes map[string][]byte, existed map[string]bool, h hook) (err error) {
	run := newRunID()
	runDir := filepath.Join(dir, filepath.FromSlash(tmpDir), run)
	j := journal{Run: run}
	paths := make([]string, 0, len(changes))
	for p := range changes {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		j.Ops = append(j.Ops, op{Path: p, Existed: existed[p], Write: changes[p] != nil})
	}
	j.Dirs = missingDirs(dir, paths, changes)

	defer func() {
		if err != nil && !errors.Is(err, errCrash) {
			os.RemoveAll(runDir)
		}
	}()
	// Stage every new file in full, then flush them all to disk.
	var staged []string
	made := map[string]bool{}
	for _, p := range paths {
		b := changes[p]
		if b == nil {
			continue
		}
		sp := filepath.Join(runDir, "new", filepath.FromSlash(p))
		if d := filepath.Dir(sp); !made[d] {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("staging %s: %w", p, err)
			}
			made[d] = true
		}
		if err := stageFile(sp, b); err != nil {
			return fmt.Errorf("staging %s: %w", p, err)
		}
		staged = append(staged, sp)
	}
	if err := h.call("sync"); err != nil {
		return err
	}
	if err := syncStaged(dir, staged); err != nil {
		return fmt.Errorf("staging: %w", err)
	}
	if err := h.call("stage"); err != nil {
		return err
	}
	jb, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the journal: %w", err)
	}
	jp := filepath.Join(dir, filepath.FromSlash(journalFile))
	if err := atomic.WriteFileBytes(jp, 0o644, append(jb, '\n')); err != nil {
		return fmt.Errorf("writing the journal: %w", err)
	}
	syncDir(filepath.Dir(jp))
	if err := h.call("journal"); err != nil {
		if !errors.Is(err, errCrash) {
			rollback(dir, &j)
			os.Remove(jp)
		}
		return err
	}
	if err := apply(dir, runDir, &j, h); err != nil {
		if errors.Is(err, errCrash) {
			return err
		}
		if rerr := rollback(dir, &j); rerr != nil {
			return fmt.Errorf("%w; undoing the change also failed, so the journal %s was kept for the next run to undo: %v", err, jp, rerr)
		}
		os.Remove(jp)
		return err
	}
	if err := h.call("commit"); err != nil {
		if !errors.Is(err, errCrash) {
			rollback(dir, &j)
			os.Remove(jp)
		}
		return err
	}
	if err := syncSwapped(dir, paths); err != nil {
		// Not committed: undo.
		if rerr := rollback(dir, &j); rerr != nil {
			return fmt.Errorf("%w; undoing the change also failed, so the journal %s was kept for the next run to undo: %v", err, jp, rerr)
		}
		os.Remove(jp)
		return err
	}
	if err := os.Remove(jp); err != nil {
		// Not committed: undo.
		if rerr := rollback(dir, &j); rerr != nil {
			return fmt.Errorf("removing the journal %s: %w; undoing the change also failed: %v", jp, err, rerr)
		}
		os.Remove(jp)
		return fmt.Errorf("removing the journal %s: %w", jp, err)
	}
	// Committed. What follows is cleanup; its failure changes nothing.
	syncDir(filepath.Dir(jp))
	os.RemoveAll(runDir)
	os.Remove(filepath.Join(dir, filepath.FromSlash(tmpDir)))
	for _, p := range paths {
		if changes[p] == nil {
			removeEmptyParents(dir, p)
		}
	}
	return nil
}

// missingDirs lists the directories (relative, parents first) that written
// paths need and that do not exist.
func missingDirs(dir string, paths []string, changes map[string][]byte) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range paths {
		if changes[p] == nil {
			continue
		}
		var chain []string
		for d := pathDir(p); d != "."; d = pathDir(d) {
			chain = append(chain, d)
		}
		slices.Reverse(chain)
		for _, d := range chain {
			if seen[d] {
				continue
			}
			seen[d] = true
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(d))); errors.Is(err, fs.ErrNotExist) {
				out = append(out, d)
			}
		}
	}
	return out
}

func pathDir(p string) string {
	d := filepath.ToSlash(filepath.Dir(filepath.FromSlash(p)))
	if d == "" {
		return "."
	}
	return d
}

// stageFile writes a staged file: the staging area is the run's own, so
// there is no temporary file; syncStaged flushes it.
func stageFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	// The mode of atomic.WriteFile, whatever the umask.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// apply runs the journal's steps.
func apply(dir, runDir string, j *journal, h hook) error {
	for _, d := range j.Dirs {
		if err := os.Mkdir(filepath.Join(dir, filepath.FromSlash(d)), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("creating %s: %w", d, err)
		}
	}
	made := map[string]bool{}
	for _, o := range j.Ops {
		if err := h.call("op " + o.Path); err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(o.Path))
		if o.Existed {
			backup := filepath.Join(runDir, "old", filepath.FromSlash(o.Path))
			if d := filepath.Dir(backup); !made[d] {
				if err := os.MkdirAll(d, 0o755); err != nil {
					return fmt.Errorf("moving %s aside: %w", o.Path, err)
				}
				made[d] = true
			}
			if err := os.Rename(target, backup); err != nil {
				return fmt.Errorf("moving %s aside: %w", o.Path, err)
			}
		}
		if o.Write {
			staged := filepath.Join(runDir, "new", filepath.FromSlash(o.Path))
			if err := os.Rename(staged, target); err != nil {
				return fmt.Errorf("moving the new %s into place: %w", o.Path, err)
			}
		}
	}
	return nil
}

// rollback undoes a journal's steps, in reverse order, whichever of them
// ran: a file moved aside is moved back (over the new one); a new file where
// none was is removed only once it has left the staging area. It is safe to
// run twice.
func rollback(dir string, j *journal) error {
	runDir := filepath.Join(dir, filepath.FromSlash(tmpDir), j.Run)
	var errs []error
	for i := len(j.Ops) - 1; i >= 0; i-- {
		o := j.Ops[i]
		if err := checkRel(o.Path); err != nil {
			errs = append(errs, fmt.Errorf("journal: %w", err))
			continue
		}
		target := filepath.Join(dir, filepath.FromSlash(o.Path))
		backup := filepath.Join(runDir, "old", filepath.FromSlash(o.Path))
		staged := filepath.Join(runDir, "new", filepath.FromSlash(o.Path))
		switch {
		case o.Existed:
			if _, err := os.Lstat(backup); err == nil {
				if err := os.Rename(backup, target); err != nil {
					errs = append(errs, fmt.Errorf("restoring %s: %w", o.Path, err))
				}
			}
		case o.Write:
			if _, err := os.Lstat(staged); errors.Is(err, fs.ErrNotExist) {
				if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, fmt.Errorf("removing the new %s: %w", o.Path, err))
				}
			}
		}
	}
	for i := len(j.Dirs) - 1; i >= 0; i-- {
		if err := checkRel(j.Dirs[i]); err != nil {
			continue
		}
		os.Remove(filepath.Join(dir, filepath.FromSlash(j.Dirs[i]))) // only when empty
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	syncDir(dir)
	os.RemoveAll(runDir)
	return nil
}

// Recover undoes an emit into dir that was interrupted (killed, or the machine
// stopped) before it committed, restoring the tree it started from, and
// removes leftover temporary files. It reports whether there was anything to
// undo. Apply calls it first.
func Recover(dir string) (bool, error) {
	jp := filepath.Join(dir, filepath.FromSlash(journalFile))
	b, err := os.ReadFile(jp)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Nothing to undo; a run killed before writing its journal or after
		// committing may have left temporary files.
		if err := os.RemoveAll(filepath.Join(dir, filepath.FromSlash(tmpDir))); err != nil {
			return false, fmt.Errorf("removing meshgen's temporary files: %w", err)
		}
		return false, nil
	case err != nil:
		return false, fmt.Errorf("reading the journal of an interrupted emit: %w", err)
	}
	var j journal
	if err := json.Unmarshal(b, &j); err != nil || j.Run == "" || filepath.Base(j.Run) != j.Run {
		return false, fmt.Errorf("the journal %s of an interrupted emit is damaged (%v): compare the tree with %s and remove the journal by hand", jp, err, filepath.Join(dir, filepath.FromSlash(tmpDir)))
	}
	if err := rollback(dir, &j); err != nil {
		return false, fmt.Errorf("undoing an interrupted emit (journal %s): %w", jp, err)
	}
	if err := os.Remove(jp); err != nil {
		return false, fmt.Errorf("removing the journal %s: %w", jp, err)
	}
	if err := os.RemoveAll(filepath.Join(dir, filepath.FromSlash(tmpDir))); err != nil {
		return true, fmt.Errorf("removing meshgen's temporary files: %w", err)
	}
	return true, nil
}

// removeEmptyParents removes the directories of p (below dir) that a prune
// left empty.
func removeEmptyParents(dir, p string) {
	for d := pathDir(p); d != "."; d = pathDir(d) {
		if os.Remove(filepath.Join(dir, filepath.FromSlash(d))) != nil {
			return
		}
	}
}

// syncDir flushes a directory's entries to disk, where the platform allows.
func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		f.Sync()
		f.Close()
	}
}
