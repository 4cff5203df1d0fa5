package policy

import (
	"github.com/tlswarden/tlswarden"
)

// Protocol version rules.
var (
	ruleMinVersion = Rule{
		ID:       "tls.version.min",
		Title:    "No protocol version below the minimum is accepted",
		Severity: tlswarden.SeverityCritical,
		Rationale: `NHS Digital Internet First policy, Information security item 5: "All traffic traversing ` +
			`the internet should be encrypted using Transport Layer Security (TLS) version 1.2 or better". ` +
			`Mozilla Server Side TLS 6.0 (intermediate: TLSv1.2 and TLSv1.3; modern: TLSv1.3 only), NCSC ` +
			`"Using TLS to protect data" (legacy versions) and RFC 8996 (TLS 1.0 and 1.1 deprecated) agree.`,
		Check: checkMinVersion,
	}
	ruleNoSSL = Rule{
		ID:       "tls.version.no_ssl",
		Title:    "SSLv2 and SSLv3 are not accepted",
		Severity: tlswarden.SeverityCritical,
		Rationale: `SSL 2.0 and 3.0 are broken (DROWN, POODLE; RFC 6176, RFC 7568). Every profile forbids ` +
			`them, including NIST SP 800-52r2 §3.1 for citizen-facing servers that may keep TLS 1.0.`,
		Check: checkNoSSL,
	}
	ruleTLS12 = Rule{
		ID:       "tls.version.tls12",
		Title:    "TLS 1.2 is accepted",
		Severity: tlswarden.SeverityHigh,
		Rationale: `NIST SP 800-52r2 §3.1: servers shall support TLS 1.2. Mozilla 6.0 intermediate lists ` +
			`TLSv1.2 for clients without TLS 1.3.`,
		Check: func(in *Input) Result { return checkVersionAccepted(in, tlswarden.TLS12) },
	}
	ruleTLS13 = Rule{
		ID:       "tls.version.tls13",
		Title:    "TLS 1.3 is accepted",
		Severity: tlswarden.SeverityMedium,
		Rationale: `Mozilla Server Side TLS 6.0 (intermediate and modern) include TLSv1.3; NIST SP 800-52r2 ` +
			`asked for TLS 1.3 support by 1 January 2024; SSL Labs (2009r) holds servers without it at A-.`,
		Check: func(in *Input) Result { return checkVersionAccepted(in, tlswarden.TLS13) },
	}
)

func checkMinVersion(in *Input) Result {
	tr, ne := tlsFacts(in)
	if ne != nil {
		return *ne
	}
	min := in.Params.MinVersion
	var below, untested []tlswarden.Version
	for _, v := range tlswarden.AllVersions {
		if v >= min {
			continue
		}
		switch supported, known := versionState(tr, v); {
		case supported:
			below = append(below, v)
		case !known:
			untested = append(untested, v)
		}
	}
	switch {
	case len(below) > 0:
		return fail("accepts %s; the minimum is %s", versionList(below), min)
	case len(untested) > 0:
		return notEvaluated("could not test %s", versionList(untested))
	}
	return pass("accepts nothing below %s", min)
}

func checkNoSSL(in *Input) Result {
	tr, ne := tlsFacts(in)
	if ne != nil {
		return *ne
	}
	var accepted, untested []tlswarden.Version
	for _, v := range []tlswarden.Version{tlswarden.SSLv2, tlswarden.SSLv3} {
		switch supported, known := versionState(tr, v); {
		case supported:
			accepted = append(accepted, v)
		case !known:
			untested = append(untested, v)
		}
	}
	switch {
	case len(accepted) > 0:
		return fail("accepts %s", versionList(accepted))
	case len(untested) > 0:
		return notEvaluated("could not test %s", versionList(untested))
	}
	return pass("accepts neither SSLv2 nor SSLv3")
}

func checkVersionAccepted(in *Input, v tlswarden.Version) Result {
	tr, ne := tlsFacts(in)
	if ne != nil {
		return *ne
	}
	switch supported, known := versionState(tr, v); {
	case supported:
		return pass("accepts %s", v)
	case !known:
		return notEvaluated("could not test %s", v)
	}
	return fail("does not accept %s", v)
}
