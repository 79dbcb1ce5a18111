package paths

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchPaths returns n observations shaped like a large service's traffic: REST resources with ids and
// actions, usernames, static assets, dated reports and a few unsafe paths.
func benchPaths(n int) []Observation {
	rng := rand.New(rand.NewPCG(3, 5))
	resources := []string{"users", "orders", "payments", "carts", "items", "invoices", "shipments", "reviews"}
	actions := []string{"", "/items", "/history", "/cancel", "/refund", "/notes"}
	people := names(400)
	obs := make([]Observation, 0, n)
	for i := 0; i < n; i++ {
		var p string
		switch r := rng.IntN(10); {
		case r < 5:
			p = fmt.Sprintf("/api/v1/%s/%d%s", resources[rng.IntN(len(resources))], rng.IntN(1_000_000), actions[rng.IntN(len(actions))])
		case r < 7:
			p = "/profiles/" + people[rng.IntN(len(people))] + []string{"", "/avatar", "/followers"}[rng.IntN(3)]
		case r < 8:
			p = fmt.Sprintf("/static/%s/%x.js", []string{"js", "css", "img"}[rng.IntN(3)], rng.Uint64())
		case r < 9:
			p = fmt.Sprintf("/reports/%04d-%02d-%02d/summary", 2020+rng.IntN(6), 1+rng.IntN(12), 1+rng.IntN(28))
		default:
			p = fmt.Sprintf("/files/shared docs/%d", rng.IntN(50))
		}
		obs = append(obs, Observation{Path: p, Requests: int64(1 + rng.IntN(100))})
	}
	return obs
}

func BenchmarkGeneralize100k(b *testing.B) {
	obs := benchPaths(100_000)
	b.ReportAllocs()
	var r Result
	for b.Loop() {
		r = Generalize(obs, Options{Templates: true})
	}
	b.ReportMetric(float64(len(r.Patterns)), "patterns")
}

func BenchmarkMatchTemplate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Match("/api/v1/orders/{*}/items/{**}", "/api/v1/orders/123456/items/a/b/c")
	}
}

func BenchmarkMatchPlain(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Match("/api/v1/orders/*", "/api/v1/orders/123456/items/a/b/c")
	}
}

func TestBenchPathsResult(t *testing.T) {
	obs := benchPaths(100_000)
	r := Generalize(obs, Options{Templates: true})
	checkResult(t, obs, Options{Templates: true}, r)
	for _, p := range r.Patterns {
		t.Logf("%s %d", p.Value, p.Requests)
	}
	for _, n := range r.Notes {
		t.Logf("note: %s", n)
	}
}
