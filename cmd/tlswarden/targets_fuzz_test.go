package main

import (
	"errors"
	"testing"

	"github.com/tlswarden/tlswarden/store"
)

// FuzzParseTargetsYAML feeds the targets-file parser arbitrary bytes: it
// must not panic, a failure must be an invalid-input error, and rows it
// accepts must be rows the store accepts.
func FuzzParseTargetsYAML(f *testing.F) {
	for _, s := range []string{
		"targets:\n  - host: www.example.org\n    port: 443\n    tags: [a, b]\n",
		"- host: a.example:8443\n- {host: '[2001:db8::1]:443', enabled: false}\n",
		"targets: {}\n",
		"- host: x\n  colour: red\n",
		"- port: 99999\n",
		"",
		"targets:\n  - host: a.example\n  - host: A.example.\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, lines, err := parseTargetsYAML("f.yaml", data)
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("error is not invalid input: %v", err)
			}
			return
		}
		if len(rows) != len(lines) {
			t.Fatalf("%d rows but %d lines", len(rows), len(lines))
		}
		if _, err := store.NormalizeRows(rows); err != nil {
			t.Fatalf("accepted rows the store refuses: %v", err)
		}
	})
}
