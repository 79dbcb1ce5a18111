package inventory

// Labels, annotations and names that Istio and Kubernetes set and that the
// inventory reads. Istio's are from istio.io/api label/labels.yaml and
// annotation/annotations.yaml.
const (
	labelInjection         = "istio-injection"         // namespace: enabled|disabled
	labelRev               = "istio.io/rev"            // namespace or pod: revision to inject
	labelSidecarInject     = "sidecar.istio.io/inject" // pod: "true"|"false"
	labelDataplaneMode     = "istio.io/dataplane-mode" // namespace or pod: ambient|none
	labelUseWaypoint       = "istio.io/use-waypoint"   // namespace, Service or pod
	labelUseWaypointNS     = "istio.io/use-waypoint-namespace"
	labelWaypointFor       = "istio.io/waypoint-for"          // service|workload|all|none
	labelWorkloadName      = "service.istio.io/workload-name" // overrides the ambient workload name
	labelGatewayName       = "gateway.networking.k8s.io/gateway-name"
	labelGatewayClassName  = "gateway.networking.k8s.io/gateway-class-name"
	labelGatewayNameLegacy = "istio.io/gateway-name" // waypoints made before Istio 1.24
	labelGatewayManaged    = "gateway.istio.io/managed"
	labelTLSMode           = "security.istio.io/tlsMode"
	labelCanonicalName     = "service.istio.io/canonical-name"
	labelCanonicalRevision = "service.istio.io/canonical-revision"

	annotationSidecarStatus  = "sidecar.istio.io/status"
	annotationSidecarInject  = "sidecar.istio.io/inject" // deprecated form of the label, still honoured
	annotationInjectTemplate = "inject.istio.io/templates"

	// meshControllerLabel is the value of gateway.istio.io/managed on the
	// objects that istiod's gateway deployment controller makes for Gateways of
	// a class served by the controller istio.io/mesh-controller (waypoints);
	// the controller name with "/" replaced by "-".
	meshControllerLabel = "istio.io-mesh-controller"
	waypointClass       = "istio-waypoint"

	proxyContainer  = "istio-proxy"
	envWorkloadName = "ISTIO_META_WORKLOAD_NAME"

	valueAmbient = "ambient"
	valueNone    = "none"

	defaultWaypointFor     = "service"
	defaultServiceAccount  = "default"
	labelPodTemplateHash   = "pod-template-hash"
	labelRolloutsHash      = "rollouts-pod-template-hash"
	labelControllerRevHash = "controller-revision-hash"
	labelPodTemplateGen    = "pod-template-generation"
	labelStatefulSetPod    = "statefulset.kubernetes.io/pod-name"
	labelPodIndex          = "apps.kubernetes.io/pod-index"
	labelJobName           = "job-name"
	labelJobNameBatch      = "batch.kubernetes.io/job-name"
	labelControllerUID     = "controller-uid"
	labelControllerUIDBat  = "batch.kubernetes.io/controller-uid"
	labelJobCompletionIdx  = "batch.kubernetes.io/job-completion-index"
)

// perPodLabels differ between the pods of one workload (or between its
// revisions), so they never go into a workload's labels or selector.
var perPodLabels = map[string]bool{
	labelPodTemplateHash:   true,
	labelRolloutsHash:      true,
	labelControllerRevHash: true,
	labelPodTemplateGen:    true,
	labelStatefulSetPod:    true,
	labelPodIndex:          true,
	labelJobCompletionIdx:  true,
	labelControllerUID:     true,
	labelControllerUIDBat:  true,
}

// injectedLabels are added to pods by Istio's sidecar injector; a selector
// built from pod labels leaves them out so that it keeps matching pods that
// are not (or no longer) injected.
var injectedLabels = map[string]bool{
	labelTLSMode:           true,
	labelCanonicalName:     true,
	labelCanonicalRevision: true,
}

// jobRunLabels name one run of a CronJob; they are left out of a CronJob's
// selector, which must match the pods of every run.
var jobRunLabels = map[string]bool{
	labelJobName:      true,
	labelJobNameBatch: true,
}
