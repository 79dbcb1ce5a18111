package inventory

import (
	"bytes"
	"testing"

	"github.com/meshgen/meshgen/observe/badinput"
	"github.com/meshgen/meshgen/observe/snapshot"
)

// FuzzFromReader feeds arbitrary bytes to the file reader: it must never
// panic, every error must be bad input, and every inventory it accepts must
// keep the invariants synthesis relies on.
func FuzzFromReader(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"v1","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a","labels":{"istio.io/dataplane-mode":"ambient"}}},{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p-1","generateName":"p-","namespace":"a","labels":{"app":"p","pod-template-hash":"1"},"ownerReferences":[{"kind":"ReplicaSet","name":"p-1","controller":true}]},"spec":{"containers":[{"name":"c","ports":[{"containerPort":80,"name":"http"}]}]},"status":{"phase":"Running","podIPs":[{"ip":"10.0.0.1"}]}}],"kind":"List","metadata":{"resourceVersion":""}}`))
	f.Add([]byte("apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata:\n    name: s\n    namespace: a\n  spec:\n    selector:\n      app: p\n    ports:\n    - port: 80\n      targetPort: http\nkind: List\n"))
	f.Add([]byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","namespace":"a"},"spec":{"selector":{"matchExpressions":[{"key":"app","operator":"Exists"}]},"template":{"metadata":{"labels":{"app":"d"}},"spec":{"containers":[{"name":"istio-proxy","args":["proxy","waypoint"]}]}}}}`))
	f.Add([]byte(`{"items":[{"kind":"Pod"}]}`))
	f.Add([]byte("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := FromReader(bytes.NewReader(data), Options{})
		if err != nil {
			if !badinput.Is(err) {
				t.Fatalf("error %v is not marked as bad input", err)
			}
			return
		}
		inv := res.Inventory
		if inv.Origin != snapshot.InventoryFile {
			t.Errorf("origin = %q", inv.Origin)
		}
		for _, w := range inv.Workloads {
			if w.Namespace == "" || w.Name == "" || w.Kind == "" || w.ServiceAccount == "" {
				t.Errorf("workload with an empty field: %+v", w)
			}
			switch w.MeshMode {
			case snapshot.MeshSidecar, snapshot.MeshAmbient, snapshot.MeshNone:
			default:
				t.Errorf("workload %s/%s mesh mode %q", w.Namespace, w.Name, w.MeshMode)
			}
			for k := range w.Selector {
				if perPodLabels[k] || injectedLabels[k] {
					t.Errorf("workload %s/%s selector uses per-pod or injected key %q", w.Namespace, w.Name, k)
				}
			}
			for _, p := range w.Ports {
				if p.Port <= 0 || p.Protocol == "" {
					t.Errorf("workload %s/%s port %+v", w.Namespace, w.Name, p)
				}
			}
		}
		// A selector must select its own workload and no other (by the
		// labels recorded for them).
		x := snapshot.NewIndex(&inv)
		for _, w := range inv.Workloads {
			if len(w.Selector) == 0 {
				continue
			}
			for _, o := range inv.Workloads {
				if o.Namespace == w.Namespace && o.Name != w.Name && len(o.PodIPs) == 0 && matches(w.Selector, o.Labels) && x.Workload(o.Namespace, o.Name) != nil {
					// Labels of a workload with pods are the template's, which
					// may differ from its pods'; only template-only workloads
					// are compared exactly.
					t.Errorf("selector %v of %s/%s also matches the labels of %s", w.Selector, w.Namespace, w.Name, o.Name)
				}
			}
		}
		for _, wp := range inv.Waypoints {
			if wp.Name == "" || wp.ServiceAccount == "" || wp.For == "" {
				t.Errorf("waypoint with an empty field: %+v", wp)
			}
		}
	})
}
