package repo

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/meshgen/meshgen/synth"
	"github.com/meshgen/meshgen/synth/render"
)

// KustomizationFile is the name of the kustomization in each namespace
// directory.
const KustomizationFile = "kustomization.yaml"

// HasHeader reports whether the first non-blank line of b is meshgen's
// header comment (render.ManagedMarker).
func HasHeader(b []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		return strings.HasPrefix(line, render.ManagedMarker)
	}
	return false
}

// IsManaged reports whether the file at name (its base name decides whether
// it is a kustomization) with content b is one meshgen manages: it starts
// with meshgen's header comment and, unless it is a kustomization, every
// object in it carries the label app.kubernetes.io/managed-by: meshgen. A
// file that lacks either was written or taken over by a person.
func IsManaged(name string, b []byte) bool {
	if !HasHeader(b) {
		return false
	}
	if baseName(name) == KustomizationFile {
		return true
	}
	return allLabelled(b)
}

// allLabelled reports whether b holds at least one YAML document and every
// document carries the managed-by label.
func allLabelled(b []byte) bool {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	n := 0
	for {
		var doc struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
		}
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return n > 0
		}
		if err != nil {
			return false
		}
		if doc.Metadata.Labels[synth.LabelManagedBy] != synth.ManagedByValue {
			return false
		}
		n++
	}
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}
