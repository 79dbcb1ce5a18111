package repo

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	yaml "go.yaml.in/yaml/v3"
)

// kustomization is a parsed kustomization.yaml.
type kustomization struct {
	doc       *yaml.Node // the document node
	root      *yaml.Node // its mapping
	resources *yaml.Node // the resources sequence, nil when absent
}

func parseKustomization(b []byte) (*kustomization, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("not a YAML mapping")
	}
	k := &kustomization{doc: &doc, root: doc.Content[0]}
	for i := 0; i+1 < len(k.root.Content); i += 2 {
		if k.root.Content[i].Value == "resources" {
			if k.root.Content[i+1].Kind != yaml.SequenceNode {
				return nil, errors.New("resources is not a list")
			}
			k.resources = k.root.Content[i+1]
		}
	}
	return k, nil
}

// entries returns the resource entries.
func (k *kustomization) entries() []string {
	if k.resources == nil {
		return nil
	}
	var out []string
	for _, n := range k.resources.Content {
		out = append(out, n.Value)
	}
	return out
}

// mergeKustomization computes a meshgen-owned kustomization.yaml: want (what
// the renderer made; nil when meshgen writes nothing in the namespace any
// more) with what a person added to have kept: resource entries that are not
// meshgen's files (ours reports those) and any other keys (patches,
// namePrefix, ...), with their comments. Meshgen's entries come first, in
// the renderer's order, then the person's, in their order. When the person
// added nothing the result is want byte for byte; when want is nil and the
// person added nothing, the result is nil (the file is pruned).
func mergeKustomization(have, want []byte, ours func(string) bool) ([]byte, error) {
	h, err := parseKustomization(have)
	if err != nil {
		return nil, fmt.Errorf("it does not parse: %w", err)
	}
	var personal []*yaml.Node
	if h.resources != nil {
		for _, n := range h.resources.Content {
			if n.Kind != yaml.ScalarNode || !ours(n.Value) {
				personal = append(personal, n)
			}
		}
	}
	extra := false
	for i := 0; i+1 < len(h.root.Content); i += 2 {
		switch h.root.Content[i].Value {
		case "apiVersion", "kind", "resources":
		default:
			extra = true
		}
	}
	if len(personal) == 0 && !extra {
		return want, nil
	}
	var wantNames []string
	if want != nil {
		w, err := parseKustomization(want)
		if err != nil {
			return nil, fmt.Errorf("parsing meshgen's own kustomization: %w", err)
		}
		wantNames = w.entries()
		h.root.HeadComment = w.root.HeadComment
	}
	seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, name := range wantNames {
		seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name})
	}
	for _, n := range personal {
		if n.Kind == yaml.ScalarNode && slices.Contains(wantNames, n.Value) {
			continue
		}
		seq.Content = append(seq.Content, n)
	}
	if h.resources != nil {
		h.resources.Content = seq.Content
	} else {
		h.root.Content = append(h.root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "resources"}, seq)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	enc.CompactSeqIndent()
	if err := enc.Encode(h.doc); err != nil {
		return nil, fmt.Errorf("encoding: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding: %w", err)
	}
	return buf.Bytes(), nil
}

// missingEntries lists the names that a person's kustomization (not
// meshgen's) lacks.
func missingEntries(have []byte, names []string) ([]string, error) {
	k, err := parseKustomization(have)
	if err != nil {
		return nil, err
	}
	present := k.entries()
	var missing []string
	for _, n := range names {
		if !slices.Contains(present, n) {
			missing = append(missing, n)
		}
	}
	return missing, nil
}
