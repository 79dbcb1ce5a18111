package testenv

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// RestrictedConfig creates a ServiceAccount in ns, a Role with the given rules and a RoleBinding of
// the Role to it, and returns a rest.Config and the path of a kubeconfig (context "meshgen-test",
// namespace ns) that authenticate as that ServiceAccount with a token from the TokenRequest API. It
// returns once the server authorizes the first resource rule, so the grant is in effect.
func (k *KubeServer) RestrictedConfig(t testing.TB, ns string, rules []rbacv1.PolicyRule) (*rest.Config, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := k.env.client
	name := "meshgen-restricted-" + randomHex(3)
	meta := metav1.ObjectMeta{Name: name, Namespace: ns}
	if _, err := c.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: meta}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating service account %s/%s: %v", ns, name, err)
	}
	if _, err := c.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: meta, Rules: rules}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating role %s/%s: %v", ns, name, err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: meta,
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: ns}},
	}
	if _, err := c.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating role binding %s/%s: %v", ns, name, err)
	}
	tr, err := c.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: new(int64(3600))},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting a token for service account %s/%s: %v", ns, name, err)
	}
	user := "system:serviceaccount:" + ns + ":" + name
	if attrs := firstResourceAttributes(ns, rules); attrs != nil {
		err := waitFor(ctx, k.env.apiserver, 30*time.Second, "the role of "+user+" to take effect", func(ctx context.Context) error {
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User:               user,
				Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
				ResourceAttributes: attrs,
			}}
			got, err := c.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
			if err != nil {
				return err
			}
			if !got.Status.Allowed {
				return fmt.Errorf("%s may not %s %s yet: %s", user, attrs.Verb, attrs.Resource, got.Status.Reason)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	cfg := &rest.Config{
		Host:            k.env.host,
		BearerToken:     tr.Status.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: k.env.caData},
		QPS:             200,
		Burst:           400,
		Timeout:         time.Minute,
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := writeKubeconfig(path, k.env.host, k.env.caData, name, tr.Status.Token, ns); err != nil {
		t.Fatal(err)
	}
	return cfg, path
}

// firstResourceAttributes returns what the first resource rule allows, for a SubjectAccessReview,
// or nil when no rule names resources.
func firstResourceAttributes(ns string, rules []rbacv1.PolicyRule) *authorizationv1.ResourceAttributes {
	for _, r := range rules {
		if len(r.Verbs) == 0 || len(r.Resources) == 0 {
			continue
		}
		a := &authorizationv1.ResourceAttributes{Namespace: ns, Verb: r.Verbs[0], Resource: r.Resources[0]}
		if len(r.APIGroups) > 0 {
			a.Group = r.APIGroups[0]
		}
		if res, sub, ok := strings.Cut(a.Resource, "/"); ok {
			a.Resource, a.Subresource = res, sub
		}
		if len(r.ResourceNames) > 0 {
			a.Name = r.ResourceNames[0]
		}
		return a
	}
	return nil
}
