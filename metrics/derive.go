package metrics

import (
	"bytes"
	"net/netip"
	"slices"

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
var suiteClasses = [...]string{"null", "anon", "export", "des", "rc4", "3des", "cbc", "aead", "other"}

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

// measure derives the metrics' view of one scan's endpoints. scratch
// holds what measure needs only while it runs; it is reused from one call
// to the next.
func measure(eps []store.EndpointPosture, scratch *measureScratch) *measured {
	m := &measured{minVer: -1, maxVer: -1, suites: make([]int, len(suiteClasses))}
	for i := range m.versions {
		m.versions[i] = -1
	}
	first := true
	for i := range eps {
		e := &eps[i]
		m.countAddress(e.Addr)
		m.addTLS(e.TLS, scratch)
		m.addCert(e.Cert)
		m.addEvaluation(e.Evaluation)
		if e.Status != tlswarden.StatusOK {
			continue
		}
		// The addresses disagree when any signature differs from the
		// first's.
		scratch.sig = appendSignature(scratch.sig[:0], e)
		if first {
			scratch.first, first = append(scratch.first[:0], scratch.sig...), false
		} else if !bytes.Equal(scratch.sig, scratch.first) {
			m.inconsistent = true
		}
	}
	return m
}

// measureScratch is the memory measure reuses from call to call.
type measureScratch struct {
	first, sig []byte   // signatures
	seen       []uint16 // suites counted, of one address
}

func (m *measured) countAddress(addr netip.AddrPort) {
	if addr.Addr().Unmap().Is4() {
		m.ipv4++
	} else {
		m.ipv6++
	}
}

// addTLS folds one address's versions and suites in: a version counts as
// accepted when any address accepts it, the minimum is the lowest any
// accepts, the maximum the lowest maximum, and suite counts the highest.
func (m *measured) addTLS(r *store.TLSPosture, scratch *measureScratch) {
	if r == nil {
		return
	}
	m.tlsMeasured = true
	var counts [len(suiteClasses)]int
	seen := scratch.seen[:0]
	lo, hi := -1, -1
	for _, vr := range r.Versions {
		i := slices.Index(tlswarden.AllVersions, vr.Version)
		if i < 0 || vr.Failed {
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
		seen = countSuites(vr.Suites, seen, &counts)
	}
	scratch.seen = seen
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

// countSuites counts each suite not yet seen by its IANA class, and
// returns seen with them.
func countSuites(suites []uint16, seen []uint16, counts *[len(suiteClasses)]int) []uint16 {
	for _, code := range suites {
		if slices.Contains(seen, code) {
			continue
		}
		seen = append(seen, code)
		class := "other"
		if cs, ok := iana.Suite(code); ok {
			class = cs.Class()
		}
		counts[slices.Index(suiteClasses[:], class)]++
	}
	return seen
}

// addCert folds one address's certificates in, every chain it serves (one
// per key type): the leaf that expires first is reported, verified only
// when every chain of every address verifies, with all their reasons.
func (m *measured) addCert(r *store.CertPosture) {
	for _, c := range r.Chains() {
		m.addChain(c)
	}
}

// addChain folds one chain in.
func (m *measured) addChain(r *store.CertPosture) {
	leaf := certLeaf(r)
	if leaf == nil || leaf.ParseFailed {
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

// certLeaf returns the first certificate served, or nil when there is
// none.
func certLeaf(r *store.CertPosture) *store.ChainCertPosture {
	if r == nil || len(r.Chain) == 0 {
		return nil
	}
	return &r.Chain[0]
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
func chainNotAfter(chain []store.ChainCertPosture) float64 {
	var earliest float64
	for _, c := range chain {
		if c.ParseFailed || c.SelfSigned || c.NotAfter.IsZero() {
			continue
		}
		earliest = minPositive(earliest, unix(c.NotAfter.Unix()))
	}
	return earliest
}

// certReasons says why a certificate does not verify, in the bounded
// vocabulary of tlswarden_certificate_verify_error_info: its dates, its
// name, and when the path to a trusted root fails for another reason, why.
func certReasons(r *store.CertPosture) []string {
	leaf := certLeaf(r)
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
func untrustedReason(r *store.CertPosture) string {
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
func (m *measured) addEvaluation(ee *store.EvaluationPosture) {
	if ee == nil {
		return
	}
	if !m.evaluated {
		m.evaluated, m.profile, m.compliance = true, ee.Profile, ee.Compliance
	}
	m.compliance = m.compliance.Worse(ee.Compliance)
	if g := ee.Grade; ee.Graded && g != "" {
		if _, known := gradeValues[g]; known && (m.grade == "" || gradeValues[g] < gradeValues[m.grade]) {
			m.grade = g
		}
	}
	if h := ee.Headers; h != nil && !h.Failed && h.Grade != "" {
		if !m.headerScored || float64(h.Score) < m.headerScore {
			m.headerScore = float64(h.Score)
		}
		m.headerScored = true
	}
	for _, f := range ee.Failed {
		if k := (ruleKey{f.RuleID, f.Severity.String()}); !f.Waived && !slices.Contains(m.failedRules, k) {
			m.failedRules = append(m.failedRules, k)
		}
	}
}

// appendSignature appends what sums up what an address serves, so that
// addresses of one endpoint that disagree can be told apart: the leaf, the
// versions and suites accepted, the grade.
func appendSignature(b []byte, e *store.EndpointPosture) []byte {
	// Every chain's leaf, in an order that does not depend on which one
	// the address's full handshake happened to get.
	var leaves []string
	for _, c := range e.Cert.Chains() {
		if certLeaf(c) != nil {
			leaves = append(leaves, c.LeafSHA256)
		}
	}
	slices.Sort(leaves)
	for _, l := range leaves {
		b = append(b, l...)
	}
	if r := e.TLS; r != nil {
		for _, vr := range r.Versions {
			if !vr.Supported {
				continue
			}
			b = append(append(b, '|'), vr.Version.String()...)
			for _, code := range vr.Suites {
				b = append(append(b, ','), iana.SuiteName(code)...)
			}
		}
	}
	if ev := e.Evaluation; ev != nil && ev.Graded {
		b = append(append(b, '|'), ev.Grade...)
	}
	return b
}
