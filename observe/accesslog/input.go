package accesslog

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/meshgen/meshgen/observe/badinput"
)

// Role is what kind of proxy a pod runs.
type Role string

// Roles of a Pod.
const (
	// RoleSidecar: an application pod's istio-proxy sidecar, or a gateway.
	// Its inbound lines are calls to this pod, its outbound lines calls
	// from it.
	RoleSidecar Role = "sidecar"
	// RoleWaypoint: a waypoint proxy; its lines name both ends themselves.
	RoleWaypoint Role = "waypoint"
	// RoleZtunnel: a ztunnel; its lines name both ends themselves.
	RoleZtunnel Role = "ztunnel"
)

// Pod is the pod an input's lines were read from.
type Pod struct {
	Namespace string
	Name      string
	Container string
	// Workload is the workload name as Istio reports it; when empty it is
	// derived from Name through the inventory or the name's shape.
	Workload string
	Role     Role
}

// Input is one source of lines: a file, stdin, or a pod's log stream.
type Input struct {
	// Name identifies the input in errors and in the snapshot's sources
	// (a file path, "-" for stdin, "pod/<ns>/<name>/<container>").
	Name string
	// Open returns the stream of lines. It is called once, when the input's
	// turn comes. gzip-compressed content is recognized by its magic bytes
	// and decompressed.
	Open func(ctx context.Context) (io.ReadCloser, error)
	// Pod is the pod the lines come from, when known.
	Pod *Pod
}

// Files expands --access-log values into inputs: "-" is stdin (at most
// once), a value with glob metacharacters (* ? [) is a pattern that must
// match at least one file, anything else a file that must exist. Files are
// opened only when read; gzip files (by content, whatever their name) are
// decompressed as they are read.
func Files(values []string, stdin io.Reader) ([]Input, error) {
	var out []Input
	seen := map[string]bool{}
	add := func(path string) {
		if !seen[path] {
			seen[path] = true
			out = append(out, fileInput(path))
		}
	}
	for _, v := range values {
		switch {
		case v == "":
			return nil, badinput.Errorf("--%s: empty path", FlagAccessLog)
		case v == "-":
			if seen["-"] {
				return nil, badinput.Errorf("--%s -: standard input can be read only once", FlagAccessLog)
			}
			seen["-"] = true
			if stdin == nil {
				stdin = os.Stdin
			}
			in := stdin
			out = append(out, Input{Name: "-", Open: func(context.Context) (io.ReadCloser, error) {
				return io.NopCloser(in), nil
			}})
		case strings.ContainsAny(v, "*?["):
			matches, err := filepath.Glob(v)
			if err != nil {
				return nil, badinput.Errorf("--%s %q: %w", FlagAccessLog, v, err)
			}
			var files []string
			for _, m := range matches {
				if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() {
					files = append(files, m)
				}
			}
			if len(files) == 0 {
				return nil, badinput.Errorf("--%s %q matches no file", FlagAccessLog, v)
			}
			slices.Sort(files)
			for _, f := range files {
				add(f)
			}
		default:
			fi, err := os.Stat(v)
			if err != nil {
				return nil, badinput.Errorf("--%s: %w", FlagAccessLog, err)
			}
			if fi.IsDir() {
				return nil, badinput.Errorf("--%s %s is a directory; give a pattern such as %s", FlagAccessLog, v, filepath.Join(v, "*.log"))
			}
			add(v)
		}
	}
	return out, nil
}

func fileInput(path string) Input {
	return Input{Name: path, Open: func(context.Context) (io.ReadCloser, error) {
		f, err := os.Open(path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
				return nil, badinput.Mark(err)
			}
			return nil, err
		}
		return f, nil
	}}
}

// openStream opens an input and wraps it in a gzip reader when it starts
// with gzip's magic bytes.
func openStream(ctx context.Context, in *Input) (io.Reader, io.Closer, error) {
	rc, err := in.Open(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("opening access log %s: %w", in.Name, err)
	}
	br := bufio.NewReaderSize(rc, 256<<10)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			rc.Close()
			return nil, nil, badinput.Errorf("reading access log %s: damaged gzip stream: %w", in.Name, err)
		}
		return zr, rc, nil
	}
	return br, rc, nil
}
