package policyset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"

	"github.com/meshgen/meshgen/observe/badinput"
	"github.com/meshgen/meshgen/synth/eval"
)

// Group is the API group of Istio's security policies.
const Group = "security.istio.io"

// Kinds this package loads.
const (
	KindAuthorizationPolicy = "AuthorizationPolicy"
	KindPeerAuthentication  = "PeerAuthentication"
)

// Object is one document (or one item of a List document) of a policy
// directory, kept so that diff can point at where a policy came from.
type Object struct {
	// File is the path of the file (dir joined with the relative path).
	File string
	// Document is the 0-based index of the YAML document in File.
	Document int
	// Line is the 1-based line where the object starts in File.
	Line       int
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	// Skipped is true for documents of other kinds (Deployments,
	// RequestAuthentications, ...): they are listed, not loaded.
	Skipped bool
	// Exactly one of these is set for a loaded object. v1beta1 objects are
	// converted to v1 (the schema is the same); APIVersion keeps what the
	// file said.
	AuthorizationPolicy *securityv1.AuthorizationPolicy
	PeerAuthentication  *securityv1.PeerAuthentication
	// Raw is the object's YAML as written.
	Raw []byte
}

// Location renders "file:line".
func (o Object) Location() string { return fmt.Sprintf("%s:%d", o.File, o.Line) }

// Skipped counts the skipped objects.
func Skipped(objs []Object) int {
	n := 0
	for _, o := range objs {
		if o.Skipped {
			n++
		}
	}
	return n
}

// FromObjects builds a policy set from the loaded objects, in order.
func FromObjects(objs []Object) *eval.PolicySet {
	ps := &eval.PolicySet{}
	for _, o := range objs {
		switch {
		case o.AuthorizationPolicy != nil:
			ps.AuthorizationPolicies = append(ps.AuthorizationPolicies, o.AuthorizationPolicy)
		case o.PeerAuthentication != nil:
			ps.PeerAuthentications = append(ps.PeerAuthentications, o.PeerAuthentication)
		}
	}
	return ps
}

// configFile is synth/config.FileName, emit's settings in a policy
// repository, which is not a policy.
const configFile = "meshgen.yaml"

// LoadDir reads every *.yaml and *.yml file under dir (recursively, in
// lexical order; dot-directories, kustomization files and dir/meshgen.yaml
// are skipped), or
// dir itself when it is a file. Files may hold several documents and List
// documents. AuthorizationPolicy and PeerAuthentication of
// security.istio.io/v1 and v1beta1 are decoded strictly (an unknown field is
// an error naming file and line); other kinds are returned with Skipped set.
// Errors in the input are marked bad input.
func LoadDir(dir string) (*eval.PolicySet, []Object, error) {
	files, err := listFiles(dir)
	if err != nil {
		return nil, nil, err
	}
	var objs []Object
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, badinput.Errorf("reading policies: %w", err)
		}
		o, err := Parse(f, data)
		if err != nil {
			return nil, nil, err
		}
		objs = append(objs, o...)
	}
	if err := checkDuplicates(objs); err != nil {
		return nil, nil, err
	}
	return FromObjects(objs), objs, nil
}

func listFiles(dir string) ([]string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, badinput.Errorf("reading policies: %w", err)
	}
	if !st.IsDir() {
		return []string{dir}, nil
	}
	var files []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != dir && strings.HasPrefix(name, ".") {
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(name)
		if ext != ".yaml" && ext != ".yml" {
			return nil
		}
		if base := strings.TrimSuffix(name, ext); base == "kustomization" || base == "Kustomization" {
			return nil
		}
		if name == configFile && filepath.Dir(p) == filepath.Clean(dir) {
			return nil // emit's settings (synth/config) at the top of a policy repository
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		return nil, badinput.Errorf("reading policies from %s: %w", dir, err)
	}
	return files, nil
}

func checkDuplicates(objs []Object) error {
	seen := map[[3]string]Object{}
	for _, o := range objs {
		if o.Skipped {
			continue
		}
		k := [3]string{o.Kind, o.Namespace, o.Name}
		if prev, ok := seen[k]; ok {
			return badinput.Errorf("%s: %s %s/%s is also defined at %s", o.Location(), o.Kind, o.Namespace, o.Name, prev.Location())
		}
		seen[k] = o
	}
	return nil
}

// Parse decodes the YAML documents of one file; name is used in errors.
func Parse(name string, data []byte) ([]Object, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var objs []Object
	for doc := 0; ; doc++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, yamlError(name, doc, err)
		}
		if len(n.Content) == 0 {
			continue
		}
		root := n.Content[0]
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			continue // an empty document
		}
		o, err := parseObject(name, doc, root, data, true)
		if err != nil {
			return nil, err
		}
		objs = append(objs, o...)
	}
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlError renders a YAML syntax error as "file:line: message".
func yamlError(name string, doc int, err error) error {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		return badinput.Errorf("%s:%s: %s", name, m[1], strings.TrimPrefix(err.Error(), m[0]))
	}
	return badinput.Errorf("%s: document %d: %w", name, doc+1, err)
}

// docError is a bad-input error at file:line.
func docError(name string, n *yaml.Node, format string, a ...any) error {
	return badinput.Errorf("%s:%d: %s", name, n.Line, fmt.Sprintf(format, a...))
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalar(m *yaml.Node, key string) string {
	if v := mappingValue(m, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

func parseObject(name string, doc int, n *yaml.Node, data []byte, allowList bool) ([]Object, error) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return nil, docError(name, n, "document %d is not a Kubernetes object (a YAML mapping)", doc+1)
	}
	apiVersion, kind := scalar(n, "apiVersion"), scalar(n, "kind")
	if kind == "" {
		return nil, docError(name, n, "document %d has no kind", doc+1)
	}
	if allowList && strings.HasSuffix(kind, "List") && mappingValue(n, "items") != nil {
		items := mappingValue(n, "items")
		if items.Kind != yaml.SequenceNode {
			return nil, docError(name, items, "items of %s is not a list", kind)
		}
		var out []Object
		for _, it := range items.Content {
			o, err := parseObject(name, doc, it, data, false)
			if err != nil {
				return nil, err
			}
			out = append(out, o...)
		}
		return out, nil
	}
	o := Object{
		File:       name,
		Document:   doc,
		Line:       n.Line,
		APIVersion: apiVersion,
		Kind:       kind,
		Raw:        rawOf(n),
	}
	if md := mappingValue(n, "metadata"); md != nil && md.Kind == yaml.MappingNode {
		o.Namespace, o.Name = scalar(md, "namespace"), scalar(md, "name")
	}
	group, version, _ := strings.Cut(apiVersion, "/")
	if group != Group || (kind != KindAuthorizationPolicy && kind != KindPeerAuthentication) {
		o.Skipped = true
		return []Object{o}, nil
	}
	if version != "v1" && version != "v1beta1" {
		return nil, docError(name, n, "%s %s/%s: apiVersion %s is not supported (use %s/v1 or %s/v1beta1)", kind, o.Namespace, o.Name, apiVersion, Group, Group)
	}
	meta, spec, err := decodeEnvelope(name, n)
	if err != nil {
		return nil, err
	}
	o.Namespace, o.Name = meta.Namespace, meta.Name
	if meta.Name == "" {
		return nil, docError(name, n, "%s without metadata.name", kind)
	}
	if meta.Namespace == "" {
		return nil, docError(name, n, "%s %s has no metadata.namespace", kind, meta.Name)
	}
	switch kind {
	case KindAuthorizationPolicy:
		ap := &securityv1.AuthorizationPolicy{ObjectMeta: meta}
		ap.APIVersion, ap.Kind = Group+"/v1", kind
		if err := decodeSpec(name, spec, &ap.Spec); err != nil {
			return nil, err
		}
		o.AuthorizationPolicy = ap
	case KindPeerAuthentication:
		pa := &securityv1.PeerAuthentication{ObjectMeta: meta}
		pa.APIVersion, pa.Kind = Group+"/v1", kind
		if err := decodeSpec(name, spec, &pa.Spec); err != nil {
			return nil, err
		}
		o.PeerAuthentication = pa
	}
	return []Object{o}, nil
}

// rawOf re-encodes an object node (comments included).
func rawOf(n *yaml.Node) []byte {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil
	}
	_ = enc.Close()
	return b.Bytes()
}

var topLevel = []string{"apiVersion", "kind", "metadata", "spec", "status"}

// decodeEnvelope checks the top-level fields and decodes metadata strictly.
func decodeEnvelope(name string, n *yaml.Node) (metav1.ObjectMeta, *yaml.Node, error) {
	var meta metav1.ObjectMeta
	var spec *yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			return meta, nil, docError(name, k, "duplicate field %q", k.Value)
		}
		seen[k.Value] = true
		if !slices.Contains(topLevel, k.Value) {
			return meta, nil, docError(name, k, "unknown field %q", k.Value)
		}
		switch k.Value {
		case "metadata":
			j, err := nodeJSON(name, v)
			if err != nil {
				return meta, nil, err
			}
			// Case-sensitive and strict, as the API server decodes.
			strict, err := kjson.UnmarshalStrict(j, &meta)
			if err == nil && len(strict) > 0 {
				err = strict[0]
			}
			if err != nil {
				at := v
				if f := unknownJSONField(err); f != "" {
					if kn := findKey(v, f); kn != nil {
						at = kn
					}
				}
				return meta, nil, docError(name, at, "metadata: %s", strings.TrimPrefix(err.Error(), "json: "))
			}
		case "spec":
			spec = v
		}
	}
	return meta, spec, nil
}

var unknownFieldRE = regexp.MustCompile(`unknown field "([^"]*)"`)

func unknownJSONField(err error) string {
	if m := unknownFieldRE.FindStringSubmatch(err.Error()); m != nil {
		return m[1]
	}
	return ""
}

// findKey finds the first mapping key named key under n.
func findKey(n *yaml.Node, key string) *yaml.Node {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i]
			}
			if f := findKey(n.Content[i+1], key); f != nil {
				return f
			}
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			if f := findKey(c, key); f != nil {
				return f
			}
		}
	}
	return nil
}

var protojsonNoiseRE = regexp.MustCompile(`^proto:[\s\x{00a0}]*|\(line \d+:\d+\):[\s\x{00a0}]*`)

// decodeSpec decodes a spec strictly: every field must exist in the schema
// (checked on the YAML, for the line), then protojson decodes the values.
func decodeSpec(name string, spec *yaml.Node, msg proto.Message) error {
	if spec == nil {
		return nil
	}
	if spec.Kind == yaml.ScalarNode && spec.Tag == "!!null" {
		return nil
	}
	budget := maxNodes
	if err := checkFields(name, spec, msg.ProtoReflect().Descriptor(), "spec", &budget); err != nil {
		return err
	}
	j, err := nodeJSON(name, spec)
	if err != nil {
		return err
	}
	if err := (protojson.UnmarshalOptions{}).Unmarshal(j, msg); err != nil {
		return docError(name, spec, "spec: %s", protojsonNoiseRE.ReplaceAllString(err.Error(), ""))
	}
	return nil
}

// checkFields walks a YAML mapping along a protobuf message descriptor and
// reports the first field the schema does not have.
func checkFields(name string, n *yaml.Node, md protoreflect.MessageDescriptor, where string, budget *int) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if *budget -= len(n.Content) + 1; *budget < 0 {
		return docError(name, n, "document expands to more than %d YAML nodes", maxNodes)
	}
	if n.Kind != yaml.MappingNode {
		return nil // a type error; protojson reports it
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		fd := md.Fields().ByJSONName(k.Value)
		if fd == nil {
			fd = md.Fields().ByName(protoreflect.Name(k.Value))
		}
		if fd == nil {
			return docError(name, k, "unknown field %q in %s", k.Value, where)
		}
		if seen[string(fd.Name())] {
			return docError(name, k, "duplicate field %q in %s", k.Value, where)
		}
		seen[string(fd.Name())] = true
		sub := where + "." + fd.JSONName()
		if err := checkShape(name, v, fd, sub); err != nil {
			return err
		}
		switch {
		case fd.IsMap():
			if vm := fd.MapValue().Message(); vm != nil && v.Kind == yaml.MappingNode {
				for j := 0; j+1 < len(v.Content); j += 2 {
					if err := checkFields(name, v.Content[j+1], vm, sub+"["+v.Content[j].Value+"]", budget); err != nil {
						return err
					}
				}
			}
		case fd.Message() != nil && fd.IsList():
			if v.Kind == yaml.SequenceNode {
				for j, it := range v.Content {
					if err := checkFields(name, it, fd.Message(), fmt.Sprintf("%s[%d]", sub, j), budget); err != nil {
						return err
					}
				}
			}
		case fd.Message() != nil:
			if err := checkFields(name, v, fd.Message(), sub, budget); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkShape reports a value whose YAML shape cannot be the field's: a
// scalar for a list, map or message, or a collection for a scalar.
func checkShape(name string, v *yaml.Node, fd protoreflect.FieldDescriptor, where string) error {
	if v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil
	}
	var want yaml.Kind
	var what string
	switch {
	case fd.IsList():
		want, what = yaml.SequenceNode, "a list"
	case fd.IsMap() || fd.Message() != nil:
		want, what = yaml.MappingNode, "a mapping"
	default:
		want, what = yaml.ScalarNode, "a single value"
	}
	if v.Kind != want {
		return docError(name, v, "%s must be %s", where, what)
	}
	return nil
}

// nodeJSON converts a YAML node to JSON: mapping keys become strings (so
// portLevelMtls ports work), scalars keep their YAML 1.2 types, timestamps
// stay strings.
func nodeJSON(name string, n *yaml.Node) ([]byte, error) {
	budget := maxNodes
	v, err := nodeValue(name, n, 0, &budget)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// Limits against hostile input: nesting depth, and the number of nodes a
// document may expand to through aliases ("billion laughs").
const (
	maxDepth = 100
	maxNodes = 100_000
)

func nodeValue(name string, n *yaml.Node, depth int, budget *int) (any, error) {
	if depth > maxDepth {
		return nil, docError(name, n, "nested more than %d levels", maxDepth)
	}
	if *budget--; *budget < 0 {
		return nil, docError(name, n, "document expands to more than %d YAML nodes", maxNodes)
	}
	switch n.Kind {
	case yaml.AliasNode:
		return nodeValue(name, n.Alias, depth+1, budget)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return nil, docError(name, k, "a mapping key must be a scalar")
			}
			if _, dup := m[k.Value]; dup {
				return nil, docError(name, k, "duplicate field %q", k.Value)
			}
			v, err := nodeValue(name, n.Content[i+1], depth+1, budget)
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := nodeValue(name, c, depth+1, budget)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, docError(name, n, "%v", err)
		}
		switch x := v.(type) {
		case time.Time:
			return n.Value, nil
		case float64:
			if x != x || x > 1e308 || x < -1e308 { // NaN or Inf: not JSON
				return n.Value, nil
			}
		}
		return v, nil
	}
	return nil, docError(name, n, "unexpected YAML node")
}
