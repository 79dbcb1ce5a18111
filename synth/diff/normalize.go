package diff

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// CanonicalAPIVersion is the version every object is rendered in:
// security.istio.io/v1beta1 and v1 are the same resource with the same
// schema.
const CanonicalAPIVersion = "security.istio.io/v1"

// IgnoredAnnotations are annotations that the API server or deployment
// tools add, which never count as a change. Keys ending in "/" ignore
// every annotation with that prefix.
var IgnoredAnnotations = []string{
	"kubectl.kubernetes.io/last-applied-configuration",
	"argocd.argoproj.io/",
	"kustomize.toolkit.fluxcd.io/",
}

// IgnoredLabels are labels that deployment tools add.
var IgnoredLabels = []string{
	"kustomize.toolkit.fluxcd.io/",
}

func ignored(list []string, key string) bool {
	for _, k := range list {
		if key == k || (strings.HasSuffix(k, "/") && strings.HasPrefix(key, k)) {
			return true
		}
	}
	return false
}

// Canonical renders an object as normalised YAML, so that two objects with
// the same meaning render the same bytes:
//   - apiVersion is security.istio.io/v1 (v1beta1 is the same resource);
//   - metadata keeps name, namespace, labels and annotations, without what
//     the API server and deployment tools add (status, managedFields,
//     resourceVersion, uid, creationTimestamp, generation,
//     IgnoredAnnotations, IgnoredLabels);
//   - defaults are made explicit or dropped: an AuthorizationPolicy's action
//     is written (omitted means ALLOW), an empty selector or matchLabels of
//     an AuthorizationPolicy is dropped (it selects every workload, as no
//     selector does), the deprecated targetRef becomes targetRefs, an mTLS
//     mode UNSET is dropped (it inherits, as no setting does);
//   - lists, which Istio treats as sets (rules, from, to, when, values,
//     targetRefs), are sorted and de-duplicated, and map keys are sorted;
//   - comments and formatting are gone.
//
// obj is a *securityv1.AuthorizationPolicy or *securityv1.PeerAuthentication.
func Canonical(obj any) ([]byte, error) {
	var meta *metav1.ObjectMeta
	var kind string
	var spec map[string]any
	var err error
	switch o := obj.(type) {
	case *securityv1.AuthorizationPolicy:
		meta, kind = &o.ObjectMeta, "AuthorizationPolicy"
		spec, err = specMap(&o.Spec)
		if err == nil {
			normalizeAP(spec)
		}
	case *securityv1.PeerAuthentication:
		meta, kind = &o.ObjectMeta, "PeerAuthentication"
		spec, err = specMap(&o.Spec)
		if err == nil {
			normalizePA(spec)
		}
	default:
		return nil, fmt.Errorf("canonical form of %T: not an Istio security policy", obj)
	}
	if err != nil {
		return nil, fmt.Errorf("canonical form of %s %s/%s: %w", kind, meta.Namespace, meta.Name, err)
	}
	sortSets(spec)
	m := map[string]any{"name": meta.Name, "namespace": meta.Namespace}
	if l := filtered(meta.Labels, IgnoredLabels); len(l) > 0 {
		m["labels"] = l
	}
	if a := filtered(meta.Annotations, IgnoredAnnotations); len(a) > 0 {
		m["annotations"] = a
	}
	doc := map[string]any{
		"apiVersion": CanonicalAPIVersion,
		"kind":       kind,
		"metadata":   m,
		"spec":       spec,
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("canonical form of %s %s/%s: %w", kind, meta.Namespace, meta.Name, err)
	}
	return b, nil
}

func filtered(in map[string]string, drop []string) map[string]any {
	out := map[string]any{}
	for k, v := range in {
		if !ignored(drop, k) {
			out[k] = v
		}
	}
	return out
}

func specMap(m proto.Message) (map[string]any, error) {
	b, err := protojson.Marshal(m)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func normalizeAP(spec map[string]any) {
	if _, ok := spec["action"]; !ok {
		spec["action"] = "ALLOW"
	}
	if sel, ok := spec["selector"].(map[string]any); ok {
		if ml, _ := sel["matchLabels"].(map[string]any); len(ml) == 0 {
			delete(spec, "selector")
		}
	}
	if ref, ok := spec["targetRef"]; ok {
		if _, has := spec["targetRefs"]; !has {
			spec["targetRefs"] = []any{ref}
		}
		delete(spec, "targetRef")
	}
}

func normalizePA(spec map[string]any) {
	dropUnset := func(m map[string]any, key string) {
		if v, ok := m[key].(map[string]any); ok {
			if mode, _ := v["mode"].(string); mode == "" || mode == "UNSET" {
				delete(m, key)
			}
		}
	}
	dropUnset(spec, "mtls")
	if ports, ok := spec["portLevelMtls"].(map[string]any); ok {
		for p := range ports {
			dropUnset(ports, p)
		}
		if len(ports) == 0 {
			delete(spec, "portLevelMtls")
		}
	}
}

// sortSets sorts and de-duplicates every list under v, depth first.
func sortSets(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = sortSets(e)
		}
		return x
	case []any:
		type keyed struct {
			key string
			v   any
		}
		items := make([]keyed, 0, len(x))
		for _, e := range x {
			e = sortSets(e)
			b, _ := json.Marshal(e) // maps marshal with sorted keys
			items = append(items, keyed{string(b), e})
		}
		slices.SortFunc(items, func(a, b keyed) int { return strings.Compare(a.key, b.key) })
		items = slices.CompactFunc(items, func(a, b keyed) bool { return a.key == b.key })
		out := make([]any, len(items))
		for i, it := range items {
			out[i] = it.v
		}
		return out
	}
	return v
}
