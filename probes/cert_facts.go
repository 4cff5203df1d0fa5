package probes

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/zmap/zcrypto/dsa"
	"github.com/zmap/zcrypto/encoding/asn1"
	"github.com/zmap/zcrypto/rsa"
	"github.com/zmap/zcrypto/x509"

	"github.com/tlswarden/tlswarden"
)

// maxChainCerts bounds how many served certificates are parsed, verified
// and linted. Real chains have two to four; path building over many
// same-named certificates costs a signature check per pair.
const maxChainCerts = 16

// certFacts derives the certificate facts from what one handshake
// delivered: the chain as served (DER, in order), the stapled OCSP response
// and the SCTs of the TLS extension. host is the name the leaf must match
// (an IP literal for IP targets); roots are the trust anchors (nil means
// the system's). It never touches the network.
//
// It returns what it could establish even when it also returns an error: a
// chain longer than maxChainCerts or bytes that are not a certificate give
// a *tlswarden.ProtocolError beside the partial facts.
func certFacts(chain [][]byte, ocspDER []byte, scts [][]byte, host string, roots *rootStore, now time.Time) (*tlswarden.CertResult, error) {
	return deriveCertFacts(chain, ocspDER, scts, host, roots, now, lintCert)
}

// linter returns the lint findings for one certificate.
type linter func(*x509.Certificate) *tlswarden.Lints

// deriveCertFacts is certFacts with the linter as a parameter (nil: no
// lints). The fuzz target leaves zlint out: it is not our parser, and its
// eMudhra lint alone checks eight P-384 signatures per ECDSA-signed
// certificate.
func deriveCertFacts(chain [][]byte, ocspDER []byte, scts [][]byte, host string, roots *rootStore, now time.Time, lint linter) (*tlswarden.CertResult, error) {
	if len(chain) == 0 {
		return nil, &tlswarden.ProtocolError{Msg: "server sent no certificate"}
	}
	r := &tlswarden.CertResult{ChainLength: len(chain), HostnameChecked: host}
	for _, der := range chain {
		r.ChainBytes += len(der)
	}
	var errs []error
	if len(chain) > maxChainCerts {
		errs = append(errs, &tlswarden.ProtocolError{Msg: fmt.Sprintf(
			"server sent %d certificates; only the first %d were examined", len(chain), maxChainCerts)})
		chain, r.ChainTruncated = chain[:maxChainCerts], true
	}
	certs, err := describeChain(r, chain, now, lint)
	errs = append(errs, err)
	r.SCTs.TLSExtension = len(scts)
	r.OCSPStapled = len(ocspDER) > 0
	if leaf := certs[0]; leaf != nil {
		leafFacts(r, leaf, certs[1:], ocspDER, roots, now)
	}
	return r, joinErrors(errs...)
}

// describeChain parses and lints every certificate into r.Chain and
// returns the parsed ones, nil where the bytes were not a certificate.
func describeChain(r *tlswarden.CertResult, chain [][]byte, now time.Time, lint linter) ([]*x509.Certificate, error) {
	certs := make([]*x509.Certificate, len(chain))
	r.Chain = make([]tlswarden.Certificate, len(chain))
	var errs []error
	for i, der := range chain {
		c, err := parseCached(der)
		if err != nil {
			errs = append(errs, &tlswarden.ProtocolError{Msg: fmt.Sprintf(
				"certificate %d of %d is not a certificate: %v", i+1, len(chain), err)})
		}
		certs[i] = c
		r.Chain[i] = describeCert(der, c, err, now)
		if c != nil && lint != nil {
			r.Chain[i].Lints = lint(c)
		}
	}
	return certs, joinErrors(errs...)
}

// leafFacts fills in what depends on a parsed leaf: order, trust,
// hostname, OCSP and SCTs.
func leafFacts(r *tlswarden.CertResult, leaf *x509.Certificate, rest []*x509.Certificate, ocspDER []byte, roots *rootStore, now time.Time) {
	intermediates := nonNil(rest)
	v := verifyCached(roots, leaf, rest, now)
	r.ChainOrderCorrect = v.ordered
	r.ChainComplete, r.Trusted, r.VerificationError = v.complete, v.trusted, v.err
	r.Anchor = roots.anchorKind(v.anchors)
	if problem := leafUsageProblem(leaf); problem != "" {
		// A path to a root proves the certificate genuine, not that it
		// may stand for a TLS server: a CA certificate served as the
		// leaf (a reversed chain) verifies, as Go's and zcrypto's path
		// builders do not check the leaf's key usage.
		r.Trusted = false
		r.VerificationError = strings.TrimPrefix(r.VerificationError+"; "+problem, "; ")
	}
	r.HostnameMatchedBy = matchHost(leaf, r.HostnameChecked)
	r.HostnameMatches = r.HostnameMatchedBy != ""
	r.SCTs.Embedded = len(leaf.SignedCertificateTimestampList)
	if r.OCSPStapled {
		issuer := v.issuer
		if issuer == nil {
			issuer = servedIssuer(leaf, intermediates)
		}
		r.OCSP, r.SCTs.OCSP = ocspFacts(ocspDER, leaf, issuer)
	}
}

// parseCert parses one DER certificate with zcrypto, turning a panic in
// its parser (which sees hostile bytes here) into an error.
func parseCert(der []byte) (c *x509.Certificate, err error) {
	defer func() {
		if v := recover(); v != nil {
			c, err = nil, fmt.Errorf("x509 parser panicked: %v", v)
		}
	}()
	c, err = x509.ParseCertificate(der)
	if err == nil && c == nil {
		err = errors.New("x509: no certificate")
	}
	return c, err
}

// describeCert turns one served certificate into its facts, lints aside.
func describeCert(der []byte, c *x509.Certificate, parseErr error, now time.Time) tlswarden.Certificate {
	sum, sum512 := sha256.Sum256(der), sha512.Sum512(der)
	d := tlswarden.Certificate{SHA256: hex.EncodeToString(sum[:]), SHA512: hex.EncodeToString(sum512[:]), Size: len(der)}
	if parseErr != nil {
		d.ParseError = parseErr.Error()
		return d
	}
	// The digests a TLSA record names (DANE): matching types 1 and 2;
	// type 0, the bytes themselves, is compared through their SHA-256.
	spki, spki512 := sha256.Sum256(c.RawSubjectPublicKeyInfo), sha512.Sum512(c.RawSubjectPublicKeyInfo)
	d.SPKISHA256, d.SPKISHA512 = hex.EncodeToString(spki[:]), hex.EncodeToString(spki512[:])
	d.Subject, d.Issuer = c.Subject.String(), c.Issuer.String()
	if c.SerialNumber != nil {
		d.Serial = c.SerialNumber.Text(16)
	}
	d.DNSNames = c.DNSNames
	for _, ip := range c.IPAddresses {
		d.IPAddresses = append(d.IPAddresses, ip.String())
	}
	describeValidity(&d, c, now)
	d.KeyType, d.KeyBits, d.Curve = keyFacts(c)
	d.SignatureAlgorithm = c.SignatureAlgorithmName()
	d.IsCA, d.SelfSigned = c.BasicConstraintsValid && c.IsCA, c.SelfSigned
	d.OCSPURLs, d.IssuerURLs, d.CRLURLs = c.OCSPServer, c.IssuingCertificateURL, c.CRLDistributionPoints
	d.MustStaple = mustStaple(c)
	d.EmbeddedSCTs = len(c.SignedCertificateTimestampList)
	return d
}

// describeValidity records the validity window as seen at now.
func describeValidity(d *tlswarden.Certificate, c *x509.Certificate, now time.Time) {
	d.NotBefore, d.NotAfter = c.NotBefore.UTC(), c.NotAfter.UTC()
	d.SecondsUntilExpiry = int64(c.NotAfter.Sub(now) / time.Second)
	period := c.NotAfter.Sub(c.NotBefore)
	d.ValiditySeconds = int64(period / time.Second)
	d.ValidityDays = int(period / (24 * time.Hour))
	d.NotYetValid = now.Before(c.NotBefore)
	d.Expired = now.After(c.NotAfter)
}

// keyFacts names the subject key's algorithm, its size in bits and its
// curve.
func keyFacts(c *x509.Certificate) (typ string, bits int, curve string) {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return "RSA", k.N.BitLen(), ""
	case *x509.AugmentedECDSA:
		return ecdsaFacts(k.Pub)
	case *ecdsa.PublicKey:
		return ecdsaFacts(k)
	case ed25519.PublicKey:
		return "Ed25519", 256, ""
	case *dsa.PublicKey:
		return "DSA", k.P.BitLen(), ""
	}
	return c.PublicKeyAlgorithmName(), 0, ""
}

func ecdsaFacts(k *ecdsa.PublicKey) (string, int, string) {
	if k == nil || k.Curve == nil {
		return "ECDSA", 0, ""
	}
	p := k.Curve.Params()
	return "ECDSA", p.BitSize, p.Name
}

// oidTLSFeature is the TLS Feature extension of RFC 7633; listing
// status_request (5) in it is what "OCSP Must-Staple" means.
var oidTLSFeature = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 24}

const tlsFeatureStatusRequest = 5

// mustStaple reports whether the certificate's TLS Feature extension asks
// for a stapled OCSP response.
func mustStaple(c *x509.Certificate) bool {
	for _, ext := range c.Extensions {
		if !ext.Id.Equal(oidTLSFeature) {
			continue
		}
		var features []int
		if _, err := asn1.Unmarshal(ext.Value, &features); err != nil {
			return false
		}
		for _, f := range features {
			if f == tlsFeatureStatusRequest {
				return true
			}
		}
	}
	return false
}

// chainOrdered reports whether each certificate is certified by the next
// one, as RFC 5246 requires of the served list (RFC 8446 merely prefers
// it).
func chainOrdered(leaf *x509.Certificate, rest []*x509.Certificate) bool {
	prev := leaf
	for _, c := range rest {
		if c == nil || prev.CheckSignatureFrom(c) != nil {
			return false
		}
		prev = c
	}
	return true
}

// verification is what path building established about a leaf.
type verification struct {
	complete, trusted bool
	ordered           bool // each served certificate certified by the next (chainOrdered)
	err               string
	issuer            *x509.Certificate // the leaf's issuer on a found path
	// anchors are the roots the trusted paths end at, or, with none, those
	// of the paths built regardless of dates and key usage.
	anchors []*x509.Certificate
}

// verifyLeaf builds paths from the leaf to the roots through the served
// intermediates: once for trust at now for server authentication, once
// regardless of dates and key usage to tell a missing intermediate from
// other faults.
//
// It also returns every path it built regardless of dates and key usage:
// the verification stays what it is while each of them keeps its validity.
func verifyLeaf(leaf *x509.Certificate, intermediates []*x509.Certificate, roots *x509.CertPool, now time.Time) (verification, []x509.CertificateChain) {
	pool := x509.NewCertPool()
	for _, c := range intermediates {
		pool.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: pool, CurrentTime: now}
	current, _, _, err := leaf.Verify(opts)
	v := verification{trusted: err == nil && len(current) > 0, anchors: pathRoots(current)}
	if err != nil {
		v.err = err.Error()
	}
	opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
	current, expired, never, _ := leaf.Verify(opts)
	var paths []x509.CertificateChain
	for _, chains := range [][]x509.CertificateChain{current, expired, never} {
		paths = append(paths, chains...)
		if !v.trusted {
			v.anchors = append(v.anchors, pathRoots(chains)...)
		}
		for _, ch := range chains {
			v.complete = true
			if len(ch) > 1 && v.issuer == nil {
				v.issuer = ch[1]
			}
		}
	}
	return v, paths
}

// pathRoots returns the last certificate of each path.
func pathRoots(paths []x509.CertificateChain) []*x509.Certificate {
	var out []*x509.Certificate
	for _, p := range paths {
		if len(p) > 0 {
			out = append(out, p[len(p)-1])
		}
	}
	return out
}

// leafUsageProblem says why a leaf may not authenticate a TLS server, or
// returns "" when it may: a CA certificate is not an end entity (RFC 5280
// 4.2.1.9, CA/B BR 7.1.2.7.8); a key usage extension must allow a TLS key
// exchange (digitalSignature for signed key exchanges and TLS 1.3,
// keyEncipherment for RSA key transport, keyAgreement for static ECDH;
// RFC 5280 4.2.1.3, RFC 5246 7.4.2); an extended key usage extension must
// list serverAuth or anyExtendedKeyUsage (RFC 5280 4.2.1.12).
func leafUsageProblem(leaf *x509.Certificate) string {
	const tlsUsages = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageKeyAgreement
	switch {
	case leaf.BasicConstraintsValid && leaf.IsCA:
		return "the leaf is a CA certificate (basicConstraints cA), not a server's"
	case leaf.KeyUsage != 0 && leaf.KeyUsage&tlsUsages == 0:
		return "the leaf's key usage does not allow TLS server authentication (no digitalSignature, keyEncipherment or keyAgreement)"
	case !ekuAllowsServerAuth(leaf):
		return "the leaf's extended key usage does not include serverAuth"
	}
	return ""
}

// ekuAllowsServerAuth reports whether the leaf has no extended key usage
// extension or one that allows serverAuth.
func ekuAllowsServerAuth(leaf *x509.Certificate) bool {
	if len(leaf.ExtKeyUsage) == 0 && len(leaf.UnknownExtKeyUsage) == 0 {
		return true
	}
	for _, u := range leaf.ExtKeyUsage {
		if u == x509.ExtKeyUsageServerAuth || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

// anchorsFor returns the anchors of roots (the system's when nil) that a
// path from leaf through the served intermediates can end at.
func anchorsFor(roots *rootStore, leaf *x509.Certificate, intermediates []*x509.Certificate) *x509.CertPool {
	if roots == nil {
		roots, _ = systemRoots()
	}
	if roots == nil {
		return x509.NewCertPool()
	}
	return roots.poolFor(append([]*x509.Certificate{leaf}, intermediates...))
}

// servedIssuer returns the served certificate that signed the leaf.
func servedIssuer(leaf *x509.Certificate, served []*x509.Certificate) *x509.Certificate {
	for _, c := range served {
		if leaf.CheckSignatureFrom(c) == nil {
			return c
		}
	}
	return nil
}

func nonNil(certs []*x509.Certificate) []*x509.Certificate {
	var out []*x509.Certificate
	for _, c := range certs {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

// matchHost returns the subject alternative name of the leaf that host
// matches, or "" when none does. It follows what browsers do (RFC 6125,
// CA/B Forum): an IP literal matches only an IP SAN; a name matches a DNS
// SAN exactly or through a wildcard that is the whole leftmost label and
// stands for exactly one label; the subject common name is ignored.
func matchHost(leaf *x509.Certificate, host string) string {
	if addr, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		for _, ip := range leaf.IPAddresses {
			if a, ok := netip.AddrFromSlice(ip); ok && a.Unmap() == addr.Unmap() {
				return ip.String()
			}
		}
		return ""
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "" {
		return ""
	}
	for _, san := range leaf.DNSNames {
		if dnsNameMatches(strings.ToLower(strings.TrimSuffix(san, ".")), name) {
			return san
		}
	}
	return ""
}

// dnsNameMatches reports whether a lower-case DNS SAN matches a lower-case
// hostname.
func dnsNameMatches(san, name string) bool {
	if san == name {
		return san != ""
	}
	suffix, ok := strings.CutPrefix(san, "*.")
	if !ok || suffix == "" || strings.Contains(suffix, "*") {
		return false
	}
	label, rest, ok := strings.Cut(name, ".")
	return ok && label != "" && rest == suffix
}

// joinErrors is errors.Join on one line, for error strings that end up in
// a report: nil without errors, the error itself when there is one.
func joinErrors(errs ...error) error {
	var list errorList
	for _, err := range errs {
		if err != nil {
			list = append(list, err)
		}
	}
	switch len(list) {
	case 0:
		return nil
	case 1:
		return list[0]
	}
	return list
}

// errorList is several errors, separated by semicolons.
type errorList []error

func (l errorList) Error() string {
	msgs := make([]string, len(l))
	for i, err := range l {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (l errorList) Unwrap() []error { return l }
