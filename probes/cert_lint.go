package probes

import (
	"slices"
	"sync"

	"github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"

	"github.com/tlswarden/tlswarden"
)

// lintRegistry is zlint's registry without the S/MIME and code-signing
// requirements, which never apply to a TLS server's chain.
var lintRegistry = sync.OnceValue(func() lint.Registry {
	r, err := lint.GlobalRegistry().Filter(lint.FilterOptions{
		ExcludeSources: lint.SourceList{lint.CABFSMIMEBaselineRequirements, lint.CABFCSBaselineRequirements},
	})
	if err != nil {
		return lint.GlobalRegistry()
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
	return &tlswarden.Lints{Errors: slices.Clone(l.Errors), Warnings: slices.Clone(l.Warnings), Fatal: slices.Clone(l.Fatal)}
}

// runLints runs zlint on one certificate and keeps the names of the lints
// that gave an error or a warning (or could not run), sorted; nil when
// none did. zlint decides itself which lints apply to a leaf, an
// intermediate or a root.
func runLints(c *x509.Certificate) *tlswarden.Lints {
	rs := zlint.LintCertificateEx(c, lintRegistry())
	if rs == nil {
		return nil
	}
	var l tlswarden.Lints
	for name, res := range rs.Results {
		switch res.Status {
		case lint.Error:
			l.Errors = append(l.Errors, name)
		case lint.Warn:
			l.Warnings = append(l.Warnings, name)
		case lint.Fatal:
			l.Fatal = append(l.Fatal, name)
		}
	}
	if len(l.Errors)+len(l.Warnings)+len(l.Fatal) == 0 {
		return nil
	}
	slices.Sort(l.Errors)
	slices.Sort(l.Warnings)
	slices.Sort(l.Fatal)
	return &l
}
