package policy

import (
	"os"
	"strings"
	"testing"
)

// TestDocsListEveryRule keeps docs/policies.md in step with the catalogue.
func TestDocsListEveryRule(t *testing.T) {
	doc, err := os.ReadFile("../docs/policies.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Rules() {
		if strings.HasPrefix(r.ID, "http.obs.") {
			continue // documented as a family
		}
		if !strings.Contains(string(doc), "`"+r.ID+"`") {
			t.Errorf("docs/policies.md does not list rule %s", r.ID)
		}
	}
	for _, p := range Builtins() {
		if !strings.Contains(string(doc), "`"+p.Name+"`") {
			t.Errorf("docs/policies.md does not list profile %s", p.Name)
		}
	}
}
