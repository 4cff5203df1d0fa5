package testenv

import (
	"errors"
	"testing"
)

// recorder is a testing.TB that records whether the test was skipped or
// failed; unlike the real ones, its Skip and Fatalf return.
type recorder struct {
	testing.TB
	skipped, failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Skip(...any)           { r.skipped = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }

func TestNeed(t *testing.T) {
	for _, tc := range []struct {
		ci           string
		err          error
		skip, failed bool
	}{
		{ci: "", err: errors.New("gone"), skip: true},
		{ci: "false", err: errors.New("gone"), skip: true},
		{ci: "true", err: errors.New("gone"), failed: true},
		{ci: "1", err: errors.New("gone"), failed: true},
		{ci: "TRUE", err: errors.New("gone"), failed: true},
		{ci: "true", err: nil},
		{ci: "", err: nil},
	} {
		t.Setenv("CI", tc.ci)
		r := &recorder{TB: t}
		Need(r, "a thing", tc.err)
		if r.skipped != tc.skip || r.failed != tc.failed {
			t.Errorf("CI=%q err=%v: skipped %v failed %v, want %v %v", tc.ci, tc.err, r.skipped, r.failed, tc.skip, tc.failed)
		}
	}
}

func TestBinary(t *testing.T) {
	t.Setenv("CI", "")
	r := &recorder{TB: t}
	if p := Binary(r, "sh"); p == "" || r.skipped {
		t.Errorf("sh: path %q skipped %v", p, r.skipped)
	}
	r = &recorder{TB: t}
	if p := Binary(r, "no-such-program-tlswarden"); p != "" || !r.skipped {
		t.Errorf("missing program: path %q skipped %v", p, r.skipped)
	}
	t.Setenv("CI", "1")
	r = &recorder{TB: t}
	if Binary(r, "no-such-program-tlswarden"); !r.failed {
		t.Error("missing program under CI=1 did not fail")
	}
}
