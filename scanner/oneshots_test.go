package scanner

import (
	"context"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/probes"
)

// fixedResolver resolves every name to one address.
type fixedResolver struct{ addr netip.Addr }

func (r fixedResolver) Resolve(_ context.Context, host string) (*tlswarden.Resolution, error) {
	return &tlswarden.Resolution{Name: host, Addresses: []tlswarden.Address{{Addr: r.addr, TTL: 60}}}, nil
}

// TestScanOneShotsFillGaps scans the fleet's common server, nginx with
// Mozilla's intermediate suites and OpenSSL's default groups, with the
// TLS, certificate and HTTP probes, as the command does, through a 100 ms
// round trip under the cap of 4, and checks that the connections nothing
// waits for, the certificate probe's key-type hellos and its handshake
// without SNI, take no slot while one of the TLS probe's chains waits for
// one (TLS 1.2's curve enumeration, the suite chains): asked with no
// priority, which goes first, they took slots in the first round trips
// while TLS 1.2's curve chain waited, and the chain ran at the end with
// slots to spare. It counts connections, not wall time; the facts must be
// loopback's.
func TestScanOneShotsFillGaps(t *testing.T) {
	const rtt = 100 * time.Millisecond
	ca := tlstest.NewCA(t, "One Shots Root")
	leaf := ca.Issue(t, tlstest.CertSpec{DNSNames: []string{"localhost"}, Key: tlstest.RSA2048})
	addr := tlstest.NginxServer(t, tlstest.NginxConfig{
		Cert: leaf, Chain: []*tlstest.Cert{&ca.Cert}, Versions: []tlswarden.Version{tlswarden.TLS12, tlswarden.TLS13},
		Ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" +
			"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305",
		DHBits: 2048,
	})
	scan := func(at netip.AddrPort) tlswarden.EndpointReport {
		shared := probes.NewShared()
		s, err := New(Config{Resolver: fixedResolver{at.Addr()}, Probes: []tlswarden.Probe{
			probes.TLS(probes.TLSConfig{Shared: shared}),
			probes.Cert(probes.CertConfig{Roots: []*x509.Certificate{ca.Cert.Cert}, Shared: shared}),
			probes.HTTP(probes.HTTPConfig{SkipPlainHTTP: true}),
		}})
		if err != nil {
			t.Fatal(err)
		}
		e := s.Scan(t.Context(), tlswarden.Target{Host: "localhost", Port: int(at.Port())}).Endpoints[0]
		if e.Status != tlswarden.StatusOK || e.TLS == nil || e.Cert == nil {
			t.Fatalf("%s: %s", e.Status, e.Error)
		}
		return e
	}
	base := scan(addr)
	tap, taddr := newConnTap(t, tlstest.RTTProxy(t, addr, rtt))
	start := time.Now()
	got := scan(taddr)
	took := time.Since(start)
	var sb strings.Builder
	tap.report(&sb, rtt, 4)
	t.Logf("%d connections, %.1f round trips\n%s", got.Connections, took.Seconds()/rtt.Seconds(), sb.String())
	if diff := cmp.Diff(endpointFacts(base), endpointFacts(got)); diff != "" {
		t.Errorf("facts through %v differ from loopback's (-loopback +%v):\n%s", rtt, rtt, diff)
	}
	if got.Connections > base.Connections+1 {
		t.Errorf("%d connections, on loopback %d: want the same hellos and at most one spare more", got.Connections, base.Connections)
	}
	conns := tap.label()
	oneShots := slices.DeleteFunc(slices.Clone(conns), func(c *tapConn) bool { return !oneShot(c) })
	if len(oneShots) != 3 {
		t.Fatalf("%d one-shot connections, want 3 (ECDSA and EdDSA over TLS 1.3, no SNI): not the server this test was written for", len(oneShots))
	}
	waits := chainWaits(conns, rtt)
	for _, o := range oneShots {
		for _, w := range waits {
			if o.accept > w.from+rtt/4 && o.accept < w.to-rtt/4 {
				t.Errorf("a one-shot connection (%s, %d schemes, SNI %v) took a slot at %.1f round trips while %s waited for one from %.1f to %.1f",
					o.version, o.schemes, o.sni, o.accept.Seconds()/rtt.Seconds(), w.what, w.from.Seconds()/rtt.Seconds(), w.to.Seconds()/rtt.Seconds())
			}
		}
	}
}

// oneShot reports whether c is one of the certificate probe's
// connections nothing waits for: a TLS 1.3 hello asking for a key type
// (a few signature schemes: the others offer ten or more), or its
// handshake without SNI.
func oneShot(c *tapConn) bool {
	return c.version == "1.3" && ((c.schemes > 0 && c.schemes <= 8) || !c.sni)
}

// chainWait is a time a chain's next hello waited for a slot.
type chainWait struct {
	what     string
	from, to time.Duration
}

// chainWaits returns when TLS 1.2's curve chain (the hellos offering
// curves only: from TLS 1.2's first answer, then from each one's close)
// and the suite chains (from each step's close) waited for a slot.
func chainWaits(conns []*tapConn, rtt time.Duration) []chainWait {
	var waits []chainWait
	add := func(what string, ready time.Duration, c *tapConn) {
		if c.accept-ready > rtt/2 {
			waits = append(waits, chainWait{what, ready, c.accept})
		}
	}
	first := slices.IndexFunc(conns, func(c *tapConn) bool { return c.version == "1.2" && c.label == "first offer" })
	if first >= 0 {
		ready := conns[first].answerEnd
		for _, c := range conns {
			if c.version == "1.2" && len(c.groups) > 0 && !slices.ContainsFunc(c.groups, func(g uint16) bool { return g >= 256 }) {
				add("TLS 1.2's curve chain", ready, c)
				ready = c.closed
			}
		}
	}
	last := map[string]*tapConn{}
	for _, c := range conns {
		if c.chain == 0 {
			continue
		}
		key := fmt.Sprintf("TLS %s's suite chain %d", c.version, c.chain)
		if p := last[key]; p != nil {
			add(key, p.closed, c)
		}
		last[key] = c
	}
	return waits
}

// helloExtras returns whether a TLS ClientHello sends server_name and how
// many signature schemes it offers.
func helloExtras(b []byte) (sni bool, schemes int) {
	defer func() { _ = recover() }() // a truncated hello: what was read
	if len(b) < 5 || b[0] != 22 {
		return false, 0
	}
	p := b[5+4+2+32:]
	p = p[1+int(p[0]):]
	p = p[2+int(binary.BigEndian.Uint16(p)):]
	p = p[1+int(p[0]):]
	p = p[2:]
	for len(p) >= 4 {
		typ, l := binary.BigEndian.Uint16(p), int(binary.BigEndian.Uint16(p[2:]))
		switch typ {
		case 0:
			sni = true
		case 13:
			schemes = int(binary.BigEndian.Uint16(p[4:])) / 2
		}
		p = p[min(len(p), 4+l):]
	}
	return sni, schemes
}

// scanFacts is what a scan found, without its connections and times.
type scanFacts struct {
	TLS        tlswarden.TLSResult
	Cert, HTTP string
}

func endpointFacts(e tlswarden.EndpointReport) scanFacts {
	f := scanFacts{TLS: *e.TLS}
	f.TLS.Connections = 0
	c := e.Cert
	f.Cert = fmt.Sprintf("cert leaf=%s version=%v offered=%q source=%q differs_without_sni=%v without_sni_error=%q other_chains=%d other_chains_error=%q",
		c.Leaf().SHA256, c.Version, c.Offered, c.Source, c.DiffersWithoutSNI, c.WithoutSNIError, len(c.OtherChains), c.OtherChainsError)
	if e.HTTP != nil {
		f.HTTP = fmt.Sprintf("status=%d", e.HTTP.StatusCode)
	}
	return f
}
