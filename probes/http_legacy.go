package probes

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	ztls "github.com/zmap/zcrypto/tls"
	zx509 "github.com/zmap/zcrypto/x509"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/activetime"
)

// A server whose only certificate is signed with MD5 (or that accepts only
// suites or signature algorithms browsers dropped) refuses the handshake
// of crypto/tls, while the certificate probe's zcrypto handshake, which
// offers them, completes: the headers were then lost though the server
// serves them. When the modern handshake fails, the fetch goes on through
// a zcrypto handshake, over HTTP/1.1 (http.Transport speaks HTTP/2 only
// over crypto/tls), and the result says why the modern one failed.

// dialTLS connects through dial and completes a TLS handshake:
// crypto/tls's, or zcrypto's when crypto/tls's failed in this run. The
// transport dials with a context detached from the request's, so the
// connection is bounded here: by the run and by the per-request timeout.
func (r *httpRun) dialTLS(dial tlswarden.DialFunc, cfg *tls.Config) (net.Conn, error) {
	ctx, cancel := activetime.WithTimeout(r.ctx, r.cfg.Timeout)
	defer cancel()
	if r.modernErr.Load() != nil {
		return r.handshakeLegacy(ctx, dial)
	}
	conn, err := r.handshakeModern(ctx, dial, cfg)
	var he *httpsHandshakeError
	if err == nil || !errors.As(err, &he) || timedOut(ctx, err) || ctx.Err() != nil {
		return conn, err
	}
	lconn, lerr := r.handshakeLegacy(ctx, dial)
	if lerr != nil {
		return nil, fmt.Errorf("%w (with legacy signature algorithms and suites too: %v)", err, lerr)
	}
	why := he.err.Error()
	r.modernErr.Store(&why)
	r.cfg.Logger.Debug("modern handshake refused; headers read through a legacy one", "endpoint", r.ep.String(), "probe", HTTPProbeName, "err", he.err)
	return lconn, nil
}

func (r *httpRun) handshakeModern(ctx context.Context, dial tlswarden.DialFunc, cfg *tls.Config) (net.Conn, error) {
	conn, err := r.connect(ctx, dial)
	if err != nil {
		return nil, err
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, &httpsHandshakeError{err: err}
	}
	return tc, nil
}

func (r *httpRun) handshakeLegacy(ctx context.Context, dial tlswarden.DialFunc) (net.Conn, error) {
	conn, err := r.connect(ctx, dial)
	if err != nil {
		return nil, err
	}
	tc := ztls.Client(conn, r.legacyTLSConfig())
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, &httpsHandshakeError{err: err}
	}
	return tc, nil
}

// legacyTLSConfig offers what older clients offered: zcrypto's signature
// algorithms (MD5 and SHA-1 among them) and its portable suites, HTTP/1.1
// only. Certificates are not verified: that is the certificate probe's
// job.
func (r *httpRun) legacyTLSConfig() *ztls.Config {
	return &ztls.Config{
		ServerName:             r.host,
		InsecureSkipVerify:     true,
		RootCAs:                zx509.NewCertPool(),
		MinVersion:             ztls.VersionTLS10,
		MaxVersion:             ztls.VersionTLS13,
		CipherSuites:           ztls.PortableCiphers,
		SessionTicketsDisabled: true,
		NextProtos:             []string{"http/1.1"},
	}
}
