package policy

import (
	"strings"

	"github.com/tlswarden/tlswarden"
)

// Known-weakness rules derived from the suites and versions already
// enumerated: no extra connection. Each follows testssl.sh's definition
// (testssl.sh 3.2, the run_* functions named in the rationale), under the
// name the peers use, so that results can be compared.
var (
	ruleSweet32 = Rule{
		ID:       "vuln.sweet32",
		Title:    "SWEET32: no 64-bit block cipher (CVE-2016-2183)",
		Severity: tlswarden.SeverityLow,
		Rationale: `Birthday attacks on 64-bit blocks (3DES, DES, IDEA, RC2) recover plaintext from long ` +
			`connections (sweet32.info). testssl.sh run_sweet32: any such cipher offered is VULNERABLE.`,
		Check: func(in *Input) Result {
			return checkSuites(in, anyVersion, block64Suite, "64-bit block ciphers accepted", "no 64-bit block cipher accepted")
		},
	}
	ruleRC4 = Rule{
		ID:        "vuln.rc4",
		Title:     "RC4: no RC4 cipher (CVE-2013-2566, CVE-2015-2808)",
		Severity:  tlswarden.SeverityHigh,
		Rationale: `RC4's biases recover plaintext; RFC 7465 prohibits it. testssl.sh run_rc4: any RC4 cipher offered is VULNERABLE.`,
		Check: func(in *Input) Result {
			return checkSuites(in, anyVersion, rc4Suite, "RC4 ciphers accepted", "no RC4 cipher accepted")
		},
	}
	ruleFREAK = Rule{
		ID:       "vuln.freak",
		Title:    "FREAK: no RSA export key exchange (CVE-2015-0204)",
		Severity: tlswarden.SeverityHigh,
		Rationale: `A client tricked into RSA_EXPORT accepts a 512-bit key an attacker can factor. testssl.sh ` +
			`run_freak: any RSA export suite offered is VULNERABLE.`,
		Check: func(in *Input) Result {
			return checkSuites(in, anyVersion, rsaExportSuite, "RSA export suites accepted", "no RSA export suite accepted")
		},
	}
	ruleExport = Rule{
		ID:        "vuln.export",
		Title:     "EXPORT: no export-grade suite",
		Severity:  tlswarden.SeverityHigh,
		Rationale: `Export suites use 40- or 56-bit ciphers and 512-bit key exchange. testssl.sh lists them as "Export ciphers" offered: NOT ok.`,
		Check: func(in *Input) Result {
			return checkSuites(in, anyVersion, exportSuite, "export suites accepted", "no export suite accepted")
		},
	}
	ruleNULL = Rule{
		ID:        "vuln.null",
		Title:     "NULL: no unencrypted suite",
		Severity:  tlswarden.SeverityHigh,
		Rationale: `NULL ciphers send the data in clear. testssl.sh "NULL ciphers (no encryption)" offered: NOT ok.`,
		Check: func(in *Input) Result {
			return checkSuites(in, anyVersion, nullSuite, "NULL suites accepted", "no NULL suite accepted")
		},
	}
	ruleAnonymous = Rule{
		ID:        "vuln.anonymous",
		Title:     "Anonymous: no unauthenticated key exchange",
		Severity:  tlswarden.SeverityHigh,
		Rationale: `Anonymous (aNULL) suites authenticate no one: any active attacker is in the middle. testssl.sh "Anonymous NULL Ciphers (no authentication)" offered: NOT ok.`,
		Check: func(in *Input) Result {
			return checkSuites(in, anyVersion, anonSuite, "anonymous suites accepted", "no anonymous suite accepted")
		},
	}
	ruleLogjam = Rule{
		ID:       "vuln.logjam",
		Title:    "LOGJAM: no DH export key exchange (CVE-2015-4000)",
		Severity: tlswarden.SeverityHigh,
		Rationale: `A client downgraded to DHE_EXPORT gets 512-bit DH that can be broken in minutes (weakdh.org). ` +
			`testssl.sh run_logjam: DH export suites offered are VULNERABLE.`,
		Check: func(in *Input) Result {
			return checkSuites(in, anyVersion, dhExportSuite, "DH export suites accepted", "no DH export suite accepted")
		},
	}
	ruleLogjamPrime = Rule{
		ID:       "vuln.logjam_common_prime",
		Title:    "LOGJAM: no DH group of 1024 bits or fewer",
		Severity: tlswarden.SeverityLow,
		Rationale: `A nation-state can precompute for a common 1024-bit prime (weakdh.org). testssl.sh ` +
			`run_logjam warns on a common prime of 1024 bits or fewer; tlswarden keeps the prime's size, ` +
			`not the prime, so it warns on every DH group that small.`,
		Check: func(in *Input) Result {
			return checkSuites(in, anyVersion, smallDHSuite, "DH groups of 1024 bits or fewer", "no DH group of 1024 bits or fewer")
		},
	}
	rulePOODLE = Rule{
		ID:       "vuln.poodle",
		Title:    "POODLE: no SSLv3 with CBC ciphers (CVE-2014-3566)",
		Severity: tlswarden.SeverityHigh,
		Rationale: `SSLv3's unchecked CBC padding lets an attacker decrypt a byte per 256 requests. testssl.sh ` +
			`run_ssl_poodle: SSLv3 with a CBC cipher is VULNERABLE. SSL Labs caps it at C.`,
		Check: func(in *Input) Result {
			return checkSuites(in, onlySSLv3, cbcSuite, "SSLv3 accepted with CBC ciphers", "SSLv3 with CBC ciphers not accepted")
		},
	}
	ruleBEAST = Rule{
		ID:       "vuln.beast",
		Title:    "BEAST: no CBC cipher with SSLv3 or TLS 1.0 (CVE-2011-3389)",
		Severity: tlswarden.SeverityLow,
		Rationale: `Predictable CBC IVs in SSLv3 and TLS 1.0 let a browser-borne attacker decrypt cookies; ` +
			`clients mitigate with 1/n-1 record splitting. testssl.sh run_beast: CBC ciphers with SSLv3 or ` +
			`TLS 1.0 are VULNERABLE, likely mitigated when a later version is also offered.`,
		Check: checkBEAST,
	}
	ruleLucky13 = Rule{
		ID:       "vuln.lucky13",
		Title:    "LUCKY13: no CBC cipher (CVE-2013-0169)",
		Severity: tlswarden.SeverityLow,
		Rationale: `MAC-then-encrypt CBC records leak padding through timing. testssl.sh run_lucky13: any CBC ` +
			`cipher offered is "potentially VULNERABLE" (patched implementations are not, but a scan cannot tell).`,
		Check: func(in *Input) Result {
			return checkSuites(in, upToTLS12, cbcSuite, "CBC ciphers accepted", "no CBC cipher accepted")
		},
	}
	ruleDROWN = Rule{
		ID:       "vuln.drown",
		Title:    "DROWN: no SSLv2, here or on any endpoint serving the same certificate (CVE-2016-0800)",
		Severity: tlswarden.SeverityHigh,
		Rationale: `SSLv2 on any server holding an RSA key lets an attacker decrypt TLS sessions made with that ` +
			`key anywhere (drownattack.com). testssl.sh run_drown: SSLv2 offered is VULNERABLE, and the ` +
			`certificate's fingerprint is looked up among known SSLv2 hosts; tlswarden looks it up among ` +
			`the SSLv2 endpoints of the same scan.`,
		Check: checkDROWN,
	}
)

// vulnDerivedRules are the weakness rules computed from enumerated facts.
var vulnDerivedRules = []*Rule{
	&ruleSweet32, &ruleRC4, &ruleFREAK, &ruleExport, &ruleNULL, &ruleAnonymous, &ruleLogjam, &ruleLogjamPrime,
	&rulePOODLE, &ruleBEAST, &ruleLucky13, &ruleDROWN,
}

func onlySSLv3(v tlswarden.Version) bool { return v == tlswarden.SSLv3 }

// sslv2Has reports an SSLv2 cipher spec whose name holds any of parts:
// SSLv2 specs have no registry entry, only names such as
// SSL_CK_DES_192_EDE3_CBC_WITH_MD5.
func sslv2Has(o offered, parts ...string) bool {
	if o.version != tlswarden.SSLv2 {
		return false
	}
	for _, p := range parts {
		if strings.Contains(o.suite.Name, p) {
			return true
		}
	}
	return false
}

func block64Suite(o offered) bool {
	return o.ok && o.info.Block64() || sslv2Has(o, "DES", "RC2", "IDEA")
}
func rc4Suite(o offered) bool    { return o.ok && o.info.RC4() || sslv2Has(o, "RC4") }
func exportSuite(o offered) bool { return o.ok && o.info.Export() || sslv2Has(o, "EXPORT") }
func nullSuite(o offered) bool   { return o.ok && o.info.Null() }
func anonSuite(o offered) bool   { return o.ok && o.info.Anonymous() }
func cbcSuite(o offered) bool    { return o.ok && o.info.CBC() }

// rsaExportSuite is FREAK's RSA_EXPORT (and RSA_EXPORT1024) key exchange;
// every SSLv2 export spec is RSA export too.
func rsaExportSuite(o offered) bool {
	return o.ok && strings.HasPrefix(o.info.KeyExchange, "RSA_EXPORT") || sslv2Has(o, "EXPORT")
}

// dhExportSuite is LOGJAM's DHE_*_EXPORT or DH_anon_EXPORT key exchange.
func dhExportSuite(o offered) bool {
	return o.ok && o.info.Export() && strings.HasPrefix(o.info.KeyExchange, "DH")
}

func smallDHSuite(o offered) bool {
	return o.ok && strings.HasPrefix(o.info.KeyExchange, "DH") && o.suite.DHBits > 0 && o.suite.DHBits <= 1024
}

// checkBEAST fails on CBC with SSLv3 or TLS 1.0, and says whether a later
// version is there to mitigate it, as testssl.sh does.
func checkBEAST(in *Input) Result {
	old := func(v tlswarden.Version) bool { return v == tlswarden.SSLv3 || v == tlswarden.TLS10 }
	res := checkSuites(in, old, cbcSuite, "CBC ciphers accepted with SSLv3 or TLS 1.0", "no CBC cipher with SSLv3 or TLS 1.0")
	if res.Outcome == tlswarden.RuleFail && laterThanTLS10(in.Endpoint.TLS) {
		res.Message += " (likely mitigated: a later version is also accepted)"
	}
	return res
}

func laterThanTLS10(tr *tlswarden.TLSResult) bool {
	return tr.Supported(tlswarden.TLS11) || tr.Supported(tlswarden.TLS12) || tr.Supported(tlswarden.TLS13)
}

// checkDROWN fails when this endpoint accepts SSLv2, or when one of its
// RSA keys is served by an endpoint that does (the scan's, or those the
// caller passed in Options.SSLv2Leaves: the service passes the estate's).
func checkDROWN(in *Input) Result {
	tr, ne := tlsFacts(in)
	if ne != nil {
		return *ne
	}
	supported, known := versionState(tr, tlswarden.SSLv2)
	if supported {
		return fail("SSLv2 accepted")
	}
	if where, ok := sslv2Peer(in); ok {
		return fail("the RSA key is served with SSLv2 by %s", where)
	}
	leaf := in.Endpoint.Cert.Leaf()
	switch {
	case !known:
		return notEvaluated("could not test SSLv2")
	case leaf == nil:
		return notEvaluated("SSLv2 not accepted; the certificate was not examined, so its use with SSLv2 elsewhere was not checked")
	}
	return pass("SSLv2 not accepted, and no SSLv2 endpoint scanned serves this certificate")
}

// sslv2Peer returns the SSLv2 endpoint that serves one of the endpoint's
// RSA keys: any chain's RSA leaf, found by the SHA-256 of its key (the
// same key in another certificate is as exposed) or, for reports from
// before key hashes were recorded, of the certificate.
func sslv2Peer(in *Input) (string, bool) {
	for _, leaf := range rsaLeaves(in.Endpoint.Cert) {
		if where, ok := in.SSLv2Leaves[leaf.SPKISHA256]; ok && leaf.SPKISHA256 != "" {
			return where, true
		}
		if where, ok := in.SSLv2Leaves[leaf.SHA256]; ok {
			return where, true
		}
	}
	return "", false
}

// rsaLeaves returns the RSA leaf of every chain the endpoint serves.
func rsaLeaves(c *tlswarden.CertResult) []*tlswarden.Certificate {
	var out []*tlswarden.Certificate
	for _, ch := range c.Chains() {
		if leaf := ch.Leaf(); leaf != nil && leaf.KeyType == "RSA" && leaf.SHA256 != "" {
			out = append(out, leaf)
		}
	}
	return out
}

// SSLv2Leaves maps the RSA keys of every endpoint in the reports that
// accepts SSLv2 to that endpoint, as DROWN's cross-endpoint check reads
// them: each chain's RSA leaf by the SHA-256 of its key and of the
// certificate. Pass the result in Options.SSLv2Leaves to judge a report
// against the SSLv2 endpoints of other targets (a whole scan, an estate;
// store.SSLv2Leaves reads the estate's from the store).
func SSLv2Leaves(reports ...*tlswarden.Report) map[string]string {
	m := map[string]string{}
	for _, r := range reports {
		for i := range r.Endpoints {
			e := &r.Endpoints[i]
			if e.TLS == nil || !e.TLS.Supported(tlswarden.SSLv2) {
				continue
			}
			for _, leaf := range rsaLeaves(e.Cert) {
				if leaf.SPKISHA256 != "" {
					m[leaf.SPKISHA256] = e.Endpoint.String()
				}
				m[leaf.SHA256] = e.Endpoint.String()
			}
		}
	}
	return m
}
