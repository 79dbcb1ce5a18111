package main

import (
	"fmt"

	"github.com/spf13/pflag"
	"istio.io/client-go/pkg/clientset/versioned"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/meshgen/meshgen/observe/badinput"
	"github.com/meshgen/meshgen/observe/inventory"
)

// kubeFlags is the flag group of the commands that read a cluster (learn,
// check, diff): a switch (--cluster) that turns cluster reading on, and the
// usual --kubeconfig and --context. Clients use client-go's loading rules
// (the kubeconfig given, else $KUBECONFIG, else ~/.kube/config, else the
// in-cluster configuration when meshgen runs in a pod).
type kubeFlags struct {
	kubeconfig string
	context    string
	cluster    bool
	// clusterFlag is the name of the switch; implies says that --kubeconfig
	// and --context turn it on (learn), else they need it (check, diff).
	clusterFlag string
	implies     bool
}

// addFlags registers the switch (clusterFlag, with clusterHelp) and
// --kubeconfig and --context.
func (k *kubeFlags) addFlags(fs *pflag.FlagSet, clusterFlag, clusterHelp string, implies bool) {
	k.clusterFlag, k.implies = clusterFlag, implies
	fs.BoolVar(&k.cluster, clusterFlag, false, clusterHelp)
	if implies {
		fs.StringVar(&k.kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster config); implies --"+clusterFlag)
		fs.StringVar(&k.context, "context", "", "kubeconfig context to use; implies --"+clusterFlag)
		return
	}
	fs.StringVar(&k.kubeconfig, "kubeconfig", "", "kubeconfig for --"+clusterFlag+" (default: $KUBECONFIG, ~/.kube/config, or the in-cluster config)")
	fs.StringVar(&k.context, "context", "", "kubeconfig context for --"+clusterFlag+" (default: the current context)")
}

// enabled reports whether the user asked for cluster access.
func (k *kubeFlags) enabled() bool {
	if k.implies {
		return k.cluster || k.kubeconfig != "" || k.context != ""
	}
	return k.cluster
}

// validate rejects --kubeconfig and --context without the switch when they
// do not imply it.
func (k *kubeFlags) validate() error {
	if !k.implies && !k.cluster && (k.kubeconfig != "" || k.context != "") {
		return usageErrorf("--kubeconfig and --context need --%s", k.clusterFlag)
	}
	return nil
}

// contextName names the cluster for reports: the context given, else the
// kubeconfig's current one, else "in-cluster".
func (k *kubeFlags) contextName() string {
	return inventory.KubeconfigContext(k.kubeconfig, k.context)
}

// restConfig loads the client configuration. Errors in the kubeconfig are
// bad input (exit 2).
func (k *kubeFlags) restConfig() (*rest.Config, error) {
	_, cfg, err := inventory.ClientFromKubeconfig(k.kubeconfig, k.context)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// client returns a Kubernetes client and the context name.
func (k *kubeFlags) client() (kubernetes.Interface, string, error) {
	client, _, err := inventory.ClientFromKubeconfig(k.kubeconfig, k.context)
	if err != nil {
		return nil, "", fmt.Errorf("connecting to the cluster: %w", err)
	}
	return client, k.contextName(), nil
}

// istioClient returns an istio.io/client-go client and the context name.
func (k *kubeFlags) istioClient() (versioned.Interface, string, error) {
	cfg, err := k.restConfig()
	if err != nil {
		return nil, "", fmt.Errorf("--%s: %w", k.clusterFlag, err)
	}
	c, err := versioned.NewForConfig(cfg)
	if err != nil {
		return nil, "", badinput.Errorf("--%s: creating the Istio client: %w", k.clusterFlag, err)
	}
	return c, k.contextName(), nil
}
