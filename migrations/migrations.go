// Package migrations holds the SQL that builds tlswarden's schema, one
// directory per SQL dialect, embedded in the binary.
//
// A migration is a file named NNNN_name.sql. Versions start at 1 and have no
// gaps; both dialects have the same versions, so one number says what a
// database holds whichever store it belongs to. A migration is never edited
// once released: a change to the schema is a new file in each directory.
//
// Applying them is each store's job (store/postgres, store/sqlite), because
// the lock that keeps two processes from migrating at once is the dialect's
// own; both record applied versions in a table named schema_migrations.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Dialect names a directory of migrations written for one database.
type Dialect string

// The dialects tlswarden's stores speak.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Migration is one schema change.
type Migration struct {
	Version int    // 1, 2, ...: the order migrations are applied in
	Name    string // the file name without version and extension
	SQL     string // one or more statements
}

// Load returns the dialect's migrations in version order. It fails when a
// file name is malformed or the versions are not 1, 2, ... without gaps.
func Load(d Dialect) ([]Migration, error) {
	names, err := fs.Glob(files, string(d)+"/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list %s migrations: %w", d, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no migrations for dialect %q", d)
	}
	ms := make([]Migration, 0, len(names))
	for _, name := range names {
		m, err := load(name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("%s migrations: want version %d, found %d (%s)", d, i+1, m.Version, m.Name)
		}
	}
	return ms, nil
}

// Latest returns the highest version the dialect's migrations reach.
func Latest(d Dialect) (int, error) {
	ms, err := Load(d)
	if err != nil {
		return 0, err
	}
	return ms[len(ms)-1].Version, nil
}

func load(name string) (Migration, error) {
	base := strings.TrimSuffix(path.Base(name), ".sql")
	num, label, ok := strings.Cut(base, "_")
	v, err := strconv.Atoi(num)
	if !ok || err != nil || v < 1 || label == "" {
		return Migration{}, fmt.Errorf("migration %s: want a name like 0001_init.sql", name)
	}
	b, err := files.ReadFile(name)
	if err != nil {
		return Migration{}, fmt.Errorf("read migration %s: %w", name, err)
	}
	return Migration{Version: v, Name: label, SQL: string(b)}, nil
}
