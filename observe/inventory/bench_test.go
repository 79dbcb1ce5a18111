package inventory

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkFromReaderFixture reads testdata/cluster.json (45 objects).
func BenchmarkFromReaderFixture(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "cluster.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromReader(bytes.NewReader(data), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// bigList makes a List like a large cluster's: namespaces × deployments,
// each with a ReplicaSet, a Service and pods.
func bigList(namespaces, deployments, pods int) []byte {
	var sb strings.Builder
	sb.WriteString(`{"apiVersion":"v1","items":[`)
	first := true
	item := func(format string, a ...any) {
		if !first {
			sb.WriteString(",\n")
		}
		first = false
		fmt.Fprintf(&sb, format, a...)
	}
	for n := range namespaces {
		item(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"ns%d","labels":{"istio-injection":"enabled"}}}`, n)
		for d := range deployments {
			item(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"app%d","namespace":"ns%d"},"spec":{"selector":{"matchLabels":{"app":"app%d"}},"template":{"metadata":{"labels":{"app":"app%d","version":"v1"}},"spec":{"serviceAccountName":"app%d","containers":[{"name":"app","image":"x","ports":[{"containerPort":8080,"name":"http","protocol":"TCP"}]}]}}}}`, d, n, d, d, d)
			item(`{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"app%d-5d9f7c6b8","namespace":"ns%d","ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"app%d","controller":true}]},"spec":{"replicas":%d,"selector":{"matchLabels":{"app":"app%d","pod-template-hash":"5d9f7c6b8"}},"template":{"metadata":{"labels":{"app":"app%d","pod-template-hash":"5d9f7c6b8"}},"spec":{"containers":[{"name":"app","image":"x"}]}}}}`, d, n, d, pods, d, d)
			item(`{"apiVersion":"v1","kind":"Service","metadata":{"name":"app%d","namespace":"ns%d"},"spec":{"selector":{"app":"app%d"},"ports":[{"name":"http","port":80,"protocol":"TCP","targetPort":"http"}]}}`, d, n, d)
			for p := range pods {
				item(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"app%d-5d9f7c6b8-p%d","generateName":"app%d-5d9f7c6b8-","namespace":"ns%d","labels":{"app":"app%d","version":"v1","pod-template-hash":"5d9f7c6b8","security.istio.io/tlsMode":"istio"},"annotations":{"sidecar.istio.io/status":"{}"},"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"app%d-5d9f7c6b8","controller":true}]},"spec":{"serviceAccountName":"app%d","containers":[{"name":"app","image":"x","ports":[{"containerPort":8080,"name":"http","protocol":"TCP"}]},{"name":"istio-proxy","image":"proxyv2","args":["proxy","sidecar"],"env":[{"name":"ISTIO_META_WORKLOAD_NAME","value":"app%d"}],"ports":[{"containerPort":15090,"name":"http-envoy-prom","protocol":"TCP"}]}]},"status":{"phase":"Running","podIP":"10.%d.%d.%d","podIPs":[{"ip":"10.%d.%d.%d"}]}}`,
					d, p, d, n, d, d, d, d, n, d, p, n, d, p)
			}
		}
	}
	sb.WriteString(`],"kind":"List","metadata":{"resourceVersion":""}}`)
	return []byte(sb.String())
}

// BenchmarkFromReaderLarge reads a List of 20 namespaces × 50 Deployments ×
// 5 pods (6,020 objects, 6,000 of them pods and ReplicaSets and Services).
func BenchmarkFromReaderLarge(b *testing.B) {
	data := bigList(20, 50, 5)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := FromReader(bytes.NewReader(data), Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Inventory.Workloads) != 1000 {
			b.Fatalf("got %d workloads, want 1000", len(res.Inventory.Workloads))
		}
	}
}
