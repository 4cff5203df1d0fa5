package store

import (
	"net/netip"
	"time"

	"github.com/tlswarden/tlswarden"
)

// EndpointPosture is one endpoint of a finished scan reduced to the facts
// of its report and evaluation that say how it stands: the versions and
// suites it accepted, its certificate chain's dates and trust, its grade,
// header score and failed rules. Each field is a field of those documents,
// in their shape, so a reader derives from it exactly what it would derive
// from them; it is a small fraction of their size, and read without
// decoding them. PostureOf derives it; FinishScan keeps it beside the
// documents.
type EndpointPosture struct {
	ScanID  int64
	Ordinal int // the endpoint's place in the report
	// Addr is the address scanned; Status how the endpoint's scan ended.
	Addr   netip.AddrPort
	Status tlswarden.Status
	// TLS, Cert and Evaluation are nil when the report or evaluation has
	// none.
	TLS        *TLSPosture
	Cert       *CertPosture
	Evaluation *EvaluationPosture
}

// TLSPosture is a tlswarden.TLSResult's versions.
type TLSPosture struct {
	Versions []VersionPosture
}

// VersionPosture is one version tested: a tlswarden.VersionResult.
type VersionPosture struct {
	Version   tlswarden.Version
	Supported bool
	// Failed is true when the version could not be tested (the result's
	// Error is set).
	Failed bool
	// Suites are the codes of the suites accepted, in the result's order.
	Suites []uint16
}

// CertPosture is a tlswarden.CertResult's chain, trust and name check,
// and those of every other chain the endpoint serves.
type CertPosture struct {
	// LeafSHA256 is the first certificate's SHA256 and LeafKeyType its
	// key type; "" when none was served. Together they are the chain's
	// identity (tlswarden.CertResult.ChainID).
	LeafSHA256      string
	LeafKeyType     string
	Chain           []ChainCertPosture
	ChainComplete   bool
	Trusted         bool
	HostnameMatches bool
	// Others are the postures of the result's OtherChains, in its order
	// (by identity); their own Others are empty.
	Others []CertPosture
}

// Chains returns c and then each of its Others: every chain served; nil
// for a nil posture.
func (c *CertPosture) Chains() []*CertPosture {
	if c == nil {
		return nil
	}
	out := []*CertPosture{c}
	for i := range c.Others {
		out = append(out, &c.Others[i])
	}
	return out
}

// ChainCertPosture is one served tlswarden.Certificate's dates.
type ChainCertPosture struct {
	// ParseFailed is true when the bytes were not a certificate (its
	// ParseError is set).
	ParseFailed bool
	NotBefore   time.Time
	NotAfter    time.Time
	Expired     bool
	NotYetValid bool
	SelfSigned  bool
}

// EvaluationPosture is a tlswarden.EndpointEvaluation without its passes.
type EvaluationPosture struct {
	// Profile is the name of the profile the endpoint was judged by.
	Profile    string
	Compliance tlswarden.Compliance
	// Graded is true when the evaluation has a grade; Grade is its letter.
	Graded bool
	Grade  string
	// Headers is nil when the evaluation has no header score.
	Headers *HeadersPosture
	// Failed lists the findings whose outcome is fail, in order.
	Failed []FailedRule
}

// HeadersPosture is a tlswarden.HeaderScore without its tests.
type HeadersPosture struct {
	Score int
	Grade string
	// Failed is true when the response could not be scored (the score's
	// Error is set).
	Failed bool
}

// FailedRule is a finding whose outcome is fail.
type FailedRule struct {
	RuleID   string
	Severity tlswarden.Severity
	Waived   bool
}

// PostureOf returns the posture of an endpoint from its report and, when
// it was judged by the named profile, its evaluation (nil if not). ScanID
// and Ordinal are left zero.
func PostureOf(rep *tlswarden.EndpointReport, ee *tlswarden.EndpointEvaluation, profile string) EndpointPosture {
	p := EndpointPosture{Addr: rep.Endpoint.Addr, Status: rep.Status}
	if r := rep.TLS; r != nil {
		p.TLS = &TLSPosture{Versions: make([]VersionPosture, len(r.Versions))}
		for i, vr := range r.Versions {
			p.TLS.Versions[i] = versionPosture(vr)
		}
	}
	if r := rep.Cert; r != nil {
		p.Cert = certPosture(r)
	}
	if ee != nil {
		p.Evaluation = evaluationPosture(ee, profile)
	}
	return p
}

func versionPosture(vr tlswarden.VersionResult) VersionPosture {
	v := VersionPosture{Version: vr.Version, Supported: vr.Supported, Failed: vr.Error != ""}
	if len(vr.Suites) > 0 {
		v.Suites = make([]uint16, len(vr.Suites))
		for i, s := range vr.Suites {
			v.Suites[i] = s.Code
		}
	}
	return v
}

func certPosture(r *tlswarden.CertResult) *CertPosture {
	c := chainPosture(r)
	if len(r.OtherChains) > 0 {
		c.Others = make([]CertPosture, len(r.OtherChains))
		for i := range r.OtherChains {
			c.Others[i] = *chainPosture(&r.OtherChains[i])
		}
	}
	return c
}

// chainPosture is the posture of one chain, its result's OtherChains
// aside.
func chainPosture(r *tlswarden.CertResult) *CertPosture {
	c := &CertPosture{ChainComplete: r.ChainComplete, Trusted: r.Trusted, HostnameMatches: r.HostnameMatches}
	if leaf := r.Leaf(); leaf != nil {
		c.LeafSHA256, c.LeafKeyType = leaf.SHA256, leaf.KeyType
	}
	if len(r.Chain) > 0 {
		c.Chain = make([]ChainCertPosture, len(r.Chain))
	}
	for i, cert := range r.Chain {
		c.Chain[i] = ChainCertPosture{ParseFailed: cert.ParseError != "", NotBefore: cert.NotBefore,
			NotAfter: cert.NotAfter, Expired: cert.Expired, NotYetValid: cert.NotYetValid, SelfSigned: cert.SelfSigned}
	}
	return c
}

func evaluationPosture(ee *tlswarden.EndpointEvaluation, profile string) *EvaluationPosture {
	e := &EvaluationPosture{Profile: profile, Compliance: ee.Compliance}
	if g := ee.Grade; g != nil {
		e.Graded, e.Grade = true, g.Letter
	}
	if h := ee.Headers; h != nil {
		e.Headers = &HeadersPosture{Score: h.Score, Grade: h.Grade, Failed: h.Error != ""}
	}
	for _, f := range ee.Findings {
		if f.Outcome == tlswarden.RuleFail {
			e.Failed = append(e.Failed, FailedRule{RuleID: f.RuleID, Severity: f.Severity, Waived: f.Waived})
		}
	}
	return e
}
