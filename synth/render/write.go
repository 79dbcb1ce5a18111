package render

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/meshgen/meshgen/observe/atomic"
)

// WriteDir writes files (relative, slash-separated paths) under dir, each
// atomically, creating directories as needed. It touches no other file. The
// caller builds the complete set first, so nothing is written when rendering
// fails.
func WriteDir(dir string, files map[string][]byte) error {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("writing policies: %w", err)
		}
		if err := atomic.WriteFileBytes(p, 0o644, files[name]); err != nil {
			return fmt.Errorf("writing policies: %w", err)
		}
	}
	return nil
}
