package inventory

import (
	"context"
	"errors"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/meshgen/meshgen/observe/badinput"
	"github.com/meshgen/meshgen/observe/snapshot"
)

// DefaultPageSize is the number of objects asked for in one list request.
const DefaultPageSize = 500

// Options says what to read.
type Options struct {
	// Namespaces restricts the inventory to these namespaces; empty means all.
	Namespaces []string
	// PageSize is the limit of each list request (FromCluster only); 0 means
	// DefaultPageSize.
	PageSize int64
}

// Result is an inventory with what was learned while reading it.
type Result struct {
	Inventory snapshot.Inventory
	// Warnings are facts that could not be recorded exactly (a workload
	// without a safe selector, pods that disagree, an unknown service
	// account, ...), sorted.
	Warnings []string
	// Objects is the number of Kubernetes objects read.
	Objects int64
	// Skipped is the number of those objects of kinds the inventory does not
	// use (FromFile only).
	Skipped int64
}

// PermissionError is returned when the API server refuses a request for lack
// of RBAC permission. It is a runtime failure, not bad input.
type PermissionError struct {
	Verb      string // "list" or "get"
	Resource  string // "pods", "replicasets", ...
	Namespace string // "" for all namespaces or a cluster-scoped resource
	Err       error
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("%s: forbidden: meshgen needs %q on %q", e.doing(), e.Verb, e.Resource)
}

func (e *PermissionError) Unwrap() error { return e.Err }

func (e *PermissionError) doing() string {
	return doing(e.Verb, e.Resource, e.Namespace)
}

func doing(verb, resource, ns string) string {
	v := "listing"
	if verb == "get" {
		v = "getting"
	}
	switch {
	case resource == "namespaces":
		return v + " " + resource
	case ns == "":
		return v + " " + resource + " in all namespaces"
	default:
		return v + " " + resource + " in namespace " + ns
	}
}

func apiError(verb, resource, ns string, err error) error {
	if apierrors.IsForbidden(err) {
		return &PermissionError{Verb: verb, Resource: resource, Namespace: ns, Err: err}
	}
	return fmt.Errorf("%s: %w", doing(verb, resource, ns), err)
}

// FromCluster reads the inventory from a cluster. Every list is paginated
// (opts.PageSize objects per request). A missing permission is a
// *PermissionError naming the verb, resource and namespace.
func FromCluster(ctx context.Context, client kubernetes.Interface, opts Options) (*Result, error) {
	c := newCollector(opts.Namespaces)
	page := opts.PageSize
	if page <= 0 {
		page = DefaultPageSize
	}
	scopes := []string{metav1.NamespaceAll}
	if len(opts.Namespaces) > 0 {
		scopes = slices.Clone(opts.Namespaces)
		slices.Sort(scopes)
		scopes = slices.Compact(scopes)
		for _, ns := range scopes {
			if ns == "" {
				return nil, badinput.Errorf("getting namespaces: an empty namespace name was given")
			}
			n, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil, badinput.Errorf("getting namespace %s: it does not exist", ns)
			}
			if err != nil {
				return nil, apiError("get", "namespaces", "", err)
			}
			c.addNamespace(n)
		}
	} else {
		err := listPages(ctx, "namespaces", "", page,
			func(o metav1.ListOptions) (*corev1.NamespaceList, error) {
				return client.CoreV1().Namespaces().List(ctx, o)
			},
			func(l *corev1.NamespaceList) (string, error) {
				for i := range l.Items {
					c.addNamespace(&l.Items[i])
				}
				return l.Continue, nil
			})
		if err != nil {
			return nil, err
		}
	}
	for _, ns := range scopes {
		steps := []func() error{
			func() error {
				return listPages(ctx, "serviceaccounts", ns, page,
					func(o metav1.ListOptions) (*corev1.ServiceAccountList, error) {
						return client.CoreV1().ServiceAccounts(ns).List(ctx, o)
					},
					func(l *corev1.ServiceAccountList) (string, error) {
						for i := range l.Items {
							c.addServiceAccount(&l.Items[i])
						}
						return l.Continue, nil
					})
			},
			func() error {
				return listPages(ctx, "services", ns, page,
					func(o metav1.ListOptions) (*corev1.ServiceList, error) {
						return client.CoreV1().Services(ns).List(ctx, o)
					},
					func(l *corev1.ServiceList) (string, error) {
						for i := range l.Items {
							c.addService(&l.Items[i])
						}
						return l.Continue, nil
					})
			},
			func() error {
				return listPages(ctx, "deployments", ns, page,
					func(o metav1.ListOptions) (*appsv1.DeploymentList, error) {
						return client.AppsV1().Deployments(ns).List(ctx, o)
					},
					func(l *appsv1.DeploymentList) (string, error) {
						for i := range l.Items {
							c.addDeployment(&l.Items[i])
						}
						return l.Continue, nil
					})
			},
			func() error {
				return listPages(ctx, "statefulsets", ns, page,
					func(o metav1.ListOptions) (*appsv1.StatefulSetList, error) {
						return client.AppsV1().StatefulSets(ns).List(ctx, o)
					},
					func(l *appsv1.StatefulSetList) (string, error) {
						for i := range l.Items {
							c.addStatefulSet(&l.Items[i])
						}
						return l.Continue, nil
					})
			},
			func() error {
				return listPages(ctx, "daemonsets", ns, page,
					func(o metav1.ListOptions) (*appsv1.DaemonSetList, error) {
						return client.AppsV1().DaemonSets(ns).List(ctx, o)
					},
					func(l *appsv1.DaemonSetList) (string, error) {
						for i := range l.Items {
							c.addDaemonSet(&l.Items[i])
						}
						return l.Continue, nil
					})
			},
			func() error {
				return listPages(ctx, "replicasets", ns, page,
					func(o metav1.ListOptions) (*appsv1.ReplicaSetList, error) {
						return client.AppsV1().ReplicaSets(ns).List(ctx, o)
					},
					func(l *appsv1.ReplicaSetList) (string, error) {
						for i := range l.Items {
							c.addReplicaSet(&l.Items[i])
						}
						return l.Continue, nil
					})
			},
			func() error {
				return listPages(ctx, "pods", ns, page,
					func(o metav1.ListOptions) (*corev1.PodList, error) { return client.CoreV1().Pods(ns).List(ctx, o) },
					func(l *corev1.PodList) (string, error) {
						for i := range l.Items {
							c.addPod(&l.Items[i])
						}
						return l.Continue, nil
					})
			},
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return nil, err
			}
		}
	}
	inv, warnings := c.build(snapshot.InventoryCluster)
	return &Result{Inventory: inv, Warnings: warnings, Objects: c.objects}, nil
}

// listPages lists one resource page by page, handing each page to each. When
// a continue token expires (the list took longer than etcd keeps the
// snapshot), the list starts over once; objects are keyed by name, so the
// pages read twice change nothing.
func listPages[L any](ctx context.Context, resource, ns string, limit int64,
	list func(metav1.ListOptions) (L, error), each func(L) (string, error)) error {
	restarted := false
	opts := metav1.ListOptions{Limit: limit}
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: %w", doing("list", resource, ns), err)
		}
		l, err := list(opts)
		if err != nil {
			if apierrors.IsResourceExpired(err) && opts.Continue != "" && !restarted {
				restarted = true
				opts = metav1.ListOptions{Limit: limit}
				continue
			}
			return apiError("list", resource, ns, err)
		}
		next, err := each(l)
		if err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		opts.Continue = next
	}
}

// ClientFromKubeconfig builds a client with client-go's usual loading rules:
// the kubeconfig file given (else $KUBECONFIG, else ~/.kube/config), the
// context given (else the current one), and the in-cluster configuration
// when meshgen runs in a pod and no kubeconfig exists. Errors in the
// kubeconfig or the context are bad input.
func ClientFromKubeconfig(kubeconfig, contextName string) (kubernetes.Interface, *rest.Config, error) {
	cfg, err := clientConfig(kubeconfig, contextName).ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, nil, badinput.Errorf("loading kubeconfig: no kubeconfig found and not running in a cluster; set --kubeconfig or KUBECONFIG")
		}
		return nil, nil, badinput.Errorf("loading kubeconfig: %w", err)
	}
	cfg.UserAgent = "meshgen"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, badinput.Errorf("making a Kubernetes client from the kubeconfig: %w", err)
	}
	return client, cfg, nil
}

// KubeconfigContext returns the name of the context ClientFromKubeconfig
// uses (for recording where an inventory came from): the one given, else the
// kubeconfig's current context, else "in-cluster".
func KubeconfigContext(kubeconfig, contextName string) string {
	if contextName != "" {
		return contextName
	}
	raw, err := clientConfig(kubeconfig, "").RawConfig()
	if err != nil || raw.CurrentContext == "" {
		return "in-cluster"
	}
	return raw.CurrentContext
}

func clientConfig(kubeconfig, contextName string) clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: contextName}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
}

// IsPermission reports whether err is (or wraps) a *PermissionError.
func IsPermission(err error) bool {
	var pe *PermissionError
	return errors.As(err, &pe)
}
