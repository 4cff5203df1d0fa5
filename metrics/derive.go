package metrics

import (
	"slices"
	"strings"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
	"github.com/tlswarden/tlswarden/store"
)

// versionLabels are the version label values of tlswarden_tls_version_supported,
// in the order of tlswarden.AllVersions.
var versionLabels = []string{"ssl2", "ssl3", "tls1.0", "tls1.1", "tls1.2", "tls1.3"}

// versionValues are the numbers tlswarden_tls_min_version and _max_version
// take, in the order of tlswarden.AllVersions: SSL 2 and 3 are 0.2 and 0.3.
var versionValues = []float64{0.2, 0.3, 1.0, 1.1, 1.2, 1.3}

// suiteClasses are the class label values of tlswarden_tls_cipher_suites:
// iana.CipherSuite.Class's vocabulary, worst first.
var suiteClasses = []string{"null", "anon", "export", "des", "rc4", "3des", "cbc", "aead", "other"}

// gradeValues encodes a grade letter as the number tlswarden_endpoint_grade
// takes: higher is better, T (a trust failure) is the lowest.
var gradeValues = map[string]float64{"A+": 8, "A": 7, "A-": 6, "B": 5, "C": 4, "D": 3, "E": 2, "F": 1, "T": 0}

// gradeLabels lists the grade label values of the fleet summary, best first;
// "none" counts endpoints without a grade.
var gradeLabels = []string{"A+", "A", "A-", "B", "C", "D", "E", "F", "T", "none"}

// Certificate verification failure reasons: a bounded vocabulary derived
// from the certificate facts (see certReasons).
const (
	reasonExpired          = "expired"
	reasonNotYetValid      = "not_yet_valid"
	reasonHostnameMismatch = "hostname_mismatch"
	reasonIncompleteChain  = "incomplete_chain"
	reasonUnknownAuthority = "unknown_authority"
	reasonOther            = "other"
)

// measured is what the metrics say of one target's last successful scan:
// the worst case over the addresses that gave each fact. It is derived once
// per scan and cached, since a finished scan never changes.
type measured struct {
	ipv4, ipv6   int
	inconsistent bool
	// versions holds, per tlswarden.AllVersions, -1 when no address tested
	// the version, else 1 when any address accepted it, else 0.
	versions       [6]int8
	minVer, maxVer int // indexes into versionValues; -1 when none accepted
	suites         []int
	tlsMeasured    bool
	grade          string // worst letter, "" when none graded
	headerScore    float64
	headerScored   bool
	cert           *certMeasure
	profile        string
	compliance     tlswarden.Compliance
	evaluated      bool
	failedRules    []ruleKey
}

// certMeasure is the certificate part of measured, from the address whose
// leaf expires first.
type certMeasure struct {
	notBefore, notAfter float64
	chainNotAfter       float64 // 0 when no certificate but the anchor
	verified            bool
	reasons             []string // union over the addresses, sorted
}

// ruleKey names a failed rule in the fleet summary.
type ruleKey struct {
	rule     string
	severity string
}

// measure derives the metrics' view of one scan's endpoints.
func measure(eps []store.ScanEndpoint) *measured {
	m := &measured{minVer: -1, maxVer: -1, suites: make([]int, len(suiteClasses))}
	for i := range m.versions {
		m.versions[i] = -1
	}
	rules := map[ruleKey]bool{}
	var sigs []string
	for i := range eps {
		e := &eps[i]
		m.countAddress(e.Report.Endpoint)
		m.addTLS(e.Report.TLS)
		m.addCert(e.Report.Cert)
		m.addEvaluation(e.Profile, e.Evaluation, rules)
		if e.Report.Status == tlswarden.StatusOK {
			sigs = append(sigs, signature(e))
		}
	}
	m.inconsistent = len(slices.Compact(slices.Sorted(slices.Values(sigs)))) > 1
	for k := range rules {
		m.failedRules = append(m.failedRules, k)
	}
	return m
}

func (m *measured) countAddress(ep tlswarden.Endpoint) {
	if ep.Addr.Addr().Unmap().Is4() {
		m.ipv4++
	} else {
		m.ipv6++
	}
}

// addTLS folds one address's versions and suites in: a version counts as
// accepted when any address accepts it, the minimum is the lowest any
// accepts, the maximum the lowest maximum, and suite counts the highest.
func (m *measured) addTLS(r *tlswarden.TLSResult) {
	if r == nil {
		return
	}
	m.tlsMeasured = true
	counts := make([]int, len(suiteClasses))
	seen := map[uint16]bool{}
	lo, hi := -1, -1
	for _, vr := range r.Versions {
		i := slices.Index(tlswarden.AllVersions, vr.Version)
		if i < 0 || vr.Error != "" {
			continue
		}
		m.versions[i] = max(m.versions[i], 0)
		if !vr.Supported {
			continue
		}
		m.versions[i] = 1
		if lo < 0 || i < lo {
			lo = i
		}
		hi = max(hi, i)
		countSuites(vr.Suites, seen, counts)
	}
	if lo >= 0 {
		m.minVer = minIndex(m.minVer, lo)
		m.maxVer = minIndex(m.maxVer, hi)
	}
	for i, n := range counts {
		m.suites[i] = max(m.suites[i], n)
	}
}

// minIndex returns the lower of two version indexes, -1 meaning none.
func minIndex(a, b int) int {
	if a < 0 || b < a {
		return b
	}
	return a
}

// countSuites counts each distinct suite once by its IANA class.
func countSuites(suites []tlswarden.Suite, seen map[uint16]bool, counts []int) {
	for _, s := range suites {
		if seen[s.Code] {
			continue
		}
		seen[s.Code] = true
		class := "other"
		if cs, ok := iana.Suite(s.Code); ok {
			class = cs.Class()
		}
		counts[slices.Index(suiteClasses, class)]++
	}
}

// addCert folds one address's certificate in: the leaf that expires first
// is reported, verified only when every address verifies, with every
// address's reasons.
func (m *measured) addCert(r *tlswarden.CertResult) {
	leaf := r.Leaf()
	if leaf == nil || leaf.ParseError != "" {
		return
	}
	c := &certMeasure{notBefore: unix(leaf.NotBefore.Unix()), notAfter: unix(leaf.NotAfter.Unix()),
		chainNotAfter: chainNotAfter(r.Chain), verified: r.Trusted && r.HostnameMatches, reasons: certReasons(r)}
	if m.cert == nil {
		m.cert = c
		return
	}
	old := m.cert
	if c.notAfter < old.notAfter {
		m.cert = c
	}
	m.cert.verified = old.verified && c.verified
	m.cert.chainNotAfter = minPositive(old.chainNotAfter, c.chainNotAfter)
	m.cert.reasons = slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(old.reasons), c.reasons...))))
}

func unix(s int64) float64 { return float64(s) }

func minPositive(a, b float64) float64 {
	if a <= 0 || (b > 0 && b < a) {
		return b
	}
	return a
}

// chainNotAfter is the earliest expiry along the served chain, leaving out
// self-signed certificates: a trust anchor's own expiry does not break the
// chain (clients trust the anchor's key, not its dates).
func chainNotAfter(chain []tlswarden.Certificate) float64 {
	var earliest float64
	for _, c := range chain {
		if c.ParseError != "" || c.SelfSigned || c.NotAfter.IsZero() {
			continue
		}
		earliest = minPositive(earliest, unix(c.NotAfter.Unix()))
	}
	return earliest
}

// certReasons says why a certificate does not verify, in the bounded
// vocabulary of tlswarden_certificate_verify_error_info: its dates, its
// name, and when the path to a trusted root fails for another reason, why.
func certReasons(r *tlswarden.CertResult) []string {
	leaf := r.Leaf()
	var out []string
	if leaf.Expired {
		out = append(out, reasonExpired)
	}
	if leaf.NotYetValid {
		out = append(out, reasonNotYetValid)
	}
	if !r.Trusted && (len(out) == 0 || !r.ChainComplete) {
		out = append(out, untrustedReason(r))
	}
	if !r.HostnameMatches {
		out = append(out, reasonHostnameMismatch)
	}
	slices.Sort(out)
	return out
}

// untrustedReason tells a chain missing an intermediate from one ending in
// a root nobody trusts.
func untrustedReason(r *tlswarden.CertResult) string {
	switch {
	case r.ChainComplete:
		return reasonOther
	case r.Chain[len(r.Chain)-1].SelfSigned:
		return reasonUnknownAuthority
	}
	return reasonIncompleteChain
}

// addEvaluation folds one address's judgement in: the worst compliance,
// the worst grade, the lowest header score, every failed rule.
func (m *measured) addEvaluation(profile string, ee *tlswarden.EndpointEvaluation, rules map[ruleKey]bool) {
	if ee == nil {
		return
	}
	if !m.evaluated {
		m.evaluated, m.profile, m.compliance = true, profile, ee.Compliance
	}
	m.compliance = m.compliance.Worse(ee.Compliance)
	if g := ee.Grade; g != nil && g.Letter != "" {
		if _, known := gradeValues[g.Letter]; known && (m.grade == "" || gradeValues[g.Letter] < gradeValues[m.grade]) {
			m.grade = g.Letter
		}
	}
	if h := ee.Headers; h != nil && h.Error == "" && h.Grade != "" {
		if !m.headerScored || float64(h.Score) < m.headerScore {
			m.headerScore = float64(h.Score)
		}
		m.headerScored = true
	}
	for _, f := range ee.Findings {
		if f.Outcome == tlswarden.RuleFail && !f.Waived {
			rules[ruleKey{f.RuleID, f.Severity.String()}] = true
		}
	}
}

// signature sums up what an address serves, so that addresses of one
// endpoint that disagree can be told apart: the leaf, the versions and
// suites accepted, the grade.
func signature(e *store.ScanEndpoint) string {
	var b strings.Builder
	if leaf := e.Report.Cert.Leaf(); leaf != nil {
		b.WriteString(leaf.SHA256)
	}
	if r := e.Report.TLS; r != nil {
		for _, vr := range r.Versions {
			if !vr.Supported {
				continue
			}
			b.WriteString("|" + vr.Version.String())
			for _, s := range vr.Suites {
				b.WriteString("," + iana.SuiteName(s.Code))
			}
		}
	}
	if ev := e.Evaluation; ev != nil && ev.Grade != nil {
		b.WriteString("|" + ev.Grade.Letter)
	}
	return b.String()
}
