package policyset

import (
	"context"
	"fmt"

	"istio.io/client-go/pkg/clientset/versioned"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshgen/meshgen/synth/eval"
)

// pageSize bounds each List call.
const pageSize = 500

// FromCluster reads the AuthorizationPolicies and PeerAuthentications
// deployed in the given namespaces (all namespaces when none are given)
// through security.istio.io/v1; the API server serves v1beta1 objects as v1,
// the schema being the same. When namespaces are given they should include
// the mesh root namespace, whose policies apply everywhere. A missing RBAC
// permission is an error naming the verb and resource needed.
func FromCluster(ctx context.Context, c versioned.Interface, namespaces []string) (*eval.PolicySet, error) {
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	ps := &eval.PolicySet{}
	for _, ns := range namespaces {
		cont := ""
		for {
			l, err := c.SecurityV1().AuthorizationPolicies(ns).List(ctx, metav1.ListOptions{Limit: pageSize, Continue: cont})
			if err != nil {
				return nil, listError("authorizationpolicies", ns, err)
			}
			ps.AuthorizationPolicies = append(ps.AuthorizationPolicies, l.Items...)
			if cont = l.Continue; cont == "" {
				break
			}
		}
		for {
			l, err := c.SecurityV1().PeerAuthentications(ns).List(ctx, metav1.ListOptions{Limit: pageSize, Continue: cont})
			if err != nil {
				return nil, listError("peerauthentications", ns, err)
			}
			ps.PeerAuthentications = append(ps.PeerAuthentications, l.Items...)
			if cont = l.Continue; cont == "" {
				break
			}
		}
	}
	return ps, nil
}

func listError(resource, ns string, err error) error {
	where := "in all namespaces"
	if ns != metav1.NamespaceAll {
		where = fmt.Sprintf("in namespace %s", ns)
	}
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("listing %s.%s %s: permission denied: the credentials need verb \"list\" on resource %q in API group %q %s: %w",
			resource, Group, where, resource, Group, where, err)
	case apierrors.IsNotFound(err):
		return fmt.Errorf("listing %s.%s %s: the cluster does not serve %s/v1 %s (are Istio's CRDs installed?): %w",
			resource, Group, where, Group, resource, err)
	}
	return fmt.Errorf("listing %s.%s %s: %w", resource, Group, where, err)
}
