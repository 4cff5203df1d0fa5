package probes

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ocsp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// runCert runs the certificate probe once against addr.
func runCert(t *testing.T, cfg CertConfig, host string, addr netip.AddrPort) (*tlswarden.CertResult, error) {
	t.Helper()
	p := Cert(cfg)
	if p.Name != "certificate" {
		t.Fatalf("probe name = %q", p.Name)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	obs, err := p.Run(ctx, tlswarden.Endpoint{Host: host, Addr: addr}, tlstest.NewDialer(addr).Dial)
	if obs.TLS != nil || obs.HTTP != nil {
		t.Errorf("certificate probe filled other observations: %+v", obs)
	}
	return obs.Cert, err
}

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

func fingerprint512(der []byte) string {
	sum := sha512.Sum512(der)
	return hex.EncodeToString(sum[:])
}

// keyFactsOf is what the probe should say about each test key type.
var keyFactsOf = map[tlstest.KeyType]struct {
	typ   string
	bits  int
	curve string
}{
	tlstest.RSA2048:  {"RSA", 2048, ""},
	tlstest.RSA1024:  {"RSA", 1024, ""},
	tlstest.ECDSA256: {"ECDSA", 256, "P-256"},
	tlstest.ECDSA384: {"ECDSA", 384, "P-384"},
	tlstest.Ed25519:  {"Ed25519", 256, ""},
	"":               {"RSA", 2048, ""},
}

// wantCert is the facts expected of a minted certificate whose key is of
// type kt, signed with ECDSA-SHA256 by a tlstest CA. Lints are compared
// separately.
func wantCert(c *tlstest.Cert, kt tlstest.KeyType, now time.Time) tlswarden.Certificate {
	x := c.Cert
	k := keyFactsOf[kt]
	w := tlswarden.Certificate{
		SHA256:             fingerprint(c.DER),
		SPKISHA256:         fingerprint(x.RawSubjectPublicKeyInfo),
		SHA512:             fingerprint512(c.DER),
		SPKISHA512:         fingerprint512(x.RawSubjectPublicKeyInfo),
		Size:               len(c.DER),
		Subject:            "CN=" + x.Subject.CommonName + ", O=tlswarden test",
		Issuer:             "CN=" + x.Issuer.CommonName + ", O=tlswarden test",
		Serial:             x.SerialNumber.Text(16),
		DNSNames:           x.DNSNames,
		NotBefore:          x.NotBefore.UTC(),
		NotAfter:           x.NotAfter.UTC(),
		SecondsUntilExpiry: int64(x.NotAfter.Sub(now) / time.Second),
		ValiditySeconds:    int64(x.NotAfter.Sub(x.NotBefore) / time.Second),
		ValidityDays:       int(x.NotAfter.Sub(x.NotBefore) / (24 * time.Hour)),
		NotYetValid:        now.Before(x.NotBefore),
		Expired:            now.After(x.NotAfter),
		KeyType:            k.typ,
		KeyBits:            k.bits,
		Curve:              k.curve,
		SignatureAlgorithm: "ECDSA-SHA256",
		IsCA:               x.IsCA,
		OCSPURLs:           x.OCSPServer,
		IssuerURLs:         x.IssuingCertificateURL,
		CRLURLs:            x.CRLDistributionPoints,
	}
	for _, ip := range x.IPAddresses {
		w.IPAddresses = append(w.IPAddresses, ip.String())
	}
	return w
}

// wantResult is the result expected when chain is served for host and all
// is well; each case edits what it breaks.
func wantResult(host string, now time.Time, chain []*tlstest.Cert, keys []tlstest.KeyType) *tlswarden.CertResult {
	r := &tlswarden.CertResult{
		ServerName:        host,
		Offered:           OfferAny,
		Source:            "handshake",
		Version:           tlswarden.TLS13,
		CipherSuite:       &tlswarden.Suite{Code: 0x1301, Name: "TLS_AES_128_GCM_SHA256"},
		ChainLength:       len(chain),
		ChainOrderCorrect: true,
		ChainComplete:     true,
		Trusted:           true,
		Anchor:            tlswarden.AnchorPublic,
		HostnameChecked:   host,
		HostnameMatches:   true,
		HostnameMatchedBy: host,
	}
	for i, c := range chain {
		kt := tlstest.ECDSA256 // intermediates
		if i < len(keys) {
			kt = keys[i]
		}
		r.Chain = append(r.Chain, wantCert(c, kt, now))
		r.ChainBytes += len(c.DER)
	}
	if host != "" {
		r.LeafSHA256WithoutSNI = r.Chain[0].SHA256
	}
	return r
}

// lintsApart removes the lints from got, so the rest compares exactly, and
// returns them per certificate.
func lintsApart(got *tlswarden.CertResult) []*tlswarden.Lints {
	var out []*tlswarden.Lints
	for i := range got.Chain {
		out = append(out, got.Chain[i].Lints)
		got.Chain[i].Lints = nil
	}
	return out
}

func hasLint(l *tlswarden.Lints, name string) bool {
	if l == nil {
		return false
	}
	for _, group := range [][]string{l.Errors, l.Warnings, l.Fatal} {
		for _, n := range group {
			if n == name {
				return true
			}
		}
	}
	return false
}

func TestCertProbeServedChains(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	day := 24 * time.Hour
	ca := tlstest.NewCAValid(t, "Test CA", now.Add(-3650*day), now.Add(3650*day))
	inter := ca.Intermediate(t, "Test Intermediate")
	inter2 := inter.Intermediate(t, "Test Intermediate 2")
	at := func(from, to time.Duration) tlstest.CertSpec {
		return tlstest.CertSpec{NotBefore: now.Add(from), NotAfter: now.Add(to)}
	}
	withKey := func(kt tlstest.KeyType) tlstest.CertSpec {
		s := at(-day, 89*day)
		s.Key = kt
		return s
	}
	named := func(names ...string) tlstest.CertSpec {
		s := at(-day, 89*day)
		s.DNSNames = names
		return s
	}
	ipOnly := at(-day, 89*day)
	ipOnly.CommonName, ipOnly.IPs = "127.0.0.1", []net.IP{net.IPv4(127, 0, 0, 1)}
	sha1 := at(-day, 89*day)
	sha1.Key, sha1.SignatureAlgorithm = tlstest.ECDSA256, x509.ECDSAWithSHA1

	interLeaf := inter.Issue(t, at(-day, 89*day))
	deepLeaf := inter2.Issue(t, at(-day, 89*day))
	selfSigned := tlstest.SelfSigned(t, at(-day, 89*day))

	tests := []struct {
		name  string
		chain []*tlstest.Cert
		keys  []tlstest.KeyType // key type per served certificate (default ECDSA P-256)
		host  string
		tls12 bool // serve TLS 1.2 with ECDHE-RSA/ECDSA AES-128-GCM only
		edit  func(w *tlswarden.CertResult)
		lints []string // lints the leaf must report, among others
	}{
		{
			name:  "valid RSA leaf",
			chain: []*tlstest.Cert{ca.Issue(t, at(-day, 89*day))},
			keys:  []tlstest.KeyType{tlstest.RSA2048},
			host:  "localhost",
			edit: func(w *tlswarden.CertResult) {
				c := &w.Chain[0]
				c.ValiditySeconds, c.ValidityDays, c.SecondsUntilExpiry = 90*86400, 90, 89*86400
			},
			lints: []string{"e_sub_cert_aia_missing", "w_subject_common_name_included"},
		},
		{
			name:  "TLS 1.2 suite",
			chain: []*tlstest.Cert{ca.Issue(t, at(-day, 89*day))},
			keys:  []tlstest.KeyType{tlstest.RSA2048},
			host:  "localhost",
			tls12: true,
			edit: func(w *tlswarden.CertResult) {
				w.Version = tlswarden.TLS12
				w.CipherSuite = &tlswarden.Suite{Code: 0xC02F, Name: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}
			},
		},
		{
			name:  "expired",
			chain: []*tlstest.Cert{ca.Issue(t, at(-100*day, -10*day))},
			keys:  []tlstest.KeyType{tlstest.RSA2048},
			host:  "localhost",
			edit: func(w *tlswarden.CertResult) {
				w.Chain[0].Expired, w.Chain[0].SecondsUntilExpiry = true, -10*86400
				w.Trusted = false
				w.VerificationError = "x509: certificate has expired or is not yet valid"
			},
		},
		{
			name:  "not yet valid",
			chain: []*tlstest.Cert{ca.Issue(t, at(day, 91*day))},
			keys:  []tlstest.KeyType{tlstest.RSA2048},
			host:  "localhost",
			edit: func(w *tlswarden.CertResult) {
				w.Chain[0].NotYetValid = true
				w.Trusted = false
				w.VerificationError = "x509: certificate has expired or is not yet valid"
			},
		},
		{
			name:  "self-signed",
			chain: []*tlstest.Cert{selfSigned},
			keys:  []tlstest.KeyType{tlstest.RSA2048},
			host:  "localhost",
			edit: func(w *tlswarden.CertResult) {
				w.Chain[0].SelfSigned = true
				w.Chain[0].Issuer = "CN=localhost, O=tlswarden test"
				w.Chain[0].SignatureAlgorithm = "SHA256-RSA"
				w.ChainComplete, w.Trusted, w.Anchor = false, false, ""
				w.VerificationError = "x509: certificate is self-signed and not a trusted root"
			},
		},
		{
			name:  "hostname mismatch",
			chain: []*tlstest.Cert{ca.Issue(t, named("www.example.test"))},
			keys:  []tlstest.KeyType{tlstest.RSA2048},
			host:  "localhost",
			edit: func(w *tlswarden.CertResult) {
				w.HostnameMatches, w.HostnameMatchedBy = false, ""
			},
		},
		{
			name:  "wildcard matches one label",
			chain: []*tlstest.Cert{ca.Issue(t, named("*.example.test"))},
			keys:  []tlstest.KeyType{tlstest.RSA2048},
			host:  "www.example.test",
			edit:  func(w *tlswarden.CertResult) { w.HostnameMatchedBy = "*.example.test" },
		},
		{
			name:  "wildcard does not match two labels",
			chain: []*tlstest.Cert{ca.Issue(t, named("*.example.test"))},
			keys:  []tlstest.KeyType{tlstest.RSA2048},
			host:  "a.www.example.test",
			edit:  func(w *tlswarden.CertResult) { w.HostnameMatches, w.HostnameMatchedBy = false, "" },
		},
		{
			name:  "IP SAN on an IP target",
			chain: []*tlstest.Cert{ca.Issue(t, ipOnly)},
			keys:  []tlstest.KeyType{tlstest.RSA2048},
			host:  "",
			edit: func(w *tlswarden.CertResult) {
				w.HostnameChecked, w.HostnameMatchedBy = "127.0.0.1", "127.0.0.1"
			},
		},
		{
			name:  "IP target without IP SAN",
			chain: []*tlstest.Cert{ca.Issue(t, named("www.example.test"))},
			keys:  []tlstest.KeyType{tlstest.RSA2048},
			host:  "",
			edit: func(w *tlswarden.CertResult) {
				w.HostnameChecked, w.HostnameMatches, w.HostnameMatchedBy = "127.0.0.1", false, ""
			},
		},
		{
			name:  "complete chain",
			chain: []*tlstest.Cert{interLeaf, &inter.Cert},
			keys:  []tlstest.KeyType{tlstest.RSA2048},
			host:  "localhost",
		},
		{
			name:  "incomplete chain",
			chain: []*tlstest.Cert{interLeaf},
			keys:  []tlstest.KeyType{tlstest.RSA2048},
			host:  "localhost",
			edit: func(w *tlswarden.CertResult) {
				w.ChainComplete, w.Trusted, w.Anchor = false, false, ""
				w.VerificationError = "x509: certificate signed by unknown authority"
			},
		},
		{
			name:  "wrong order",
			chain: []*tlstest.Cert{deepLeaf, &inter.Cert, &inter2.Cert},
			keys:  []tlstest.KeyType{tlstest.RSA2048},
			host:  "localhost",
			edit:  func(w *tlswarden.CertResult) { w.ChainOrderCorrect = false },
		},
		{
			name:  "RSA-1024",
			chain: []*tlstest.Cert{ca.Issue(t, withKey(tlstest.RSA1024))},
			keys:  []tlstest.KeyType{tlstest.RSA1024},
			host:  "localhost",
			lints: []string{"e_rsa_mod_less_than_2048_bits"},
		},
		{
			name:  "SHA-1 signature",
			chain: []*tlstest.Cert{ca.Issue(t, sha1)},
			keys:  []tlstest.KeyType{tlstest.ECDSA256},
			host:  "localhost",
			edit:  func(w *tlswarden.CertResult) { w.Chain[0].SignatureAlgorithm = "ECDSA-SHA1" },
			lints: []string{"e_sub_cert_or_sub_ca_using_sha1"},
		},
		{
			name:  "ECDSA P-256",
			chain: []*tlstest.Cert{ca.Issue(t, withKey(tlstest.ECDSA256))},
			keys:  []tlstest.KeyType{tlstest.ECDSA256},
			host:  "localhost",
		},
		{
			name:  "ECDSA P-384",
			chain: []*tlstest.Cert{ca.Issue(t, withKey(tlstest.ECDSA384))},
			keys:  []tlstest.KeyType{tlstest.ECDSA384},
			host:  "localhost",
		},
		{
			name:  "Ed25519",
			chain: []*tlstest.Cert{ca.Issue(t, withKey(tlstest.Ed25519))},
			keys:  []tlstest.KeyType{tlstest.Ed25519},
			host:  "localhost",
		},
		{
			name:  "5-year validity",
			chain: []*tlstest.Cert{ca.Issue(t, at(-day, 5*365*day-day))},
			keys:  []tlstest.KeyType{tlstest.RSA2048},
			host:  "localhost",
			edit:  func(w *tlswarden.CertResult) { w.Chain[0].ValidityDays = 1825 },
			lints: []string{"e_tls_server_cert_valid_time_longer_than_398_days"},
		},
	}
	roots := []*x509.Certificate{ca.Cert.Cert}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			served := tc.chain[0].TLSCertificate(tc.chain[1:]...)
			cfg := &tls.Config{Certificates: []tls.Certificate{served}}
			if tc.tls12 {
				cfg.MaxVersion = tls.VersionTLS12
				cfg.CipherSuites = []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
			}
			addr := tlstest.GoServer(t, cfg)
			got, err := runCert(t, CertConfig{Roots: roots, Now: func() time.Time { return now }}, tc.host, addr)
			if err != nil {
				t.Fatalf("probe error: %v", err)
			}
			want := wantResult(tc.host, now, tc.chain, tc.keys)
			if tc.host == "" {
				want.HostnameChecked, want.HostnameMatchedBy = "127.0.0.1", "127.0.0.1"
			}
			if tc.edit != nil {
				tc.edit(want)
			}
			lints := lintsApart(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("facts (-want +got):\n%s", diff)
			}
			for _, name := range tc.lints {
				if !hasLint(lints[0], name) {
					t.Errorf("leaf lints %+v lack %s", lints[0], name)
				}
			}
		})
	}
}

var (
	oidSCTList     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}
	oidOCSPSCTs    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 5}
	oidMustStaple  = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 24}
	ocspURL        = "http://ocsp.example.test"
	caIssuersURL   = "http://ca.example.test/ca.crt"
	crlURL         = "http://ca.example.test/ca.crl"
	sctTimestampMS = uint64(1_700_000_000_000)
)

// fakeSCT is a well-formed SCT v1 (RFC 6962 3.2) from an invented log; its
// signature is not real, which the probe does not check.
func fakeSCT(log byte) []byte {
	b := []byte{0} // v1
	b = append(b, bytes.Repeat([]byte{log}, 32)...)
	b = binary.BigEndian.AppendUint64(b, sctTimestampMS)
	b = append(b, 0, 0) // no extensions
	b = append(b, 4, 3) // SHA-256, ECDSA
	b = append(b, 0, 8) // signature length
	b = append(b, bytes.Repeat([]byte{0x5a}, 8)...)
	return b
}

// sctListExt is an X.509 or OCSP extension holding a SignedCertificateTimestampList.
func sctListExt(t *testing.T, id asn1.ObjectIdentifier, n int) pkix.Extension {
	t.Helper()
	var entries []byte
	for i := range n {
		sct := fakeSCT(byte(i + 1))
		entries = binary.BigEndian.AppendUint16(entries, uint16(len(sct)))
		entries = append(entries, sct...)
	}
	list := binary.BigEndian.AppendUint16(nil, uint16(len(entries)))
	v, err := asn1.Marshal(append(list, entries...))
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: id, Value: v}
}

// stapledLeaf mints a leaf with AIA, CRL, Must-Staple and two embedded SCTs.
func stapledLeaf(t *testing.T, ca *tlstest.CA, now time.Time) *tlstest.Cert {
	t.Helper()
	mustStaple, err := asn1.Marshal([]int{5})
	if err != nil {
		t.Fatal(err)
	}
	return ca.IssueTemplate(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"tlswarden test"}},
		DNSNames:              []string{"localhost"},
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              now.Add(89 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		OCSPServer:            []string{ocspURL},
		IssuingCertificateURL: []string{caIssuersURL},
		CRLDistributionPoints: []string{crlURL},
		ExtraExtensions: []pkix.Extension{
			{Id: oidMustStaple, Value: mustStaple},
			sctListExt(t, oidSCTList, 2),
		},
	}, tlstest.ECDSA256)
}

// staple makes an OCSP response for leaf, signed by signer on behalf of
// ca, carrying one SCT.
func staple(t *testing.T, ca *tlstest.CA, leaf *tlstest.Cert, signer crypto.Signer, tmpl ocsp.Response) []byte {
	t.Helper()
	tmpl.SerialNumber = leaf.Cert.SerialNumber
	tmpl.ExtraExtensions = []pkix.Extension{sctListExt(t, oidOCSPSCTs, 1)}
	der, err := ocsp.CreateResponse(ca.Cert.Cert, ca.Cert.Cert, tmpl, signer)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestCertProbeStapling(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	day := 24 * time.Hour
	ca := tlstest.NewCAValid(t, "Test CA", now.Add(-3650*day), now.Add(3650*day))
	other := tlstest.NewCAValid(t, "Other CA", now.Add(-3650*day), now.Add(3650*day))
	leaf := stapledLeaf(t, ca, now)
	thisUpdate, nextUpdate, revokedAt := now.Add(-time.Hour), now.Add(day), now.Add(-2*time.Hour)
	good := staple(t, ca, leaf, ca.Key, ocsp.Response{Status: ocsp.Good, ThisUpdate: thisUpdate, NextUpdate: nextUpdate})
	revoked := staple(t, ca, leaf, ca.Key, ocsp.Response{Status: ocsp.Revoked, ThisUpdate: thisUpdate, NextUpdate: nextUpdate, RevokedAt: revokedAt, RevocationReason: ocsp.KeyCompromise})
	forged := staple(t, ca, leaf, other.Key, ocsp.Response{Status: ocsp.Good, ThisUpdate: thisUpdate, NextUpdate: nextUpdate})
	producedAt := func(der []byte) time.Time {
		r, err := ocsp.ParseResponse(der, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r.ProducedAt.UTC()
	}
	wantStaple := func(der []byte, status string) *tlswarden.OCSPStaple {
		return &tlswarden.OCSPStaple{Size: len(der), Status: status, ProducedAt: producedAt(der),
			ThisUpdate: thisUpdate.UTC(), NextUpdate: nextUpdate.UTC(), SignatureVerified: true}
	}

	tests := []struct {
		name   string
		staple []byte
		tls12  bool
		ocsp   *tlswarden.OCSPStaple
		inOCSP int
	}{
		{name: "good, TLS 1.3", staple: good, ocsp: wantStaple(good, "good"), inOCSP: 1},
		{name: "good, TLS 1.2", staple: good, tls12: true, ocsp: wantStaple(good, "good"), inOCSP: 1},
		{name: "revoked", staple: revoked, inOCSP: 1, ocsp: func() *tlswarden.OCSPStaple {
			s := wantStaple(revoked, "revoked")
			s.RevokedAt = revokedAt.UTC()
			return s
		}()},
		{name: "signed by another key", staple: forged, inOCSP: 1, ocsp: func() *tlswarden.OCSPStaple {
			s := wantStaple(forged, "good")
			s.SignatureVerified = false
			s.Error = "parse stapled OCSP response: bad OCSP signature: x509: ECDSA verification failure"
			return s
		}()},
		{name: "garbage", staple: []byte("not an OCSP response"), ocsp: &tlswarden.OCSPStaple{
			Size: 20, Error: "parse stapled OCSP response: asn1: structure error: tags don't match",
		}},
		{name: "none"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			served := leaf.TLSCertificate()
			served.OCSPStaple = tc.staple
			served.SignedCertificateTimestamps = [][]byte{fakeSCT(7), fakeSCT(8), fakeSCT(9)}
			cfg := &tls.Config{Certificates: []tls.Certificate{served}}
			if tc.tls12 {
				cfg.MaxVersion = tls.VersionTLS12
			}
			addr := tlstest.GoServer(t, cfg)
			got, err := runCert(t, CertConfig{Roots: []*x509.Certificate{ca.Cert.Cert}, Now: func() time.Time { return now }}, "localhost", addr)
			if err != nil {
				t.Fatalf("probe error: %v", err)
			}
			lintsApart(got)
			wantLeaf := wantCert(leaf, tlstest.ECDSA256, now)
			wantLeaf.MustStaple, wantLeaf.EmbeddedSCTs = true, 2
			wantLeaf.OCSPURLs, wantLeaf.IssuerURLs, wantLeaf.CRLURLs = []string{ocspURL}, []string{caIssuersURL}, []string{crlURL}
			want := &tlswarden.CertResult{
				SCTs:        tlswarden.SCTCounts{TLSExtension: 3, OCSP: tc.inOCSP, Embedded: 2},
				OCSPStapled: tc.staple != nil,
				OCSP:        tc.ocsp,
			}
			if diff := cmp.Diff(wantLeaf, got.Chain[0]); diff != "" {
				t.Errorf("leaf (-want +got):\n%s", diff)
			}
			gotFacts := &tlswarden.CertResult{SCTs: got.SCTs, OCSPStapled: got.OCSPStapled, OCSP: got.OCSP}
			if o := got.OCSP; o != nil && tc.ocsp != nil && tc.ocsp.Error != "" && strings.HasPrefix(o.Error, tc.ocsp.Error) {
				o.Error = tc.ocsp.Error // the rest of encoding/asn1's message is its own business
			}
			if diff := cmp.Diff(want, gotFacts); diff != "" {
				t.Errorf("stapled facts (-want +got):\n%s", diff)
			}
			if !got.Trusted || got.VerificationError != "" {
				t.Errorf("trusted = %v (%s), want true", got.Trusted, got.VerificationError)
			}
		})
	}
}

func TestCertProbeWithoutSNI(t *testing.T) {
	ca := tlstest.NewCA(t, "Test CA")
	named := ca.Issue(t, tlstest.CertSpec{DNSNames: []string{"www.example.test"}})
	fallback := ca.Issue(t, tlstest.CertSpec{CommonName: "default"})
	roots := []*x509.Certificate{ca.Cert.Cert}

	t.Run("different leaf", func(t *testing.T) {
		addr := tlstest.GoServer(t, &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
			c := named.TLSCertificate()
			if h.ServerName == "" {
				c = fallback.TLSCertificate()
			}
			return &c, nil
		}})
		got, err := runCert(t, CertConfig{Roots: roots}, "www.example.test", addr)
		if err != nil {
			t.Fatal(err)
		}
		want := [4]any{fingerprint(named.DER), fingerprint(fallback.DER), true, ""}
		gotSNI := [4]any{got.Leaf().SHA256, got.LeafSHA256WithoutSNI, got.DiffersWithoutSNI, got.WithoutSNIError}
		if diff := cmp.Diff(want, gotSNI); diff != "" {
			t.Errorf("(leaf, leaf without SNI, differs, error) (-want +got):\n%s", diff)
		}
	})
	t.Run("refused without SNI", func(t *testing.T) {
		addr := tlstest.GoServer(t, &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if h.ServerName == "" {
				return nil, errors.New("no SNI")
			}
			c := named.TLSCertificate()
			return &c, nil
		}})
		got, err := runCert(t, CertConfig{Roots: roots}, "www.example.test", addr)
		if err != nil {
			t.Fatal(err)
		}
		want := [4]any{fingerprint(named.DER), "", false, "tls handshake without SNI: remote error: tls: internal error"}
		gotSNI := [4]any{got.Leaf().SHA256, got.LeafSHA256WithoutSNI, got.DiffersWithoutSNI, got.WithoutSNIError}
		if diff := cmp.Diff(want, gotSNI); diff != "" {
			t.Errorf("(leaf, leaf without SNI, differs, error) (-want +got):\n%s", diff)
		}
	})
}

func TestCertProbeConfig(t *testing.T) {
	ca := tlstest.NewCA(t, "Test CA")
	leaf := ca.Issue(t, tlstest.CertSpec{})
	addr := tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}})
	dir := t.TempDir()
	caFile, _ := ca.WritePEM(t, dir)

	// The CA file adds an organisation's roots beside the public ones
	// (here the test CA stands in for a public root): a chain anchored only
	// there says so; one anchored in both counts as public.
	for _, tc := range []struct {
		name string
		cfg  CertConfig
		want string
	}{
		{"CA file", CertConfig{CAFile: caFile}, tlswarden.AnchorOrganisation},
		{"CA file only", CertConfig{CAFile: caFile, CAFileOnly: true}, tlswarden.AnchorOrganisation},
		{"CA file beside other public roots", CertConfig{CAFile: caFile, Roots: []*x509.Certificate{tlstest.NewCA(t, "Other Public CA").Cert.Cert}}, tlswarden.AnchorOrganisation},
		{"public root", CertConfig{Roots: []*x509.Certificate{ca.Cert.Cert}}, tlswarden.AnchorPublic},
		{"public root also in the CA file", CertConfig{CAFile: caFile, Roots: []*x509.Certificate{ca.Cert.Cert}}, tlswarden.AnchorPublic},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runCert(t, tc.cfg, "localhost", addr)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Trusted || got.Anchor != tc.want {
				t.Errorf("trusted %v (%s), anchor %q; want trusted, anchor %q", got.Trusted, got.VerificationError, got.Anchor, tc.want)
			}
		})
	}
	t.Run("expired leaf under the CA file", func(t *testing.T) {
		old := ca.Issue(t, tlstest.CertSpec{NotBefore: time.Now().AddDate(-2, 0, 0), NotAfter: time.Now().AddDate(-1, 0, 0)})
		expired := tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{old.TLSCertificate()}})
		got, err := runCert(t, CertConfig{CAFile: caFile}, "localhost", expired)
		if err != nil {
			t.Fatal(err)
		}
		if got.Trusted || got.Anchor != tlswarden.AnchorOrganisation {
			t.Errorf("trusted %v, anchor %q; want untrusted, still anchored in the organisation's store", got.Trusted, got.Anchor)
		}
	})
	t.Run("untrusted without the CA", func(t *testing.T) {
		other := tlstest.NewCAValid(t, "Other CA", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		got, err := runCert(t, CertConfig{Roots: []*x509.Certificate{other.Cert.Cert}}, "localhost", addr)
		if err != nil {
			t.Fatal(err)
		}
		want := [4]any{false, true, "x509: certificate signed by unknown authority", ""}
		if diff := cmp.Diff(want, [4]any{got.Trusted, got.HostnameMatches, got.VerificationError, got.Anchor}); diff != "" {
			t.Errorf("(trusted, hostname matches, error) (-want +got):\n%s", diff)
		}
	})
	errCases := []struct {
		name string
		cfg  CertConfig
		want string
	}{
		{"missing CA file", CertConfig{CAFile: dir + "/missing.pem"}, "certificate probe: read CA file: open " + dir + "/missing.pem: no such file or directory"},
		{"CA file without certificates", CertConfig{CAFile: strings.TrimSuffix(caFile, ".crt") + ".key"}, "certificate probe: no certificates in CA file " + strings.TrimSuffix(caFile, ".crt") + ".key"},
		{"negative timeout", CertConfig{Timeout: -time.Second}, "certificate probe config: certificate probe timeout must not be negative"},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runCert(t, tc.cfg, "localhost", addr)
			if err == nil || err.Error() != tc.want || got != nil {
				t.Errorf("got (%v, %v), want (nil, %s)", got, err, tc.want)
			}
		})
	}
}

// TestCertProbeNginx reads a chain and a stapled OCSP response as nginx
// (OpenSSL) serves them.
func TestCertProbeNginx(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	day := 24 * time.Hour
	ca := tlstest.NewCAValid(t, "Test CA", now.Add(-3650*day), now.Add(3650*day))
	inter := ca.Intermediate(t, "Test Intermediate")
	leaf := stapledLeaf(t, inter, now)
	thisUpdate, nextUpdate := now.Add(-time.Hour), now.Add(day)
	resp := staple(t, inter, leaf, inter.Key, ocsp.Response{Status: ocsp.Good, ThisUpdate: thisUpdate, NextUpdate: nextUpdate})
	parsed, err := ocsp.ParseResponse(resp, nil)
	if err != nil {
		t.Fatal(err)
	}
	producedAt := parsed.ProducedAt.UTC()
	stapleFile := filepath.Join(t.TempDir(), "ocsp.der")
	if err := os.WriteFile(stapleFile, resp, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		version tlswarden.Version
		ciphers string // OpenSSL cipher list for TLS 1.2 and below
		suites  string // TLS 1.3 suites nginx allows
		suite   tlswarden.Suite
	}{
		{tlswarden.TLS10, "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0", "", tlswarden.Suite{Code: 0xC009, Name: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"}},
		{tlswarden.TLS12, "", "", tlswarden.Suite{Code: 0xC02B, Name: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}},
		{tlswarden.TLS13, "", "TLS_AES_256_GCM_SHA384", tlswarden.Suite{Code: 0x1302, Name: "TLS_AES_256_GCM_SHA384"}},
	}
	for _, tc := range tests {
		t.Run(tc.version.String(), func(t *testing.T) {
			addr := tlstest.NginxServer(t, tlstest.NginxConfig{
				Cert:         leaf,
				Chain:        []*tlstest.Cert{&inter.Cert},
				Versions:     []tlswarden.Version{tc.version},
				Ciphers:      tc.ciphers,
				Ciphersuites: tc.suites,
				Directives:   []string{"ssl_stapling on;", "ssl_stapling_file " + strconv.Quote(stapleFile) + ";"},
			})
			got, err := runCert(t, CertConfig{Roots: []*x509.Certificate{ca.Cert.Cert}, Now: func() time.Time { return now }}, "localhost", addr)
			if err != nil {
				t.Fatal(err)
			}
			lintsApart(got)
			want := wantResult("localhost", now, []*tlstest.Cert{leaf, &inter.Cert}, []tlstest.KeyType{tlstest.ECDSA256})
			want.Version, want.CipherSuite = tc.version, &tc.suite
			want.Chain[0].MustStaple, want.Chain[0].EmbeddedSCTs = true, 2
			want.OCSPStapled = true
			want.OCSP = &tlswarden.OCSPStaple{Size: len(resp), Status: "good", ProducedAt: producedAt,
				ThisUpdate: thisUpdate.UTC(), NextUpdate: nextUpdate.UTC(), SignatureVerified: true}
			want.SCTs = tlswarden.SCTCounts{OCSP: 1, Embedded: 2}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("facts (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCertProbeConcurrent runs one probe value on many endpoints at once,
// as the scanner does, sharing its trust store and lint cache.
func TestCertProbeConcurrent(t *testing.T) {
	ca := tlstest.NewCA(t, "Test CA")
	inter := ca.Intermediate(t, "Test Intermediate")
	leaf := inter.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256})
	addr := tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate(&inter.Cert)}})
	p := Cert(CertConfig{Roots: []*x509.Certificate{ca.Cert.Cert}})
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			obs, err := p.Run(t.Context(), tlswarden.Endpoint{Host: "localhost", Addr: addr}, tlstest.NewDialer(addr).Dial)
			if err == nil && (obs.Cert == nil || !obs.Cert.Trusted || obs.Cert.Chain[1].Lints == nil) {
				err = errors.New("untrusted or unlinted result")
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
