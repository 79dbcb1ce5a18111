package testenv

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// KubeContext is the context name in the kubeconfig files that this package writes.
const KubeContext = "meshgen-test"

// fieldManager is the server-side apply field manager of everything this package applies.
const fieldManager = "meshgen-testenv"

// KubeServer is a real kube-apiserver (backed by a real etcd) with Istio's CRDs installed, shared by
// the tests of one test binary. Each test should create its own namespace (see Namespace). There is no
// controller manager: deleted namespaces stay Terminating, so list within your namespace.
type KubeServer struct {
	// Config has admin (system:masters) credentials. Each Kube call returns its own copy.
	Config *rest.Config
	// Kubeconfig is the path of a kubeconfig file whose current context, "meshgen-test", uses the
	// admin credentials.
	Kubeconfig string

	env *kubeEnv
}

// kubeEnv is the state shared by every KubeServer of this test binary.
type kubeEnv struct {
	dir       string
	host      string
	caData    []byte
	config    *rest.Config
	client    kubernetes.Interface
	dyn       dynamic.Interface
	mapper    *restmapper.DeferredDiscoveryRESTMapper
	etcd      *process
	apiserver *process

	namespaces sync.Map // namespaces that DryRunApply made sure exist
}

var (
	mainCalled atomic.Bool
	kubeOnce   sync.Once
	kubeShared *kubeEnv
	kubeErr    error
	kubeMu     sync.Mutex // guards kubeDir, kubeProcs for Main
	kubeDir    string
	kubeProcs  []*process // in start order
)

// Main wraps testing.M so that shared servers are stopped when the tests are done:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	mainCalled.Store(true)
	code := m.Run()
	stopShared()
	os.Exit(code)
}

// stopShared stops kube-apiserver, then etcd, and removes their directory. kube-apiserver gets
// SIGKILL: sent SIGTERM, it can keep retrying a stopped etcd for minutes.
func stopShared() {
	kubeMu.Lock()
	defer kubeMu.Unlock()
	for i := len(kubeProcs) - 1; i >= 0; i-- {
		p := kubeProcs[i]
		if p.name == "kube-apiserver" {
			p.stop(syscall.SIGKILL, 0)
		} else {
			p.stop(syscall.SIGTERM, 10*time.Second)
		}
	}
	kubeProcs = nil
	if kubeDir != "" {
		_ = os.RemoveAll(kubeDir)
		kubeDir = ""
	}
}

// Kube returns the shared real kube-apiserver (+etcd) of this test binary, with Istio's CRDs
// installed. It is started by the first call and stopped by Main when the test binary exits.
func Kube(t testing.TB) *KubeServer {
	t.Helper()
	skipShort(t)
	if !mainCalled.Load() {
		t.Fatalf("testenv.Kube: the package's TestMain must call testenv.Main(m), which stops the shared servers")
	}
	bins := requireBinaries(t, "etcd", "kube-apiserver")
	kubeOnce.Do(func() {
		start := time.Now()
		kubeShared, kubeErr = startKube(bins[0], bins[1])
		if kubeErr == nil {
			t.Logf("testenv: started etcd and kube-apiserver with Istio's CRDs in %s", time.Since(start).Round(time.Millisecond))
		}
	})
	if kubeErr != nil {
		t.Fatalf("starting kube-apiserver: %v", kubeErr)
	}
	return &KubeServer{Config: rest.CopyConfig(kubeShared.config), Kubeconfig: filepath.Join(kubeShared.dir, "kubeconfig"), env: kubeShared}
}

func startKube(etcdBin, apiserverBin string) (*kubeEnv, error) {
	crdFile, err := IstioCRDFile()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "meshgen-testenv-kube-")
	if err != nil {
		return nil, fmt.Errorf("creating kube-apiserver directory: %w", err)
	}
	kubeMu.Lock()
	kubeDir = dir
	kubeMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	e := &kubeEnv{dir: dir}
	etcdURL, err := e.startEtcd(ctx, etcdBin)
	if err != nil {
		return nil, err
	}
	token, err := e.startAPIServer(ctx, apiserverBin, etcdURL)
	if err != nil {
		return nil, err
	}
	e.config = &rest.Config{
		Host:            e.host,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: e.caData},
		QPS:             200,
		Burst:           400,
		Timeout:         time.Minute,
	}
	if e.client, err = kubernetes.NewForConfig(e.config); err != nil {
		return nil, fmt.Errorf("creating kubernetes client: %w", err)
	}
	if e.dyn, err = dynamic.NewForConfig(e.config); err != nil {
		return nil, fmt.Errorf("creating dynamic client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(e.config)
	if err != nil {
		return nil, fmt.Errorf("creating discovery client: %w", err)
	}
	if _, err := e.client.Discovery().ServerVersion(); err != nil {
		return nil, fmt.Errorf("checking the admin credentials and the server's certificate: %w", err)
	}
	if err := e.installCRDs(ctx, dc, crdFile); err != nil {
		return nil, err
	}
	e.mapper = restmapper.NewDeferredDiscoveryRESTMapperWithContext(memory.NewMemCacheClientWithContext(dc))
	if err := writeKubeconfig(filepath.Join(dir, "kubeconfig"), e.host, e.caData, "admin", token, ""); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *kubeEnv) track(p *process) {
	kubeMu.Lock()
	kubeProcs = append(kubeProcs, p)
	kubeMu.Unlock()
}

func (e *kubeEnv) startEtcd(ctx context.Context, bin string) (string, error) {
	for attempt := 0; ; attempt++ {
		ports, err := freePorts(2)
		if err != nil {
			return "", err
		}
		client := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
		peer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
		dataDir := filepath.Join(e.dir, fmt.Sprintf("etcd-%d", attempt))
		p, err := startProcess("etcd", bin, []string{
			"--data-dir", dataDir,
			"--listen-client-urls", client,
			"--advertise-client-urls", client,
			"--listen-peer-urls", peer,
			"--initial-advertise-peer-urls", peer,
			"--initial-cluster", "default=" + peer,
		}, filepath.Join(e.dir, "etcd.log"))
		if err != nil {
			return "", err
		}
		e.track(p)
		e.etcd = p
		err = waitFor(ctx, p, time.Minute, "etcd to be healthy", func(ctx context.Context) error {
			return httpGetOK(ctx, http.DefaultClient, client+"/health", nil)
		})
		if err == nil {
			return client, nil
		}
		p.stop(syscall.SIGKILL, 0)
		if attempt < 3 && addrInUse(p) {
			continue
		}
		return "", fmt.Errorf("starting etcd: %w", err)
	}
}

// startAPIServer starts kube-apiserver and returns its admin token once /readyz answers.
func (e *kubeEnv) startAPIServer(ctx context.Context, bin, etcdURL string) (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", fmt.Errorf("generating service account key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", fmt.Errorf("encoding service account public key: %w", err)
	}
	keyFile := filepath.Join(e.dir, "sa.key")
	pubFile := filepath.Join(e.dir, "sa.pub")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return "", fmt.Errorf("writing service account key: %w", err)
	}
	if err := os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		return "", fmt.Errorf("writing service account public key: %w", err)
	}
	token := randomHex(24)
	tokenFile := filepath.Join(e.dir, "tokens.csv")
	if err := os.WriteFile(tokenFile, []byte(token+",admin,admin,system:masters\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing token file: %w", err)
	}
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	auth := http.Header{"Authorization": {"Bearer " + token}}
	for attempt := 0; ; attempt++ {
		ports, err := freePorts(1)
		if err != nil {
			return "", err
		}
		certDir := filepath.Join(e.dir, fmt.Sprintf("certs-%d", attempt))
		p, err := startProcess("kube-apiserver", bin, []string{
			"--etcd-servers=" + etcdURL,
			"--bind-address=127.0.0.1",
			fmt.Sprintf("--secure-port=%d", ports[0]),
			"--cert-dir=" + certDir,
			"--service-account-issuer=https://kubernetes.default.svc",
			"--service-account-key-file=" + pubFile,
			"--service-account-signing-key-file=" + keyFile,
			"--token-auth-file=" + tokenFile,
			"--authorization-mode=RBAC",
			"--service-cluster-ip-range=10.0.0.0/24",
			"--disable-admission-plugins=ServiceAccount",
		}, filepath.Join(e.dir, fmt.Sprintf("kube-apiserver-%d.log", attempt)))
		if err != nil {
			return "", err
		}
		e.track(p)
		e.apiserver = p
		host := fmt.Sprintf("https://127.0.0.1:%d", ports[0])
		err = waitFor(ctx, p, 2*time.Minute, "kube-apiserver to be ready", func(ctx context.Context) error {
			return httpGetOK(ctx, insecure, host+"/readyz", auth)
		})
		if err == nil {
			// The serving certificate that kube-apiserver generated holds its CA after the leaf.
			ca, err := os.ReadFile(filepath.Join(certDir, "apiserver.crt"))
			if err != nil {
				return "", fmt.Errorf("reading kube-apiserver's generated certificate: %w", err)
			}
			e.host, e.caData = host, ca
			return token, nil
		}
		p.stop(syscall.SIGKILL, 0)
		if attempt < 3 && addrInUse(p) {
			continue
		}
		return "", fmt.Errorf("starting kube-apiserver: %w", err)
	}
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// installCRDs applies the CRDs in file and waits until each is Established and all its served
// versions are in discovery.
func (e *kubeEnv) installCRDs(ctx context.Context, dc discovery.DiscoveryInterfaceWithContext, file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("reading Istio's CRDs: %w", err)
	}
	docs, err := decodeDocs(b)
	if err != nil {
		return fmt.Errorf("reading Istio's CRDs from %s: %w", file, err)
	}
	want := map[string][]string{} // group/version -> plural resources
	for _, d := range docs {
		crd := d.obj
		if crd.GetKind() != "CustomResourceDefinition" {
			return fmt.Errorf("reading Istio's CRDs from %s: document %d is a %s, not a CustomResourceDefinition", file, d.index, crd.GetKind())
		}
		data, err := crd.MarshalJSON()
		if err != nil {
			return fmt.Errorf("encoding CRD %s: %w", crd.GetName(), err)
		}
		if _, err := e.dyn.Resource(crdGVR).Patch(ctx, crd.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: fieldManager, Force: new(true)}); err != nil {
			return fmt.Errorf("applying CRD %s: %w", crd.GetName(), err)
		}
		group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
		plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
		versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
		for _, v := range versions {
			vm, _ := v.(map[string]any)
			if served, _ := vm["served"].(bool); served {
				name, _ := vm["name"].(string)
				gv := group + "/" + name
				want[gv] = append(want[gv], plural)
			}
		}
	}
	for _, d := range docs {
		name := d.obj.GetName()
		err := waitFor(ctx, e.apiserver, time.Minute, "CRD "+name+" to be established", func(ctx context.Context) error {
			crd, err := e.dyn.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			for _, c := range conds {
				cm, _ := c.(map[string]any)
				if cm["type"] == "Established" && cm["status"] == "True" {
					return nil
				}
			}
			return fmt.Errorf("not established: conditions %v", conds)
		})
		if err != nil {
			return err
		}
	}
	for gv, plurals := range want {
		err := waitFor(ctx, e.apiserver, time.Minute, gv+" to be served", func(ctx context.Context) error {
			list, err := dc.ServerResourcesForGroupVersionWithContext(ctx, gv)
			if err != nil {
				return err
			}
			for _, p := range plurals {
				if !slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == p }) {
					return fmt.Errorf("%s not in discovery yet", p)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// IstioCRDFile returns the path of kubernetes/customresourcedefinitions.gen.yaml in the istio.io/api
// module at the version meshgen's go.mod resolves, downloading the module if it is not cached.
func IstioCRDFile() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("finding Istio's CRDs: the go command is needed to locate the istio.io/api module: %w", err)
	}
	dir, err := goCmd(root, goBin, "list", "-m", "-f", "{{.Dir}}", "istio.io/api")
	if err != nil {
		return "", fmt.Errorf("finding Istio's CRDs: %w", err)
	}
	if dir == "" {
		if _, err := goCmd(root, goBin, "mod", "download", "istio.io/api"); err != nil {
			return "", fmt.Errorf("finding Istio's CRDs: %w", err)
		}
		if dir, err = goCmd(root, goBin, "list", "-m", "-f", "{{.Dir}}", "istio.io/api"); err != nil {
			return "", fmt.Errorf("finding Istio's CRDs: %w", err)
		}
	}
	f := filepath.Join(dir, "kubernetes", "customresourcedefinitions.gen.yaml")
	if _, err := os.Stat(f); err != nil {
		return "", fmt.Errorf("finding Istio's CRDs: %w", err)
	}
	return f, nil
}

func goCmd(dir, goBin string, args ...string) (string, error) {
	cmd := exec.Command(goBin, args...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// writeKubeconfig writes a kubeconfig whose current context, KubeContext, uses a bearer token.
func writeKubeconfig(path, host string, ca []byte, user, token, namespace string) error {
	cfg := clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{"meshgen-test": {Server: host, CertificateAuthorityData: ca}},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{user: {Token: token}},
		Contexts:       map[string]*clientcmdapi.Context{KubeContext: {Cluster: "meshgen-test", AuthInfo: user, Namespace: namespace}},
		CurrentContext: KubeContext,
	}
	if err := clientcmd.WriteToFile(cfg, path); err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// Namespace creates a namespace with a unique name derived from the test's name and deletes it at
// cleanup (it then stays Terminating: there is no namespace controller).
func (k *KubeServer) Namespace(t testing.TB) string {
	t.Helper()
	name := namespaceName(t.Name(), randomHex(3))
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := k.env.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		err := k.env.client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting namespace %s: %v", name, err)
		}
	})
	return name
}

// namespaceName turns a test name into a valid, unique namespace name (a DNS label).
func namespaceName(testName, suffix string) string {
	var b strings.Builder
	dash := true // no leading dash
	for _, r := range strings.ToLower(testName) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	base := strings.TrimRight(b.String(), "-")
	const maxBase = 63 - len("t--") - 6
	if len(base) > maxBase {
		base = strings.TrimRight(base[:maxBase], "-")
	}
	return "t-" + base + "-" + suffix
}
