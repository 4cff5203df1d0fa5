package sqlite

import (
	"context"
	"database/sql"
	"strings"
)

// rowsPerInsert bounds the rows of one multi-row INSERT; SQLite allows
// 32766 parameters in a statement.
const rowsPerInsert = 500

// insertRows inserts rows into table with multi-row INSERT statements; the
// statement for a full chunk is prepared once.
func insertRows(ctx context.Context, tx *sql.Tx, table string, cols []string, rows [][]any) error {
	per := min(rowsPerInsert, 32766/len(cols))
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		var err error
		switch {
		case len(chunk) < per:
			_, err = tx.ExecContext(ctx, insertSQL(table, cols, len(chunk)), flatten(chunk)...)
		case full == nil:
			if full, err = tx.PrepareContext(ctx, insertSQL(table, cols, per)); err != nil {
				return err
			}
			fallthrough
		default:
			_, err = full.ExecContext(ctx, flatten(chunk)...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// insertSQL returns INSERT INTO table (cols) VALUES (?, ...), ... for n rows.
func insertSQL(table string, cols []string, n int) string {
	row := "(" + strings.Repeat("?, ", len(cols)-1) + "?)"
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

func flatten(rows [][]any) []any {
	var args []any
	if len(rows) > 0 {
		args = make([]any, 0, len(rows)*len(rows[0]))
	}
	for _, r := range rows {
		args = append(args, r...)
	}
	return args
}
