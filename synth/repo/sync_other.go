//go:build !linux

package repo

import (
	"fmt"
	"os"
	"path/filepath"
)

// syncStaged makes the staged files durable, one fsync each (there is no
// syncfs(2) here).
func syncStaged(_ string, files []string) error {
	for _, p := range files {
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("flushing %s to disk: %w", p, err)
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return fmt.Errorf("flushing %s to disk: %w", p, err)
		}
	}
	return nil
}

// syncSwapped makes the renames of the swap durable: an fsync of each
// directory that holds a target.
func syncSwapped(dir string, paths []string) error {
	syncParents(dir, paths)
	return nil
}

// syncParents flushes the directories holding paths, so that the renames
// are on disk before the journal goes.
func syncParents(dir string, paths []string) {
	seen := map[string]bool{}
	for _, p := range paths {
		d := pathDir(p)
		if !seen[d] {
			seen[d] = true
			syncDir(filepath.Join(dir, filepath.FromSlash(d)))
		}
	}
	syncDir(dir)
}
