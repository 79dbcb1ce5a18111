package repo

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// benchPolicies is a mesh's output: 100 namespaces of 25 policies each
// (2,600 files with the kustomizations), revision rev.
func benchPolicies(rev string) map[string][]byte {
	ns := map[string][]string{}
	for n := range 100 {
		for w := range 25 {
			ns[fmt.Sprintf("ns%03d", n)] = append(ns[fmt.Sprintf("ns%03d", n)], fmt.Sprintf("w%02d", w))
		}
	}
	return emitted(rev, ns)
}

// BenchmarkApplyFresh writes the files into an empty directory, as a first
// emit --out does.
func BenchmarkApplyFresh(b *testing.B) {
	files := benchPolicies("1")
	root := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		dir := filepath.Join(root, fmt.Sprint(i))
		if _, err := Apply(dir, files, Options{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(dir)
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(len(files)), "µs/file")
}

// BenchmarkApplyReplace rewrites every file of a tree with new content.
func BenchmarkApplyReplace(b *testing.B) {
	revs := []map[string][]byte{benchPolicies("1"), benchPolicies("2")}
	dir := b.TempDir()
	if _, err := Apply(dir, revs[0], Options{}); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		if _, err := Apply(dir, revs[i%2], Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(len(revs[0])), "µs/file")
}
