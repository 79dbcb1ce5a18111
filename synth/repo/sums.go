package repo

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/meshgen/meshgen/observe/badinput"
)

// StateDir is the directory under the policy directory where meshgen keeps
// its state. Policy loaders skip dot-directories, and no file in it ends in
// .yaml or .json, so kubectl apply -R, Argo CD and Flux ignore it.
const StateDir = ".meshgen"

// SumsFile is the file, relative to the policy directory, that records the
// SHA-256 of every file meshgen wrote, in the format of sha256sum(1): one
// "<hex>  <path>" line per file, sorted by path, so that it diffs well and
// `sha256sum -c .meshgen/SHA256SUMS` (run in the policy directory) tells
// which managed files were edited.
const SumsFile = StateDir + "/SHA256SUMS"

// gitignoreFile keeps meshgen's temporary files out of Git should a run be
// killed before it cleans up.
const gitignoreFile = StateDir + "/.gitignore"

const gitignoreContent = "# meshgen's temporary files while emit runs; SHA256SUMS is meant to be committed.\n/tmp/\n/journal\n"

// sum returns the hex SHA-256 of b.
func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// readSums reads SumsFile under dir; a missing file is an empty record.
func readSums(dir string) (map[string]string, error) {
	p := filepath.Join(dir, filepath.FromSlash(SumsFile))
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	return parseSums(p, b)
}

// parseSums reads sha256sum(1) output: "<64 hex>  <path>" or
// "<64 hex> *<path>" per line. name is used in errors.
func parseSums(name string, b []byte) (map[string]string, error) {
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimRight(sc.Text(), "\r")
		if text == "" {
			continue
		}
		hexsum, rest, ok := strings.Cut(text, " ")
		if !ok || len(hexsum) != 64 || (!strings.HasPrefix(rest, " ") && !strings.HasPrefix(rest, "*")) {
			return nil, badinput.Errorf("%s:%d: want \"<sha256>  <path>\" as sha256sum writes it; delete the file to start over (managed files then need emit --force once)", name, line)
		}
		if _, err := hex.DecodeString(hexsum); err != nil {
			return nil, badinput.Errorf("%s:%d: %q is not a hex SHA-256", name, line, hexsum)
		}
		p := rest[1:]
		if err := checkRel(p); err != nil {
			return nil, badinput.Errorf("%s:%d: %w", name, line, err)
		}
		sums[p] = strings.ToLower(hexsum)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return sums, nil
}

// formatSums renders the record, sorted by path.
func formatSums(sums map[string]string) []byte {
	paths := make([]string, 0, len(sums))
	for p := range sums {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	var b bytes.Buffer
	for _, p := range paths {
		fmt.Fprintf(&b, "%s  %s\n", sums[p], p)
	}
	return b.Bytes()
}

// checkRel rejects paths that would leave the policy directory.
func checkRel(p string) error {
	if p == "" || path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, `\`) {
		return fmt.Errorf("path %q is not a clean relative path", p)
	}
	return nil
}
