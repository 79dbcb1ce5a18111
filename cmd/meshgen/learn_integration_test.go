package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meshgen/meshgen/hack/testenv"
	"github.com/meshgen/meshgen/observe/snapshot"
)

// demoEnd and demoWindow are the demo data's window (hack/gen-demo).
const (
	demoEnd    = "2026-11-20T12:00:00Z"
	demoWindow = "6h"
)

func readGzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type pairKey struct {
	src, dstNS, dst, reporter, protocol string
}

// counterTotals reads OpenMetrics text and returns, per (source principal,
// destination, reporter, protocol), the growth of the server-side counters
// from their first sample (at the window's start: those requests happened
// before it) to their last: the requests (or connections) of the window. It
// is an oracle independent of meshgen's PromQL.
func counterTotals(t *testing.T, om []byte) map[pairKey]int64 {
	t.Helper()
	first, last := map[string]float64{}, map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(om))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		end := strings.LastIndex(line, "}")
		fields := strings.Fields(line[end+1:])
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			t.Fatalf("parsing %q: %v", line, err)
		}
		if _, ok := first[line[:end+1]]; !ok {
			first[line[:end+1]] = v
		}
		last[line[:end+1]] = v
	}
	totals := map[pairKey]int64{}
	for series, v := range last {
		labels := map[string]string{}
		body := series[strings.Index(series, "{")+1 : len(series)-1]
		for _, kv := range strings.Split(body, `",`) {
			k, val, _ := strings.Cut(kv, `="`)
			labels[k] = strings.TrimSuffix(val, `"`)
		}
		if labels["reporter"] == "source" {
			continue
		}
		k := pairKey{
			src:      snapshot.NormalizePrincipal(labels["source_principal"]),
			dstNS:    labels["destination_workload_namespace"],
			dst:      labels["destination_workload"],
			reporter: labels["reporter"],
			protocol: labels["request_protocol"],
		}
		totals[k] += int64(v - first[series])
	}
	return totals
}

// TestLearnDemoEndToEnd runs learn on the demo mesh with every kind of
// evidence together (a real Prometheus holding the backfilled metrics, the
// inventory file, and sidecar, waypoint and ztunnel logs) and checks the
// merged snapshot against the raw data.
func TestLearnDemoEndToEnd(t *testing.T) {
	om := readGzip(t, filepath.Join(demoDir, "metrics.om.gz"))
	prom := testenv.Prometheus(t, om)
	out := filepath.Join(t.TempDir(), "obs.json.gz")
	code, _, stderr := runMeshgen(t, "learn", "--prometheus", prom.URL, "--window", demoWindow, "--end", demoEnd,
		"--inventory", filepath.Join(demoDir, "inventory.json"),
		"--access-log", filepath.Join(demoDir, "logs", "*.log.gz"), "-o", out)
	if code != 0 {
		t.Fatalf("learn exited %d:\n%s", code, stderr)
	}
	snap, err := snapshot.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Inventory.Origin != snapshot.InventoryFile {
		t.Errorf("inventory origin = %q, want %q (the file replaces the one inferred from metrics)", snap.Inventory.Origin, snapshot.InventoryFile)
	}
	kinds := map[string]bool{}
	for _, s := range snap.Metadata.Sources {
		kinds[s.Kind] = true
	}
	for _, k := range []string{snapshot.EvidencePrometheus, snapshot.EvidenceEnvoyLog, snapshot.EvidenceWaypointLog, snapshot.EvidenceZtunnelLog, "inventory"} {
		if !kinds[k] {
			t.Errorf("snapshot sources lack %q: %+v", k, snap.Metadata.Sources)
		}
	}

	// Metric evidence: the counts of the server-side series, summed over
	// response classes, and never the reporter="source" duplicates.
	want := counterTotals(t, om)
	got := map[pairKey]int64{}
	for _, e := range snap.Edges {
		if !contains(e.Evidence, snapshot.EvidencePrometheus) || e.Port != 0 || e.Path != "" {
			continue
		}
		got[pairKey{e.Source.Principal, e.Destination.Namespace, e.Destination.Workload, e.Reporter, e.Protocol}] += e.Counts.Requests
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metric edge counts differ from the backfilled counters (-want +got):\n%s", diff)
	}

	// Log evidence adds what metrics lack, on the same edge key.
	find := func(pred func(e *snapshot.Edge) bool) *snapshot.Edge {
		for i := range snap.Edges {
			if pred(&snap.Edges[i]) {
				return &snap.Edges[i]
			}
		}
		return nil
	}
	cart := find(func(e *snapshot.Edge) bool {
		return e.Destination.Workload == "cart" && e.Method == "DELETE" && strings.HasPrefix(e.Path, "/api/v1/carts/")
	})
	if cart == nil || cart.Port != 8080 || cart.Source.Principal != "cluster.local/ns/shop/sa/frontend" ||
		cart.Source.IdentityFrom != snapshot.IdentityPodIP || cart.Reporter != snapshot.ReporterDestination || cart.Counts.MTLS != cart.Counts.Requests {
		t.Errorf("sidecar log edge frontend -> cart DELETE = %+v, want port 8080 (the container port), principal from the pod address, mTLS", cart)
	}
	charge := find(func(e *snapshot.Edge) bool {
		return e.Destination.Workload == "payments-api" && e.Reporter == snapshot.ReporterWaypoint && e.Path == "/v1/charges"
	})
	if charge == nil || charge.Port != 8080 || charge.Method != "POST" || charge.Source.Principal != "cluster.local/ns/shop/sa/orders" {
		t.Errorf("waypoint log edge orders -> payments-api POST /v1/charges = %+v, want target port 8080, not the Service port 80", charge)
	}
	viaWaypoint := find(func(e *snapshot.Edge) bool {
		return e.Destination.Workload == "payments-api" && e.Source.Principal == "cluster.local/ns/payments/sa/waypoint" && contains(e.Evidence, snapshot.EvidenceZtunnelLog)
	})
	if viaWaypoint == nil || viaWaypoint.Port != 8080 || viaWaypoint.Source.IdentityFrom != snapshot.IdentityCertificate {
		t.Errorf("ztunnel log edge waypoint -> payments-api = %+v, want port 8080 and the identity from the certificate", viaWaypoint)
	}
	plaintext := find(func(e *snapshot.Edge) bool {
		return e.Destination.Workload == "orders" && e.Port == 9102 && e.Path == "/metrics"
	})
	if plaintext == nil || plaintext.Source.Principal != "" || plaintext.Counts.Plaintext != plaintext.Counts.Requests || plaintext.Counts.Requests == 0 {
		t.Errorf("prometheus scrape edge -> orders:9102 = %+v, want a plaintext caller without principal", plaintext)
	}
	for _, e := range snap.Edges {
		if strings.Contains(e.Path, "?") {
			t.Errorf("edge %+v keeps a query string", e)
		}
		if e.Reporter == snapshot.ReporterSource && e.Destination.Workload == "cart" {
			t.Errorf("client-side edge %+v was kept although the server side logged the same calls", e)
		}
	}
}

// TestLearnMergeOfTwoWindows learns the demo's six hours as two windows of
// three, folding the second into the first, and checks the result against
// one learn over the whole window.
func TestLearnMergeOfTwoWindows(t *testing.T) {
	om := readGzip(t, filepath.Join(demoDir, "metrics.om.gz"))
	prom := testenv.Prometheus(t, om)
	dir := t.TempDir()
	whole, halves := filepath.Join(dir, "whole.json"), filepath.Join(dir, "halves.json")
	learn := func(end, window, out string, extra ...string) {
		t.Helper()
		args := append([]string{"learn", "--prometheus", prom.URL, "--window", window, "--end", end, "--step", "2m", "-o", out}, extra...)
		if code, _, stderr := runMeshgen(t, args...); code != 0 {
			t.Fatalf("meshgen %v exited %d:\n%s", args, code, stderr)
		}
	}
	learn(demoEnd, "6h", whole)
	learn("2026-11-20T09:00:00Z", "3h", halves)
	learn(demoEnd, "3h", halves, "--merge")

	a, err := snapshot.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	b, err := snapshot.ReadFile(halves)
	if err != nil {
		t.Fatal(err)
	}
	type val struct {
		requests    int64
		first, last time.Time
	}
	index := func(s *snapshot.Snapshot) map[snapshot.Key]val {
		m := map[snapshot.Key]val{}
		for i := range s.Edges {
			e := &s.Edges[i]
			m[e.Key()] = val{e.Counts.Requests, e.FirstSeen, e.LastSeen}
		}
		return m
	}
	if diff := cmp.Diff(index(a), index(b), cmp.AllowUnexported(val{})); diff != "" {
		t.Errorf("two merged windows differ from one window over the same time (-whole +merged):\n%s", diff)
	}
	wantWindow := []snapshot.Window{{Start: mustTime(t, "2026-11-20T06:00:00Z"), End: mustTime(t, demoEnd)}}
	if diff := cmp.Diff(wantWindow, b.Metadata.Windows); diff != "" {
		t.Errorf("merged windows (-want +got):\n%s", diff)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestLearnInventoryFromCluster reads the inventory from a real API server
// through the kubeconfig flags.
func TestLearnInventoryFromCluster(t *testing.T) {
	k := testenv.Kube(t)
	ns := k.Namespace(t)
	manifest := strings.ReplaceAll(`apiVersion: v1
kind: Namespace
metadata:
  name: NS
  labels:
    istio-injection: enabled
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: shelf
  namespace: NS
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shelf
  namespace: NS
spec:
  selector:
    matchLabels:
      app: shelf
  template:
    metadata:
      labels:
        app: shelf
        version: v3
    spec:
      serviceAccountName: shelf
      containers:
      - name: shelf
        image: registry.example.com/shelf:1
        ports:
        - name: http
          containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: shelf
  namespace: NS
spec:
  selector:
    app: shelf
  ports:
  - name: http
    port: 80
    targetPort: http
`, "NS", ns)
	if err := k.Apply(t, t.Context(), []byte(manifest)); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "obs.json")
	code, _, stderr := runMeshgen(t, "learn", "--kubeconfig", k.Kubeconfig, "--namespace", ns,
		"--access-log", filepath.Join(demoDir, "logs", "ztunnel.log.gz"), "-o", out)
	if code != 0 {
		t.Fatalf("learn --kubeconfig exited %d:\n%s", code, stderr)
	}
	snap, err := snapshot.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Inventory.Origin != snapshot.InventoryCluster {
		t.Errorf("inventory origin = %q, want %q", snap.Inventory.Origin, snapshot.InventoryCluster)
	}
	idx := snapshot.NewIndex(&snap.Inventory)
	w := idx.Workload(ns, "shelf")
	if w == nil {
		t.Fatalf("inventory lacks %s/shelf: %+v", ns, snap.Inventory.Workloads)
	}
	if diff := cmp.Diff(map[string]string{"app": "shelf"}, w.Selector); diff != "" {
		t.Errorf("selector of %s/shelf (-want +got):\n%s", ns, diff)
	}
	if w.ServiceAccount != "shelf" || w.MeshMode != snapshot.MeshSidecar {
		t.Errorf("workload %s/shelf = %+v, want service account shelf in sidecar mode", ns, w)
	}
	if got := idx.TargetPorts(ns, "shelf"); !cmp.Equal(got, []int{8080}) {
		t.Errorf("TargetPorts(%s, shelf) = %v, want [8080] (the Service's named targetPort resolved)", ns, got)
	}
}
