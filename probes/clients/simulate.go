package clients

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
)

// Answer is one client's simulated connection, and what the facts left
// open: when Open is not empty the answer is the likeliest one, and the
// client's own hello settles it.
type Answer struct {
	Result tlswarden.ClientResult
	Open   []string
}

// Simulate computes what client c negotiates with the endpoint er from
// its enumerated facts: the newest version both speak; the suite the
// server picks among the client's (by the server's order, or the
// client's when the server follows it); the group; the certificate chain
// of the suite's key type; and the client's limits on key sizes and
// signatures. It needs er.TLS; er.Cert, when present, gives the chains.
func Simulate(c *Client, er *tlswarden.EndpointReport) Answer {
	s := &sim{c: c, er: er}
	s.res = tlswarden.ClientResult{ID: c.ID, Name: c.Name, Services: slices.Clone(c.Services), Method: tlswarden.ClientComputed}
	s.run()
	if len(s.open) > 0 {
		s.res.Method = tlswarden.ClientEstimated
		s.res.Uncertain = append(s.open, s.res.Uncertain...)
	}
	return Answer{Result: s.res, Open: s.open}
}

// sim is one client's simulation against one endpoint.
type sim struct {
	c    *Client
	er   *tlswarden.EndpointReport
	res  tlswarden.ClientResult
	open []string
}

func (s *sim) fail(reason, format string, args ...any) {
	s.res.Connects, s.res.Reason, s.res.Detail = false, reason, fmt.Sprintf(format, args...)
}

func (s *sim) run() {
	vr := s.version()
	if vr == nil {
		return
	}
	suite, ok := s.suite(vr)
	if !ok {
		return
	}
	group, dhBits := s.group(vr.Version, suite)
	Settle(s.c, s.er, &s.res, vr.Version, suite.Code, group, dhBits)
}

// version returns the server's result for the newest version the client
// offers and the server speaks, or nil after recording the failure.
func (s *sim) version() *tlswarden.VersionResult {
	lo := max(s.c.MinVersion, tlswarden.SSLv3) // SSLv2 is no client's choice here
	for i := len(tlswarden.AllVersions) - 1; i >= 0; i-- {
		v := tlswarden.AllVersions[i]
		if v < lo || v > s.c.MaxVersion {
			continue
		}
		vr := versionResult(s.er.TLS, v)
		switch {
		case vr == nil || vr.Error != "":
			s.open = append(s.open, "whether the server speaks "+v.String()+" (not tested)")
		case vr.Supported:
			return vr
		}
	}
	s.fail(tlswarden.ClientNoVersion, "the client speaks %s to %s, the server none of them", lo, s.c.MaxVersion)
	return nil
}

func versionResult(tr *tlswarden.TLSResult, v tlswarden.Version) *tlswarden.VersionResult {
	for i := range tr.Versions {
		if tr.Versions[i].Version == v {
			return &tr.Versions[i]
		}
	}
	return nil
}

// suite returns the suite the server picks at vr.Version among the
// client's, or false after recording the failure.
func (s *sim) suite(vr *tlswarden.VersionResult) (tlswarden.Suite, bool) {
	usable := func(code uint16) bool { return s.keyExchangeUsable(vr.Version, code) }
	var byServer, byClient *tlswarden.Suite
	common := false
	for i := range vr.Suites {
		if offers(s.c.Suites, vr.Suites[i].Code) {
			common = true
			if byServer == nil && usable(vr.Suites[i].Code) {
				byServer = &vr.Suites[i]
			}
		}
	}
	for _, code := range s.c.Suites {
		if i := slices.IndexFunc(vr.Suites, func(x tlswarden.Suite) bool { return x.Code == uint16(code) }); i >= 0 && usable(uint16(code)) {
			byClient = &vr.Suites[i]
			break
		}
	}
	switch {
	case byServer == nil && common:
		s.fail(tlswarden.ClientNoGroup, "no group in common for the suites both offer at %s", vr.Version)
		return tlswarden.Suite{}, false
	case byServer == nil:
		s.fail(tlswarden.ClientNoSuite, "no cipher suite in common at %s", vr.Version)
		return tlswarden.Suite{}, false
	case vr.Preference == tlswarden.PreferClient:
		return *byClient, true
	case vr.Preference != tlswarden.PreferServer && byServer.Code != byClient.Code:
		s.open = append(s.open, fmt.Sprintf("which of %s and %s the server picks (its suite order was not determined)", byServer.Name, byClient.Name))
	}
	return *byServer, true
}

// keyExchangeUsable reports whether the suite's key exchange can run
// with the client: an ECDHE suite of TLS 1.2 and older needs a curve
// both accept (a client that names none accepts any, RFC 4492), and
// TLS 1.3 a group both accept.
func (s *sim) keyExchangeUsable(v tlswarden.Version, code uint16) bool {
	info, _ := iana.Suite(code)
	if v != tlswarden.TLS13 && !strings.HasPrefix(info.KeyExchange, "ECDHE") {
		return true
	}
	if v != tlswarden.TLS13 && !s.c.GroupsSent {
		return true
	}
	server, known := s.serverGroups(v)
	if !known {
		return true // not enumerated: the suite was answered, so assume a curve
	}
	return len(s.commonGroups(server)) > 0
}

// serverGroups returns the groups the server accepts at v (for TLS 1.2
// and older, the curves), in the order of its enumeration, and whether
// they were enumerated.
func (s *sim) serverGroups(v tlswarden.Version) ([]tlswarden.Group, bool) {
	for _, g := range s.er.TLS.GroupsByVersion {
		if (v == tlswarden.TLS13) != (g.Version == tlswarden.TLS13) {
			continue
		}
		var out []tlswarden.Group
		for _, x := range g.Groups {
			if info, ok := iana.Group(x.Name); v == tlswarden.TLS13 || !ok || !info.FiniteField() {
				out = append(out, x)
			}
		}
		return out, g.Error == ""
	}
	return nil, false
}

// commonGroups returns the client's groups the server accepts, in the
// client's order.
func (s *sim) commonGroups(server []tlswarden.Group) []uint16 {
	var out []uint16
	for _, c := range s.c.Groups {
		if slices.ContainsFunc(server, func(g tlswarden.Group) bool { return g.Code == uint16(c) }) {
			out = append(out, uint16(c))
		}
	}
	return out
}

// group returns the group the key exchange of suite runs in at v, and
// the DH prime's size for a DHE suite.
func (s *sim) group(v tlswarden.Version, suite tlswarden.Suite) (string, int) {
	info, _ := iana.Suite(suite.Code)
	switch {
	case strings.HasPrefix(info.KeyExchange, "DHE"):
		return suite.Group, suite.DHBits
	case v != tlswarden.TLS13 && !strings.HasPrefix(info.KeyExchange, "ECDHE"):
		return "", 0
	}
	server, known := s.serverGroups(v)
	if !known {
		if suite.Group == "" {
			s.open = append(s.open, "the group (the server's groups were not enumerated)")
		} else {
			s.open = append(s.open, "the group: "+suite.Group+" when offered all (the server's groups were not enumerated)")
		}
		return suite.Group, 0
	}
	if v != tlswarden.TLS13 && !s.c.GroupsSent {
		return server[0].Name, 0 // RFC 4492: any curve, so the server's first
	}
	return s.pickGroup(v, server), 0
}

// pickGroup returns the group the server picks among those both accept.
// The server's group preference is not measured, so the answer is exact
// only when the server's order and the client's agree on the first (and
// over TLS 1.3 the client sent a key share for it, so no server needs a
// second round).
func (s *sim) pickGroup(v tlswarden.Version, server []tlswarden.Group) string {
	common := s.commonGroups(server)
	byClient := common[0]
	byServer := byClient
	for _, g := range server {
		if slices.Contains(common, g.Code) {
			byServer = g.Code
			break
		}
	}
	shared := v != tlswarden.TLS13 || offers(s.c.KeyShares, byClient)
	if len(common) > 1 && (byServer != byClient || !shared) {
		s.open = append(s.open, fmt.Sprintf("which of the groups %s the server picks (its group preference is not measured)", groupNames(common)))
	}
	return iana.GroupName(byClient)
}

func groupNames(codes []uint16) string {
	names := make([]string, len(codes))
	for i, c := range codes {
		names[i] = iana.GroupName(c)
	}
	return strings.Join(names, ", ")
}
