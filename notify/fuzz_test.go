package notify

import (
	"testing"
	"time"
)

// FuzzRetryAfter reads receivers' Retry-After values: never negative, never
// over MaxRetryAfter.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "1", "120", "-5", "99999999999999999999", "Wed, 21 Oct 2015 07:28:00 GMT", " 3 ", "soon"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		if d := retryAfter(v, now); d < 0 || d > MaxRetryAfter {
			t.Fatalf("retryAfter(%q) = %s", v, d)
		}
	})
}

// FuzzVerify checks signature headers as a receiver would: a header that
// verifies one body does not verify another, and Sign's own does.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1796612291, 0)
	f.Add(Sign("fuzz-secret-0123456789", now, []byte("{}")), []byte("{}"))
	f.Add("t=1,v1=zz,v1=", []byte(""))
	f.Add("v1=00,t=", []byte("x"))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		const secret = "fuzz-secret-0123456789"
		if Verify(secret, header, body, now, 0) == nil && Verify(secret, header, append(body, 'x'), now, 0) == nil {
			t.Fatalf("header %q verifies two bodies", header)
		}
		if err := Verify(secret, Sign(secret, now, body), body, now, time.Minute); err != nil {
			t.Fatalf("Sign's own header does not verify: %v", err)
		}
	})
}
