package policy

import "github.com/tlswarden/tlswarden"

// Suite lists of Mozilla Server Side TLS (ssl-config-generator
// src/static/guidelines/6.0.json and 5.7.json, "iana" names).
var (
	mozillaTLS13 = []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}

	mozilla60Intermediate = []string{
		"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
		"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
		"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
	}

	mozilla57Old = append(append([]string{}, mozilla60Intermediate...),
		"TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
		"TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
		"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
		"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
		"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
		"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
		"TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
		"TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_GCM_SHA384",
		"TLS_RSA_WITH_AES_128_CBC_SHA256", "TLS_RSA_WITH_AES_256_CBC_SHA256",
		"TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_256_CBC_SHA",
		"TLS_RSA_WITH_3DES_EDE_CBC_SHA",
	)

	// nistTLS13 is NIST SP 800-52r2 §3.3.1's TLS 1.3 list: AES-GCM and
	// AES-CCM, no ChaCha20 (not FIPS-approved).
	nistTLS13 = []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"}
)

// baseParams are the thresholds every built-in starts from.
func baseParams() Params {
	return Params{
		MinVersion:          tlswarden.TLS12,
		MinDHBits:           2048,
		MinECDHBits:         256,
		MinRSABits:          2048,
		CertCurves:          []string{"P-256", "P-384", "P-521"},
		MaxCertLifespanDays: 366,
		ExpiryWarningDays:   14,
		MinLifetimeLeft:     0.2,
		HSTSMinMaxAge:       31536000,
		MinHeaderScore:      70,
	}
}

// webRules are the HTTP rules of the Mozilla and NCSC profiles: warnings.
var webRules = []sev{{"http.https_redirect", sevMedium}, {"http.hsts", sevMedium}, {"http.hsts_preload_ready", sevInfo}}

// vulnRules are the known-weakness rules every profile evaluates, at the
// rules' own severities.
var vulnRules = []sev{
	{"vuln.sweet32", 0}, {"vuln.rc4", 0}, {"vuln.freak", 0}, {"vuln.export", 0}, {"vuln.null", 0},
	{"vuln.anonymous", 0}, {"vuln.logjam", 0}, {"vuln.logjam_common_prime", 0}, {"vuln.poodle", 0},
	{"vuln.beast", 0}, {"vuln.lucky13", 0}, {"vuln.drown", 0},
	{"vuln.heartbleed", 0}, {"vuln.ccs_injection", 0}, {"vuln.robot", 0}, {"vuln.padding_oracle", 0}, {"vuln.secure_renegotiation", 0},
	{"vuln.client_initiated_renegotiation", 0}, {"vuln.ticketbleed", 0}, {"vuln.early_data", 0},
	{"vuln.crime", 0},
	{"vuln.fallback_scsv", 0},
}

// certRules are the certificate rules every profile evaluates.
var certRules = []sev{
	{"cert.trusted", 0}, {"cert.hostname", 0}, {"cert.valid_now", 0}, {"cert.expiry_soon", 0},
	{"cert.lifetime_left", 0}, {"cert.key", 0}, {"cert.sig_alg", 0},
	{"cert.chain_complete", 0}, {"cert.chain_no_expired", 0}, {"cert.ocsp_stapled", 0},
	{"cert.not_revoked", 0}, {"cert.must_staple", 0}, {"cert.sct_count", 0},
	{"cert.lint_errors", 0}, {"cert.lint_warnings", 0},
	{"target.addresses_consistent", 0},
}

func nhsInternetFirst() *Profile {
	p := &Profile{
		Name:    "nhs-internet-first",
		Version: "2.01",
		Source: "NHS Digital Internet First policy v2.01 (2020-01-28), Information security item 5 " +
			"(\"TLS version 1.2 or better\"); other rules from NCSC, Mozilla Server Side TLS 6.0 and the " +
			"CA/Browser Forum Baseline Requirements",
		Description: "The default: TLS 1.2 or better, trusted unexpired certificates, no weak suites, " +
			"forward secrecy offered and preferred, HSTS.",
		FailAt: sevHigh,
		Params: baseParams(),
	}
	p.Params.TLS12Suites = suiteCodes(mozilla60Intermediate...)
	p.Params.TLS13Suites = suiteCodes(mozillaTLS13...)
	return build(p, certRules, vulnRules, []sev{
		{"tls.version.min", sevCritical}, {"tls.version.no_ssl", sevCritical}, {"tls.version.tls13", sevMedium},
		{"cipher.no_broken", sevCritical}, {"cipher.fs_preferred", sevHigh}, {"cipher.fs_only", sevMedium},
		{"cipher.aead_only", sevMedium}, {"cipher.tls12_allowlist", sevInfo}, {"cipher.tls13_allowlist", sevInfo},
		{"kex.dh_min_bits", sevMedium}, {"kex.ecdh_min_bits", sevHigh}, {"kex.pqc_hybrid", sevInfo},
		{"cert.lifespan_br", sevHigh}, {"cert.lifespan_moz", sevInfo},
		{"http.https_redirect", sevHigh}, {"http.hsts", sevHigh}, {"http.hsts_preload_ready", sevInfo},
		{"http.header_score", sevMedium},
	})
}

func mozillaIntermediate() *Profile {
	p := &Profile{
		Name:        "mozilla-intermediate",
		Version:     "6.0",
		Source:      "Mozilla Server Side TLS 6.0 (2026-04-06), intermediate configuration, https://ssl-config.mozilla.org/guidelines/6.0.json",
		Description: "Mozilla's recommendation for the vast majority of services: TLS 1.2 and 1.3, six ECDHE AEAD suites.",
		FailAt:      sevHigh,
		Params:      baseParams(),
	}
	p.Params.HSTSMinMaxAge = 63072000
	p.Params.TLS12Suites = suiteCodes(mozilla60Intermediate...)
	p.Params.TLS13Suites = suiteCodes(mozillaTLS13...)
	p.Params.CertKeyTypes = []string{"ECDSA", "RSA"}
	p.Params.CertCurves = []string{"P-256", "P-384"}
	p.Params.CertSignatures = []string{"SHA256-RSA", "ECDSA-SHA256", "ECDSA-SHA384", "ECDSA-SHA512"}
	return build(p, certRules, vulnRules, webRules, []sev{
		{"tls.version.min", sevCritical}, {"tls.version.no_ssl", sevCritical},
		{"tls.version.tls12", sevHigh}, {"tls.version.tls13", sevHigh},
		{"cipher.no_broken", sevCritical}, {"cipher.fs_only", sevHigh}, {"cipher.aead_only", sevHigh},
		{"cipher.tls12_allowlist", sevHigh}, {"cipher.tls13_allowlist", sevHigh},
		{"kex.dh_min_bits", sevHigh}, {"kex.ecdh_min_bits", sevHigh}, {"kex.pqc_hybrid", sevInfo},
		{"cert.sig_allowlist", sevMedium}, {"cert.lifespan_moz", sevHigh},
	})
}

func mozillaModern() *Profile {
	p := &Profile{
		Name:        "mozilla-modern",
		Version:     "6.0",
		Source:      "Mozilla Server Side TLS 6.0 (2026-04-06), modern configuration, https://ssl-config.mozilla.org/guidelines/6.0.json",
		Description: "TLS 1.3 only, ECDSA certificates of at most 90 days; for services whose clients are all recent.",
		FailAt:      sevHigh,
		Params:      baseParams(),
	}
	p.Params.MinVersion = tlswarden.TLS13
	p.Params.HSTSMinMaxAge = 63072000
	p.Params.TLS13Suites = suiteCodes(mozillaTLS13...)
	p.Params.CertKeyTypes = []string{"ECDSA"}
	p.Params.CertCurves = []string{"P-256", "P-384"}
	p.Params.CertSignatures = []string{"ECDSA-SHA256", "ECDSA-SHA384", "ECDSA-SHA512"}
	p.Params.MaxCertLifespanDays = 90
	return build(p, certRules, vulnRules, webRules, []sev{
		{"tls.version.min", sevCritical}, {"tls.version.no_ssl", sevCritical}, {"tls.version.tls13", sevHigh},
		{"cipher.no_broken", sevCritical}, {"cipher.tls13_allowlist", sevHigh},
		{"kex.ecdh_min_bits", sevHigh}, {"kex.pqc_hybrid", sevInfo},
		{"cert.sig_allowlist", sevHigh}, {"cert.lifespan_moz", sevHigh},
	})
}

func mozillaOld() *Profile {
	p := &Profile{
		Name:    "mozilla-old",
		Version: "5.7",
		Source:  "Mozilla Server Side TLS 5.7, old configuration, https://ssl-config.mozilla.org/guidelines/5.7.json",
		Description: "For services that must serve ancient clients (IE 8 on XP, Java 6). Mozilla removed this " +
			"configuration in 6.0 (\"'Old' configuration is not recommended\"), so it stays pinned to 5.7; " +
			"it accepts TLS 1.0 and 1.1 and so is never Internet First compliant.",
		FailAt: sevHigh,
		Params: baseParams(),
	}
	p.Params.MinVersion = tlswarden.TLS10
	p.Params.MinDHBits = 1024
	p.Params.HSTSMinMaxAge = 63072000
	p.Params.TLS12Suites = suiteCodes(mozilla57Old...)
	p.Params.TLS13Suites = suiteCodes(mozillaTLS13...)
	p.Params.CertKeyTypes = []string{"RSA"}
	p.Params.CertSignatures = []string{"SHA256-RSA"}
	// cipher.no_broken is left out on purpose: 5.7 old lists
	// TLS_RSA_WITH_3DES_EDE_CBC_SHA. The allow-list still rejects NULL,
	// anonymous, export, RC4 and DES suites.
	return build(p, certRules, vulnRules, webRules, []sev{
		{"tls.version.min", sevCritical}, {"tls.version.no_ssl", sevCritical},
		{"tls.version.tls12", sevHigh}, {"tls.version.tls13", sevMedium},
		{"cipher.tls12_allowlist", sevHigh}, {"cipher.tls13_allowlist", sevHigh},
		{"kex.dh_min_bits", sevHigh}, {"kex.ecdh_min_bits", sevHigh},
		{"cert.sig_allowlist", sevMedium}, {"cert.lifespan_moz", sevHigh},
	})
}

func ncsc() *Profile {
	p := &Profile{
		Name:    "ncsc",
		Version: "web guidance, unversioned (structure as of 2026)",
		Source: "NCSC (UK) \"Using TLS to protect data\", https://www.ncsc.gov.uk/guidance/using-tls-to-protect-data: " +
			"TLS 1.2 floor (legacy versions), TLS 1.3 preferred, avoiding known insecurities. Its exact " +
			"cipher tables were not verified, so suite rules follow the catalogue's NCSC column",
		Description: "UK NCSC guidance as used by GOV.UK standards and NCSC Web Check.",
		FailAt:      sevHigh,
		Params:      baseParams(),
	}
	return build(p, certRules, vulnRules, webRules, []sev{
		{"tls.version.min", sevCritical}, {"tls.version.no_ssl", sevCritical},
		{"tls.version.tls12", sevMedium}, {"tls.version.tls13", sevMedium},
		{"cipher.no_broken", sevCritical}, {"cipher.fs_only", sevHigh}, {"cipher.aead_only", sevMedium},
		{"kex.dh_min_bits", sevMedium}, {"kex.ecdh_min_bits", sevHigh}, {"kex.pqc_hybrid", sevInfo},
	})
}

func nist80052r2() *Profile {
	p := &Profile{
		Name:    "nist-800-52r2",
		Version: "Rev. 2 (August 2019)",
		Source: "NIST SP 800-52 Rev. 2, Guidelines for the Selection, Configuration, and Use of TLS " +
			"Implementations, https://doi.org/10.6028/NIST.SP.800-52r2 (citizen- and business-facing servers)",
		Description: "US federal guidance: TLS 1.2 and 1.3 required, FIPS suites; citizen-facing servers may keep TLS 1.0/1.1 (a warning here).",
		FailAt:      sevHigh,
		Params:      baseParams(),
	}
	p.Params.TLS13Suites = suiteCodes(nistTLS13...)
	p.Params.CertCurves = []string{"P-256", "P-384"}
	return build(p, certRules, vulnRules, []sev{
		{"tls.version.min", sevMedium}, {"tls.version.no_ssl", sevCritical},
		{"tls.version.tls12", sevHigh}, {"tls.version.tls13", sevHigh},
		{"cipher.no_broken", sevCritical}, {"cipher.fs_preferred", sevMedium}, {"cipher.fs_only", sevMedium},
		{"cipher.aead_only", sevInfo}, {"cipher.tls13_allowlist", sevMedium},
		{"kex.dh_min_bits", sevHigh}, {"kex.ecdh_min_bits", sevHigh},
		{"cert.ocsp_stapled", sevMedium},
	})
}
