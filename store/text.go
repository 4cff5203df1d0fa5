package store

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// CheckText checks a one-line free-text field (an owner, who asked for a
// scan) as every writer must: valid UTF-8, no control characters (NUL,
// newlines and tabs included: Postgres refuses NUL, and the others forge
// log lines and CSV rows), and at most max characters. It counts
// characters, not bytes, as the API's documented maxLength does, and never
// cuts a value: one too long is refused.
func CheckText(field, s string, max int) error {
	switch {
	case !utf8.ValidString(s):
		return invalid(field, "is not valid UTF-8")
	case strings.ContainsFunc(s, unicode.IsControl):
		return invalid(field, "contains a control character")
	case utf8.RuneCountInString(s) > max:
		return invalid(field, "longer than %d characters", max)
	}
	return nil
}
