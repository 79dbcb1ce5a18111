package inventory

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// leanItems returns the items of the fixture List, as written.
func leanItems(t testing.TB) [][]byte {
	data, err := os.ReadFile(filepath.Join("testdata", "cluster.json"))
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	out := make([][]byte, len(list.Items))
	for i, it := range list.Items {
		out[i] = it
	}
	return out
}

// leanCases are objects that exercise the lean decoding (leanObject) and
// where it hands over to the API types.
var leanCases = []struct {
	name string
	in   string
}{
	{"empty", `{}`},
	{"nulls", `{"apiVersion":null,"kind":"Pod","metadata":null,"spec":null,"status":null}`},
	{"empty collections", `{"kind":"Pod","metadata":{"labels":{},"annotations":{},"ownerReferences":[]},"spec":{"containers":[{"args":[],"env":[],"ports":[]}],"initContainers":[]},"status":{"podIPs":[]}}`},
	{"null elements and values", `{"kind":"Pod","metadata":{"labels":{"a":null},"ownerReferences":[null,{"controller":null}]},"spec":{"containers":[null,{"args":[null,"x"],"env":[null],"ports":[null]}]},"status":{"podIPs":[null]}}`},
	{"escapes and unicode", `{"kind":"Pod","metadata":{"name":"caf\u00e9","namespace":"é","annotations":{"s":"{\"a\":[1]}\n","t":"\ud83d\ude00"}}}`},
	{"invalid surrogate", `{"kind":"Pod","metadata":{"name":"\ud800x"}}`},
	{"service", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"s","namespace":"n"},"spec":{"selector":{"app":"x"},"ports":[{"name":"http","port":80,"targetPort":"http","appProtocol":"h2","protocol":"TCP"},{"port":81,"targetPort":8081,"appProtocol":null},{"port":82,"targetPort":null}]}}`},
	{"controller", `{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"r","namespace":"n","ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"d","uid":"u","controller":true,"blockOwnerDeletion":true}]},"spec":{"replicas":0,"selector":{"matchLabels":{"a":"b"},"matchExpressions":[{"key":"k","operator":"Exists"}]},"template":{"metadata":{"labels":{"a":"b"},"annotations":{"sidecar.istio.io/status":"{}"}},"spec":{"serviceAccountName":"sa","hostNetwork":true,"containers":[{"name":"istio-proxy","image":"i","args":["proxy","sidecar"],"env":[{"name":"ISTIO_META_WORKLOAD_NAME","value":"w"},{"name":"X","valueFrom":{"fieldRef":{"fieldPath":"a"}}}],"ports":[{"containerPort":15090,"name":"p","protocol":"TCP","hostPort":1}],"resources":{"limits":{"cpu":"1"}}}],"initContainers":[{"name":"n","restartPolicy":"Always"}]}}},"status":{"replicas":2}}`},
	{"selector null", `{"kind":"Deployment","spec":{"selector":null,"replicas":null}}`},
	{"skipped values", `{"kind":"Pod","x":[1,-2.5e3,true,false,null,"s",{"a":[{}]},[]],"metadata":{"managedFields":[{"f":{"a":{}}}],"creationTimestamp":"2026-01-01T00:00:00Z"}}`},
	{"white space", " {\n \"kind\" : \"Pod\" ,\t\"metadata\" : { \"name\" : \"p\" } } \n"},
	{"duplicate key", `{"kind":"Pod","metadata":{"labels":{"a":"1"},"labels":{"b":"2"}}}`},
	{"duplicate map key", `{"kind":"Pod","metadata":{"labels":{"a":"1","a":"2"}}}`},
	{"key in another case", `{"Kind":"Pod"}`},
	{"unknown key in another case of a field", `{"kind":"Pod","spec":{"Containers":[]}}`},
	{"escaped key", `{"kin\u0064":"Pod"}`},
	{"number where a string is", `{"kind":"Pod","metadata":{"name":5}}`},
	{"string where a number is", `{"kind":"Service","spec":{"ports":[{"port":"80"}]}}`},
	{"float port", `{"kind":"Service","spec":{"ports":[{"port":80.0}]}}`},
	{"port out of range", `{"kind":"Service","spec":{"ports":[{"port":4294967296}]}}`},
	{"negative port", `{"kind":"Service","spec":{"ports":[{"port":-1}]}}`},
	{"bool as string", `{"kind":"Pod","spec":{"hostNetwork":"true"}}`},
	{"object where array is", `{"kind":"Pod","spec":{"containers":{}}}`},
	{"not an object", `[1]`},
}

// checkLeanObject checks that one object that the API types accept gives
// the same inventory through addJSON (leanObject) and through addFull.
func checkLeanObject(t *testing.T, raw []byte) {
	t.Helper()
	lean, full := newCollector(nil), newCollector(nil)
	_, errLean := lean.addJSON(raw)
	_, errFull := full.addFull(raw)
	// The lean decoding reads fewer fields, so it may accept an object
	// whose unread fields the API types reject; it never rejects one that
	// they accept.
	if errLean != nil && errFull == nil {
		t.Fatalf("%s: lean error %v, API types accept it", raw, errLean)
	}
	if errLean != nil || errFull != nil {
		return
	}
	gotInv, gotWarn := lean.build("test")
	wantInv, wantWarn := full.build("test")
	if diff := cmp.Diff(wantInv, gotInv); diff != "" {
		t.Fatalf("%s: inventory mismatch (-API types +lean):\n%s", raw, diff)
	}
	if diff := cmp.Diff(wantWarn, gotWarn); diff != "" {
		t.Fatalf("%s: warnings mismatch (-API types +lean):\n%s", raw, diff)
	}
	if lean.objects != full.objects || lean.skipped() != full.skipped() {
		t.Fatalf("%s: counted %d objects, %d skipped; API types %d, %d", raw, lean.objects, lean.skipped(), full.objects, full.skipped())
	}
}

func TestLeanObjectMatchesFull(t *testing.T) {
	for _, tc := range leanCases {
		t.Run(tc.name, func(t *testing.T) {
			if !json.Valid([]byte(tc.in)) {
				t.Fatalf("test input is not valid JSON: %s", tc.in)
			}
			checkLeanObject(t, []byte(tc.in))
		})
	}
	for _, raw := range leanItems(t) {
		checkLeanObject(t, raw)
	}
}

// TestLeanInventoryMatchesFull reads the fixtures with leanObject and with
// the API types, and checks that both give the same inventory.
func TestLeanInventoryMatchesFull(t *testing.T) {
	for _, name := range []string{"cluster.json", "cluster.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := FromReader(bytes.NewReader(data), Options{})
		if err != nil {
			t.Fatalf("FromReader(%s) error: %v", name, err)
		}
		full := newCollector(nil)
		for _, raw := range leanItems(t) {
			if _, err := full.addFull(raw); err != nil {
				t.Fatal(err)
			}
		}
		inv, warnings := full.build(got.Inventory.Origin)
		if diff := cmp.Diff(inv, got.Inventory); diff != "" {
			t.Errorf("%s: inventory mismatch (-API types +lean):\n%s", name, diff)
		}
		if diff := cmp.Diff(warnings, got.Warnings); diff != "" {
			t.Errorf("%s: warnings mismatch (-API types +lean):\n%s", name, diff)
		}
	}
}

func FuzzLeanMatchesFull(f *testing.F) {
	for _, tc := range leanCases {
		f.Add([]byte(tc.in))
	}
	for _, raw := range leanItems(f) {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		checkLeanObject(t, raw)
	})
}
