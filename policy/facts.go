package policy

import (
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
)

// tlsFacts returns the endpoint's TLS result when it holds at least one
// accepted version, or the not_evaluated result saying why it does not.
func tlsFacts(in *Input) (*tlswarden.TLSResult, *Result) {
	tr := in.Endpoint.TLS
	if tr == nil {
		r := notEvaluated("no TLS facts: %s", probeFailure(in.Endpoint, "tls"))
		return nil, &r
	}
	for _, v := range tr.Versions {
		if v.Supported {
			return tr, nil
		}
	}
	r := notEvaluated("no protocol version was negotiated, so nothing could be judged")
	return nil, &r
}

// probeFailure says why a probe left no facts, from its recorded status.
func probeFailure(e *tlswarden.EndpointReport, probe string) string {
	for _, p := range e.Probes {
		if p.Name == probe && p.Status != tlswarden.StatusOK {
			return "the " + probe + " probe ended with " + string(p.Status) + errSuffix(p.Error)
		}
		if p.Name == probe {
			return "the " + probe + " probe recorded none"
		}
	}
	if e.Status != tlswarden.StatusOK && e.Status != "" && len(e.Probes) == 0 {
		return "the endpoint scan ended with " + string(e.Status) + errSuffix(e.Error)
	}
	return "the " + probe + " probe did not run"
}

// probeSkipped reports whether the user asked not to run the probe.
func probeSkipped(e *tlswarden.EndpointReport, probe string) bool {
	for _, p := range e.Probes {
		if p.Name == probe {
			return p.Status == tlswarden.StatusSkipped
		}
	}
	return false
}

func errSuffix(err string) string {
	if err == "" {
		return ""
	}
	return ": " + err
}

// versionState says whether v was accepted and whether that is known: a
// version whose test did not complete is unknown unless the server was
// seen to accept it.
func versionState(tr *tlswarden.TLSResult, v tlswarden.Version) (supported, known bool) {
	for _, vr := range tr.Versions {
		if vr.Version == v {
			if vr.Supported {
				return true, true
			}
			return false, vr.Status == tlswarden.StatusOK && vr.Error == ""
		}
	}
	return false, false
}

// offered is one accepted suite with the version it was accepted with and
// its registry entry (zero, with ok false, for SSLv2 cipher specs and
// unregistered code points).
type offered struct {
	version tlswarden.Version
	suite   tlswarden.Suite
	info    iana.CipherSuite
	ok      bool
}

// acceptedSuites lists the suites accepted with every supported version
// that keep(v) selects, and the selected versions that could not be
// tested (so the list may be incomplete).
func acceptedSuites(tr *tlswarden.TLSResult, keep func(tlswarden.Version) bool) (list []offered, untested []tlswarden.Version) {
	for _, vr := range tr.Versions {
		if !keep(vr.Version) {
			continue
		}
		if _, known := versionState(tr, vr.Version); !known {
			untested = append(untested, vr.Version)
		}
		if !vr.Supported {
			continue
		}
		for _, s := range vr.Suites {
			o := offered{version: vr.Version, suite: s}
			if vr.Version != tlswarden.SSLv2 {
				o.info, o.ok = iana.Suite(s.Code)
			}
			list = append(list, o)
		}
	}
	return list, untested
}

func anyVersion(tlswarden.Version) bool { return true }

func upToTLS12(v tlswarden.Version) bool { return v <= tlswarden.TLS12 }

func onlyTLS13(v tlswarden.Version) bool { return v == tlswarden.TLS13 }

// checkSuites is the common shape of the cipher rules: every accepted suite
// that bad reports is a violation; with none, the rule passes only when
// every version concerned was tested.
func checkSuites(in *Input, keep func(tlswarden.Version) bool, bad func(o offered) bool, what, ok string) Result {
	tr, ne := tlsFacts(in)
	if ne != nil {
		return *ne
	}
	list, untested := acceptedSuites(tr, keep)
	var names []string
	for _, o := range list {
		if bad(o) {
			names = append(names, o.version.String()+" "+o.suite.Name)
		}
	}
	switch {
	case len(names) > 0:
		return fail("%s: %s", what, joinShort(names, 6))
	case len(untested) > 0:
		return notEvaluated("could not test %s", versionList(untested))
	}
	return pass("%s", ok)
}

// joinShort joins up to max items and says how many more there were.
func joinShort(items []string, max int) string {
	items = slices.Compact(items)
	if len(items) <= max {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:max], ", ") + ", and " + strconv.Itoa(len(items)-max) + " more"
}

func versionList(vs []tlswarden.Version) string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.String()
	}
	return strings.Join(names, ", ")
}

// suiteCodes maps IANA suite names to code points; it panics on a name not
// in the registry, since the lists are written in this package.
func suiteCodes(names ...string) []uint16 {
	codes := make([]uint16, len(names))
	for i, n := range names {
		c, ok := suiteCode(n)
		if !ok {
			panic("policy: unknown cipher suite " + n)
		}
		codes[i] = c
	}
	return codes
}

func suiteCode(name string) (uint16, bool) {
	c, ok := suiteCodeIndex()[name]
	return c, ok
}

var suiteCodeIndex = sync.OnceValue(func() map[string]uint16 {
	m := make(map[string]uint16)
	for _, s := range iana.Suites() {
		m[s.Name] = s.Code
	}
	return m
})
