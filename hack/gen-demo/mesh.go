package main

// The demo mesh: a small shop with the shapes meshgen must handle. Every flow
// below becomes Istio standard metrics, access-log lines and inventory objects.
//
//	istio-system/istio-ingressgateway ──► shop/frontend (HTTP 8080)
//	shop/frontend ──► shop/catalog (gRPC 9090), shop/cart (REST with ids), shop/orders (REST with ids)
//	shop/inventory-sync, shop/price-sync (one shared service account) ──► shop/catalog (gRPC)
//	analytics/reports (default service account) ──► shop/catalog (gRPC), shop/orders (only 403s)
//	legacy/batch-export (no sidecar: plaintext) ──► shop/orders
//	monitoring/prometheus (no sidecar: plaintext) ──► shop/orders:9102 /metrics
//	shop/cart ──► shop/redis (TCP 6379); shop/orders ──► data/postgres (TCP 5432)
//	shop/orders ──► payments/payments-api (ambient, behind waypoint "waypoint"; Service port 80 → 8080)
//	payments/payments-api ──► ledger/ledger (ambient, no waypoint; HTTP 7000)

type namespace struct {
	name     string
	labels   map[string]string
	sidecar  bool // istio-injection=enabled
	ambient  bool
	waypoint string
}

var namespaces = []namespace{
	{name: "istio-system"},
	{name: "shop", labels: map[string]string{"istio-injection": "enabled"}, sidecar: true},
	{name: "data", labels: map[string]string{"istio-injection": "enabled"}, sidecar: true},
	{name: "analytics", labels: map[string]string{"istio-injection": "enabled"}, sidecar: true},
	{name: "legacy"},
	{name: "monitoring"},
	{name: "payments", labels: map[string]string{"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint"}, ambient: true, waypoint: "waypoint"},
	{name: "ledger", labels: map[string]string{"istio.io/dataplane-mode": "ambient"}, ambient: true},
}

type port struct {
	name    string
	port    int // container port
	svcPort int // Service port (0: no Service port)
	proto   string
}

type workload struct {
	ns, name, kind, sa string
	app, version       string
	ports              []port
	podIP              string
	podHash            string // ReplicaSet hash + pod suffix for Deployments
	// waypoint marks the waypoint proxy of its namespace.
	waypoint bool
	// noSidecar marks workloads in sidecar namespaces that opted out.
	noSidecar bool
}

var workloads = []workload{
	{ns: "istio-system", name: "istio-ingressgateway", kind: "Deployment", sa: "istio-ingressgateway-service-account", app: "istio-ingressgateway", ports: []port{{"http2", 8080, 80, "TCP"}}, podIP: "10.8.0.10", podHash: "7d9f8c6b5-x2k4p"},
	{ns: "shop", name: "frontend", kind: "Deployment", sa: "frontend", app: "frontend", version: "v1", ports: []port{{"http", 8080, 80, "TCP"}}, podIP: "10.8.1.11", podHash: "6c8d9f7b4-qz7xk"},
	{ns: "shop", name: "catalog", kind: "Deployment", sa: "catalog", app: "catalog", version: "v1", ports: []port{{"grpc", 9090, 9090, "TCP"}}, podIP: "10.8.1.12", podHash: "5b7c8d6f9-m4n2v"},
	{ns: "shop", name: "cart", kind: "Deployment", sa: "cart", app: "cart", version: "v1", ports: []port{{"http", 8080, 80, "TCP"}}, podIP: "10.8.1.13", podHash: "7f6d5c4b8-h8j3w"},
	{ns: "shop", name: "orders", kind: "Deployment", sa: "orders", app: "orders", version: "v2", ports: []port{{"http", 8080, 80, "TCP"}, {"metrics", 9102, 0, "TCP"}}, podIP: "10.8.1.14", podHash: "8d7e6f5a9-p6r5t"},
	{ns: "shop", name: "redis", kind: "StatefulSet", sa: "redis", app: "redis", ports: []port{{"tcp-redis", 6379, 6379, "TCP"}}, podIP: "10.8.1.15", podHash: "0"},
	{ns: "shop", name: "inventory-sync", kind: "Deployment", sa: "sync-worker", app: "inventory-sync", version: "v1", podIP: "10.8.1.16", podHash: "66b8f9d7c-w9x8y"},
	{ns: "shop", name: "price-sync", kind: "Deployment", sa: "sync-worker", app: "price-sync", version: "v1", podIP: "10.8.1.17", podHash: "5f9c7d8b6-a1b2c"},
	{ns: "data", name: "postgres", kind: "StatefulSet", sa: "postgres", app: "postgres", ports: []port{{"tcp-postgres", 5432, 5432, "TCP"}}, podIP: "10.8.2.20", podHash: "0"},
	{ns: "analytics", name: "reports", kind: "Deployment", sa: "default", app: "reports", version: "v1", podIP: "10.8.3.30", podHash: "7c6b5d4f8-r2d2c"},
	{ns: "legacy", name: "batch-export", kind: "Deployment", sa: "default", app: "batch-export", podIP: "10.8.4.40", podHash: "9a8b7c6d5-e3f4g"},
	{ns: "monitoring", name: "prometheus", kind: "Deployment", sa: "prometheus", app: "prometheus", ports: []port{{"web", 9090, 9090, "TCP"}}, podIP: "10.8.5.50", podHash: "5d4c3b2a1-k9l8m"},
	{ns: "payments", name: "payments-api", kind: "Deployment", sa: "payments-api", app: "payments-api", version: "v1", ports: []port{{"http", 8080, 80, "TCP"}}, podIP: "10.8.6.60", podHash: "6e5f4d3c2-n7o6p"},
	{ns: "payments", name: "waypoint", kind: "Deployment", sa: "waypoint", ports: []port{{"mesh", 15008, 15008, "TCP"}}, podIP: "10.8.6.61", podHash: "7b6a5c4d3-q5r4s", waypoint: true},
	{ns: "ledger", name: "ledger", kind: "Deployment", sa: "ledger", app: "ledger", version: "v1", ports: []port{{"http", 7000, 7000, "TCP"}}, podIP: "10.8.7.70", podHash: "8c7d6e5f4-t3u2v"},
}

// An operation is one kind of request; its path may hold {id}, {uuid} or {sku}
// placeholders filled with fresh values for each logged request.
type operation struct {
	method, path string
	weight       float64
}

type flow struct {
	src, dst   string // "ns/workload"
	proto      string // http, grpc, tcp
	targetPort int
	ops        []operation
	rps        float64 // requests (or connections) per second
	// codes maps response codes to their share of requests.
	codes map[int]float64
	// viaWaypoint: the request passes the destination's waypoint.
	viaWaypoint bool
}

var flows = []flow{
	{src: "istio-system/istio-ingressgateway", dst: "shop/frontend", proto: "http", targetPort: 8080, rps: 12,
		ops:   []operation{{"GET", "/", 3}, {"GET", "/products/{id}", 6}, {"GET", "/static/css/site.css", 1}, {"POST", "/checkout", 0.5}},
		codes: map[int]float64{200: 0.97, 404: 0.02, 503: 0.01}},
	{src: "shop/frontend", dst: "shop/catalog", proto: "grpc", targetPort: 9090, rps: 9,
		ops:   []operation{{"POST", "/catalog.v1.CatalogService/GetProduct", 6}, {"POST", "/catalog.v1.CatalogService/ListProducts", 3}},
		codes: map[int]float64{200: 1}},
	{src: "shop/frontend", dst: "shop/cart", proto: "http", targetPort: 8080, rps: 4,
		ops:   []operation{{"GET", "/api/v1/carts/{uuid}", 5}, {"POST", "/api/v1/carts/{uuid}/items", 2}, {"DELETE", "/api/v1/carts/{uuid}/items/{sku}", 1}},
		codes: map[int]float64{200: 0.95, 201: 0.04, 404: 0.01}},
	{src: "shop/frontend", dst: "shop/orders", proto: "http", targetPort: 8080, rps: 1.5,
		ops:   []operation{{"POST", "/api/v1/orders", 1}, {"GET", "/api/v1/orders/{id}", 3}},
		codes: map[int]float64{200: 0.7, 201: 0.29, 500: 0.01}},
	{src: "shop/inventory-sync", dst: "shop/catalog", proto: "grpc", targetPort: 9090, rps: 0.5,
		ops: []operation{{"POST", "/catalog.v1.CatalogService/UpdateStock", 1}}, codes: map[int]float64{200: 1}},
	{src: "shop/price-sync", dst: "shop/catalog", proto: "grpc", targetPort: 9090, rps: 0.2,
		ops: []operation{{"POST", "/catalog.v1.CatalogService/UpdatePrice", 1}}, codes: map[int]float64{200: 1}},
	{src: "analytics/reports", dst: "shop/catalog", proto: "grpc", targetPort: 9090, rps: 0.1,
		ops: []operation{{"POST", "/catalog.v1.CatalogService/ListProducts", 1}}, codes: map[int]float64{200: 1}},
	{src: "analytics/reports", dst: "shop/orders", proto: "http", targetPort: 8080, rps: 0.05,
		ops: []operation{{"GET", "/api/v1/orders/export", 1}}, codes: map[int]float64{403: 1}},
	{src: "legacy/batch-export", dst: "shop/orders", proto: "http", targetPort: 8080, rps: 0.05,
		ops: []operation{{"GET", "/api/v1/orders/{id}/status", 1}}, codes: map[int]float64{200: 1}},
	{src: "monitoring/prometheus", dst: "shop/orders", proto: "http", targetPort: 9102, rps: 1.0 / 15,
		ops: []operation{{"GET", "/metrics", 1}}, codes: map[int]float64{200: 1}},
	{src: "shop/cart", dst: "shop/redis", proto: "tcp", targetPort: 6379, rps: 0.3},
	{src: "shop/orders", dst: "data/postgres", proto: "tcp", targetPort: 5432, rps: 0.2},
	{src: "shop/orders", dst: "payments/payments-api", proto: "http", targetPort: 8080, rps: 0.8, viaWaypoint: true,
		ops:   []operation{{"POST", "/v1/charges", 1}, {"GET", "/v1/charges/{id}", 2}},
		codes: map[int]float64{200: 0.8, 201: 0.2}},
	{src: "payments/payments-api", dst: "ledger/ledger", proto: "http", targetPort: 7000, rps: 0.8,
		ops: []operation{{"POST", "/entries", 1}}, codes: map[int]float64{201: 1}},
}
