package probes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
	"github.com/tlswarden/tlswarden/internal/activetime"
	"github.com/tlswarden/tlswarden/probes/hello"
)

// A server may hold several certificates and pick one by what the client
// can verify: OpenSSL's s_server -cert/-dcert, nginx and Apache with two
// ssl_certificate lines, load balancers with an RSA and an ECDSA
// certificate. One handshake shows one of them; the others go unjudged
// unless a client asks for each in turn. Over TLS 1.2 and older the
// suite's authentication picks the certificate (ECDHE_ECDSA, ECDHE_RSA,
// DHE_DSS, ...) and signature_algorithms narrows it (Ed25519 travels in
// ECDSA suites, RFC 8422); over TLS 1.3 only signature_algorithms does.
// So the probe sends one hello per key type and version, and reads the
// Certificate message from each flight itself (probes/hello): that also
// works for suites the handshake library does not implement (DHE-only and
// NULL-only servers) and for Certificate messages larger than it accepts.

// Key types a chain offer asks for; they name CertResult.Offered.
const (
	OfferAny   = "any"
	OfferECDSA = "ECDSA"
	OfferRSA   = "RSA"
	OfferEdDSA = "EdDSA"
	OfferDSA   = "DSA"
)

// chainOffer is what a hello for one key type offers.
type chainOffer struct {
	kind    string
	schemes []uint16 // signature_algorithms
	kx      []string // IANA key exchanges of its TLS 1.2-and-older suites
	tls13   bool     // TLS 1.3 has signature schemes for it
}

// chainOffers are the key types asked for, in the order a primary chain
// is taken from them when the full handshake gave none.
var chainOffers = []chainOffer{
	{OfferECDSA, []uint16{0x0403, 0x0503, 0x0603, 0x081a, 0x081b, 0x081c, 0x0303, 0x0203}, []string{"ECDHE_ECDSA", "ECDH_ECDSA"}, true},
	{OfferRSA, []uint16{0x0804, 0x0805, 0x0806, 0x0809, 0x080a, 0x080b, 0x0401, 0x0501, 0x0601, 0x0301, 0x0201},
		[]string{"ECDHE_RSA", "DHE_RSA", "RSA", "RSA_EXPORT", "DHE_RSA_EXPORT"}, true},
	{OfferEdDSA, []uint16{0x0807, 0x0808}, []string{"ECDHE_ECDSA"}, true},
	{OfferDSA, []uint16{0x0402, 0x0502, 0x0602, 0x0302, 0x0202}, []string{"DHE_DSS", "DHE_DSS_EXPORT"}, false},
}

// suites returns the TLS 1.2-and-older suites of the offer's key
// exchanges, NULL and export ones included: a server whose only suites
// are those still has a certificate to show.
func (o chainOffer) suites() []uint16 {
	var out []uint16
	for _, s := range iana.Suites() {
		if !s.TLS13 && slices.Contains(o.kx, s.KeyExchange) {
			out = append(out, s.Code)
		}
	}
	return out
}

// legacyGroups are the groups a TLS 1.2 chain hello offers for ECDHE and
// RFC 7919 DHE: every curve and finite field group in use.
var legacyGroups = []uint16{29, 23, 24, 25, 30, 26, 27, 28, 21, 19, 256, 257, 258, 259, 260}

// chainHello is one hello of the elicitation: an offer at TLS 1.3 or at
// TLS 1.2 and older.
type chainHello struct {
	offer chainOffer
	tls13 bool
}

// shownBy is what the full handshake showed: its version and the kind of
// its leaf's key ("" when it gave no chain).
type shownBy struct {
	version uint16
	kind    string
}

// shownByHandshake reads the version and leaf key kind of a handshake.
func shownByHandshake(hs handshakeResult) shownBy {
	if len(hs.chain) == 0 {
		return shownBy{}
	}
	s := shownBy{version: hs.version}
	if leaf, err := parseCert(hs.chain[0]); err == nil {
		typ, _, _ := keyFacts(leaf)
		s.kind = offerKind(typ)
	}
	return s
}

// offerKind is the offer that asks for a key type.
func offerKind(keyType string) string {
	switch keyType {
	case "Ed25519", "Ed448":
		return OfferEdDSA
	case "ECDSA", "RSA", "DSA":
		return keyType
	}
	return ""
}

// firstHellos are the hellos sent first, given what the full handshake
// showed. A server that negotiated TLS 1.3 is asked for each other key
// type over TLS 1.3 (and for DSA, which only older versions have); one
// that negotiated an older version for each other key type there; when
// the handshake gave nothing, every key type over both.
func firstHellos(s shownBy) []chainHello {
	var out []chainHello
	for _, o := range chainOffers {
		switch {
		case s.version == 0:
			if o.tls13 {
				out = append(out, chainHello{o, true})
			}
			out = append(out, chainHello{o, false})
		case o.kind == s.kind:
		case s.version >= 0x0304 && o.tls13:
			out = append(out, chainHello{o, true})
		default:
			out = append(out, chainHello{o, false})
		}
	}
	return out
}

// secondHellos ask a TLS 1.3 server, over TLS 1.2, for the key types it
// showed no chain of over TLS 1.3: a certificate it cannot use with
// TLS 1.3 signature schemes is still served to older clients. A key type
// found over TLS 1.3 is not asked for again: servers pick a certificate
// by key type, not by version.
func secondHellos(s shownBy, found13 map[string]bool) []chainHello {
	if s.version < 0x0304 {
		return nil
	}
	var out []chainHello
	for _, o := range chainOffers {
		if o.tls13 && o.kind != s.kind && !found13[o.kind] {
			out = append(out, chainHello{o, false})
		}
	}
	return out
}

// refused reports an answer that says the server has no chain for the
// offer: an alert, or the connection closed without a reply; or no error.
func refused(err error) bool {
	var alert *hello.AlertError
	return err == nil || errors.As(err, &alert) || closedWithoutReply(err)
}

func (c chainHello) versionName() string {
	if c.tls13 {
		return "TLS 1.3"
	}
	return "TLS 1.2 and older"
}

// clientHello writes the hello for sni.
func (c chainHello) clientHello(sni string) hello.ClientHello {
	h := hello.ClientHello{Version: 0x0303, ServerName: sni, SignatureSchemes: c.offer.schemes}
	if c.tls13 {
		h.CipherSuites, h.SupportedVersions = hello.TLS13CertificateSuites(), []uint16{0x0304}
		return h
	}
	h.CipherSuites, h.Groups = c.offer.suites(), legacyGroups
	return h
}

// servedChain is one Certificate message read from a server's flight.
type servedChain struct {
	offer  string
	flight *hello.CertificateFlight
}

// leafSHA256 is the fingerprint of the served leaf.
func (s servedChain) leafSHA256() string {
	sum := sha256.Sum256(s.flight.Certificates[0])
	return hex.EncodeToString(sum[:])
}

// maxChainHellos bounds the chain hellos in flight at once to one
// endpoint, leaving room under the scanner's per-endpoint cap for the
// probes running beside this one.
const maxChainHellos = 2

// elicitChains asks for every other chain in two rounds (firstHellos,
// then secondHellos) and returns the chains read, in the order the hellos
// were listed.
//
// The hellos get three quarters of the time the probe has left, so that
// a slow server still has its primary chain described; the error then says
// the list may be incomplete. Refusals (an alert, a
// connection closed without a reply) are answers, not errors.
func (p *certProbe) elicitChains(ctx context.Context, dial tlswarden.DialFunc, sni string, s shownBy, known *sharedEntry) ([]servedChain, error) {
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = activetime.WithTimeout(ctx, time.Until(dl)*3/4)
		defer cancel()
	}
	chains, err := p.sendChainHellos(ctx, dial, sni, firstHellos(s), known)
	found13 := map[string]bool{}
	for _, c := range chains {
		if c.flight.ServerHello.Version >= 0x0304 {
			found13[c.offer] = true
		}
	}
	more, err2 := p.sendChainHellos(ctx, dial, sni, secondHellos(s, found13), known)
	return append(chains, more...), joinErrors(err, err2)
}

// sendChainHellos sends the hellos, a few at a time, and returns the
// chains read, in hellos order, and the errors. A hello over TLS 1.2 and
// older for a key type whose suites the TLS probe found refused (known) is
// not sent: its answer would be a refusal.
func (p *certProbe) sendChainHellos(ctx context.Context, dial tlswarden.DialFunc, sni string, hellos []chainHello, known *sharedEntry) ([]servedChain, error) {
	found := make([]*servedChain, len(hellos))
	errs := make([]error, len(hellos))
	sem := make(chan struct{}, maxChainHellos)
	var wg sync.WaitGroup
	for i, ch := range hellos {
		wg.Go(func() {
			if !ch.tls13 && known.refuses(ctx, ch.offer.kx, p.chainHelloTimeout()) {
				p.cfg.Logger.Debug("chain hello not sent: the TLS probe found its suites refused", "offer", ch.offer.kind)
				return
			}
			sem <- struct{}{}
			defer func() { <-sem }()
			f, err := p.readChain(ctx, dial, ch.clientHello(sni))
			if !refused(err) {
				errs[i] = fmt.Errorf("%s over %s: %w", ch.offer.kind, ch.versionName(), withCtxErr(ctx, err))
			}
			if f != nil && len(f.Certificates) > 0 {
				found[i] = &servedChain{offer: ch.offer.kind, flight: f}
			}
		})
	}
	wg.Wait()
	var out []servedChain
	for _, s := range found {
		if s != nil {
			out = append(out, *s)
		}
	}
	return out, joinErrors(errs...)
}

// readChain sends one hello and reads the Certificate message. A hello
// that timed out is sent once more on a connection alone
// (tlswarden.DialAlone), as the TLS probe does: a server that serves one
// connection at a time may have been busy with another probe's; when the
// first was crowded and the one alone is answered, the endpoint gets one
// connection at a time from then on.
func (p *certProbe) readChain(ctx context.Context, dial tlswarden.DialFunc, h hello.ClientHello) (*hello.CertificateFlight, error) {
	f, crowded, err := p.readChainOnce(ctx, dial, h, false)
	if !timedOut(ctx, err) {
		return f, err
	}
	p.cfg.Logger.Debug("chain hello timed out; retrying alone", "crowded", crowded, "err", err)
	f, _, err = p.readChainOnce(tlswarden.DialAlone(ctx), dial, h, crowded)
	return f, err
}

// chainHelloTimeout bounds one chain hello, a fraction of the probe's
// timeout so that a retry alone still fits.
func (p *certProbe) chainHelloTimeout() time.Duration { return p.cfg.Timeout / 4 }

// readChainOnce sends one hello on a connection of its own and reads the
// Certificate message, at most MaxChainBytes in all; it reports whether
// other connections to the endpoint were open beside it. With oneAtATime,
// an answer asks that the endpoint get one connection at a time.
func (p *certProbe) readChainOnce(ctx context.Context, dial tlswarden.DialFunc, h hello.ClientHello, oneAtATime bool) (_ *hello.CertificateFlight, crowded bool, _ error) {
	ch, err := hello.NewCertificateHello(h)
	if err != nil {
		return nil, false, err
	}
	msg, err := ch.Marshal()
	if err != nil {
		return nil, false, err
	}
	conn, err := dial(tlswarden.DialPriority(ctx, oneShotPriority))
	if err != nil {
		return nil, false, err
	}
	defer func() { crowded = tlswarden.Crowded(conn); conn.Close() }()
	deadline := time.Now().Add(p.chainHelloTimeout())
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, false, fmt.Errorf("set deadline: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.Write(msg); err != nil {
		return nil, false, fmt.Errorf("send hello: %w", err)
	}
	f, err := ch.ReadCertificate(conn, int(p.cfg.MaxChainBytes))
	if oneAtATime && !timedOut(ctx, err) {
		tlswarden.OneAtATime(conn)
	}
	return f, false, err
}

// handshakeFromFlight turns a chain read from a flight into what a
// handshake delivers, for the facts.
func handshakeFromFlight(s servedChain) handshakeResult {
	f := s.flight
	return handshakeResult{
		chain: f.Certificates, ocsp: f.OCSPResponse, scts: f.SCTs,
		version: f.ServerHello.Version, suite: f.ServerHello.CipherSuite,
		messageBytes: f.MessageBytes, offer: s.offer, fromFlight: true,
	}
}

// otherChains returns the chains whose leaf is not primary's, one per
// leaf (the first read), described, in leaf order: key type, then
// fingerprint, so that the list reads the same from scan to scan.
func (p *certProbe) otherChains(chains []servedChain, primary string, ep tlswarden.Endpoint, roots *rootStore) []tlswarden.CertResult {
	seen := map[string]bool{primary: true}
	var out []tlswarden.CertResult
	for _, s := range chains {
		fp := s.leafSHA256()
		if seen[fp] {
			continue
		}
		seen[fp] = true
		res, err := p.describe(handshakeFromFlight(s), ep, roots)
		if err != nil && res != nil {
			res.ChainError = err.Error()
		}
		if res != nil {
			out = append(out, *res)
		}
	}
	slices.SortFunc(out, func(a, b tlswarden.CertResult) int {
		return strings.Compare(a.ChainID(), b.ChainID())
	})
	return out
}
