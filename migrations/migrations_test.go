package migrations

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDialectsAgree checks that each dialect's migrations load and that
// both have the same versions with the same names, so one version number
// means one schema whichever store holds it.
func TestDialectsAgree(t *testing.T) {
	names := map[Dialect][]string{}
	for _, d := range []Dialect{Postgres, SQLite} {
		ms, err := Load(d)
		if err != nil {
			t.Fatalf("Load(%s): %v", d, err)
		}
		for _, m := range ms {
			if strings.TrimSpace(m.SQL) == "" {
				t.Errorf("%s migration %d_%s is empty", d, m.Version, m.Name)
			}
			names[d] = append(names[d], m.Name)
		}
	}
	if d := cmp.Diff(names[Postgres], names[SQLite]); d != "" {
		t.Errorf("migrations differ between dialects (-postgres +sqlite):\n%s", d)
	}
	latest, err := Latest(SQLite)
	if err != nil || latest != len(names[SQLite]) {
		t.Errorf("Latest(sqlite) = %d, %v; want %d", latest, err, len(names[SQLite]))
	}
}

func TestLoadUnknownDialect(t *testing.T) {
	if _, err := Load("oracle"); err == nil {
		t.Error("Load(oracle) succeeded")
	}
}
