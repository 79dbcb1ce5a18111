package podlogs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/meshgen/meshgen/observe/accesslog"
	"github.com/meshgen/meshgen/observe/badinput"
)

// Defaults set by DefaultConfig.
const (
	DefaultContainer        = "istio-proxy"
	DefaultZtunnelNamespace = "istio-system"
	DefaultZtunnelSelector  = "app=ztunnel"
	// DefaultConcurrency is a sensible accesslog.Config.OpenInputs for pod
	// streams: they wait on the network more than on the CPU.
	DefaultConcurrency = 8
)

// Config says which pods' logs to read.
type Config struct {
	// Namespaces are searched for sidecars, gateways and waypoints; empty
	// means every namespace.
	Namespaces []string
	// Since reads only the logs of the last Since (kubectl logs --since);
	// 0 reads all the kubelet kept.
	Since time.Duration
	// Container is the proxy container of sidecars, gateways and waypoints
	// (a regular or a native sidecar container).
	Container string
	// Sidecars, Waypoints and Ztunnel choose which proxies to read.
	Sidecars, Waypoints, Ztunnel bool
	// ZtunnelNamespace and ZtunnelSelector find the ztunnel DaemonSet's
	// pods; ZtunnelContainer is their container.
	ZtunnelNamespace string
	ZtunnelSelector  string
	ZtunnelContainer string
}

// DefaultConfig returns a Config that reads every proxy in every namespace.
func DefaultConfig() Config {
	return Config{
		Container:        DefaultContainer,
		Sidecars:         true,
		Waypoints:        true,
		Ztunnel:          true,
		ZtunnelNamespace: DefaultZtunnelNamespace,
		ZtunnelSelector:  DefaultZtunnelSelector,
		ZtunnelContainer: DefaultContainer,
	}
}

// Labels istiod's gateway deployment controller puts on waypoint pods
// (istio: manifests/charts/istio-control/istio-discovery/files/waypoint.yaml).
const (
	labelManaged      = "gateway.istio.io/managed"
	meshController    = "istio.io-mesh-controller"
	labelGatewayClass = "gateway.networking.k8s.io/gateway-class-name"
	waypointClass     = "istio-waypoint"
	labelHash         = "pod-template-hash"
)

// Inputs lists the pods whose proxies' logs to read and returns one input
// per pod, each streaming `kubectl logs --timestamps [--since]` of the
// proxy container through client's API server when accesslog.Learn reads
// it. A sidecar's input carries its pod and workload, so that its inbound
// lines name their destination even when the pod's address is not in the
// inventory. Pods that are not running (nor finished) have no logs and are
// left out. Errors name the verb and resource the API server refused.
func Inputs(ctx context.Context, client kubernetes.Interface, cfg Config) ([]accesslog.Input, error) {
	if cfg.Since < 0 {
		return nil, badinput.Errorf("--%s must not be negative", accesslog.FlagSince)
	}
	var opts *int64
	if cfg.Since > 0 {
		opts = new(int64(math.Ceil(cfg.Since.Seconds())))
	}
	var out []accesslog.Input
	if cfg.Sidecars || cfg.Waypoints {
		namespaces := cfg.Namespaces
		if len(namespaces) == 0 {
			namespaces = []string{metav1.NamespaceAll}
		}
		for _, ns := range namespaces {
			pods, err := list(ctx, client, ns, "")
			if err != nil {
				return nil, err
			}
			for i := range pods {
				p := &pods[i]
				if cfg.Ztunnel && p.Namespace == cfg.ZtunnelNamespace && matches(cfg.ZtunnelSelector, p) {
					continue // read below, as a ztunnel
				}
				role := accesslog.RoleSidecar
				if isWaypoint(p) {
					role = accesslog.RoleWaypoint
				}
				if role == accesslog.RoleSidecar && !cfg.Sidecars || role == accesslog.RoleWaypoint && !cfg.Waypoints {
					continue
				}
				if c := container(p, cmp.Or(cfg.Container, DefaultContainer)); c != "" && running(p) {
					out = append(out, input(client, p, c, role, opts))
				}
			}
		}
	}
	if cfg.Ztunnel {
		sel := cmp.Or(cfg.ZtunnelSelector, DefaultZtunnelSelector)
		if _, err := labels.Parse(sel); err != nil {
			return nil, badinput.Errorf("ztunnel selector %q: %w", sel, err)
		}
		ns := cmp.Or(cfg.ZtunnelNamespace, DefaultZtunnelNamespace)
		pods, err := list(ctx, client, ns, sel)
		if err != nil {
			return nil, err
		}
		for i := range pods {
			p := &pods[i]
			c := container(p, cmp.Or(cfg.ZtunnelContainer, DefaultContainer))
			if c == "" && len(p.Spec.Containers) == 1 {
				c = p.Spec.Containers[0].Name
			}
			if c != "" && running(p) {
				out = append(out, input(client, p, c, accesslog.RoleZtunnel, opts))
			}
		}
	}
	return out, nil
}

func list(ctx context.Context, client kubernetes.Interface, ns, selector string) ([]corev1.Pod, error) {
	var out []corev1.Pod
	opts := metav1.ListOptions{LabelSelector: selector, Limit: 500}
	for {
		l, err := client.CoreV1().Pods(ns).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing pods %s: %w", where(ns), explain(err, "list", "pods", ns))
		}
		out = append(out, l.Items...)
		if l.Continue == "" {
			break
		}
		opts.Continue = l.Continue
	}
	slices.SortFunc(out, func(a, b corev1.Pod) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	return out, nil
}

func where(ns string) string {
	if ns == "" {
		return "in all namespaces"
	}
	return "in namespace " + ns
}

// explain adds to a refusal which permission meshgen lacks.
func explain(err error, verb, resource, ns string) error {
	if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
		scope := where(ns)
		return fmt.Errorf("permission denied: meshgen needs %q on %q %s (a Role or ClusterRole rule with verbs [%s] on resources [%s]): %w",
			verb, resource, scope, verb, resource, err)
	}
	return err
}

func matches(selector string, p *corev1.Pod) bool {
	s, err := labels.Parse(selector)
	return err == nil && s.Matches(labels.Set(p.Labels))
}

func isWaypoint(p *corev1.Pod) bool {
	return p.Labels[labelManaged] == meshController || p.Labels[labelGatewayClass] == waypointClass
}

// container returns name when the pod has a container (or a native sidecar
// init container) of that name, else "".
func container(p *corev1.Pod, name string) string {
	for _, c := range p.Spec.Containers {
		if c.Name == name {
			return name
		}
	}
	for _, c := range p.Spec.InitContainers {
		if c.Name == name && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			return name
		}
	}
	return ""
}

func running(p *corev1.Pod) bool {
	switch p.Status.Phase {
	case corev1.PodRunning, corev1.PodSucceeded, corev1.PodFailed:
		return true
	}
	return false
}

func input(client kubernetes.Interface, p *corev1.Pod, c string, role accesslog.Role, since *int64) accesslog.Input {
	ns, name := p.Namespace, p.Name
	pod := &accesslog.Pod{Namespace: ns, Name: name, Container: c, Role: role}
	if role == accesslog.RoleSidecar {
		pod.Workload = WorkloadName(p)
	}
	return accesslog.Input{
		Name: "pod/" + ns + "/" + name + "/" + c,
		Pod:  pod,
		Open: func(ctx context.Context) (io.ReadCloser, error) {
			rc, err := client.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{
				Container: c, Timestamps: true, SinceSeconds: since,
			}).Stream(ctx)
			if err != nil {
				return nil, fmt.Errorf("reading the logs of pod %s/%s container %s: %w", ns, name, c, explain(err, "get", "pods/log", ns))
			}
			return rc, nil
		},
	}
}

// cronJobSuffix is the "-<8 to 10 digits>" the CronJob controller gives its
// Jobs (the expression Istio uses).
var cronJobSuffix = regexp.MustCompile(`^(.+)-\d{8,10}$`)

// WorkloadName returns the workload name Istio reports for a pod: the
// ISTIO_META_WORKLOAD_NAME the sidecar injector wrote into the proxy
// container, else what Istio derives from the controlling owner (a
// ReplicaSet's name without its pod-template-hash is the Deployment; a
// Job named "<cronjob>-<digits>" is the CronJob's; any other controller
// its own name), else the pod's name.
func WorkloadName(p *corev1.Pod) string {
	for _, c := range append(slices.Clone(p.Spec.Containers), p.Spec.InitContainers...) {
		for _, e := range c.Env {
			if e.Name == "ISTIO_META_WORKLOAD_NAME" && e.Value != "" {
				return e.Value
			}
		}
	}
	ref := metav1.GetControllerOf(p)
	if ref == nil || p.GenerateName == "" {
		return p.Name
	}
	switch {
	case ref.Kind == "ReplicaSet" && p.Labels[labelHash] != "" && strings.HasSuffix(ref.Name, "-"+p.Labels[labelHash]):
		return strings.TrimSuffix(ref.Name, "-"+p.Labels[labelHash])
	case ref.Kind == "Job":
		if m := cronJobSuffix.FindStringSubmatch(ref.Name); m != nil {
			return m[1]
		}
	}
	return ref.Name
}

// IsPermission reports whether err is the API server refusing meshgen.
func IsPermission(err error) bool {
	var s apierrors.APIStatus
	return errors.As(err, &s) && (apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err))
}
