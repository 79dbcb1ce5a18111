package snapshot

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Read decodes edges in blocks and joins them; every count of edges around
// the block sizes must come back whole and in order.
func TestReadEdgeCounts(t *testing.T) {
	for _, n := range []int{0, 1, 255, 256, 257, 767, 768, 769, 40000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			want := New()
			for i := range n {
				want.Edges = append(want.Edges, edgeTo("cart", fmt.Sprintf("/items/%06d", i), int64(i+1), EvidenceEnvoyLog))
			}
			var b bytes.Buffer
			if err := Write(&b, want); err != nil {
				t.Fatalf("Write() = %v", err)
			}
			got, err := Read(&b)
			if err != nil {
				t.Fatalf("Read() = %v", err)
			}
			if diff := cmp.Diff(want.Edges, got.Edges); diff != "" {
				t.Errorf("Read(Write(s)).Edges mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
