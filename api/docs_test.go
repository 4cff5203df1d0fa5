package api_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tlswarden/tlswarden/api"
	"github.com/tlswarden/tlswarden/internal/testdb"
)

// TestOpenAPI checks that docs/openapi.yaml documents every route, and
// documents no route that does not exist.
func TestOpenAPI(t *testing.T) {
	data, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method != "parameters" {
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	h, err := api.New(api.Config{Store: testdb.Open(t, "sqlite").Store})
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, p := range h.Patterns() {
		routes = append(routes, strings.TrimSuffix(p, "{$}")) // "GET /{$}" is the path "/" only
	}
	slices.Sort(documented)
	slices.Sort(routes)
	for _, r := range routes {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in docs/openapi.yaml", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routes, d) {
			t.Errorf("docs/openapi.yaml documents %s, which is no route", d)
		}
	}
}
