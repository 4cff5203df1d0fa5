package store

import (
	"errors"
	"fmt"
)

// Errors that implementations wrap, for callers to test with errors.Is.
var (
	// ErrNotFound means the row asked for, or one a write refers to, does
	// not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the write clashes with what is stored: a duplicate
	// key, or a scan that is already finished.
	ErrConflict = errors.New("conflict")
	// ErrInvalid means the input breaks a rule; the error is a
	// *ValidationError or wraps *RowError values.
	ErrInvalid = errors.New("invalid input")
)

// ValidationError says which field of the input breaks which rule.
type ValidationError struct {
	Field string // as in JSON: "host", "endpoints[3].report.endpoint"
	Msg   string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Msg }

// Is makes errors.Is(err, ErrInvalid) true for every ValidationError.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// RowError is what ImportTargets says about one bad row.
type RowError struct {
	Index int // the row's index in the slice given, from 0
	Err   error
}

func (e *RowError) Error() string { return fmt.Sprintf("row %d: %v", e.Index+1, e.Err) }

// Unwrap returns the reason the row was rejected.
func (e *RowError) Unwrap() error { return e.Err }
