package accesslog

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestDocsRecommendedFormat keeps docs/access-logs.md and the README in step
// with the recommended formats: the text format and every JSON label appear
// in the docs, the text format in the README's MeshConfig snippet.
func TestDocsRecommendedFormat(t *testing.T) {
	b, err := os.ReadFile("../../docs/access-logs.md")
	if err != nil {
		t.Fatalf("reading the docs: %v", err)
	}
	doc := string(b)
	if n := strings.Count(doc, RecommendedFormat); n != 3 {
		t.Errorf("docs/access-logs.md has RecommendedFormat %d times, want 3 (plain, MeshConfig, Telemetry)", n)
	}
	var labels map[string]string
	if err := json.Unmarshal([]byte(RecommendedJSONFormat), &labels); err != nil {
		t.Fatal(err)
	}
	for k, v := range labels {
		if line := k + `: "` + v + `"`; !strings.Contains(doc, line) {
			t.Errorf("docs/access-logs.md lacks the JSON label %s", line)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatalf("reading the README: %v", err)
	}
	if !strings.Contains(string(readme), RecommendedFormat) {
		t.Errorf("README.md lacks RecommendedFormat")
	}
}
