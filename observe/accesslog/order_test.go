package accesslog

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// compareKeys is snapshot.CompareKeys without copying the keys: the order
// that the interned keys' sortKey must give (TestCompareKeys checks that it
// is snapshot.CompareKeys's, TestSortKeysOrder that sortKey agrees).
func compareKeys(a, b *snapshot.Key) int {
	if c := strings.Compare(a.DstNamespace, b.DstNamespace); c != 0 {
		return c
	}
	if c := strings.Compare(a.DstWorkload, b.DstWorkload); c != 0 {
		return c
	}
	if c := strings.Compare(a.DstService, b.DstService); c != 0 {
		return c
	}
	if c := strings.Compare(a.SrcPrincipal, b.SrcPrincipal); c != 0 {
		return c
	}
	if c := strings.Compare(a.SrcNamespace, b.SrcNamespace); c != 0 {
		return c
	}
	if c := strings.Compare(a.SrcWorkload, b.SrcWorkload); c != 0 {
		return c
	}
	if c := strings.Compare(a.SrcIP, b.SrcIP); c != 0 {
		return c
	}
	if c := strings.Compare(a.Reporter, b.Reporter); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Port, b.Port); c != 0 {
		return c
	}
	if c := strings.Compare(a.Protocol, b.Protocol); c != 0 {
		return c
	}
	if c := strings.Compare(a.Method, b.Method); c != 0 {
		return c
	}
	if c := strings.Compare(a.Path, b.Path); c != 0 {
		return c
	}
	switch {
	case a.PathPrefix == b.PathPrefix:
		return 0
	case !a.PathPrefix:
		return -1
	}
	return 1
}

// TestSortKeysOrder sorts random interned keys by their sortKey and checks
// that their snapshot keys come out in snapshot.CompareKeys order, and that
// the enumerations of reporters, protocols and identity origins name the
// snapshot's constants.
func TestSortKeysOrder(t *testing.T) {
	syms := newSymbols()
	// Interned out of order, with prefixes of each other and bytes above
	// ASCII, so that IDs and string order disagree.
	var ids, pathIDs []uint32
	for _, s := range []string{"b", "a", "", "ab", "/x/", "/x", "é", "B", "a\x00", "zz", "/"} {
		ids = append(ids, syms.internString(s).id)
	}
	// Paths have a table of their own, with other IDs.
	for _, s := range []string{"/x/", "", "/x", "/", "/a/b", "/a", "/é"} {
		pathIDs = append(pathIDs, syms.paths.internString(s))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func() uint32 { return ids[rng.IntN(len(ids))] }
	var entries []entry
	seen := map[key]bool{}
	for len(entries) < 5000 {
		k := key{
			port:         rng.IntN(3) - 1,
			srcPrincipal: pick(), srcNamespace: pick(), srcWorkload: pick(), srcIP: pick(),
			dstNamespace: pick(), dstWorkload: pick(), dstService: pick(),
			method: pick(), path: pathIDs[rng.IntN(len(pathIDs))],
			reporter: uint8(rng.IntN(len(reporterNames))), protocol: uint8(rng.IntN(len(protocolNames))),
			pathPrefix: rng.IntN(2) == 1,
		}
		// Few distinct values per field, so that most pairs of keys agree on
		// a long prefix of fields.
		if seen[k] {
			continue
		}
		seen[k] = true
		entries = append(entries, entry{key: k, tabs: &syms.tabs})
	}
	rank, pathRank := syms.ranks(), ranks(syms.paths.strs)
	order := make([]sortKey, len(entries))
	for i := range entries {
		order[i] = newSortKey(&entries[i].key, rank, pathRank, int32(i))
	}
	slices.SortFunc(order, compareSortKeys)
	var got []snapshot.Key
	for _, o := range order {
		e := entries[o.i].edge()
		got = append(got, e.Key())
	}
	want := slices.Clone(got)
	slices.SortFunc(want, snapshot.CompareKeys)
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("keys sorted by sortKey are not in snapshot.CompareKeys order (-want +got):\n%s", diff)
	}

	for i, want := range []string{"", snapshot.ReporterDestination, snapshot.ReporterSource, snapshot.ReporterWaypoint} {
		if reporterNames[i] != want {
			t.Errorf("reporterNames[%d] = %q, want %q", i, reporterNames[i], want)
		}
	}
	if !slices.IsSorted(reporterNames[:]) || !slices.IsSorted(protocolNames[:]) {
		t.Errorf("reporterNames %q and protocolNames %q must be sorted", reporterNames, protocolNames)
	}
	for _, p := range []string{snapshot.ProtocolHTTP, snapshot.ProtocolGRPC, snapshot.ProtocolTCP} {
		if !slices.Contains(protocolNames[:], p) {
			t.Errorf("protocolNames %q lacks %q", protocolNames, p)
		}
	}
	if identityNames[idCertificate] != snapshot.IdentityCertificate || identityNames[idPodIP] != snapshot.IdentityPodIP {
		t.Errorf("identityNames = %q, want certificate and pod-ip at idCertificate and idPodIP", identityNames)
	}
}

// TestSymbols checks that interning gives one ID per string, the empty
// string ID 0, and ranks in string order.
func TestSymbols(t *testing.T) {
	syms := newSymbols()
	if got := syms.internString("").id; got != 0 {
		t.Errorf("internString(\"\").id = %d, want 0", got)
	}
	a := syms.intern([]byte("/api/v1"))
	b := syms.internString("/api")
	if again := syms.internString("/api/v1"); again != a {
		t.Errorf("internString(/api/v1) = %+v, want %+v as intern gave", again, a)
	}
	if a.id == b.id || a.s != "/api/v1" || b.s != "/api" {
		t.Errorf("intern(/api/v1) = %+v, internString(/api) = %+v, want distinct IDs and the strings", a, b)
	}
	rank := syms.ranks()
	if !(rank[0] < rank[b.id] && rank[b.id] < rank[a.id]) {
		t.Errorf("ranks(\"\", /api, /api/v1) = %d, %d, %d, want increasing", rank[0], rank[b.id], rank[a.id])
	}
	if got := syms.table()[a.id]; got != "/api/v1" {
		t.Errorf("table()[%d] = %q, want /api/v1", a.id, got)
	}
}

func TestCanonicalIPv4(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint32
		ok   bool
	}{
		{"10.1.0.20", 10<<24 | 1<<16 | 20, true},
		{"0.0.0.0", 0, true},
		{"255.255.255.255", 1<<32 - 1, true},
		{"256.0.0.1", 0, false},
		{"010.1.0.20", 0, false},
		{"10.1.0", 0, false},
		{"10.1.0.20.5", 0, false},
		{"10.1.0.2000", 0, false},
		{"10..0.20", 0, false},
		{"fd00::1", 0, false},
		{"", 0, false},
	} {
		got, ok := canonicalIPv4([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("canonicalIPv4(%q) = %d, %v, want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
