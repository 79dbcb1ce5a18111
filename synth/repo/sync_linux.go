package repo

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// syncStaged makes the staged files durable: one syncfs(2) of the file
// system that holds dir (the staging area is inside dir), instead of an
// fsync per file, which costs a journal commit each on ext4.
func syncStaged(dir string, _ []string) error { return syncFS(dir) }

// syncSwapped makes the renames of the swap durable: one syncfs(2).
func syncSwapped(dir string, _ []string) error { return syncFS(dir) }

func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("flushing %s to disk: %w", dir, err)
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("flushing the file system of %s to disk: %w", dir, err)
	}
	return nil
}
