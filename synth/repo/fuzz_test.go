package repo

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParseSums checks that any SHA256SUMS text either fails with an error
// or reads back the same after formatting, and never names a path outside
// the directory.
func FuzzParseSums(f *testing.F) {
	h := strings.Repeat("0f", 32)
	for _, s := range []string{
		"",
		h + "  shop/a.yaml\n",
		h + " *shop/a.yaml\r\n" + h + "  .meshgen/x\n",
		h + "  ../etc/passwd\n",
		"x\n",
		h + "  /abs\n",
		h + "  a//b\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		sums, err := parseSums("SHA256SUMS", []byte(in))
		if err != nil {
			return
		}
		for p := range sums {
			if checkRel(p) != nil {
				t.Fatalf("parseSums(%q) accepted path %q", in, p)
			}
		}
		back, err := parseSums("SHA256SUMS", formatSums(sums))
		if err != nil {
			t.Fatalf("formatSums output does not parse: %v", err)
		}
		if diff := cmp.Diff(sums, back); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

// FuzzMergeKustomization checks that merging meshgen's kustomization into
// any text either fails or yields a kustomization whose resources start
// with meshgen's entries, and keeps every entry that is not meshgen's.
func FuzzMergeKustomization(f *testing.F) {
	for _, s := range []string{
		"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- a.yaml\n",
		"resources:\n- a.yaml\n- mine.yaml\n# c\nnamePrefix: x-\n",
		"resources: a.yaml\n",
		"- a\n",
		"resources:\n- {a: b}\n",
		"{}",
	} {
		f.Add(s)
	}
	want := kust("shop", "a.yaml", "b.yaml")
	ours := func(n string) bool { return n == "a.yaml" || n == "b.yaml" || n == "old.yaml" }
	f.Fuzz(func(t *testing.T, have string) {
		got, err := mergeKustomization([]byte(have), want, ours)
		if err != nil {
			return
		}
		k, err := parseKustomization(got)
		if err != nil {
			t.Fatalf("merged kustomization does not parse: %v\n%s", err, got)
		}
		entries := k.entries()
		if len(entries) < 2 || entries[0] != "a.yaml" || entries[1] != "b.yaml" {
			t.Fatalf("merged resources = %q, want meshgen's first", entries)
		}
		h, _ := parseKustomization([]byte(have))
		for _, e := range h.entries() {
			if !ours(e) && e != "" && !strings.ContainsAny(e, "\n") {
				found := false
				for _, g := range entries {
					found = found || g == e
				}
				if !found {
					t.Fatalf("the person's entry %q was dropped: %q", e, entries)
				}
			}
		}
	})
}
