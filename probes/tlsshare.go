package probes

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
)

// Shared lets the TLS and certificate probes of one scanner share what one
// learned that spares the other connections: the certificate probe asks
// for a chain of each key type over TLS 1.2 and older with a hello offering
// only that key type's suites, which a server refuses when the TLS probe's
// enumeration (which offered every suite, every group and every signature
// scheme) found none of them at any version from SSLv3 to TLS 1.2. Those
// hellos are then not sent: on a server with one RSA certificate, the
// ECDSA, EdDSA and DSA hellos, three connections of an endpoint's forty.
// The chains a server does have are still read by the certificate probe's
// own hellos, whose signature_algorithms ask for one key type. The TLS
// probe also keeps, for the certificate probe's primary handshake, whether
// the server speaks TLS 1.3 and the chain of each suite it found at TLS
// 1.0 to 1.2 (cert_flight.go): for a server without TLS 1.3 that
// handshake's connection is spared.
//
// Give the same Shared to TLSConfig and CertConfig, and only when the
// scanner runs both probes on every endpoint it runs either on: an
// endpoint's entry is dropped when both are done with it. The zero value
// is not usable; NewShared makes one. Nil shares nothing.
type Shared struct {
	mu sync.Mutex
	m  map[sharedKey]*sharedEntry
}

// NewShared returns an empty Shared.
func NewShared() *Shared { return &Shared{m: map[sharedKey]*sharedEntry{}} }

type sharedKey struct {
	host string
	addr netip.AddrPort
}

func keyOf(ep tlswarden.Endpoint) sharedKey { return sharedKey{ep.Host, ep.Addr} }

// sharedEntry is one endpoint's: the key exchanges of the suites the TLS
// probe found at SSLv3 to TLS 1.2, once every one of those versions was
// tested (complete), else nothing.
type sharedEntry struct {
	open     [2]int  // runs of each probe (side) using it
	seen     [2]bool // each probe has opened it
	once     sync.Once
	done     chan struct{}
	kx       map[string]bool
	complete bool
	// kept is what the certificate probe's primary handshake may be
	// read from instead (cert_flight.go).
	kept *keptFlights
}

// The two probes sharing an entry.
const (
	sideTLS = iota
	sideCert
)

// open returns ep's entry for one run of a probe (side), making it if
// needed.
func (sh *Shared) open(ep tlswarden.Endpoint, side int) *sharedEntry {
	if sh == nil {
		return nil
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.m[keyOf(ep)]
	if e == nil {
		e = &sharedEntry{done: make(chan struct{}), kept: newKeptFlights()}
		sh.m[keyOf(ep)] = e
	}
	e.open[side]++
	e.seen[side] = true
	return e
}

// release ends a run's use of ep's entry. It is dropped once both probes
// have used it and no run still does (the same endpoint scanned twice at
// once shares one entry).
func (sh *Shared) release(ep tlswarden.Endpoint, e *sharedEntry, side int) {
	if sh == nil || e == nil {
		return
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e.open[side]--
	if e.open == [2]int{} && e.seen == [2]bool{true, true} && sh.m[keyOf(ep)] == e {
		delete(sh.m, keyOf(ep))
	}
}

// publish records what the TLS probe found at the legacy versions; only
// the first publication counts.
func (e *sharedEntry) publish(kx map[string]bool, complete bool) {
	if e == nil {
		return
	}
	e.once.Do(func() {
		e.kx, e.complete = kx, complete
		close(e.done)
	})
}

// refuses reports whether the TLS probe's findings show the server refuses
// every suite of kxs at TLS 1.2 and older. It waits for them at most wait
// (and not past ctx); without them it reports false.
func (e *sharedEntry) refuses(ctx context.Context, kxs []string, wait time.Duration) bool {
	if e == nil {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-e.done:
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
	if !e.complete {
		return false
	}
	for _, kx := range kxs {
		if e.kx[kx] {
			return false
		}
	}
	return true
}

// legacyVersions are the versions whose findings the certificate probe
// uses: a hello of its offering TLS 1.2 is answered at the newest of them
// the server has.
var legacyVersions = []tlswarden.Version{tlswarden.SSLv3, tlswarden.TLS10, tlswarden.TLS11, tlswarden.TLS12}

// publishLegacy publishes the key exchanges of the suites found at the
// legacy versions, complete when each was tested to the end (a version
// the server closed the connection on counts as refused, as the
// certificate probe counts it). scans holds every legacy version's scan.
func (r *tlsRun) publishLegacy(scans []*versionScan) {
	kx := map[string]bool{}
	complete := true
	for _, v := range legacyVersions {
		s := versionScanOf(scans, v)
		if s == nil {
			complete = false
			continue
		}
		if s.err != nil && !s.closed {
			complete = false
		}
		for _, su := range s.suites {
			cs, _ := iana.Suite(su.Code)
			kx[cs.KeyExchange] = true
		}
	}
	if complete {
		r.shared.choosePrimary(scans)
	}
	r.shared.publish(kx, complete)
}
