package rows

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

// PostureEncoding is the version of the encoding of a scan's postures in
// the scan_postures table, its first byte. A store decodes only its own
// version and derives the postures of scans kept in another from their
// documents (a process of an older or newer release may share the
// database), so a change to store.EndpointPosture or to the encoding needs
// a new version; TestPostureEncodingVersion says when.
//
// The encoding is binary, not JSON: the first scrape after a start
// decodes the postures of every target's last successful scan, and
// encoding/json took some 15 µs per endpoint where this takes about one.
// Integers are varints; a string is its length then its bytes; a
// list is its length then its items; booleans are bits of a flags byte.
// In order:
//
//	scan:     version, list of endpoint
//	endpoint: address (netip.AddrPort's binary form, as a string), status,
//	          flags (TLS, Cert, Evaluation present), then those present
//	tls:      list of (version, flags (supported, failed), list of suite)
//	cert:     chain, then list of chain (the other chains)
//	chain:    leaf SHA-256, leaf key type, flags (chain complete, trusted,
//	          hostname matches), list of (flags (parse failed, expired,
//	          not yet valid, self-signed, has not-before, has not-after),
//	          not-before and not-after when present, each as Unix seconds
//	          and nanoseconds)
//	eval:     profile, compliance, flags (graded, has headers, headers
//	          failed), grade, header score and grade when present, list of
//	          (rule, severity, waived)
const PostureEncoding = 2

// Flag bits of the encoding.
const (
	hasTLS, hasCert, hasEvaluation = 1, 2, 4

	versionSupported, versionFailed = 1, 2

	chainComplete, certTrusted, hostnameMatches = 1, 2, 4

	certParseFailed, certExpired, certNotYetValid, certSelfSigned, certNotBefore, certNotAfter = 1, 2, 4, 8, 16, 32

	graded, hasHeaders, headersFailed = 1, 2, 4
)

// errPostureEncoding is returned by appendPostures for postures kept in an
// encoding other than PostureEncoding.
var errPostureEncoding = errors.New("postures kept in another encoding")

// Postures gathers what ListEndpointPostures returns: first the postures
// kept of the scans asked for (AddKept), then for the scans still Missing
// (finished before postures were kept, or kept in another encoding) those
// derived from their endpoints' documents (AddDerived). Its zero value is
// ready.
type Postures struct {
	list    []store.EndpointPosture
	kept    map[int64]bool
	strs    map[string]string // interned strings, shared by every scan
	derived bool
}

// AddKept adds the postures kept of a scan, unless they are in another
// encoding.
func (ps *Postures) AddKept(scanID int64, kept []byte) error {
	if ps.kept == nil {
		ps.kept, ps.strs = map[int64]bool{}, map[string]string{}
	}
	var err error
	ps.list, err = appendPostures(ps.list, scanID, kept, ps.strs)
	switch {
	case errors.Is(err, errPostureEncoding):
		return nil
	case err != nil:
		return err
	}
	ps.kept[scanID] = true
	return nil
}

// Missing returns the scans of scanIDs whose postures AddKept did not add.
func (ps *Postures) Missing(scanIDs []int64) []int64 {
	var out []int64
	for _, id := range scanIDs {
		if !ps.kept[id] {
			out = append(out, id)
		}
	}
	return out
}

// AddDerived derives an endpoint's posture from the JSON columns of its
// endpoint_reports row, as Split does from the documents, and adds it.
// profile is the row's, empty when the endpoint was not evaluated.
func (ps *Postures) AddDerived(scanID int64, ordinal int, profile string, report, evaluation []byte) error {
	var rep tlswarden.EndpointReport
	if err := json.Unmarshal(report, &rep); err != nil {
		return fmt.Errorf("decode report of scan %d endpoint %d: %w", scanID, ordinal, err)
	}
	var ee *tlswarden.EndpointEvaluation
	if len(evaluation) > 0 && string(evaluation) != "null" {
		ee = new(tlswarden.EndpointEvaluation)
		if err := json.Unmarshal(evaluation, ee); err != nil {
			return fmt.Errorf("decode evaluation of scan %d endpoint %d: %w", scanID, ordinal, err)
		}
	}
	p := store.PostureOf(&rep, ee, profile)
	p.ScanID, p.Ordinal = scanID, ordinal
	ps.list, ps.derived = append(ps.list, p), true
	return nil
}

// List returns the postures added, by scan ID then ordinal, given that
// each scan's were added in ordinal order, the kept by scan ID and then
// the derived by scan ID.
func (ps *Postures) List() []store.EndpointPosture {
	if ps.derived {
		slices.SortStableFunc(ps.list, func(a, b store.EndpointPosture) int { return cmp.Compare(a.ScanID, b.ScanID) })
	}
	return ps.list
}

// EncodePostures encodes a scan's postures, in report order.
func EncodePostures(ps []store.EndpointPosture) []byte {
	b := []byte{PostureEncoding}
	b = binary.AppendUvarint(b, uint64(len(ps)))
	for i := range ps {
		b = appendEndpoint(b, &ps[i])
	}
	return b
}

func appendEndpoint(b []byte, p *store.EndpointPosture) []byte {
	addr, _ := p.Addr.MarshalBinary() // never fails
	b = appendString(appendString(b, string(addr)), string(p.Status))
	b = append(b, flags(p.TLS != nil, p.Cert != nil, p.Evaluation != nil))
	if r := p.TLS; r != nil {
		b = binary.AppendUvarint(b, uint64(len(r.Versions)))
		for _, v := range r.Versions {
			b = binary.AppendUvarint(b, uint64(v.Version))
			b = append(b, flags(v.Supported, v.Failed))
			b = binary.AppendUvarint(b, uint64(len(v.Suites)))
			for _, s := range v.Suites {
				b = binary.AppendUvarint(b, uint64(s))
			}
		}
	}
	if c := p.Cert; c != nil {
		b = appendCert(b, c)
	}
	if e := p.Evaluation; e != nil {
		b = appendEvaluation(b, e)
	}
	return b
}

func appendCert(b []byte, c *store.CertPosture) []byte {
	b = appendChain(b, c)
	b = binary.AppendUvarint(b, uint64(len(c.Others)))
	for i := range c.Others {
		b = appendChain(b, &c.Others[i])
	}
	return b
}

func appendChain(b []byte, c *store.CertPosture) []byte {
	b = appendString(appendString(b, c.LeafSHA256), c.LeafKeyType)
	b = append(b, flags(c.ChainComplete, c.Trusted, c.HostnameMatches))
	b = binary.AppendUvarint(b, uint64(len(c.Chain)))
	for _, cc := range c.Chain {
		b = append(b, flags(cc.ParseFailed, cc.Expired, cc.NotYetValid, cc.SelfSigned, !cc.NotBefore.IsZero(), !cc.NotAfter.IsZero()))
		b = appendTime(b, cc.NotBefore)
		b = appendTime(b, cc.NotAfter)
	}
	return b
}

func appendEvaluation(b []byte, e *store.EvaluationPosture) []byte {
	b = appendString(appendString(b, e.Profile), string(e.Compliance))
	b = append(b, flags(e.Graded, e.Headers != nil, e.Headers != nil && e.Headers.Failed))
	b = appendString(b, e.Grade)
	if h := e.Headers; h != nil {
		b = binary.AppendVarint(b, int64(h.Score))
		b = appendString(b, h.Grade)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Failed)))
	for _, f := range e.Failed {
		b = appendString(b, f.RuleID)
		b = binary.AppendVarint(b, int64(f.Severity))
		b = append(b, flags(f.Waived))
	}
	return b
}

// appendTime writes a time that is not zero; a zero time is only a
// cleared flag bit.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	return binary.AppendUvarint(binary.AppendVarint(b, t.Unix()), uint64(t.Nanosecond()))
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// flags packs booleans into a byte, the first as bit 0.
func flags(bits ...bool) byte {
	var f byte
	for i, set := range bits {
		if set {
			f |= 1 << i
		}
	}
	return f
}

// appendPostures decodes the postures kept for a scan and appends them to
// dst. Postures kept in another encoding give errPostureEncoding. strs
// interns the strings that repeat across an estate (statuses, profiles,
// grades, rules); nil interns nothing.
func appendPostures(dst []store.EndpointPosture, scanID int64, kept []byte, strs map[string]string) ([]store.EndpointPosture, error) {
	if len(kept) == 0 || kept[0] != PostureEncoding {
		return dst, errPostureEncoding
	}
	d := decoder{b: kept[1:], strs: strs}
	n := d.count()
	start := len(dst)
	for i := 0; i < n && d.err == nil; i++ {
		dst = append(dst, store.EndpointPosture{ScanID: scanID, Ordinal: i})
		d.endpoint(&dst[len(dst)-1])
	}
	if d.err == nil && len(d.b) > 0 {
		d.err = errors.New("trailing bytes")
	}
	if d.err != nil {
		return dst[:start], fmt.Errorf("decode postures of scan %d: %w", scanID, d.err)
	}
	return dst, nil
}

// decoder reads the encoding; after the first error it reads zeros.
type decoder struct {
	b    []byte
	err  error
	strs map[string]string
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("bad %s", what)
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a list's length, which cannot exceed the bytes left: every
// item takes at least one.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("list length")
		return 0
	}
	return int(n)
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail("flags")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("string length")
		return nil
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}

func (d *decoder) string() string { return string(d.bytes()) }

// interned reads a string of a small vocabulary, shared through d.strs.
func (d *decoder) interned() string {
	b := d.bytes()
	if d.strs == nil {
		return string(b)
	}
	if s, ok := d.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	d.strs[s] = s
	return s
}

func (d *decoder) endpoint(p *store.EndpointPosture) {
	if err := p.Addr.UnmarshalBinary(d.bytes()); err != nil {
		d.fail("address")
	}
	p.Status = tlswarden.Status(d.interned())
	parts := d.byte()
	if parts&hasTLS != 0 {
		p.TLS = d.tls()
	}
	if parts&hasCert != 0 {
		p.Cert = d.cert()
	}
	if parts&hasEvaluation != 0 {
		p.Evaluation = d.evaluation()
	}
}

func (d *decoder) tls() *store.TLSPosture {
	r := &store.TLSPosture{Versions: make([]store.VersionPosture, d.count())}
	for i := range r.Versions {
		v := &r.Versions[i]
		version := d.uvarint()
		if version > math.MaxUint16 {
			d.fail("version")
		}
		v.Version = tlswarden.Version(version)
		f := d.byte()
		v.Supported, v.Failed = f&versionSupported != 0, f&versionFailed != 0
		if n := d.count(); n > 0 {
			v.Suites = make([]uint16, n)
			for j := range v.Suites {
				s := d.uvarint()
				if s > math.MaxUint16 {
					d.fail("suite")
				}
				v.Suites[j] = uint16(s)
			}
		}
	}
	return r
}

func (d *decoder) cert() *store.CertPosture {
	c := d.chain()
	if n := d.count(); n > 0 {
		c.Others = make([]store.CertPosture, n)
		for i := range c.Others {
			c.Others[i] = *d.chain()
		}
	}
	return c
}

func (d *decoder) chain() *store.CertPosture {
	c := &store.CertPosture{LeafSHA256: d.string(), LeafKeyType: d.interned()}
	f := d.byte()
	c.ChainComplete, c.Trusted, c.HostnameMatches = f&chainComplete != 0, f&certTrusted != 0, f&hostnameMatches != 0
	if n := d.count(); n > 0 {
		c.Chain = make([]store.ChainCertPosture, n)
	}
	for i := range c.Chain {
		cc := &c.Chain[i]
		f := d.byte()
		cc.ParseFailed, cc.Expired, cc.NotYetValid, cc.SelfSigned = f&certParseFailed != 0, f&certExpired != 0,
			f&certNotYetValid != 0, f&certSelfSigned != 0
		if f&certNotBefore != 0 {
			cc.NotBefore = d.time()
		}
		if f&certNotAfter != 0 {
			cc.NotAfter = d.time()
		}
	}
	return c
}

func (d *decoder) time() time.Time {
	sec, nsec := d.varint(), d.uvarint()
	if nsec >= 1e9 {
		d.fail("time")
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *decoder) evaluation() *store.EvaluationPosture {
	e := &store.EvaluationPosture{Profile: d.interned(), Compliance: tlswarden.Compliance(d.interned())}
	f := d.byte()
	e.Graded, e.Grade = f&graded != 0, d.interned()
	if f&hasHeaders != 0 {
		e.Headers = &store.HeadersPosture{Score: int(d.varint()), Grade: d.interned(), Failed: f&headersFailed != 0}
	}
	if n := d.count(); n > 0 {
		e.Failed = make([]store.FailedRule, n)
	}
	for i := range e.Failed {
		r := &e.Failed[i]
		r.RuleID, r.Severity, r.Waived = d.interned(), tlswarden.Severity(d.varint()), d.byte()&1 != 0
	}
	return e
}
