package api

import (
	"bytes"
	"encoding/csv"
	"testing"
)

// TestCSVWriterKeepsItsInput: neutralising writes a copy, so the shared
// column names and a row's reused prefix are never changed (concurrent
// exports read the same column slice).
func TestCSVWriterKeepsItsInput(t *testing.T) {
	var b bytes.Buffer
	w := csvWriter{csv.NewWriter(&b)}
	row := []string{"=cmd", "plain", "-1"}
	if err := w.Write(row); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if row[0] != "=cmd" || row[2] != "-1" {
		t.Errorf("Write changed its input to %q", row)
	}
	if got, want := b.String(), "'=cmd,plain,'-1\n"; got != want {
		t.Errorf("wrote %q, want %q", got, want)
	}
}
