package probes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zmap/zcrypto/tls"
	"golang.org/x/crypto/cryptobyte"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
	"github.com/tlswarden/tlswarden/probes/hello"
)

// The primary chain from the TLS probe's flights. Over TLS 1.2 and older
// the server's Certificate message travels in clear in the flight that
// answers a hello, and the TLS probe reads every such flight of its suite
// enumeration up to the ServerKeyExchange: one flight per suite found,
// each with the certificate the server serves with that suite. The
// certificate probe's primary handshake is an ordinary client's offer
// (zcrypto's: its portable suites in its order, its curves, a staple and
// SCTs asked for). When the server speaks no TLS 1.3, the suite that
// offer gets is known once the TLS probe has found the suites of the
// newest version and whose order decides: with the server's order, its
// first suite among those the handshake offers; with the client's, the
// handshake's first suite the server has. The flight where the server
// chose that suite, at that version, holds what the handshake would have
// read: the same chain (a server picks its certificate by the suite's
// authentication, the signature schemes, the curves and the name, which
// both offers share for that suite), the staple (the TLS probe's hellos
// ask for one) and the SCTs. The handshake is then not made: one
// connection fewer per endpoint, and three round trips fewer on the
// certificate probe's path before its chain hellos. A server that
// speaks TLS 1.3 gets the handshake, as its certificate is encrypted, and
// so does any case the TLS probe's findings leave open (an indeterminate
// order, a suite whose flight was not kept, a curve or key the handshake
// does not offer, a Certificate message over the handshake library's
// limit).

// maxHandshakeMessage is the largest handshake message the handshake
// library accepts; a larger Certificate message fails its handshake, and
// the probe then reports the chain as read from a flight, so it is never
// taken from the TLS probe's instead.
const maxHandshakeMessage = 1 << 16

// handshakeOffer is what the certificate probe's primary handshake offers
// at TLS 1.2 and older: its suites in its order and its groups.
type handshakeOffer struct {
	suites []uint16
	groups []uint16
}

// primaryOffer is the handshake library's ClientHello, read once from a
// handshake written into a pipe: the offer is the library's to choose,
// and reading it keeps this code right when the library changes it.
var primaryOffer = sync.OnceValues(func() (handshakeOffer, error) {
	client, server := net.Pipe()
	defer server.Close()
	cfg := (&certProbe{cfg: CertConfig{Now: time.Now}}).tlsConfig("")
	go func() {
		defer client.Close()
		_ = tls.Client(client, cfg).Handshake()
	}()
	_ = server.SetDeadline(time.Now().Add(5 * time.Second))
	var hdr [5]byte
	if _, err := io.ReadFull(server, hdr[:]); err != nil {
		return handshakeOffer{}, fmt.Errorf("reading the handshake's ClientHello: %w", err)
	}
	rec := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(server, rec); err != nil {
		return handshakeOffer{}, fmt.Errorf("reading the handshake's ClientHello: %w", err)
	}
	return parseOffer(rec)
})

// parseOffer reads the suites and supported_groups of a ClientHello
// handshake message (one record's payload).
func parseOffer(msg []byte) (handshakeOffer, error) {
	s := cryptobyte.String(msg)
	var body, sid, suites, comp, exts cryptobyte.String
	var typ uint8
	if !s.ReadUint8(&typ) || typ != 1 || !s.ReadUint24LengthPrefixed(&body) ||
		!body.Skip(2+32) || !body.ReadUint8LengthPrefixed(&sid) || !body.ReadUint16LengthPrefixed(&suites) ||
		!body.ReadUint8LengthPrefixed(&comp) || !body.ReadUint16LengthPrefixed(&exts) {
		return handshakeOffer{}, errors.New("the handshake's ClientHello does not parse")
	}
	var o handshakeOffer
	for !suites.Empty() {
		var c uint16
		suites.ReadUint16(&c)
		if cs, ok := iana.Suite(c); ok && !cs.TLS13 {
			o.suites = append(o.suites, c)
		}
	}
	for !exts.Empty() {
		var et uint16
		var data, list cryptobyte.String
		if !exts.ReadUint16(&et) || !exts.ReadUint16LengthPrefixed(&data) {
			return handshakeOffer{}, errors.New("the handshake's ClientHello extensions do not parse")
		}
		if et != 10 || !data.ReadUint16LengthPrefixed(&list) {
			continue
		}
		for !list.Empty() {
			var g uint16
			list.ReadUint16(&g)
			o.groups = append(o.groups, g)
		}
	}
	return o, nil
}

// keptFlights is the TLS probe's record, in an endpoint's Shared entry,
// of what the certificate probe's primary handshake needs: whether the
// server speaks TLS 1.3, and the certificate of each suite it chose at
// TLS 1.0 to 1.2 (the first flight per version and suite).
type keptFlights struct {
	mu    sync.Mutex
	chain map[flightKey]handshakeResult
	// downgraded are the versions below TLS 1.2 a TLS 1.2 hello was
	// answered at: the handshake, offering TLS 1.2, gets them too.
	downgraded map[uint16]bool

	// shown closes when the first chain is kept.
	shown     chan struct{}
	shownOnce sync.Once

	once13     sync.Once
	decided13  chan struct{}
	legacyOnly bool // the server does not speak TLS 1.3 (set before decided13 closes)

	// primary is the chain the handshake would read, chosen when the
	// legacy versions are published (before sharedEntry.done closes).
	primary *handshakeResult
}

type flightKey struct{ version, suite uint16 }

func newKeptFlights() *keptFlights {
	return &keptFlights{chain: map[flightKey]handshakeResult{}, downgraded: map[uint16]bool{},
		shown: make(chan struct{}), decided13: make(chan struct{})}
}

// certificateExtensions are what the TLS probe's hellos of TLS 1.0 to
// 1.2 add so that their flights carry what the primary handshake asks
// for: status_request (OCSP, no responder ids, no extensions) and
// signed_certificate_timestamp.
func certificateExtensions() []hello.Extension {
	return []hello.Extension{{Type: 5, Data: []byte{1, 0, 0, 0, 0}}, {Type: 18}}
}

// asksForStaple reports whether a hello carries status_request.
func asksForStaple(ch *hello.ClientHello) bool {
	return slices.ContainsFunc(ch.Extra, func(e hello.Extension) bool { return e.Type == 5 })
}

// keepFlight records what the flight answering ch shows: a TLS 1.3
// ServerHello or HelloRetryRequest decides that the server speaks
// TLS 1.3; a TLS 1.0 to 1.2 flight with a Certificate message is kept for
// its version and suite when the handshake offers that suite.
func (e *sharedEntry) keepFlight(ch *hello.ClientHello, f *hello.Flight) {
	if e == nil || f == nil || f.ServerHello == nil {
		return
	}
	k, sh := e.kept, f.ServerHello
	if len(ch.SupportedVersions) > 0 {
		if sh.Version >= 0x0304 || sh.HelloRetryRequest {
			k.decide13(false)
		}
		return
	}
	c := f.Certificate
	if c == nil || len(c.Certificates) == 0 || sh.Version < 0x0301 || sh.Version > ch.Version || !asksForStaple(ch) {
		return
	}
	if o, err := primaryOffer(); err != nil || !slices.Contains(o.suites, sh.CipherSuite) {
		return
	}
	key := flightKey{sh.Version, sh.CipherSuite}
	k.mu.Lock()
	defer k.mu.Unlock()
	if ch.Version == 0x0303 && sh.Version < 0x0303 {
		k.downgraded[sh.Version] = true
	}
	if _, ok := k.chain[key]; !ok {
		k.chain[key] = handshakeResult{chain: c.Certificates, ocsp: c.OCSPResponse, scts: c.SCTs,
			version: sh.Version, suite: sh.CipherSuite, messageBytes: c.MessageBytes}
		k.shownOnce.Do(func() { close(k.shown) })
	}
}

// decide13 records, once, whether the server speaks only TLS 1.2 and
// older (legacyOnly); false also stands for "not known".
func (k *keptFlights) decide13(legacyOnly bool) {
	k.once13.Do(func() {
		k.legacyOnly = legacyOnly
		close(k.decided13)
	})
}

// decideTLS13 records what the TLS probe's TLS 1.3 scan found: a server
// that answered the TLS 1.3 hello without taking it, and no error, speaks
// only older versions. A scan that failed or was not run decides nothing
// (the handshake is made).
func (e *sharedEntry) decideTLS13(s *versionScan) {
	if e == nil {
		return
	}
	e.kept.decide13(s != nil && !s.supported && s.answered && !s.closed && s.err == nil)
}

// choosePrimary picks, from the legacy versions' scans (every one of
// SSLv3 to TLS 1.2 the TLS probe tested), the flight whose chain the
// handshake would read, if the findings settle it.
func (e *sharedEntry) choosePrimary(scans []*versionScan) {
	if e == nil {
		return
	}
	o, err := primaryOffer()
	if err != nil {
		return
	}
	k := e.kept
	k.mu.Lock()
	defer k.mu.Unlock()
	s := newestLegacy(scans)
	if s == nil || s.version < tlswarden.TLS12 && !k.downgraded[uint16(s.version)] {
		return
	}
	order := handshakeOrder(s, o)
	if len(order) == 0 {
		return
	}
	hs, ok := k.chain[flightKey{uint16(s.version), order[0]}]
	if ok && o.takes(hs, suiteOf(s, order[0])) {
		k.primary = &hs
	}
}

// newestLegacy returns the scan of the newest version from TLS 1.0 to
// 1.2 the server supports, fully tested, with every newer one tested and
// refused; nil when there is none.
func newestLegacy(scans []*versionScan) *versionScan {
	for _, v := range []tlswarden.Version{tlswarden.TLS12, tlswarden.TLS11, tlswarden.TLS10} {
		s := versionScanOf(scans, v)
		switch {
		case s == nil || s.err != nil && !s.closed:
			return nil
		case s.supported:
			return s
		}
	}
	return nil
}

// handshakeOrder is the order in which the server considers the suites
// of s the handshake offers (the first is the one it takes): the
// server's, or the handshake's own; nil when the TLS probe could not tell
// which.
func handshakeOrder(s *versionScan, o handshakeOffer) []uint16 {
	found := suiteCodes(s.suites)
	switch {
	case len(found) == 1 || s.pref == tlswarden.PreferServer:
		return slices.DeleteFunc(found, func(c uint16) bool { return !slices.Contains(o.suites, c) })
	case s.pref == tlswarden.PreferClient:
		return slices.DeleteFunc(slices.Clone(o.suites), func(c uint16) bool { return !slices.Contains(found, c) })
	}
	return nil
}

// takes reports whether the handshake would get suite su with the chain
// of hs: an ECDHE suite's curve and an ECDSA leaf's curve are ones the
// handshake offers, the leaf's key is one its signature schemes cover at
// every version (RSA, ECDSA), and the Certificate message fits the
// handshake library.
func (o handshakeOffer) takes(hs handshakeResult, su tlswarden.Suite) bool {
	offered := func(name string) bool {
		return slices.ContainsFunc(o.groups, func(g uint16) bool { return iana.GroupName(g) == name })
	}
	if cs, _ := iana.Suite(su.Code); strings.HasPrefix(cs.KeyExchange, "ECDHE_") {
		if !offered(su.Group) {
			return false
		}
	}
	if hs.messageBytes > maxHandshakeMessage {
		return false
	}
	leaf, err := parseCert(hs.chain[0])
	if err != nil {
		return false
	}
	typ, _, curve := keyFacts(leaf)
	group := map[string]uint16{"P-256": 23, "P-384": 24, "P-521": 25}[curve]
	return typ == "RSA" || typ == "ECDSA" && slices.Contains(o.groups, group)
}

// flightPrimary waits for the TLS probe's findings (known) and returns
// the primary chain from its flights, or false when the handshake is to
// be made. Its waits are bounded as the chain hellos' are. A server that
// speaks only TLS 1.2 and older and has shown a certificate has its
// handshake without SNI started at once (started), overlapping the wait.
func (p *certProbe) flightPrimary(ctx context.Context, dial tlswarden.DialFunc, ep tlswarden.Endpoint, known *sharedEntry) (hs handshakeResult, started *withoutSNI, ok bool) {
	if known == nil || p.cfg.ownHandshake {
		return handshakeResult{}, nil, false
	}
	k := known.kept
	if !waitFor(ctx, k.decided13, p.chainHelloTimeout()) || !k.legacyOnly {
		return handshakeResult{}, nil, false
	}
	// The handshake without SNI starts as soon as the server has shown a
	// certificate, as it would once the handshake had read one.
	select {
	case <-k.shown:
	case <-known.done:
	case <-ctx.Done():
	}
	k.mu.Lock()
	shown := len(k.chain) > 0
	k.mu.Unlock()
	if shown && ep.Host != "" {
		started = p.startWithoutSNI(ctx, dial)
	}
	if !waitFor(ctx, known.done, p.chainHelloTimeout()) || !known.complete || k.primary == nil {
		return handshakeResult{}, started, false
	}
	p.cfg.Logger.Debug("primary chain read from the TLS probe's flight", "endpoint", ep.String(),
		"version", tlswarden.Version(k.primary.version).String(), "suite", iana.SuiteName(k.primary.suite))
	hs = *k.primary
	hs.messageBytes = 0 // as a handshake reports it
	return hs, started, true
}

// waitFor waits for ch to close, at most wait and not past ctx, and
// reports whether it did.
func waitFor(ctx context.Context, ch <-chan struct{}, wait time.Duration) bool {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}
