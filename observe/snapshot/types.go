package snapshot

import (
	"time"
)

// APIVersion is the schema version this meshgen writes and the newest it reads.
const APIVersion = "meshgen.dev/v1alpha1"

// Kind is the kind written in every snapshot header.
const Kind = "ObservationSnapshot"

// Snapshot is the observation file: the contract between learn and every later step.
type Snapshot struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Metadata   Metadata  `json:"metadata"`
	Inventory  Inventory `json:"inventory"`
	Edges      []Edge    `json:"edges"`
}

// Metadata says how, from what and over which time the snapshot was observed.
type Metadata struct {
	// Windows are the observation windows folded into this snapshot, sorted and
	// with overlapping windows joined.
	Windows []Window `json:"windows,omitempty"`
	// Sources lists every source that contributed evidence, in the order learned.
	Sources []SourceInfo `json:"sources,omitempty"`
	// TrustDomains are the trust domains seen in observed principals, sorted.
	TrustDomains []string `json:"trustDomains,omitempty"`
	// Warnings are problems learn noticed that a reader of the snapshot must know
	// (for example paths folded into prefixes because a cap was reached).
	Warnings []string `json:"warnings,omitempty"`
}

// Window is a closed time interval of observation.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Source kinds, as written in SourceInfo.Kind and Edge.Evidence.
const (
	EvidencePrometheus  = "prometheus"
	EvidenceEnvoyLog    = "envoy-log"
	EvidenceWaypointLog = "waypoint-log"
	EvidenceZtunnelLog  = "ztunnel-log"
)

// SourceInfo records one input of a learn run.
type SourceInfo struct {
	// Kind is one of the Evidence* constants, or "inventory".
	Kind string `json:"kind"`
	// Location is the Prometheus URL, the log file, or the inventory origin
	// ("cluster:<context>", a file path). Credentials are never recorded.
	Location string  `json:"location,omitempty"`
	Window   *Window `json:"window,omitempty"`
	// Records is the number of series, log lines or objects read from it.
	Records int64 `json:"records,omitempty"`
	// Malformed is the number of records that could not be parsed.
	Malformed int64 `json:"malformed,omitempty"`
}

// Protocols of an edge.
const (
	ProtocolHTTP = "http"
	ProtocolGRPC = "grpc"
	ProtocolTCP  = "tcp"
)

// Reporters: the proxy that observed an edge.
const (
	// ReporterDestination is the server side: its sidecar, or its node's ztunnel.
	ReporterDestination = "destination"
	// ReporterWaypoint is a waypoint proxy in front of the destination; the
	// source is the real client, and the destination sees the waypoint.
	ReporterWaypoint = "waypoint"
	// ReporterSource is the client side; used only where no server-side
	// evidence exists, and never trusted for mTLS.
	ReporterSource = "source"
)

// Identity origins for Source.IdentityFrom.
const (
	// IdentityCertificate: the principal came from the peer's mTLS certificate
	// (a metric label set by the server, ztunnel's src.identity, Envoy's peer URI SAN).
	IdentityCertificate = "certificate"
	// IdentityPodIP: the principal was inferred by mapping the peer address to
	// a pod through the inventory. Weaker evidence.
	IdentityPodIP = "pod-ip"
)

// Edge is one observed kind of call: who called which workload, on which
// target port, with which protocol, method and path. Fields up to Path form the
// key; the rest are values that merge (counts add, times widen).
type Edge struct {
	Source      Source      `json:"source"`
	Destination Destination `json:"destination"`
	// Reporter is one of the Reporter* constants.
	Reporter string `json:"reporter"`
	// Port is the target (container) port on the destination; 0 when unknown.
	Port int `json:"port,omitempty"`
	// Protocol is one of the Protocol* constants; empty when unknown.
	Protocol string `json:"protocol,omitempty"`
	// Method is the HTTP method in upper case; empty for TCP or when unknown.
	Method string `json:"method,omitempty"`
	// Path is the request path without query string; empty for TCP or when unknown.
	Path string `json:"path,omitempty"`
	// PathPrefix is true when Path is a folded prefix (ending in "/") that stands
	// for many distinct paths below it, because a cap on distinct paths was hit.
	PathPrefix bool `json:"pathPrefix,omitempty"`

	Counts    Counts    `json:"counts"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
	// Evidence lists the source kinds that reported this edge, sorted.
	Evidence []string `json:"evidence,omitempty"`
}

// Source identifies the caller. Principal is set for mTLS callers; plaintext
// callers carry the best identity known (workload, namespace, or IP).
type Source struct {
	// Principal is "<trust-domain>/ns/<ns>/sa/<sa>" without "spiffe://"; empty
	// when the caller presented no certificate.
	Principal string `json:"principal,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Workload  string `json:"workload,omitempty"`
	// IP is the peer address, recorded only when nothing better is known.
	IP string `json:"ip,omitempty"`
	// IdentityFrom is one of the Identity* constants; empty when Principal is empty.
	IdentityFrom string `json:"identityFrom,omitempty"`
}

// Destination identifies the called workload.
type Destination struct {
	Namespace string `json:"namespace"`
	// Workload is the workload name as Istio's destination_workload label
	// writes it (Deployment, StatefulSet, DaemonSet, Job, or Pod name).
	Workload string `json:"workload"`
	// Service is the Service host called, e.g. "reviews.shop.svc.cluster.local",
	// when known.
	Service string `json:"service,omitempty"`
	// Principal is the destination's own identity, when known.
	Principal string `json:"principal,omitempty"`
}

// Counts are request (HTTP, gRPC) or connection (TCP) counts by outcome.
type Counts struct {
	// Requests is the total, including denied ones.
	Requests int64 `json:"requests"`
	// MTLS and Plaintext split Requests by transport security as seen by the
	// server; their sum may be below Requests when security was not known.
	MTLS      int64 `json:"mtls,omitempty"`
	Plaintext int64 `json:"plaintext,omitempty"`
	// Denied counts requests rejected by an Istio policy (RBAC denial, ztunnel
	// policy rejection). They are never evidence for allowing.
	Denied int64 `json:"denied,omitempty"`
	// Unauthorized counts requests answered 401 or 403 (by the application or
	// by a policy that could not be told apart).
	Unauthorized int64 `json:"unauthorized,omitempty"`
	// ServerErrors counts 5xx answers.
	ServerErrors int64 `json:"serverErrors,omitempty"`
}

// Allowed is the number of requests that were not denied by a policy.
func (c Counts) Allowed() int64 { return c.Requests - c.Denied }

// Add returns the sum of two counts.
func (c Counts) Add(o Counts) Counts {
	return Counts{
		Requests:     c.Requests + o.Requests,
		MTLS:         c.MTLS + o.MTLS,
		Plaintext:    c.Plaintext + o.Plaintext,
		Denied:       c.Denied + o.Denied,
		Unauthorized: c.Unauthorized + o.Unauthorized,
		ServerErrors: c.ServerErrors + o.ServerErrors,
	}
}

// Inventory origins for Inventory.Origin.
const (
	InventoryCluster  = "cluster"
	InventoryFile     = "file"
	InventoryInferred = "inferred"
)

// Mesh modes of a namespace or workload.
const (
	MeshSidecar = "sidecar"
	MeshAmbient = "ambient"
	MeshNone    = "none"
)

// Inventory is what the cluster says about the workloads: the facts synthesis
// needs to write selectors, ports and ambient placement.
type Inventory struct {
	// Origin is one of the Inventory* constants. With "inferred", workloads and
	// selectors were derived from metric labels and no cluster was read.
	Origin     string      `json:"origin,omitempty"`
	Namespaces []Namespace `json:"namespaces,omitempty"`
	Workloads  []Workload  `json:"workloads,omitempty"`
	Services   []Service   `json:"services,omitempty"`
	Waypoints  []Waypoint  `json:"waypoints,omitempty"`
}

// Namespace records the mesh-relevant facts of one namespace.
type Namespace struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	// MeshMode is one of the Mesh* constants, from istio-injection,
	// istio.io/rev and istio.io/dataplane-mode labels.
	MeshMode string `json:"meshMode,omitempty"`
	// Waypoint is the istio.io/use-waypoint label value ("" when unset).
	Waypoint string `json:"waypoint,omitempty"`
	// WaypointNamespace is istio.io/use-waypoint-namespace, when set.
	WaypointNamespace string `json:"waypointNamespace,omitempty"`
}

// Workload is one Deployment, StatefulSet, DaemonSet, Job or bare Pod.
type Workload struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Kind is the owning controller kind ("Deployment", "Pod", ...).
	Kind string `json:"kind,omitempty"`
	// Selector is the label set that selects exactly this workload's pods.
	Selector map[string]string `json:"selector,omitempty"`
	// Labels are the pod template labels (for matching Services and policies).
	Labels         map[string]string `json:"labels,omitempty"`
	ServiceAccount string            `json:"serviceAccount,omitempty"`
	Ports          []ContainerPort   `json:"ports,omitempty"`
	PodIPs         []string          `json:"podIPs,omitempty"`
	// MeshMode is one of the Mesh* constants (pod labels override the namespace).
	MeshMode string `json:"meshMode,omitempty"`
	// Waypoint is the waypoint bound to the workload itself (pod label), if any.
	Waypoint          string `json:"waypoint,omitempty"`
	WaypointNamespace string `json:"waypointNamespace,omitempty"`
	// Inferred is true when the workload was derived from metric labels only.
	Inferred bool `json:"inferred,omitempty"`
}

// ContainerPort is a port a workload's containers declare.
type ContainerPort struct {
	Name     string `json:"name,omitempty"`
	Port     int    `json:"port"`
	Protocol string `json:"protocol,omitempty"`
}

// Service is a Kubernetes Service.
type Service struct {
	Namespace string            `json:"namespace"`
	Name      string            `json:"name"`
	Selector  map[string]string `json:"selector,omitempty"`
	Ports     []ServicePort     `json:"ports,omitempty"`
	// Waypoint is the istio.io/use-waypoint label value on the Service.
	Waypoint          string `json:"waypoint,omitempty"`
	WaypointNamespace string `json:"waypointNamespace,omitempty"`
	// Workloads are the names of the workloads in the namespace that the
	// selector matches, sorted.
	Workloads []string `json:"workloads,omitempty"`
}

// ServicePort maps a Service port to a target port.
type ServicePort struct {
	Name        string `json:"name,omitempty"`
	Port        int    `json:"port"`
	TargetPort  int    `json:"targetPort,omitempty"`
	TargetName  string `json:"targetPortName,omitempty"`
	Protocol    string `json:"protocol,omitempty"`
	AppProtocol string `json:"appProtocol,omitempty"`
}

// Waypoint is a waypoint proxy (a Gateway of class istio-waypoint).
type Waypoint struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// ServiceAccount is the identity the waypoint presents to ztunnel.
	ServiceAccount string `json:"serviceAccount"`
	// For is the istio.io/waypoint-for value: service, workload, all or none.
	For string `json:"for,omitempty"`
}
