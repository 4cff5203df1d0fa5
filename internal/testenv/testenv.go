// Package testenv decides, in one place, what a test does when something it
// needs from the machine is missing: a Debian binary, a PostgreSQL server,
// root, IPv6 loopback. Locally the test is skipped, so that a newcomer's
// `go test ./...` works on a bare machine; under CI (the environment
// variable CI set to any true value: "true", "1", ...) it fails, because CI
// installs everything and a skip there would hide a test that never ran.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// CI reports whether the tests run under CI: the environment variable CI
// holds a true value as strconv.ParseBool reads it.
func CI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// Need stops the test when err says that something it needs is missing:
// it skips, or fails under CI. what names the need in a few words ("root",
// "PostgreSQL at TEST_DATABASE_URL"). A nil err lets the test go on.
func Need(tb testing.TB, what string, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	Missing(tb, "%s: %v", what, err)
}

// Missing skips the test, or fails it under CI, with the formatted reason.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if CI() {
		tb.Fatalf("%s (CI is set: a missing need fails the test; .ci/run installs it)", msg)
		return
	}
	tb.Skipf("%s", msg)
}

// Binary returns the path of the named program, looking in PATH and then in
// /usr/sbin and /sbin (where Debian puts daemons such as nginx). Without it
// the test is skipped, or fails under CI.
func Binary(tb testing.TB, name string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if p, err2 := exec.LookPath(filepath.Join(dir, name)); err2 == nil {
			return p
		}
	}
	Need(tb, name+" is not installed (on Debian, .ci/run installs it)", err)
	return ""
}
