package probes

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	stdx509 "crypto/x509"
	"crypto/x509/pkix"
	"maps"
	"math/big"
	"slices"
	"sync"

	"github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"

	"github.com/tlswarden/tlswarden"
)

// lintRegistry is zlint's registry without the S/MIME and code-signing
// requirements, which never apply to a TLS server's chain, and without the
// eMudhra lint, which runs only where it can matter (see emudhraIssuers).
var lintRegistry = sync.OnceValue(func() lint.Registry {
	r, err := lint.GlobalRegistry().Filter(lint.FilterOptions{
		ExcludeSources: lint.SourceList{lint.CABFSMIMEBaselineRequirements, lint.CABFCSBaselineRequirements},
		ExcludeNames:   []string{emudhraLint},
	})
	if err != nil {
		return lint.GlobalRegistry()
	}
	return r
})

// emudhraLint checks a certificate's signature against the keys of eight
// compromised eMudhra intermediates: eight P-384 verifications, about 5 ms
// and nine tenths of zlint's time on an ECDSA-signed certificate.
const emudhraLint = "e_cert_issued_by_compromised_emudhra_ca"

// emudhraIssuers are the subjects' common names of those intermediates. A
// certificate signed by one of their keys chains to a trusted root only
// through one of them, so only a certificate naming one as its issuer is
// linted for it; a forgery naming any other issuer cannot chain at all,
// which the trust verdict already reports.
var emudhraIssuers = []string{
	"EM EV TLS CA - G3B", "EM OV TLS CA - G3B", "EM DV TLS CA - G3B",
	"EM EV TLS CA - G3C", "EM OV TLS CA - G3C", "EM DV TLS CA - G3C",
	"EM OV CS CA - G3B", "EM OV CS CA - G3C",
}

// emudhraRegistry holds the eMudhra lint alone.
var emudhraRegistry = sync.OnceValue(func() lint.Registry {
	r, err := lint.GlobalRegistry().Filter(lint.FilterOptions{IncludeNames: []string{emudhraLint}})
	if err != nil {
		return nil
	}
	return r
})

// maxLintCache bounds the lint cache; it is emptied when full.
const maxLintCache = 4096

// lintCache remembers lint findings by certificate fingerprint: the same
// intermediates are served by most endpoints of a scan, and linting one
// ECDSA-signed certificate costs milliseconds (zlint's eMudhra lint checks
// eight P-384 signatures).
var lintCache struct {
	sync.Mutex
	m map[string]*tlswarden.Lints
}

// lintCert returns zlint's findings for one certificate, from the cache
// when it has been linted before. The result is the caller's to keep.
func lintCert(c *x509.Certificate) *tlswarden.Lints {
	key := string(c.FingerprintSHA256)
	lintCache.Lock()
	l, ok := lintCache.m[key]
	lintCache.Unlock()
	if !ok {
		l = runLints(c)
		lintCache.Lock()
		if len(lintCache.m) >= maxLintCache || lintCache.m == nil {
			lintCache.m = make(map[string]*tlswarden.Lints)
		}
		lintCache.m[key] = l
		lintCache.Unlock()
	}
	if l == nil {
		return nil
	}
	return &tlswarden.Lints{Errors: slices.Clone(l.Errors), Warnings: slices.Clone(l.Warnings), Fatal: slices.Clone(l.Fatal),
		Sources: maps.Clone(l.Sources)}
}

// runLints runs zlint on one certificate and keeps the names of the lints
// that gave an error or a warning (or could not run), sorted; nil when
// none did. zlint decides itself which lints apply to a leaf, an
// intermediate or a root.
func runLints(c *x509.Certificate) *tlswarden.Lints {
	results := map[string]*lint.LintResult{}
	if rs := zlint.LintCertificateEx(c, lintRegistry()); rs != nil {
		maps.Copy(results, rs.Results)
	}
	if slices.Contains(emudhraIssuers, c.Issuer.CommonName) && emudhraRegistry() != nil {
		if rs := zlint.LintCertificateEx(c, emudhraRegistry()); rs != nil {
			maps.Copy(results, rs.Results)
		}
	}
	l := tlswarden.Lints{Sources: map[string]string{}}
	for name, res := range results {
		switch res.Status {
		case lint.Error:
			l.Errors = append(l.Errors, name)
		case lint.Warn:
			l.Warnings = append(l.Warnings, name)
		case lint.Fatal:
			l.Fatal = append(l.Fatal, name)
		default:
			continue
		}
		l.Sources[name] = lintSource(name)
	}
	if len(l.Errors)+len(l.Warnings)+len(l.Fatal) == 0 {
		return nil
	}
	slices.Sort(l.Errors)
	slices.Sort(l.Warnings)
	slices.Sort(l.Fatal)
	return &l
}

// lintSource returns the source zlint gives a lint ("CABF_BR", "RFC5280",
// ...), or "Unknown".
func lintSource(name string) string {
	if l := lint.GlobalRegistry().ByName(name); l != nil && l.Source != "" {
		return string(l.Source)
	}
	return string(lint.UnknownLintSource)
}

// warmLints pays zlint's one-time costs once per process: its small-key
// lint builds a table of curve points per curve on first use (about 20 ms
// each for P-256 and P-384, the curves of nearly every ECDSA certificate
// served today). It lints throwaway self-signed certificates on both.
var warmLints = sync.OnceFunc(func() {
	lintRegistry()
	for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384()} {
		key, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			return
		}
		tmpl := &stdx509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tlswarden lint warm-up"}}
		der, err := stdx509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			return
		}
		if c, err := x509.ParseCertificate(der); err == nil {
			runLints(c)
		}
	}
})
