package inventory

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/meshgen/meshgen/observe/badinput"
	"github.com/meshgen/meshgen/observe/snapshot"
)

// KubectlCommand is the command whose output FromFile reads.
const KubectlCommand = "kubectl get namespaces,serviceaccounts,services,deployments,statefulsets,daemonsets,replicasets,pods -A -o json"

// FromFile reads the inventory from the output of KubectlCommand: a JSON List
// of mixed kinds, decoded one item at a time; or the same with -o yaml, read
// one item at a time when items are laid out as kubectl prints them; either
// may be gzip-compressed. A single object (kubectl get KIND NAME -o json) is
// accepted too. Objects of other kinds are skipped and counted. Every error is
// bad input naming the file, the item (items[i]) and its line.
func FromFile(path string, opts Options) (*Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, badinput.Errorf("opening inventory file: %w", err)
	}
	defer f.Close()
	res, err := read(f, opts, snapshot.InventoryFile)
	if err != nil {
		var de *decodeError
		if errors.As(err, &de) && de.line == 0 && de.offset >= 0 {
			de.line = lineAt(path, de.offset)
		}
		return nil, badinput.Errorf("reading inventory file %s: %w", path, err)
	}
	return res, nil
}

// FromReader is FromFile for an open stream; errors give byte offsets instead
// of lines for JSON input.
func FromReader(r io.Reader, opts Options) (*Result, error) {
	res, err := read(r, opts, snapshot.InventoryFile)
	if err != nil {
		return nil, badinput.Errorf("reading inventory: %w", err)
	}
	return res, nil
}

// decodeError locates a decoding failure: item is the index in the items
// array (-1 outside it), line the 1-based line when known, offset the byte
// offset in the (decompressed) input when the line is not yet known.
type decodeError struct {
	item   int
	line   int
	offset int64
	err    error
}

func (e *decodeError) Error() string {
	var where []string
	if e.item >= 0 {
		where = append(where, fmt.Sprintf("items[%d]", e.item))
	}
	switch {
	case e.line > 0:
		where = append(where, fmt.Sprintf("line %d", e.line))
	case e.offset >= 0:
		where = append(where, fmt.Sprintf("byte %d", e.offset))
	}
	if len(where) == 0 {
		return e.err.Error()
	}
	return strings.Join(where, ", ") + ": " + e.err.Error()
}

func (e *decodeError) Unwrap() error { return e.err }

// errTruncated is wrapped when the input ends inside the List.
var errTruncated = errors.New("the input ends early: it is truncated")

func read(r io.Reader, opts Options, origin string) (*Result, error) {
	in, err := decompress(r)
	if err != nil {
		return nil, err
	}
	c := newCollector(opts.Namespaces)
	first, err := firstByte(in)
	if err != nil {
		return nil, err
	}
	switch first {
	case '{':
		err = decodeJSON(in, c)
	case '[':
		err = &decodeError{item: -1, line: 1, offset: -1, err: errors.New("expected a JSON object such as kubectl's List, found an array")}
	default:
		err = decodeYAML(in, c)
	}
	if err != nil {
		return nil, err
	}
	if c.objects == c.skipped() {
		return nil, fmt.Errorf("found no namespaces, service accounts, services, workloads or pods (make it with: %s)", KubectlCommand)
	}
	inv, warnings := c.build(origin)
	return &Result{Inventory: inv, Warnings: warnings, Objects: c.objects, Skipped: c.skipped()}, nil
}

// decompress returns r, gunzipped when it starts with the gzip magic bytes.
func decompress(r io.Reader) (*bufio.Reader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("decompressing: %w", err)
		}
		return bufio.NewReaderSize(zr, 1<<16), nil
	}
	return br, nil
}

// firstByte returns the first byte that is not white space, without consuming it.
func firstByte(br *bufio.Reader) (byte, error) {
	for n := 1; ; n++ {
		b, err := br.Peek(n)
		if len(b) < n {
			if err == nil || errors.Is(err, io.EOF) || errors.Is(err, bufio.ErrBufferFull) {
				return 0, errors.New("the input is empty")
			}
			return 0, err
		}
		switch b[n-1] {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return b[n-1], nil
	}
}

// lineAt counts the lines of the file up to a byte offset of its
// (decompressed) content, re-reading it; 0 when that fails.
func lineAt(path string, offset int64) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	in, err := decompress(f)
	if err != nil {
		return 0
	}
	line := 1
	buf := make([]byte, 1<<16)
	for offset > 0 {
		n, err := in.Read(buf[:min(int64(len(buf)), offset)])
		line += bytes.Count(buf[:n], []byte{'\n'})
		offset -= int64(n)
		if err != nil {
			break
		}
	}
	return line
}

// decodeJSON reads a JSON List, one item at a time.
func decodeJSON(r io.Reader, c *collector) error {
	dec := json.NewDecoder(r)
	fail := func(item int, err error) error {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = errTruncated
		}
		return &decodeError{item: item, offset: dec.InputOffset(), err: err}
	}
	tok, err := dec.Token()
	if err != nil {
		return fail(-1, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fail(-1, fmt.Errorf("expected a JSON object such as kubectl's List, found %v", tok))
	}
	header := map[string]json.RawMessage{}
	sawItems := false
	index := 0
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return fail(-1, err)
		}
		key, _ := kt.(string)
		if key != "items" {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return fail(-1, err)
			}
			header[key] = raw
			continue
		}
		sawItems = true
		t, err := dec.Token()
		if err != nil {
			return fail(-1, err)
		}
		if t == nil {
			continue // "items": null
		}
		if d, ok := t.(json.Delim); !ok || d != '[' {
			return fail(-1, fmt.Errorf("items is not an array"))
		}
		for dec.More() {
			// The item is handed to c.addJSON by item.UnmarshalJSON, as a
			// slice of the decoder's buffer: not copied, not validated again.
			it := item{c: c}
			if err := dec.Decode(&it); err != nil {
				var se *json.SyntaxError
				if errors.As(err, &se) {
					return &decodeError{item: index, offset: syntaxErrorOffset(dec), err: err}
				}
				return fail(index, err)
			}
			if it.err != nil {
				start := dec.InputOffset() - int64(it.n)
				return &decodeError{item: index, offset: start + it.off, err: it.err}
			}
			index++
		}
		if _, err := dec.Token(); err != nil { // ']'
			return fail(index, err)
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return fail(-1, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &decodeError{item: -1, offset: dec.InputOffset(), err: errors.New("unexpected data after the List")}
	}
	if sawItems {
		return nil
	}
	// A single object, as `kubectl get KIND NAME -o json` prints.
	if _, ok := header["kind"]; !ok {
		return &decodeError{item: -1, offset: 0, err: errors.New("neither a List (no items) nor a Kubernetes object (no kind)")}
	}
	whole, err := json.Marshal(header)
	if err != nil {
		return &decodeError{item: -1, offset: 0, err: err}
	}
	if _, err := c.addJSON(whole); err != nil {
		return &decodeError{item: -1, offset: 0, err: err}
	}
	return nil
}

// syntaxErrorOffset locates a syntax error that dec.Decode just returned. The
// decoder's own offset counts only part of what it read, but after an error
// it has not moved past the value's start and still buffers the value, so
// decoding the buffered bytes again finds the error's offset within them.
func syntaxErrorOffset(dec *json.Decoder) int64 {
	start := dec.InputOffset()
	buf, _ := io.ReadAll(dec.Buffered())
	var raw json.RawMessage
	var se *json.SyntaxError
	if err := json.NewDecoder(bytes.NewReader(buf)).Decode(&raw); errors.As(err, &se) {
		return start + se.Offset - 1
	}
	return start
}

// item receives one item of a List from json.Decoder.Decode and adds it to
// the collector; the error of adding it is kept apart from the decoder's.
type item struct {
	c   *collector
	n   int   // the length of the item
	off int64 // where in the item err is, when known
	err error
}

func (it *item) UnmarshalJSON(raw []byte) error {
	it.n = len(raw)
	it.off, it.err = it.c.addJSON(raw)
	return nil
}

// addJSON decodes one object and hands it to the collector. On error it also
// returns the offset of the problem within raw, when known.
//
// It decodes only the fields the inventory reads (leanObject), which is
// faster than decoding whole API objects (a cluster's List
// is mostly fields it does not read: managed fields, resources, status
// conditions). When that fails, the object is decoded again in full, so
// that errors are those of the API types.
func (c *collector) addJSON(raw []byte) (int64, error) {
	var lo leanObject
	if json.Unmarshal(raw, &lo) != nil {
		lo.Kind = ""
	}
	if lo.Kind != "" {
		if ok, err := c.addLean(&lo); ok || err != nil {
			return 0, err
		}
	}
	return c.addFull(raw)
}

// addFull is addJSON with the API types.
func (c *collector) addFull(raw []byte) (int64, error) {
	var tm metav1.TypeMeta
	if err := json.Unmarshal(raw, &tm); err != nil {
		return jsonOffset(err), fmt.Errorf("decoding an object: %w", err)
	}
	if tm.Kind == "" {
		return 0, errors.New("the object has no kind")
	}
	var obj interface {
		GetName() string
		GetNamespace() string
	}
	var add func()
	namespaced := true
	switch tm.APIVersion + " " + tm.Kind {
	case "v1 Namespace":
		o := &corev1.Namespace{}
		obj, add, namespaced = o, func() { c.addNamespace(o) }, false
	case "v1 ServiceAccount":
		o := &corev1.ServiceAccount{}
		obj, add = o, func() { c.addServiceAccount(o) }
	case "v1 Service":
		o := &corev1.Service{}
		obj, add = o, func() { c.addService(o) }
	case "v1 Pod":
		o := &corev1.Pod{}
		obj, add = o, func() { c.addPod(o) }
	case "apps/v1 Deployment":
		o := &appsv1.Deployment{}
		obj, add = o, func() { c.addDeployment(o) }
	case "apps/v1 StatefulSet":
		o := &appsv1.StatefulSet{}
		obj, add = o, func() { c.addStatefulSet(o) }
	case "apps/v1 DaemonSet":
		o := &appsv1.DaemonSet{}
		obj, add = o, func() { c.addDaemonSet(o) }
	case "apps/v1 ReplicaSet":
		o := &appsv1.ReplicaSet{}
		obj, add = o, func() { c.addReplicaSet(o) }
	default:
		c.skip(strings.TrimSpace(tm.APIVersion + " " + tm.Kind))
		return 0, nil
	}
	if err := json.Unmarshal(raw, obj); err != nil {
		return jsonOffset(err), fmt.Errorf("decoding %s: %w", tm.Kind, err)
	}
	if obj.GetName() == "" {
		return 0, fmt.Errorf("%s has no metadata.name", tm.Kind)
	}
	if namespaced && obj.GetNamespace() == "" {
		return 0, fmt.Errorf("%s %s has no metadata.namespace", tm.Kind, obj.GetName())
	}
	add()
	return 0, nil
}

func jsonOffset(err error) int64 {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return se.Offset - 1
	case errors.As(err, &te):
		return te.Offset
	}
	return 0
}

// decodeYAML reads kubectl's -o yaml output one item at a time. kubectl
// prints a List as top-level keys with the items as a block sequence
// ("items:" then "- apiVersion: ..." lines, each item's further lines
// indented two more spaces); each item is cut out by that layout and decoded
// on its own. Documents separated by "---" that are single objects are read
// whole.
func decodeYAML(r io.Reader, c *collector) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 256<<20)

	const (
		top = iota
		itemsStart
		inItems
	)
	state := top
	indent := ""
	var header bytes.Buffer
	headerLine := 0
	sawItems := false
	var item bytes.Buffer
	itemLine, index, lineNo := 0, 0, 0

	flushItem := func() error {
		if itemLine == 0 {
			return nil
		}
		err := c.addYAML(item.Bytes())
		if err != nil {
			err = yamlError(index, itemLine, err)
		}
		item.Reset()
		itemLine = 0
		index++
		return err
	}
	flushDoc := func() error {
		defer func() {
			header.Reset()
			headerLine = 0
			sawItems = false
		}()
		if sawItems || len(bytes.TrimSpace(header.Bytes())) == 0 {
			return nil
		}
		var probe struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal(header.Bytes(), &probe); err != nil {
			return yamlError(-1, headerLine, fmt.Errorf("not a kubectl List or a Kubernetes object: %w", err))
		}
		if probe.Kind == "" || strings.HasSuffix(probe.Kind, "List") {
			return &decodeError{item: -1, line: headerLine, offset: -1, err: errors.New("neither a List (no items) nor a Kubernetes object (no kind)")}
		}
		if err := c.addYAML(header.Bytes()); err != nil {
			return yamlError(-1, headerLine, err)
		}
		return nil
	}

	for sc.Scan() {
		lineNo++
		line := strings.TrimSuffix(sc.Text(), "\r")
		blank := strings.TrimSpace(line) == ""
		if state == itemsStart && !blank {
			rest := strings.TrimLeft(line, " ")
			if strings.HasPrefix(rest, "- ") || rest == "-" {
				indent = line[:len(line)-len(rest)]
				state = inItems
			} else {
				state = top
			}
		}
		if state == inItems {
			switch {
			case blank:
				if itemLine > 0 {
					item.WriteByte('\n')
				}
				continue
			case strings.HasPrefix(line, indent+"- ") || line == indent+"-":
				if err := flushItem(); err != nil {
					return err
				}
				itemLine = lineNo
				item.WriteString(strings.TrimPrefix(line[len(indent)+1:], " "))
				item.WriteByte('\n')
				continue
			case strings.HasPrefix(line, indent+"  "):
				item.WriteString(line[len(indent)+2:])
				item.WriteByte('\n')
				continue
			}
			if err := flushItem(); err != nil {
				return err
			}
			state = top
		}
		if state == itemsStart { // blank line after "items:"
			continue
		}
		switch {
		case line == "---" || strings.HasPrefix(line, "--- ") || line == "...":
			if err := flushDoc(); err != nil {
				return err
			}
		case strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "items:"):
			sawItems = true
			switch rest := strings.TrimSpace(strings.TrimPrefix(line, "items:")); rest {
			case "", "null", "~":
				state = itemsStart
			case "[]":
			default:
				return &decodeError{item: -1, line: lineNo, offset: -1, err: errors.New("items written in YAML flow style are not supported; use the output of kubectl -o yaml or -o json")}
			}
		default:
			if headerLine == 0 && !blank {
				headerLine = lineNo
			}
			header.WriteString(line)
			header.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return &decodeError{item: index, line: lineNo + 1, offset: -1, err: fmt.Errorf("reading: %w", err)}
	}
	if state == inItems {
		if err := flushItem(); err != nil {
			return err
		}
	}
	return flushDoc()
}

// yamlLineRE finds the line number in the YAML parser's messages, which
// counts from the start of the item.
var yamlLineRE = regexp.MustCompile(`yaml: line (\d+): `)

// yamlError locates an error in the item that starts at line start, turning
// the parser's line within the item into a line of the file.
func yamlError(item, start int, err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatchIndex(msg); m != nil {
		if n, convErr := strconv.Atoi(msg[m[2]:m[3]]); convErr == nil {
			return &decodeError{item: item, line: start + n - 1, offset: -1, err: errors.New(msg[:m[0]] + "yaml: " + msg[m[1]:])}
		}
	}
	return &decodeError{item: item, line: start, offset: -1, err: err}
}

// addYAML decodes one YAML object and hands it to the collector.
func (c *collector) addYAML(doc []byte) error {
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return fmt.Errorf("decoding YAML: %w", err)
	}
	if bytes.Equal(bytes.TrimSpace(j), []byte("null")) {
		return errors.New("the item is empty")
	}
	_, err = c.addJSON(j)
	return err
}

// leanObject is the part of any object of the kinds the inventory reads that
// it reads: the fields of Namespaces, ServiceAccounts, Services, Pods,
// Deployments, StatefulSets, DaemonSets and ReplicaSets that the collector's
// digests use, with the API types' JSON names and types. The kinds share
// it; only spec.selector differs between kinds (a label map in a Service, a
// LabelSelector in a controller) and is decoded by kind.
type leanObject struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   leanMeta   `json:"metadata"`
	Spec       leanSpec   `json:"spec"`
	Status     leanStatus `json:"status"`
}

type leanSpec struct {
	Selector json.RawMessage   `json:"selector"`
	Ports    []leanServicePort `json:"ports"`
	Replicas *int32            `json:"replicas"`
	Template leanTemplate      `json:"template"`
	leanPodSpec
}

type leanTemplate struct {
	Metadata leanMeta    `json:"metadata"`
	Spec     leanPodSpec `json:"spec"`
}

type leanStatus struct {
	Phase  corev1.PodPhase `json:"phase"`
	PodIP  string          `json:"podIP"`
	PodIPs []leanPodIP     `json:"podIPs"`
}

type leanPodIP struct {
	IP string `json:"ip"`
}

type leanServicePort struct {
	Name        string             `json:"name"`
	Protocol    corev1.Protocol    `json:"protocol"`
	AppProtocol *string            `json:"appProtocol"`
	Port        int32              `json:"port"`
	TargetPort  intstr.IntOrString `json:"targetPort"`
}

type leanMeta struct {
	Name            string            `json:"name"`
	Namespace       string            `json:"namespace"`
	GenerateName    string            `json:"generateName"`
	Labels          map[string]string `json:"labels"`
	Annotations     map[string]string `json:"annotations"`
	OwnerReferences []leanOwnerRef    `json:"ownerReferences"`
}

type leanOwnerRef struct {
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Controller *bool  `json:"controller"`
}

func (m *leanMeta) objectMeta() metav1.ObjectMeta {
	om := metav1.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, GenerateName: m.GenerateName,
		Labels: m.Labels, Annotations: m.Annotations,
	}
	if m.OwnerReferences != nil {
		om.OwnerReferences = make([]metav1.OwnerReference, len(m.OwnerReferences))
		for i, r := range m.OwnerReferences {
			om.OwnerReferences[i] = metav1.OwnerReference{Kind: r.Kind, Name: r.Name, Controller: r.Controller}
		}
	}
	return om
}

type leanPodSpec struct {
	Containers               []leanContainer `json:"containers"`
	InitContainers           []leanContainer `json:"initContainers"`
	ServiceAccountName       string          `json:"serviceAccountName"`
	DeprecatedServiceAccount string          `json:"serviceAccount"`
	HostNetwork              bool            `json:"hostNetwork"`
}

func (s *leanPodSpec) podSpec() corev1.PodSpec {
	return corev1.PodSpec{
		Containers: containers(s.Containers), InitContainers: containers(s.InitContainers),
		ServiceAccountName: s.ServiceAccountName, DeprecatedServiceAccount: s.DeprecatedServiceAccount, HostNetwork: s.HostNetwork,
	}
}

type leanContainer struct {
	Name          string                         `json:"name"`
	Args          []string                       `json:"args"`
	Env           []leanEnv                      `json:"env"`
	Ports         []leanContainerPort            `json:"ports"`
	RestartPolicy *corev1.ContainerRestartPolicy `json:"restartPolicy"`
}

type leanEnv struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type leanContainerPort struct {
	Name          string          `json:"name"`
	ContainerPort int32           `json:"containerPort"`
	Protocol      corev1.Protocol `json:"protocol"`
}

func containers(lc []leanContainer) []corev1.Container {
	if lc == nil {
		return nil
	}
	out := make([]corev1.Container, len(lc))
	for i, c := range lc {
		out[i] = corev1.Container{Name: c.Name, Args: c.Args, RestartPolicy: c.RestartPolicy}
		if c.Env != nil {
			out[i].Env = make([]corev1.EnvVar, len(c.Env))
			for j, e := range c.Env {
				out[i].Env[j] = corev1.EnvVar{Name: e.Name, Value: e.Value}
			}
		}
		if c.Ports != nil {
			out[i].Ports = make([]corev1.ContainerPort, len(c.Ports))
			for j, p := range c.Ports {
				out[i].Ports[j] = corev1.ContainerPort{Name: p.Name, ContainerPort: p.ContainerPort, Protocol: p.Protocol}
			}
		}
	}
	return out
}

func servicePorts(lp []leanServicePort) []corev1.ServicePort {
	if lp == nil {
		return nil
	}
	out := make([]corev1.ServicePort, len(lp))
	for i, p := range lp {
		out[i] = corev1.ServicePort{Name: p.Name, Protocol: p.Protocol, AppProtocol: p.AppProtocol, Port: p.Port, TargetPort: p.TargetPort}
	}
	return out
}

// addLean hands a decoded leanObject to the collector as the API object it
// stands for. It returns ok=false, with no error, when the object must be
// decoded in full instead: a kind it does not read (skipped and counted by
// addFull) or a selector of the wrong shape (whose error addFull reports).
func (c *collector) addLean(lo *leanObject) (ok bool, err error) {
	m := lo.Metadata.objectMeta()
	namespaced := true
	var add func()
	tmpl := func() corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{ObjectMeta: lo.Spec.Template.Metadata.objectMeta(), Spec: lo.Spec.Template.Spec.podSpec()}
	}
	labelSelector := func() (*metav1.LabelSelector, bool) {
		if lo.Spec.Selector == nil {
			return nil, true
		}
		var sel *metav1.LabelSelector
		return sel, json.Unmarshal(lo.Spec.Selector, &sel) == nil
	}
	switch lo.APIVersion + " " + lo.Kind {
	case "v1 Namespace":
		o := &corev1.Namespace{ObjectMeta: m}
		add, namespaced = func() { c.addNamespace(o) }, false
	case "v1 ServiceAccount":
		o := &corev1.ServiceAccount{ObjectMeta: m}
		add = func() { c.addServiceAccount(o) }
	case "v1 Service":
		o := &corev1.Service{ObjectMeta: m, Spec: corev1.ServiceSpec{Ports: servicePorts(lo.Spec.Ports)}}
		if lo.Spec.Selector != nil && json.Unmarshal(lo.Spec.Selector, &o.Spec.Selector) != nil {
			return false, nil
		}
		add = func() { c.addService(o) }
	case "v1 Pod":
		o := &corev1.Pod{ObjectMeta: m, Spec: lo.Spec.podSpec(), Status: corev1.PodStatus{Phase: lo.Status.Phase, PodIP: lo.Status.PodIP}}
		if lo.Status.PodIPs != nil {
			o.Status.PodIPs = make([]corev1.PodIP, len(lo.Status.PodIPs))
			for i, ip := range lo.Status.PodIPs {
				o.Status.PodIPs[i] = corev1.PodIP{IP: ip.IP}
			}
		}
		add = func() { c.addPod(o) }
	case "apps/v1 Deployment":
		sel, ok := labelSelector()
		if !ok {
			return false, nil
		}
		o := &appsv1.Deployment{ObjectMeta: m, Spec: appsv1.DeploymentSpec{Selector: sel, Template: tmpl()}}
		add = func() { c.addDeployment(o) }
	case "apps/v1 StatefulSet":
		sel, ok := labelSelector()
		if !ok {
			return false, nil
		}
		o := &appsv1.StatefulSet{ObjectMeta: m, Spec: appsv1.StatefulSetSpec{Selector: sel, Template: tmpl()}}
		add = func() { c.addStatefulSet(o) }
	case "apps/v1 DaemonSet":
		sel, ok := labelSelector()
		if !ok {
			return false, nil
		}
		o := &appsv1.DaemonSet{ObjectMeta: m, Spec: appsv1.DaemonSetSpec{Selector: sel, Template: tmpl()}}
		add = func() { c.addDaemonSet(o) }
	case "apps/v1 ReplicaSet":
		sel, ok := labelSelector()
		if !ok {
			return false, nil
		}
		o := &appsv1.ReplicaSet{ObjectMeta: m, Spec: appsv1.ReplicaSetSpec{Replicas: lo.Spec.Replicas, Selector: sel, Template: tmpl()}}
		add = func() { c.addReplicaSet(o) }
	default:
		return false, nil
	}
	if m.Name == "" {
		return true, fmt.Errorf("%s has no metadata.name", lo.Kind)
	}
	if namespaced && m.Namespace == "" {
		return true, fmt.Errorf("%s %s has no metadata.namespace", lo.Kind, m.Name)
	}
	add()
	return true, nil
}
