package policy

import (
	"slices"
	"strings"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
)

// Cipher suite rules.
var (
	ruleNoBroken = Rule{
		ID:       "cipher.no_broken",
		Title:    "No NULL, anonymous, export, RC4, DES, 3DES or MD5 suites",
		Severity: tlswarden.SeverityCritical,
		Rationale: `These suites give no confidentiality, no authentication, or breakable encryption ` +
			`(RFC 7465 prohibits RC4; Sweet32 for 64-bit blocks). Mozilla 6.0 lists none of them; NIST ` +
			`SP 800-52r2 §3.3.1 allows none; NCSC "avoiding known insecurities".`,
		Check: func(in *Input) Result {
			return checkSuites(in, anyVersion, broken, "accepts broken suites", "no broken suite accepted")
		},
	}
	ruleFSOnly = Rule{
		ID:       "cipher.fs_only",
		Title:    "Every TLS 1.2-and-older suite has forward secrecy",
		Severity: tlswarden.SeverityMedium,
		Rationale: `Mozilla Server Side TLS 6.0 intermediate allows only ECDHE suites; static RSA key ` +
			`exchange lets a stolen server key decrypt recorded traffic. SSL Labs caps servers without ` +
			`forward secrecy at B.`,
		Check: func(in *Input) Result {
			return checkSuites(in, upToTLS12, notForwardSecret, "accepts suites without forward secrecy",
				"every suite accepted has forward secrecy")
		},
	}
	ruleFSPreferred = Rule{
		ID:       "cipher.fs_preferred",
		Title:    "Forward secrecy is offered and preferred",
		Severity: tlswarden.SeverityHigh,
		Rationale: `Forward secrecy keeps recorded traffic safe if the server's key is later stolen. ` +
			`NCSC and Mozilla guidance prefer ephemeral (EC)DHE key exchange; NIST SP 800-52r2 §3.3.1 ` +
			`prefers ephemeral suites. A server that offers it but prefers static RSA gives it to no one.`,
		Check: checkFSPreferred,
	}
	ruleAEADOnly = Rule{
		ID:       "cipher.aead_only",
		Title:    "Every TLS 1.2-and-older suite is AEAD (GCM, CCM, ChaCha20-Poly1305)",
		Severity: tlswarden.SeverityMedium,
		Rationale: `CBC suites with MAC-then-encrypt have a long record of padding-oracle attacks ` +
			`(Lucky13, GOLDENDOODLE). Mozilla 6.0 intermediate allows only AEAD suites; SSL Labs caps ` +
			`servers without AEAD at B.`,
		Check: func(in *Input) Result {
			return checkSuites(in, upToTLS12, notAEAD, "accepts non-AEAD suites", "every suite accepted is AEAD")
		},
	}
	ruleTLS12Allowlist = Rule{
		ID:        "cipher.tls12_allowlist",
		Title:     "TLS 1.2-and-older suites are within the profile's list",
		Severity:  tlswarden.SeverityHigh,
		Rationale: `Mozilla Server Side TLS publishes exact suite lists per configuration (6.0 intermediate: six ECDHE AEAD suites).`,
		Check: func(in *Input) Result {
			return checkAllowlist(in, upToTLS12, in.Params.TLS12Suites)
		},
	}
	ruleTLS13Allowlist = Rule{
		ID:       "cipher.tls13_allowlist",
		Title:    "TLS 1.3 suites are within the profile's list",
		Severity: tlswarden.SeverityMedium,
		Rationale: `Mozilla 6.0 lists TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384 and ` +
			`TLS_CHACHA20_POLY1305_SHA256; NIST SP 800-52r2 §3.3.1 allows AES-GCM and AES-CCM only.`,
		Check: func(in *Input) Result {
			return checkAllowlist(in, onlyTLS13, in.Params.TLS13Suites)
		},
	}
)

// broken reports a suite cipher.no_broken forbids. Every SSLv2 cipher
// spec uses MD5 and is broken.
func broken(o offered) bool {
	if o.version == tlswarden.SSLv2 {
		return true
	}
	s := o.info
	return o.ok && (s.Null() || s.Anonymous() || s.Export() || s.RC4() || s.DES() || s.TripleDES() || s.MAC == "MD5")
}

func notForwardSecret(o offered) bool {
	return o.version == tlswarden.SSLv2 || o.ok && !o.info.ForwardSecret()
}

func notAEAD(o offered) bool { return o.version == tlswarden.SSLv2 || o.ok && !o.info.AEAD() }

func checkAllowlist(in *Input, keep func(tlswarden.Version) bool, allowed []uint16) Result {
	if allowed == nil {
		return notApplicable("the profile lists no suites for these versions")
	}
	outside := func(o offered) bool { return !slices.Contains(allowed, o.suite.Code) }
	return checkSuites(in, keep, outside, "accepts suites outside the profile's list", "every suite accepted is listed")
}

func checkFSPreferred(in *Input) Result {
	tr, ne := tlsFacts(in)
	if ne != nil {
		return *ne
	}
	var problems []string
	var untested []tlswarden.Version
	for _, vr := range tr.Versions {
		if vr.Version > tlswarden.TLS12 {
			continue
		}
		if supported, known := versionState(tr, vr.Version); !known {
			untested = append(untested, vr.Version)
		} else if supported {
			problems = append(problems, fsProblem(&vr)...)
		}
	}
	switch {
	case len(problems) > 0:
		return fail("%s", strings.Join(problems, "; "))
	case len(untested) > 0:
		return notEvaluated("could not test %s", versionList(untested))
	}
	return pass("forward secrecy is offered and preferred with every version accepted")
}

// fsProblem says what is wrong with forward secrecy on one version.
func fsProblem(vr *tlswarden.VersionResult) []string {
	fs := 0
	for _, s := range vr.Suites {
		if info, ok := iana.Suite(s.Code); ok && vr.Version != tlswarden.SSLv2 && info.ForwardSecret() {
			fs++
		}
	}
	switch {
	case fs == 0:
		return []string{vr.Version.String() + " offers no forward-secret suite"}
	case vr.Preference == tlswarden.PreferServer && len(vr.Suites) > 0 && fs < len(vr.Suites):
		first, _ := iana.Suite(vr.Suites[0].Code)
		if !first.ForwardSecret() {
			return []string{vr.Version.String() + " server prefers " + vr.Suites[0].Name + ", without forward secrecy"}
		}
	}
	return nil
}
