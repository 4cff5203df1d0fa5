package probes

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/probes/hello"
)

// scanSSLv2 sends one SSLv2 CLIENT-HELLO offering every SSLv2 cipher kind:
// an SSLv2 server's SERVER-HELLO lists all the kinds it has, so one
// connection tells everything.
func (r *tlsRun) scanSSLv2(ctx context.Context) *versionScan {
	s := &versionScan{version: tlswarden.SSLv2}
	var challenge [16]byte
	rand.Read(challenge[:])
	var sh *hello.SSLv2ServerHello
	ctx = tlswarden.DialPriority(ctx, helloPriority(tlswarden.SSLv2, nil))
	err := r.exchange(ctx, hello.SSLv2ClientHello(challenge), func(rd io.Reader) error {
		var err error
		sh, err = hello.ReadSSLv2ServerHello(rd, 0)
		return err
	})
	var sslErr *hello.SSLv2Error
	switch {
	case err == nil:
		s.supported, s.answered = true, true
		s.suites = sslv2Suites(sh.CipherSpecs)
		s.pref = tlswarden.PreferIndeterminate // an SSLv2 client picks the cipher
	case errors.Is(err, hello.ErrTLSReply), errors.As(err, &sslErr):
		s.answered = true // TLS, or SSLv2 without a cipher kind in common
	case closedWithoutReply(err):
		s.closed, s.err = true, fmt.Errorf("SSLv2 CLIENT-HELLO: %w", err)
	default:
		s.err = fmt.Errorf("SSLv2 CLIENT-HELLO: %w", err)
	}
	return s
}

// sslv2Suites reports SSLv2 cipher kinds as suites. The three-byte kind does
// not fit a TLS code point, so Code holds its first two bytes (0x0100 to
// 0x0700, unassigned in the TLS registry) and Name the SSLv2 name.
func sslv2Suites(specs []uint32) []tlswarden.Suite {
	var out []tlswarden.Suite
	for _, spec := range specs {
		out = append(out, tlswarden.Suite{Code: uint16(spec >> 8), Name: hello.SSLv2CipherName(spec)})
	}
	return out
}
