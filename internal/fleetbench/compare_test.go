package fleetbench

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
)

// comparedVersions are the versions both peers and tlswarden enumerate
// suites for (nmap and sslscan do not list SSLv2 cipher specs as suites).
var comparedVersions = []tlswarden.Version{tlswarden.SSLv3, tlswarden.TLS10, tlswarden.TLS11, tlswarden.TLS12, tlswarden.TLS13}

// suiteDiff is one endpoint and version on which a peer and tlswarden
// disagree.
type suiteDiff struct {
	Endpoint endpoint
	Version  tlswarden.Version // zero when the peer said nothing about the endpoint
	PeerOnly []uint16          // suites the peer found and tlswarden did not
	OursOnly []uint16          // suites tlswarden found and the peer did not
	Note     string            // version support disagreements, tlswarden's errors
}

func (d suiteDiff) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", d.Endpoint)
	if d.Version != 0 {
		fmt.Fprintf(&b, " %s:", d.Version)
	}
	if d.Note != "" {
		fmt.Fprintf(&b, " %s;", d.Note)
	}
	if len(d.PeerOnly) > 0 {
		fmt.Fprintf(&b, " peer only: %s;", suiteNames(d.PeerOnly))
	}
	if len(d.OursOnly) > 0 {
		fmt.Fprintf(&b, " tlswarden only: %s;", suiteNames(d.OursOnly))
	}
	return strings.TrimSuffix(b.String(), ";")
}

func suiteNames(codes []uint16) string {
	names := make([]string, len(codes))
	for i, c := range codes {
		names[i] = fmt.Sprintf("%s (0x%04X)", iana.SuiteName(c), c)
	}
	return strings.Join(names, ", ")
}

// compareSuites lists every endpoint and version where the peer's suites
// differ from ours, and counts the suites each side alone found.
func compareSuites(eps []endpoint, ours map[netip.AddrPort]*endpointResult, peer *peerRun) (diffs []suiteDiff, peerOnly, oursOnly int) {
	for _, e := range eps {
		o := ours[e.Addr]
		if o == nil {
			o = &endpointResult{Suites: suiteSets{}}
		}
		theirs, ok := peer.Found[e.Addr]
		if !ok {
			diffs = append(diffs, suiteDiff{Endpoint: e, Note: "the peer reported nothing"})
			continue
		}
		for _, v := range comparedVersions {
			d := compareVersion(e, v, o, theirs)
			if d != nil {
				diffs = append(diffs, *d)
				peerOnly += len(d.PeerOnly)
				oursOnly += len(d.OursOnly)
			}
		}
	}
	return diffs, peerOnly, oursOnly
}

func compareVersion(e endpoint, v tlswarden.Version, o *endpointResult, theirs suiteSets) *suiteDiff {
	mine, oursHas := o.Suites[v]
	peers, peerHas := theirs[v]
	d := &suiteDiff{Endpoint: e, Version: v, PeerOnly: minus(peers, mine), OursOnly: minus(mine, peers)}
	switch {
	case oursHas && !peerHas:
		d.Note = "supported per tlswarden only"
	case peerHas && !oursHas:
		d.Note = "supported per the peer only"
	}
	if err := o.VersionErrors[v]; err != "" {
		d.Note = strings.TrimPrefix(d.Note+"; tlswarden error: "+err, "; ")
	}
	if d.Note == "" && len(d.PeerOnly) == 0 && len(d.OursOnly) == 0 {
		return nil
	}
	return d
}

// minus returns the codes in a that are not in b; both are sorted.
func minus(a, b []uint16) []uint16 {
	var out []uint16
	for _, c := range a {
		if _, found := slices.BinarySearch(b, c); !found {
			out = append(out, c)
		}
	}
	return out
}
