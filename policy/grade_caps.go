package policy

import (
	"strings"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
)

// capProtocols applies the protocol caps: SSLv2 F; SSLv3 B (F when it is
// the best version); TLS 1.0/1.1 B; neither TLS 1.2 nor 1.3 C; no TLS 1.3
// A-.
func (gr *grader) capProtocols() {
	tr := gr.tr
	highest := tlswarden.Version(0)
	for _, v := range tr.Versions {
		if v.Supported {
			highest = max(highest, v.Version)
		}
	}
	if tr.Supported(tlswarden.SSLv2) {
		gr.limit("F", "SSLv2 accepted")
	}
	switch {
	case highest == tlswarden.SSLv3:
		gr.limit("F", "SSLv3 is the best version accepted")
	case tr.Supported(tlswarden.SSLv3):
		gr.limit("B", "SSLv3 accepted")
	}
	if tr.Supported(tlswarden.TLS10) || tr.Supported(tlswarden.TLS11) {
		gr.limit("B", "TLS 1.0 or 1.1 accepted")
	}
	switch {
	case !tr.Supported(tlswarden.TLS12) && !tr.Supported(tlswarden.TLS13):
		gr.limit("C", "neither TLS 1.2 nor TLS 1.3 accepted")
	case !tr.Supported(tlswarden.TLS13):
		gr.limit("A-", "TLS 1.3 not accepted")
	}
}

// capSuites applies the cipher suite and key exchange caps.
func (gr *grader) capSuites() {
	list, _ := acceptedSuites(gr.tr, anyVersion)
	var export, anon, null, short, rc4Old, rc4New bool
	for _, o := range list {
		if !o.ok {
			continue
		}
		s, modern := o.info, o.version >= tlswarden.TLS11
		export = export || s.Export()
		anon = anon || s.Anonymous()
		null = null || s.Null()
		short = short || !s.Null() && s.KeyBits() < 112
		rc4New = rc4New || s.RC4() && modern
		rc4Old = rc4Old || s.RC4() && !modern
	}
	gr.when(export, "F", "export suites accepted")
	gr.when(anon, "F", "anonymous (unauthenticated) suites accepted")
	gr.when(null, "F", "NULL (unencrypted) suites accepted")
	gr.when(short, "F", "ciphers below 112 bits accepted")
	gr.when(rc4New, "C", "RC4 accepted with TLS 1.1 or later")
	gr.when(rc4Old && !rc4New, "B", "RC4 accepted")
	gr.capBlock64()
	gr.capNegotiated(list)
	switch k := gr.g.KeyExchange; {
	case k > 0 && k <= 40:
		gr.limit("F", "key exchange below 1024 bits")
	case k > 0 && k <= 80:
		gr.limit("B", "key exchange below 2048 bits")
	}
}

// capBlock64 caps at C a server that gives the reference client a 64-bit
// block cipher (3DES, Sweet32) with TLS 1.1 or later; one that merely
// accepts it after every suite the client prefers is not capped.
func (gr *grader) capBlock64() {
	c, ok := referenceChoice(gr.tr)
	if ok && c.suite.Block64() {
		gr.limit("C", "a modern client gets the 64-bit block cipher %s with %s (%s; Sweet32)", c.suite.Name, c.version, c.how)
	}
}

func (gr *grader) when(cond bool, max, reason string) {
	if cond {
		gr.limit(max, "%s", reason)
	}
}

// capNegotiated caps servers that give forward secrecy or AEAD to no
// modern client: none accepted, or (without TLS 1.3) the server's own
// first choice for TLS 1.2 lacks it.
func (gr *grader) capNegotiated(list []offered) {
	var fs, aead bool
	for _, o := range list {
		fs = fs || o.ok && o.info.ForwardSecret()
		aead = aead || o.ok && o.info.AEAD()
	}
	first, preferred := gr.preferredTLS12()
	switch {
	case !fs:
		gr.limit("B", "no forward secrecy")
	case preferred && !first.ForwardSecret():
		gr.limit("B", "the server prefers %s, without forward secrecy", first.Name)
	}
	switch {
	case !aead:
		gr.limit("B", "no AEAD suite")
	case preferred && !first.AEAD():
		gr.limit("B", "the server prefers %s, not an AEAD suite", first.Name)
	}
}

// preferredTLS12 returns the TLS 1.2 suite a modern client gets when the
// server has no TLS 1.3 and imposes its own order.
func (gr *grader) preferredTLS12() (first iana.CipherSuite, ok bool) {
	if gr.tr.Supported(tlswarden.TLS13) {
		return iana.CipherSuite{}, false
	}
	for _, v := range gr.tr.Versions {
		if v.Version == tlswarden.TLS12 && v.Supported && v.Preference == tlswarden.PreferServer && len(v.Suites) > 0 {
			s, found := iana.Suite(v.Suites[0].Code)
			return s, found
		}
	}
	return iana.CipherSuite{}, false
}

// capCertificate applies the certificate caps: MD5 signatures F; trust
// problems (untrusted, expired, not yet valid, name mismatch, SHA-1
// signature) T; an incomplete chain B.
func (gr *grader) capCertificate() {
	chains := gr.cert.Chains()
	if len(chains) == 0 {
		chains = []*tlswarden.CertResult{nil}
	}
	for _, cr := range chains {
		name := "certificate"
		if len(chains) > 1 {
			name = chainLabel(cr) + " certificate"
		}
		gr.capChain(cr, name)
	}
}

// capChain applies the certificate caps to one chain, named in the reasons
// by name.
func (gr *grader) capChain(cr *tlswarden.CertResult, name string) {
	leaf := cr.Leaf()
	if leaf == nil || leaf.ParseError != "" {
		gr.incomplete("%s not examined: trust, key and signature not graded", name)
		return
	}
	trust := func(reason string) { gr.trustT = append(gr.trustT, strings.Replace(reason, "certificate", name, 1)) }
	if !cr.Trusted {
		trust("certificate not trusted: " + orDefault(cr.VerificationError, "no path to a trusted root"))
	}
	if !cr.HostnameMatches {
		trust("certificate does not name " + cr.HostnameChecked)
	}
	if revoked(cr) {
		trust("certificate revoked")
	}
	switch {
	case !leaf.NotAfter.IsZero() && gr.now.After(leaf.NotAfter):
		trust("certificate expired on " + day(leaf.NotAfter))
	case gr.now.Before(leaf.NotBefore):
		trust("certificate not valid until " + day(leaf.NotBefore))
	}
	for i, c := range cr.Chain {
		if i > 0 && c.SelfSigned {
			continue
		}
		switch alg := c.SignatureAlgorithm; {
		case containsAny(alg, "MD5", "MD2"):
			gr.limit("F", "%s signed with %s", name, alg)
		case weakSignature(alg):
			trust("certificate signed with " + alg)
		}
	}
	if !cr.ChainComplete && cr.Trusted {
		gr.limit("B", "incomplete %s chain", name)
	}
}

// finish applies the caps, A+ and T.
func (gr *grader) finish() {
	g := gr.g
	letter := gr.best
	for _, c := range g.Caps {
		if rank(c.Max) < rank(letter) {
			letter = c.Max
		}
	}
	switch {
	case letter != "A" || len(g.Caps) > 0:
	case gr.hsts < 0:
		g.Incomplete = append(g.Incomplete, "HTTP headers not examined: A+ not considered")
	case gr.hsts >= hstsAPlus:
		letter = "A+"
	}
	g.Letter = letter
	for _, reason := range gr.trustT {
		g.Caps = append(g.Caps, tlswarden.GradeCap{Max: "T", Reason: reason})
	}
	if len(gr.trustT) > 0 {
		g.Letter, g.IgnoringTrust = "T", letter
	}
}

// revoked reports whether the stapled OCSP response or the responder
// asked online says the leaf is revoked.
func revoked(cr *tlswarden.CertResult) bool {
	return cr.OCSP != nil && cr.OCSP.Status == tlswarden.OCSPRevoked ||
		cr.Revocation != nil && cr.Revocation.Status == tlswarden.OCSPRevoked
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(strings.ToUpper(s), sub) {
			return true
		}
	}
	return false
}
