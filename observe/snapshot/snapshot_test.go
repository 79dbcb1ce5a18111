package snapshot

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

func sample() *Snapshot {
	s := New()
	s.Metadata.Windows = []Window{{Start: t0, End: t0.Add(time.Hour)}}
	s.Metadata.Sources = []SourceInfo{{Kind: EvidencePrometheus, Location: "http://prom:9090", Records: 3}}
	s.Inventory = Inventory{
		Origin:     InventoryFile,
		Namespaces: []Namespace{{Name: "shop", MeshMode: MeshSidecar}},
		Workloads: []Workload{{Namespace: "shop", Name: "cart", Kind: "Deployment", Selector: map[string]string{"app": "cart"},
			ServiceAccount: "cart", Ports: []ContainerPort{{Name: "http", Port: 8080, Protocol: "TCP"}}}},
	}
	s.Edges = []Edge{
		{
			Source:      Source{Principal: "cluster.local/ns/shop/sa/web", Namespace: "shop", Workload: "web", IdentityFrom: IdentityCertificate},
			Destination: Destination{Namespace: "shop", Workload: "cart"},
			Reporter:    ReporterDestination, Protocol: ProtocolHTTP, Port: 8080, Method: "GET", Path: "/cart/\"1\"\n",
			Counts:    Counts{Requests: 10, MTLS: 10},
			FirstSeen: t0, LastSeen: t0.Add(time.Minute), Evidence: []string{EvidencePrometheus},
		},
		{
			Source:      Source{IP: "10.0.0.9"},
			Destination: Destination{Namespace: "shop", Workload: "cart"},
			Reporter:    ReporterDestination, Protocol: ProtocolTCP,
			Counts:    Counts{Requests: 2, Plaintext: 2},
			FirstSeen: t0, LastSeen: t0, Evidence: []string{EvidenceEnvoyLog},
		},
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	for _, name := range []string{"s.json", "s.json.gz"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			want := sample()
			if err := WriteFile(path, want); err != nil {
				t.Fatalf("WriteFile() = %v", err)
			}
			got, err := ReadFile(path)
			if err != nil {
				t.Fatalf("ReadFile() = %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ReadFile(WriteFile(s)) mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteIsDeterministicAndOneEdgePerLine(t *testing.T) {
	var a, b bytes.Buffer
	s1, s2 := sample(), sample()
	// Reverse the input order: the output must not depend on it.
	s2.Edges[0], s2.Edges[1] = s2.Edges[1], s2.Edges[0]
	if err := Write(&a, s1); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, s2); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Fatalf("Write() differs with input order:\n%s\n---\n%s", a.String(), b.String())
	}
	edgeLines := 0
	for _, l := range strings.Split(a.String(), "\n") {
		if strings.HasPrefix(l, `    {"source":`) {
			edgeLines++
		}
	}
	if edgeLines != 2 {
		t.Errorf("Write() put %d edges on their own line, want 2:\n%s", edgeLines, a.String())
	}
}

func TestMerge(t *testing.T) {
	a, b := sample(), sample()
	b.Metadata.Windows = []Window{{Start: t0.Add(30 * time.Minute), End: t0.Add(3 * time.Hour)}}
	b.Edges = b.Edges[:1]
	b.Edges[0].FirstSeen = t0.Add(-time.Hour)
	b.Edges[0].LastSeen = t0.Add(2 * time.Hour)
	b.Edges[0].Evidence = []string{EvidenceEnvoyLog}
	a.Merge(b)
	if len(a.Edges) != 2 {
		t.Fatalf("Merge() left %d edges, want 2", len(a.Edges))
	}
	var got *Edge
	for i := range a.Edges {
		if a.Edges[i].Source.Principal != "" {
			got = &a.Edges[i]
		}
	}
	want := Counts{Requests: 20, MTLS: 20}
	if got.Counts != want {
		t.Errorf("merged counts = %+v, want %+v", got.Counts, want)
	}
	if !got.FirstSeen.Equal(t0.Add(-time.Hour)) || !got.LastSeen.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("merged times = %v..%v, want %v..%v", got.FirstSeen, got.LastSeen, t0.Add(-time.Hour), t0.Add(2*time.Hour))
	}
	if diff := cmp.Diff([]string{EvidenceEnvoyLog, EvidencePrometheus}, got.Evidence); diff != "" {
		t.Errorf("merged evidence (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Window{{Start: t0, End: t0.Add(3 * time.Hour)}}, a.Metadata.Windows); diff != "" {
		t.Errorf("merged windows (-want +got):\n%s", diff)
	}
}

func TestReadErrors(t *testing.T) {
	var good bytes.Buffer
	if err := Write(&good, sample()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      string
		wantErr error
		wantMsg string
	}{
		{name: "newer version", in: strings.Replace(good.String(), APIVersion, "meshgen.dev/v2", 1), wantErr: ErrVersion, wantMsg: "upgrade meshgen"},
		{name: "foreign file", in: `{"apiVersion": "v1", "kind": "List"}`, wantErr: ErrVersion, wantMsg: "not a meshgen snapshot"},
		{name: "truncated", in: good.String()[:len(good.String())/2], wantErr: ErrDamaged, wantMsg: "truncated"},
		{name: "syntax error names the line", in: strings.Replace(good.String(), `"reporter":"destination"`, `"reporter":destination"`, 1), wantErr: ErrDamaged, wantMsg: "line "},
		{name: "unknown field", in: strings.Replace(good.String(), `"reporter":`, `"reportr":`, 1), wantErr: ErrDamaged, wantMsg: "unknown field"},
		{name: "spiffe principal", in: strings.Replace(good.String(), `"principal":"cluster.local`, `"principal":"spiffe://cluster.local`, 1), wantErr: ErrDamaged, wantMsg: "spiffe://"},
		{name: "empty", in: "", wantErr: ErrDamaged},
		{name: "trailing data", in: good.String() + "{}", wantErr: ErrDamaged, wantMsg: "after the end"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tc.in))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Read() = %v, want an error wrapping %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("Read() = %q, want it to contain %q", err, tc.wantMsg)
			}
		})
	}
}

func TestReadFileDamagedGzip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json.gz")
	if err := os.WriteFile(path, []byte("not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(path); !errors.Is(err, ErrDamaged) {
		t.Errorf("ReadFile(%s) = %v, want ErrDamaged", path, err)
	}
}

func TestParsePrincipal(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"spiffe://cluster.local/ns/a/sa/b", "cluster.local/ns/a/sa/b"},
		{"td.example/ns/a/sa/b", "td.example/ns/a/sa/b"},
		{"unknown", ""},
		{"", ""},
		{"-", ""},
		{"spiffe://cluster.local/ns/a/sa/*", ""},
		{"cluster.local/ns//sa/b", ""},
		{"cluster.local/ns/a/sa/b/c", ""},
	}
	for _, tc := range tests {
		if got := NormalizePrincipal(tc.in); got != tc.want {
			t.Errorf("NormalizePrincipal(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzRead(f *testing.F) {
	var good bytes.Buffer
	if err := Write(&good, sample()); err != nil {
		f.Fatal(err)
	}
	f.Add(good.Bytes())
	f.Add([]byte(`{"apiVersion":"meshgen.dev/v1alpha1","kind":"ObservationSnapshot","edges":[]}`))
	f.Add([]byte(`{"apiVersion":"meshgen.dev/v9"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Whatever Read accepts must write and read back to the same snapshot.
		var buf bytes.Buffer
		if err := Write(&buf, s); err != nil {
			t.Fatalf("Write() of an accepted snapshot = %v", err)
		}
		first := buf.String()
		again, err := Read(&buf)
		if err != nil {
			t.Fatalf("Read(Write(Read(x))) = %v", err)
		}
		var buf2 bytes.Buffer
		if err := Write(&buf2, again); err != nil {
			t.Fatal(err)
		}
		if first != buf2.String() {
			t.Errorf("snapshot encoding is not stable:\n%s\n---\n%s", first, buf2.String())
		}
	})
}
