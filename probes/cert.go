package probes

import (
	"context"
	"crypto/sha256"
	stdx509 "crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/zmap/zcrypto/tls"
	"github.com/zmap/zcrypto/x509"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
	"github.com/tlswarden/tlswarden/internal/activetime"
)

// CertConfig configures the certificate probe. Its zero value works: it
// trusts the system's roots, gives up after 20 seconds and reads at most
// 1 MiB from a server per handshake.
type CertConfig struct {
	// Roots, when given, are the public trust store in place of the
	// system's roots (tests and the demo stand their CA in for a public
	// one). CAFile (the --ca-file bundle) adds an organisation's roots
	// beside the public ones: a chain anchored only there is reported as
	// such (CertResult.Anchor). CAFileOnly trusts CAFile's roots alone,
	// with no public store.
	// OrgRoots are organisation roots given in memory, as CAFile's are
	// read from a file (the demo's private CA).
	Roots      []*stdx509.Certificate
	CAFile     string
	CAFileOnly bool
	OrgRoots   []*stdx509.Certificate
	// Revocation, when set, asks each leaf's OCSP responder online.
	Revocation *RevocationConfig
	// Timeout bounds one run of the probe: two handshakes (default 20s).
	Timeout time.Duration
	// MaxChainBytes caps the bytes read from the server during one
	// handshake, which the certificate chain dominates (default 1 MiB,
	// four times the largest Certificate messages browsers accept in the
	// wild; zcrypto refuses any single handshake message over 64 KiB, so
	// a larger chain is read from the server's flight).
	MaxChainBytes int64
	// Shared, when set, is the TLS probe's Shared: a chain hello over TLS
	// 1.2 and older for a key type the TLS probe found no suite of is not
	// sent, and the primary chain of a server without TLS 1.3 is read from
	// the TLS probe's flights when they settle which it is.
	Shared *Shared
	// Now is the clock that expiry and trust are judged at (default
	// time.Now).
	Now    func() time.Time
	Logger *slog.Logger

	// ownHandshake makes the primary handshake even when the TLS probe's
	// flights hold its chain (tests compare the two).
	ownHandshake bool
}

func (c *CertConfig) validate() error {
	var errs []error
	if c.Timeout < 0 {
		errs = append(errs, errors.New("certificate probe timeout must not be negative"))
	}
	if c.MaxChainBytes < 0 {
		errs = append(errs, errors.New("certificate probe byte cap must not be negative"))
	}
	return errors.Join(errs...)
}

// CertProbeName is the name of the certificate probe.
const CertProbeName = "certificate"

const (
	defaultCertTimeout   = 20 * time.Second
	defaultMaxChainBytes = 1 << 20
)

// Cert returns the certificate probe. Each run makes a full handshake
// through zcrypto with SNI set to the endpoint's hostname, requesting a
// stapled OCSP response and SCTs, and records the chain as served and what
// follows from it (the primary chain); when the TLS probe shares its
// findings (Shared) and they show a server without TLS 1.3, the chain is
// read from the TLS probe's flight for the suite that handshake would get
// instead, without a connection of its own (cert_flight.go); then it asks for a chain of each key
// type over TLS 1.3 and over TLS 1.2 and older (cert_chains.go) and records
// every other chain served, taking the primary from them when the full
// handshake gave none; then a handshake without SNI records which leaf the
// server falls back to. An invalid configuration makes every run fail
// with that error, an unreadable CAFile every run that got a certificate.
// It starts a goroutine that loads the trust store and warms zlint up, once
// per process.
func Cert(cfg CertConfig) tlswarden.Probe {
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultCertTimeout
	}
	if cfg.MaxChainBytes == 0 {
		cfg.MaxChainBytes = defaultMaxChainBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p := &certProbe{cfg: cfg}
	p.roots = sync.OnceValues(p.loadRoots)
	// The one-time costs (reading the trust store, zlint's per-curve
	// tables) are paid in the background while the probes before this one
	// wait on the network, not on a one-shot scan's critical path.
	go func() {
		_, _ = p.roots()
		warmLints()
	}()
	return tlswarden.Probe{Name: CertProbeName, Timeout: cfg.Timeout, Run: p.run}
}

// certProbe is the network half of the certificate probe; certFacts is
// the pure half.
type certProbe struct {
	cfg   CertConfig
	roots func() (*rootStore, error)
	ocsp  ocspCache
}

// run is the probe's Run: the SNI handshake (or the TLS probe's flight
// that stands for it), the chains of every key type, the facts, then the
// handshake without SNI. Its own Timeout applies
// even when the caller set none.
func (p *certProbe) run(ctx context.Context, ep tlswarden.Endpoint, dial tlswarden.DialFunc) (tlswarden.Observation, error) {
	if err := p.cfg.validate(); err != nil {
		return tlswarden.Observation{}, fmt.Errorf("certificate probe config: %w", err)
	}
	ctx, cancel := activetime.WithTimeout(ctx, p.cfg.Timeout) // not the time queued in the scanner
	defer cancel()
	known := p.cfg.Shared.open(ep, sideCert)
	defer p.cfg.Shared.release(ep, known, sideCert)
	hs, noSNI, fromTLS := p.flightPrimary(ctx, dial, ep, known)
	var hsErr error
	if !fromTLS {
		hs, hsErr = p.handshake(tlswarden.DialPriority(ctx, chainPriority(certFirstLeft)), dial, ep.Host)
	}
	if noSNI == nil && ep.Host != "" && len(hs.chain) > 0 {
		noSNI = p.startWithoutSNI(ctx, dial) // overlaps the chain hellos
	}
	if noSNI != nil {
		defer func() { cancel(); <-noSNI.done }() // one started early and not needed
	}
	chains, chainsErr := p.elicitChains(ctx, dial, ep.Host, shownByHandshake(hs), known)
	var libErr error
	if len(hs.chain) == 0 && len(chains) > 0 {
		// The handshake library could not finish (a suite it lacks, a
		// Certificate message over its limit): the flight has the chain.
		hs, libErr, hsErr = handshakeFromFlight(chains[0]), hsErr, nil
	}
	if len(hs.chain) == 0 {
		if hsErr == nil {
			hsErr = &tlswarden.ProtocolError{Msg: "handshake completed without a server certificate"}
		}
		p.cfg.Logger.Debug("no chain in any flight", "endpoint", ep.String(), "err", chainsErr)
		return tlswarden.Observation{}, hsErr
	}
	// The trust store, loading since the probe was made, is needed only
	// now: its reading overlaps the handshakes.
	roots, err := p.roots()
	if err != nil {
		return tlswarden.Observation{}, err
	}
	res, factsErr := p.describe(hs, ep, roots)
	if libErr != nil {
		res.HandshakeError = libErr.Error()
	}
	if unparsable(res) {
		hsErr = nil // zcrypto stopped on the same bytes; factsErr says which
	}
	res.OtherChains = p.otherChains(chains, res.Leaf().SHA256, ep, roots)
	if chainsErr != nil {
		res.OtherChainsError = chainsErr.Error()
	}
	if p.cfg.Revocation != nil && p.cfg.Revocation.Dial != nil {
		p.checkRevocations(ctx, res, servedDERs(hs, chains), roots)
	}
	switch {
	case noSNI != nil && res.Source != "server_flight":
		noSNI.compare(res)
	case ep.Host != "" && ctx.Err() == nil:
		p.compareWithoutSNI(ctx, dial, res)
	}
	p.cfg.Logger.Debug("certificate probed", "endpoint", ep.String(), "chain_length", res.ChainLength,
		"trusted", res.Trusted, "hostname_matches", res.HostnameMatches, "chains", 1+len(res.OtherChains))
	return tlswarden.Observation{Cert: res}, joinErrors(hsErr, factsErr)
}

// describe derives the facts of one handshake for ep.
func (p *certProbe) describe(hs handshakeResult, ep tlswarden.Endpoint, roots *rootStore) (*tlswarden.CertResult, error) {
	name := ep.Host
	if name == "" {
		name = ep.Addr.Addr().String()
	}
	res, err := certFacts(hs.chain, hs.ocsp, hs.scts, name, roots, p.cfg.Now())
	if res == nil {
		return nil, err
	}
	res.ServerName = ep.Host
	res.Offered, res.Source, res.MessageBytes = OfferAny, "handshake", hs.messageBytes
	if hs.fromFlight {
		res.Offered, res.Source = hs.offer, "server_flight"
	}
	if hs.version != 0 {
		res.Version = tlswarden.Version(hs.version)
		res.CipherSuite = &tlswarden.Suite{Code: hs.suite, Name: iana.SuiteName(hs.suite)}
	}
	return res, err
}

// unparsable reports whether a served certificate could not be parsed.
func unparsable(res *tlswarden.CertResult) bool {
	for _, c := range res.Chain {
		if c.ParseError != "" {
			return true
		}
	}
	return false
}

// withoutSNI is a handshake without SNI running beside the chain hellos.
type withoutSNI struct {
	done chan struct{}
	hs   handshakeResult
	err  error
}

// startWithoutSNI starts the handshake without SNI.
func (p *certProbe) startWithoutSNI(ctx context.Context, dial tlswarden.DialFunc) *withoutSNI {
	w := &withoutSNI{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		w.hs, w.err = p.handshake(tlswarden.DialPriority(ctx, oneShotPriority), dial, "")
	}()
	return w
}

// compare waits for the handshake and records its leaf in res.
func (w *withoutSNI) compare(res *tlswarden.CertResult) {
	<-w.done
	recordWithoutSNI(res, w.hs, w.err)
}

// compareWithoutSNI records the leaf served to a handshake without SNI and
// whether it differs from the one served for the hostname.
// A primary chain read from the flight (the handshake library could not
// finish) is compared with the chain the same hello without SNI elicits.
func (p *certProbe) compareWithoutSNI(ctx context.Context, dial tlswarden.DialFunc, res *tlswarden.CertResult) {
	if res.Source == "server_flight" {
		hs, err := p.flightWithoutSNI(ctx, dial, res)
		recordWithoutSNI(res, hs, err)
		return
	}
	hs, err := p.handshake(tlswarden.DialPriority(ctx, oneShotPriority), dial, "")
	recordWithoutSNI(res, hs, err)
}

// flightWithoutSNI sends the hello that elicited res without SNI and
// reads the chain from the flight.
func (p *certProbe) flightWithoutSNI(ctx context.Context, dial tlswarden.DialFunc, res *tlswarden.CertResult) (handshakeResult, error) {
	for _, ch := range firstHellos(shownBy{}) {
		if ch.offer.kind != res.Offered || ch.tls13 != (res.Version >= tlswarden.TLS13) {
			continue
		}
		f, err := p.readChain(ctx, dial, ch.clientHello(""))
		if f == nil || len(f.Certificates) == 0 {
			return handshakeResult{}, fmt.Errorf("hello without SNI: %w", orNoChain(err))
		}
		return handshakeFromFlight(servedChain{offer: ch.offer.kind, flight: f}), nil
	}
	return handshakeResult{}, errors.New("hello without SNI: no hello for the primary chain's key type")
}

// orNoChain is err, or an error saying no chain came when there is none.
func orNoChain(err error) error {
	if err == nil {
		return errors.New("no certificate in the server's flight")
	}
	return err
}

func recordWithoutSNI(res *tlswarden.CertResult, hs handshakeResult, err error) {
	if err != nil {
		res.WithoutSNIError = err.Error()
	}
	if len(hs.chain) == 0 {
		return
	}
	sum := sha256.Sum256(hs.chain[0])
	res.LeafSHA256WithoutSNI = hex.EncodeToString(sum[:])
	res.DiffersWithoutSNI = res.Leaf().SHA256 != res.LeafSHA256WithoutSNI
}

// handshakeResult is what one handshake delivered, as raw bytes. chain is
// set as soon as the Certificate message arrived, even if the handshake
// failed after it; version and suite only once it completed.
type handshakeResult struct {
	chain          [][]byte
	ocsp           []byte
	scts           [][]byte
	version, suite uint16
	// Set for a chain read from a server's flight: the Certificate
	// message's size and the key type asked for.
	fromFlight   bool
	messageBytes int
	offer        string
}

// handshake dials once and runs a full zcrypto handshake with the given
// SNI (none when empty), reading at most MaxChainBytes.
func (p *certProbe) handshake(ctx context.Context, dial tlswarden.DialFunc, sni string) (handshakeResult, error) {
	conn, err := dial(ctx)
	if err != nil {
		return handshakeResult{}, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			return handshakeResult{}, fmt.Errorf("set deadline: %w", err)
		}
	}
	lc := &limitConn{Conn: conn, left: p.cfg.MaxChainBytes}
	tc := tls.Client(lc, p.tlsConfig(sni))
	err = tc.HandshakeContext(ctx)
	hs := collect(tc)
	switch {
	case lc.exceeded:
		err = &tlswarden.ProtocolError{Msg: fmt.Sprintf("server sent more than %d bytes during the handshake", p.cfg.MaxChainBytes)}
	case err != nil:
		err = &handshakeError{sni: sni, err: err}
	}
	return hs, err
}

// tlsConfig is the client configuration of one handshake. zcrypto always
// asks for a stapled OCSP response and SCTs. Certificates are verified by
// certFacts, not here; zcrypto still builds paths during the handshake, so
// it gets an empty root pool to keep that cheap.
func (p *certProbe) tlsConfig(sni string) *tls.Config {
	return &tls.Config{
		ServerName:             sni,
		InsecureSkipVerify:     true,
		RootCAs:                x509.NewCertPool(),
		MinVersion:             tls.VersionTLS10,
		MaxVersion:             tls.VersionTLS13,
		CipherSuites:           tls.PortableCiphers,
		SessionTicketsDisabled: true,
		Time:                   p.cfg.Now,
	}
}

// collect reads what the handshake delivered, complete or not.
func collect(tc *tls.Conn) handshakeResult {
	st := tc.ConnectionState()
	hs := handshakeResult{ocsp: st.OCSPResponse, scts: st.SignedCertificateTimestamps}
	if st.HandshakeComplete {
		hs.version, hs.suite = st.Version, st.CipherSuite
	}
	log := tc.GetHandshakeLog()
	if log == nil {
		return hs
	}
	if sc := log.ServerCertificates; sc != nil && len(sc.Certificate.Raw) > 0 {
		hs.chain = append(hs.chain, sc.Certificate.Raw)
		for _, c := range sc.Chain {
			hs.chain = append(hs.chain, c.Raw)
		}
	}
	if len(hs.scts) == 0 && log.ServerHello != nil {
		for _, s := range log.ServerHello.SignedCertificateTimestamps {
			hs.scts = append(hs.scts, s.Raw)
		}
	}
	return hs
}

// loadRoots builds the trust store: the public roots (Roots, or the
// system's) and the organisation's from CAFile.
func (p *certProbe) loadRoots() (*rootStore, error) {
	org, err := p.caFileRoots()
	if err != nil {
		return nil, err
	}
	var public [][]byte
	switch {
	case p.cfg.CAFileOnly && len(org) > 0:
	case len(p.cfg.Roots) > 0:
		for i, c := range p.cfg.Roots {
			if _, ok := rawSubject(c.Raw); !ok {
				return nil, fmt.Errorf("certificate probe: root %d is not a certificate", i)
			}
			public = append(public, c.Raw)
		}
	default:
		s, err := systemRoots()
		if err != nil {
			return nil, fmt.Errorf("certificate probe: %w", err)
		}
		if len(org) == 0 {
			return s, nil
		}
		public = s.der
	}
	return newTrustStore(public, org), nil
}

// caFileRoots reads the organisation's roots from CAFile, if any.
func (p *certProbe) caFileRoots() ([][]byte, error) {
	var ders [][]byte
	for i, c := range p.cfg.OrgRoots {
		if _, ok := rawSubject(c.Raw); !ok {
			return nil, fmt.Errorf("certificate probe: organisation root %d is not a certificate", i)
		}
		ders = append(ders, c.Raw)
	}
	if p.cfg.CAFile == "" {
		return ders, nil
	}
	b, err := os.ReadFile(p.cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("certificate probe: read CA file: %w", err)
	}
	found := pemCertificates(b)
	if len(found) == 0 {
		return nil, fmt.Errorf("certificate probe: no certificates in CA file %s", p.cfg.CAFile)
	}
	return append(ders, found...), nil
}

// limitConn fails reads once limit bytes have been read, so that a server
// cannot keep a handshake reading without bound.
type limitConn struct {
	net.Conn
	left     int64
	exceeded bool
}

var errReadCap = errors.New("read cap reached")

func (c *limitConn) Read(b []byte) (int, error) {
	if c.left <= 0 {
		c.exceeded = true
		return 0, errReadCap
	}
	if int64(len(b)) > c.left {
		b = b[:c.left]
	}
	n, err := c.Conn.Read(b)
	c.left -= int64(n)
	return n, err
}

// handshakeError is a TLS handshake that failed for a reason other than
// the network: an alert, a message zcrypto refused, no common parameters.
type handshakeError struct {
	sni string
	err error
}

func (e *handshakeError) Error() string {
	if e.sni == "" {
		return "tls handshake without SNI: " + e.err.Error()
	}
	return "tls handshake with SNI " + e.sni + ": " + e.err.Error()
}

func (e *handshakeError) Unwrap() error { return e.err }

// Status classifies the failure for the scanner.
func (e *handshakeError) Status() tlswarden.Status { return tlswarden.StatusHandshakeError }
