package probes

import (
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// dropFirst serves TLS with cfg, except that it swallows the first
// connection's hello and never answers, as a lost packet would leave it.
func dropFirst(t *testing.T, cfg *tls.Config) netip.AddrPort {
	var n atomic.Int64
	return tlstest.RawServer(t, func(ctx context.Context, c net.Conn) {
		if n.Add(1) == 1 {
			tlstest.Silent(ctx, c)
			return
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_ = tls.Server(c, cfg).HandshakeContext(ctx)
	})
}

// TestTLSRetriesAHelloThatTimedOut: a hello that got no answer is sent
// once more before its version is called unknown.
func TestTLSRetriesAHelloThatTimedOut(t *testing.T) {
	cert := tlstest.SelfSigned(t, tlstest.CertSpec{}).TLSCertificate()
	addr := dropFirst(t, &tls.Config{Certificates: []tls.Certificate{cert}})
	vs := []tlswarden.Version{tlswarden.TLS12, tlswarden.TLS13}
	res, err := runTLS(t, addr, "localhost", TLSConfig{Versions: vs, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	checkTested(t, res, vs...)
	for _, v := range vs {
		if !res.Supported(v) {
			t.Errorf("%s not supported", v)
		}
	}
}

// TestTLSSilentServerRetriesOnce: against a silent server the hellos of
// every version time out together; one retry alone that times out too ends
// the retries, so the probe takes about two timeouts, not one per version
// more.
func TestTLSSilentServerRetriesOnce(t *testing.T) {
	addr := tlstest.RawServer(t, tlstest.Silent)
	const timeout = time.Second
	start := time.Now()
	d := tlstest.NewDialer(addr)
	d.MaxConns = 1 // the retries wait for each other, as alone they do
	obs, err := TLS(TLSConfig{Timeout: timeout}).Run(t.Context(), tlswarden.Endpoint{Host: "localhost", Addr: addr}, d.Dial)
	elapsed := time.Since(start)
	if err == nil || obs.TLS == nil {
		t.Fatalf("silent server: result %+v, error %v; want a result and an error", obs.TLS, err)
	}
	// Six versions one connection at a time: six timeouts for the first
	// hellos, one for the retry; the retries dropped cost nothing.
	if limit := 10 * timeout; elapsed > limit {
		t.Errorf("took %v against a silent server, want well under %v", elapsed, limit)
	}
	t.Logf("%v, %d connections", elapsed.Round(time.Millisecond), obs.TLS.Connections)
}
