package policy

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
)

// letters ranks the grades from worst to best; T is outside the ranking.
var letters = []string{"F", "E", "D", "C", "B", "A-", "A", "A+"}

func rank(l string) int { return slices.Index(letters, l) }

// hstsAPlus is the Strict-Transport-Security max-age SSL Labs asks for an
// A+ (six months; 2009e).
const hstsAPlus = 15552000

// GradeTLS grades an endpoint's TLS configuration in the spirit of the SSL
// Labs SSL Server Rating Guide, as docs/grading.md explains: protocol, key
// exchange and cipher scores weighted 30/30/40, a letter from the score,
// then caps for known weaknesses and T for trust problems. It gives no
// letter when some protocol version could not be tested, since an untested
// SSLv3 could hide an F.
func GradeTLS(e *tlswarden.EndpointReport, now time.Time) *tlswarden.Grade {
	g := &tlswarden.Grade{}
	tr := e.TLS
	if tr == nil || !slices.ContainsFunc(tr.Versions, func(v tlswarden.VersionResult) bool { return v.Supported }) {
		g.Incomplete = []string{"no TLS version was negotiated: not graded"}
		return g
	}
	if untested := untestedVersions(tr); len(untested) > 0 {
		g.Incomplete = []string{"could not test " + versionList(untested) + ": not graded"}
		return g
	}
	gr := &grader{g: g, tr: tr, cert: e.Cert, hsts: hstsMaxAge(e.HTTP), now: now, vuln: e.Vuln}
	gr.score()
	gr.capProtocols()
	gr.capSuites()
	gr.capCertificate()
	gr.capWeaknesses()
	gr.finish()
	return g
}

func untestedVersions(tr *tlswarden.TLSResult) []tlswarden.Version {
	var out []tlswarden.Version
	for _, v := range tlswarden.AllVersions {
		if _, known := versionState(tr, v); !known {
			out = append(out, v)
		}
	}
	return out
}

// grader carries one grading's facts and partial results.
type grader struct {
	g      *tlswarden.Grade
	tr     *tlswarden.TLSResult
	cert   *tlswarden.CertResult
	hsts   int64 // -1 when the HTTP facts are missing
	now    time.Time
	best   string // the letter before caps
	trustT []string
	vuln   *tlswarden.VulnResult // nil when the weakness probe did not run
}

// limit records a cap: the grade can be no better than max.
func (gr *grader) limit(max, format string, args ...any) {
	gr.g.Caps = append(gr.g.Caps, tlswarden.GradeCap{Max: max, Reason: fmt.Sprintf(format, args...)})
}

func (gr *grader) incomplete(format string, args ...any) {
	gr.g.Incomplete = append(gr.g.Incomplete, fmt.Sprintf(format, args...))
}

// score computes the three category scores and the weighted total.
func (gr *grader) score() {
	g := gr.g
	g.Protocol = gr.protocolScore()
	g.KeyExchange = kexScore(gr.kexBits())
	g.Cipher = gr.cipherScore()
	total := 0.3*float64(g.Protocol) + 0.3*float64(g.KeyExchange) + 0.4*float64(g.Cipher)
	g.Score = int(math.Round(total))
	if g.Protocol == 0 || g.KeyExchange == 0 || g.Cipher == 0 {
		g.Score = 0
	}
	gr.best = scoreLetter(g.Score)
}

// protocolScore averages the best and worst versions accepted.
func (gr *grader) protocolScore() int {
	points := map[tlswarden.Version]int{
		tlswarden.SSLv2: 0, tlswarden.SSLv3: 80, tlswarden.TLS10: 90,
		tlswarden.TLS11: 95, tlswarden.TLS12: 100, tlswarden.TLS13: 100,
	}
	best, worst := -1, 101
	for _, v := range gr.tr.Versions {
		if v.Supported {
			best, worst = max(best, points[v.Version]), min(worst, points[v.Version])
		}
	}
	return (best + worst) / 2
}

// kexBits is the weakest key exchange on offer, in RSA-equivalent bits:
// the certificate's key and every ephemeral group or DH prime. Anonymous
// suites give 0; export suites 512.
func (gr *grader) kexBits() int {
	bits := math.MaxInt
	if certBits := gr.certKeyBits(); certBits > 0 {
		bits = certBits
	}
	list, _ := acceptedSuites(gr.tr, anyVersion)
	for _, o := range list {
		switch {
		case !o.ok:
		case o.info.Anonymous():
			return 0
		case o.info.Export():
			bits = min(bits, 512)
		case strings.HasPrefix(o.info.KeyExchange, "DHE_") && o.suite.DHBits > 0:
			bits = min(bits, o.suite.DHBits)
		}
	}
	if groupsError(gr.tr) != "" {
		gr.incomplete("group enumeration stopped early: a weaker group may have been missed")
	}
	for _, n := range usedGroups(gr.tr) {
		if grp, ok := iana.Group(n); ok && grp.Bits() > 0 {
			bits = min(bits, groupEquivalent(grp))
		}
	}
	if bits == math.MaxInt {
		return 2048 // nothing known: the usual case, graded as such
	}
	return bits
}

// certKeyBits is the smallest leaf key over the chains served, in
// RSA-equivalent bits; 0 if unknown.
func (gr *grader) certKeyBits() int {
	least := 0
	for _, cr := range gr.cert.Chains() {
		if bits := leafKeyBits(cr.Leaf()); bits > 0 && (least == 0 || bits < least) {
			least = bits
		}
	}
	return least
}

// leafKeyBits is a leaf key's size in RSA-equivalent bits, 0 if unknown.
func leafKeyBits(leaf *tlswarden.Certificate) int {
	if leaf == nil || leaf.KeyBits == 0 {
		return 0
	}
	switch leaf.KeyType {
	case "ECDSA", "Ed25519":
		return ecEquivalent(leaf.KeyBits)
	}
	return leaf.KeyBits
}

func groupEquivalent(g iana.NamedGroup) int {
	if g.FiniteField() {
		return g.Bits()
	}
	return ecEquivalent(g.Bits())
}

// ecEquivalent maps an elliptic-curve size to RSA-equivalent bits, as
// nmap's ssl-enum-ciphers does.
func ecEquivalent(bits int) int {
	switch {
	case bits < 160:
		return 512
	case bits < 224:
		return 1024
	case bits < 256:
		return 2048
	case bits < 384:
		return 3072
	case bits < 512:
		return 7680
	}
	return 15360
}

func kexScore(bits int) int {
	switch {
	case bits <= 0:
		return 0
	case bits < 512:
		return 20
	case bits < 1024:
		return 40
	case bits < 2048:
		return 80
	case bits < 4096:
		return 90
	}
	return 100
}

// cipherScore averages the strongest and weakest ciphers accepted. SSLv2
// cipher specs are left out: SSLv2 is an F whatever they are.
func (gr *grader) cipherScore() int {
	best, worst := -1, 101
	list, _ := acceptedSuites(gr.tr, anyVersion)
	for _, o := range list {
		if o.ok {
			p := cipherPoints(o.info.KeyBits())
			best, worst = max(best, p), min(worst, p)
		}
	}
	if best < 0 {
		return 0
	}
	return (best + worst) / 2
}

func cipherPoints(bits int) int {
	switch {
	case bits == 0:
		return 0
	case bits < 128:
		return 20
	case bits < 256:
		return 80
	}
	return 100
}

func scoreLetter(score int) string {
	switch {
	case score >= 80:
		return "A"
	case score >= 65:
		return "B"
	case score >= 50:
		return "C"
	case score >= 35:
		return "D"
	case score >= 20:
		return "E"
	}
	return "F"
}
