package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// doc is one object of a multi-document YAML stream.
type doc struct {
	index int // 1-based position in the stream, counting empty documents
	line  int // 1-based line where the document starts
	obj   *unstructured.Unstructured
}

func (d doc) String() string {
	name := d.obj.GetName()
	if ns := d.obj.GetNamespace(); ns != "" {
		name = ns + "/" + name
	}
	return fmt.Sprintf("document %d at line %d (%s %s)", d.index, d.line, d.obj.GetKind(), name)
}

// splitDocs splits YAML at "---" lines, returning each document with the line it starts on.
func splitDocs(b []byte) (docs [][]byte, lines []int) {
	start, startLine := 0, 1
	line := 1
	for i := 0; i <= len(b); {
		end := bytes.IndexByte(b[i:], '\n')
		next := len(b) + 1
		if end >= 0 {
			next = i + end + 1
		}
		l := b[i:min(next, len(b))]
		if t := bytes.TrimRight(l, " \t\r\n"); bytes.Equal(t, []byte("---")) || bytes.HasPrefix(l, []byte("--- ")) {
			docs, lines = append(docs, b[start:i]), append(lines, startLine)
			start, startLine = min(next, len(b)), line+1
		}
		i = next
		line++
	}
	return append(docs, b[start:]), append(lines, startLine)
}

// decodeDocs splits multi-document YAML into objects, passing over empty and comment-only documents.
func decodeDocs(b []byte) ([]doc, error) {
	raws, lines := splitDocs(b)
	var docs []doc
	for i, raw := range raws {
		n, line := i+1, lines[i]
		j, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("parsing document %d at line %d: %w", n, line, err)
		}
		if t := bytes.TrimSpace(j); len(t) == 0 || bytes.Equal(t, []byte("null")) {
			continue
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(j); err != nil {
			return nil, fmt.Errorf("decoding document %d at line %d: %w", n, line, err)
		}
		if obj.GetName() == "" {
			return nil, fmt.Errorf("document %d at line %d (%s): metadata.name is empty", n, line, obj.GetKind())
		}
		docs = append(docs, doc{index: n, line: line, obj: obj})
	}
	return docs, nil
}

// Apply server-side applies every object of multi-document YAML, in order. Namespaced objects
// must name their namespace, which must exist (see Namespace). The error names the document and
// carries the server's message.
func (k *KubeServer) Apply(t testing.TB, ctx context.Context, yamlDocs []byte) error {
	t.Helper()
	n, err := k.apply(ctx, yamlDocs, false)
	if err == nil {
		t.Logf("testenv: applied %d objects", n)
	}
	return err
}

// DryRunApply server-side applies every object of multi-document YAML with dryRun=All, so that the
// CRD schemas and CEL rules judge them without storing anything, and returns the server's
// rejections (all of them, joined). Namespaces that the objects name are created if missing,
// because admission rejects objects in a missing namespace even in a dry run.
func (k *KubeServer) DryRunApply(ctx context.Context, yamlDocs []byte) error {
	_, err := k.apply(ctx, yamlDocs, true)
	return err
}

func (k *KubeServer) apply(ctx context.Context, yamlDocs []byte, dryRun bool) (int, error) {
	docs, err := decodeDocs(yamlDocs)
	if err != nil {
		return 0, err
	}
	if len(docs) == 0 {
		return 0, errors.New("applying manifests: no objects in the YAML")
	}
	var errs []error
	for _, d := range docs {
		err := k.applyDoc(ctx, d, dryRun)
		if err == nil {
			continue
		}
		if !dryRun {
			return 0, err
		}
		errs = append(errs, err)
	}
	return len(docs), errors.Join(errs...)
}

func (k *KubeServer) applyDoc(ctx context.Context, d doc, dryRun bool) error {
	e := k.env
	gvk := d.obj.GroupVersionKind()
	mapping, err := e.mapper.RESTMappingWithContext(ctx, gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		// A CRD installed after the mapper first read discovery: read it again.
		e.mapper.ResetWithContext(ctx)
		mapping, err = e.mapper.RESTMappingWithContext(ctx, gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return fmt.Errorf("applying %s: %w", d, err)
	}
	var ri dynamic.ResourceInterface = e.dyn.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := d.obj.GetNamespace()
		if ns == "" {
			return fmt.Errorf("applying %s: metadata.namespace is empty for a namespaced kind", d)
		}
		ri = e.dyn.Resource(mapping.Resource).Namespace(ns)
		if dryRun {
			if err := k.ensureNamespace(ctx, ns); err != nil {
				return fmt.Errorf("applying %s: %w", d, err)
			}
		}
	}
	data, err := d.obj.MarshalJSON()
	if err != nil {
		return fmt.Errorf("applying %s: encoding: %w", d, err)
	}
	opts := metav1.PatchOptions{FieldManager: fieldManager, Force: new(true), FieldValidation: metav1.FieldValidationStrict}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if _, err := ri.Patch(ctx, d.obj.GetName(), types.ApplyPatchType, data, opts); err != nil {
		return fmt.Errorf("applying %s: %w", d, err)
	}
	return nil
}

// ensureNamespace creates namespace ns unless it exists.
func (k *KubeServer) ensureNamespace(ctx context.Context, ns string) error {
	if _, ok := k.env.namespaces.Load(ns); ok {
		return nil
	}
	_, err := k.env.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", ns, err)
	}
	k.env.namespaces.Store(ns, true)
	return nil
}
