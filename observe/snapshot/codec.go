package snapshot

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/meshgen/meshgen/observe/atomic"
	"github.com/meshgen/meshgen/observe/badinput"
)

// ErrVersion is wrapped by read errors about an unsupported schema version.
var ErrVersion = badinput.New("unsupported snapshot version")

// ErrDamaged is wrapped by read errors about a file that is not a valid snapshot.
var ErrDamaged = badinput.New("damaged snapshot")

// ReadFile reads and validates a snapshot; a name ending in .gz is decompressed.
func ReadFile(path string) (*Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening snapshot: %w", err)
	}
	defer f.Close()
	var r io.Reader = bufio.NewReaderSize(f, 1<<16)
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("reading snapshot %s: %w: %w", path, ErrDamaged, err)
		}
		defer zr.Close()
		r = zr
	}
	s, err := Read(r)
	if err != nil {
		return nil, fmt.Errorf("reading snapshot %s: %w", path, err)
	}
	return s, nil
}

// lineCounter records the offsets of newlines that pass through it, so that a
// decode error's byte offset can be turned into a line number.
type lineCounter struct {
	r        io.Reader
	off      int64
	newlines []int64
}

func (l *lineCounter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i := 0; i < n; {
		j := bytes.IndexByte(p[i:n], '\n')
		if j < 0 {
			break
		}
		l.newlines = append(l.newlines, l.off+int64(i+j))
		i += j + 1
	}
	l.off += int64(n)
	return n, err
}

func (l *lineCounter) line(off int64) int {
	return sort.Search(len(l.newlines), func(i int) bool { return l.newlines[i] >= off }) + 1
}

// Read decodes a snapshot from r, checking its header before its body, and
// validates it. Edges are decoded one at a time.
func Read(r io.Reader) (*Snapshot, error) {
	lc := &lineCounter{r: r}
	dec := json.NewDecoder(lc)
	dec.DisallowUnknownFields()
	s := &Snapshot{}
	damaged := func(err error) error {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return fmt.Errorf("%w: line %d: %w", ErrDamaged, lc.line(se.Offset), err)
		case errors.As(err, &te):
			return fmt.Errorf("%w: line %d: %w", ErrDamaged, lc.line(te.Offset), err)
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			return fmt.Errorf("%w: truncated at line %d", ErrDamaged, lc.line(lc.off))
		default:
			return fmt.Errorf("%w: line %d: %w", ErrDamaged, lc.line(dec.InputOffset()), err)
		}
	}
	if err := expectDelim(dec, '{'); err != nil {
		return nil, damaged(err)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, damaged(err)
		}
		key, _ := tok.(string)
		if seen[key] {
			return nil, fmt.Errorf("%w: line %d: key %q appears twice", ErrDamaged, lc.line(dec.InputOffset()), key)
		}
		seen[key] = true
		if key != "apiVersion" && key != "kind" && !seen["apiVersion"] {
			return nil, fmt.Errorf("%w: the file must start with apiVersion and kind", ErrDamaged)
		}
		switch key {
		case "apiVersion":
			if err := dec.Decode(&s.APIVersion); err != nil {
				return nil, damaged(err)
			}
			if err := checkVersion(s.APIVersion); err != nil {
				return nil, err
			}
		case "kind":
			if err := dec.Decode(&s.Kind); err != nil {
				return nil, damaged(err)
			}
			if s.Kind != Kind {
				return nil, fmt.Errorf("%w: kind is %q, want %q", ErrDamaged, s.Kind, Kind)
			}
		case "metadata":
			if err := dec.Decode(&s.Metadata); err != nil {
				return nil, damaged(err)
			}
		case "inventory":
			if err := dec.Decode(&s.Inventory); err != nil {
				return nil, damaged(err)
			}
		case "edges":
			if err := expectDelim(dec, '['); err != nil {
				return nil, damaged(err)
			}
			// Edges are decoded in place into blocks, which are joined once
			// at the end: appending each edge to one growing slice copies
			// every edge again at each doubling, and with hundreds of
			// thousands of edges that copying (of fresh memory) cost a
			// third of the time of Read.
			var blocks [][]Edge
			cur := make([]Edge, 0, 256)
			n := 0
			for dec.More() {
				if len(cur) == cap(cur) {
					blocks = append(blocks, cur)
					cur = make([]Edge, 0, min(2*cap(cur), 1<<14))
				}
				cur = append(cur, Edge{})
				if err := dec.Decode(&cur[len(cur)-1]); err != nil {
					return nil, damaged(err)
				}
				n++
			}
			if n > 0 {
				s.Edges = make([]Edge, 0, n)
				for _, b := range append(blocks, cur) {
					s.Edges = append(s.Edges, b...)
				}
			}
			if err := expectDelim(dec, ']'); err != nil {
				return nil, damaged(err)
			}
		default:
			return nil, fmt.Errorf("%w: line %d: unknown field %q", ErrDamaged, lc.line(dec.InputOffset()), key)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, damaged(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the end of the snapshot at line %d", ErrDamaged, lc.line(dec.InputOffset()))
	}
	if s.Kind == "" {
		return nil, fmt.Errorf("%w: kind is missing", ErrDamaged)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	return s, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("expected %q, found %v", want, tok)
	}
	return nil
}

// knownVersions are the schema versions this meshgen reads, oldest first.
var knownVersions = []string{APIVersion}

func checkVersion(v string) error {
	for _, k := range knownVersions {
		if v == k {
			return nil
		}
	}
	group, _, ok := strings.Cut(v, "/")
	if ok && group == "meshgen.dev" {
		return fmt.Errorf("%w: apiVersion %q is not one this meshgen reads (%s); a newer meshgen wrote it, upgrade meshgen",
			ErrVersion, v, strings.Join(knownVersions, ", "))
	}
	return fmt.Errorf("%w: apiVersion %q is not a meshgen snapshot (want %s)", ErrVersion, v, APIVersion)
}

// Write encodes s in canonical form: header and inventory indented, one edge
// per line, so that the file diffs well in Git. s is normalised first.
func Write(w io.Writer, s *Snapshot) error {
	s.Normalize()
	bw := bufio.NewWriterSize(w, 1<<16)
	fmt.Fprintf(bw, "{\n  \"apiVersion\": %q,\n  \"kind\": %q,\n", s.APIVersion, s.Kind)
	if err := writeIndented(bw, "metadata", s.Metadata); err != nil {
		return err
	}
	if err := writeIndented(bw, "inventory", s.Inventory); err != nil {
		return err
	}
	bw.WriteString("  \"edges\": [")
	for i := range s.Edges {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n    ")
		b, err := marshalCompact(&s.Edges[i])
		if err != nil {
			return fmt.Errorf("encoding edge %d: %w", i, err)
		}
		bw.Write(b)
	}
	if len(s.Edges) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]\n}\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing snapshot: %w", err)
	}
	return nil
}

func marshalCompact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func writeIndented(bw *bufio.Writer, key string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("  ", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encoding %s: %w", key, err)
	}
	fmt.Fprintf(bw, "  %q: ", key)
	bw.Write(bytes.TrimRight(buf.Bytes(), "\n"))
	bw.WriteString(",\n")
	return nil
}

// WriteFile writes s to path atomically; a name ending in .gz is compressed.
func WriteFile(path string, s *Snapshot) error {
	return atomic.WriteFile(path, 0o644, func(w io.Writer) error {
		if !strings.HasSuffix(path, ".gz") {
			return Write(w, s)
		}
		zw := gzip.NewWriter(w)
		if err := Write(zw, s); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return fmt.Errorf("compressing snapshot: %w", err)
		}
		return nil
	})
}
