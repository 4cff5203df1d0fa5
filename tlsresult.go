package tlswarden

// Version is a TLS or SSL protocol version by its wire code point; SSLv2 has
// no two-byte code in TLS records, so it borrows 0x0002 as scanners do.
type Version uint16

// The protocol versions tlswarden tests, oldest first.
const (
	SSLv2 Version = 0x0002
	SSLv3 Version = 0x0300
	TLS10 Version = 0x0301
	TLS11 Version = 0x0302
	TLS12 Version = 0x0303
	TLS13 Version = 0x0304
)

// AllVersions lists every version tlswarden can test, oldest first.
var AllVersions = []Version{SSLv2, SSLv3, TLS10, TLS11, TLS12, TLS13}

// String returns the usual name: "SSLv2", "TLSv1.2", ...
func (v Version) String() string {
	switch v {
	case SSLv2:
		return "SSLv2"
	case SSLv3:
		return "SSLv3"
	case TLS10:
		return "TLSv1.0"
	case TLS11:
		return "TLSv1.1"
	case TLS12:
		return "TLSv1.2"
	case TLS13:
		return "TLSv1.3"
	}
	return "unknown(0x" + hex4(uint16(v)) + ")"
}

// MarshalText writes the version's name, so JSON reads "TLSv1.2".
func (v Version) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText reads a version's name as written by MarshalText.
func (v *Version) UnmarshalText(b []byte) error {
	for _, c := range AllVersions {
		if c.String() == string(b) {
			*v = c
			return nil
		}
	}
	return &ParseError{Input: string(b), Msg: "unknown protocol version"}
}

// ParseError reports input that could not be understood: a malformed
// hostname, port or version name.
type ParseError struct {
	Input string
	Msg   string
}

func (e *ParseError) Error() string { return e.Msg + ": " + quote(e.Input) }

// Preference says whose order decides the cipher suite (or group) chosen.
type Preference string

const (
	PreferServer        Preference = "server"        // the server picks by its own order
	PreferClient        Preference = "client"        // the server follows the client's order
	PreferIndeterminate Preference = "indeterminate" // fewer than two choices, or an inconsistent server
)

// TLSResult is what the TLS probe found on one endpoint: each version
// tested, the suites per version and the key-exchange groups.
type TLSResult struct {
	Versions []VersionResult `json:"versions"`
	// Groups lists the key-exchange groups the server accepted, in the order
	// the server chose them when offered all remaining ones.
	Groups []Group `json:"groups,omitempty"`
	// GroupsTestedWith is the version the groups were enumerated over
	// (TLS 1.3 when the server speaks it, else the newest older version
	// with ECDHE suites, or DHE suites in an RFC 7919 group).
	GroupsTestedWith Version `json:"groups_tested_with,omitempty"`
	// PreferredGroup is the group chosen when the client offers every group.
	PreferredGroup string `json:"preferred_group,omitempty"`
	// GroupsError is set when the group enumeration stopped early (a
	// timeout, garbage): Groups then lists only those found before.
	GroupsError string `json:"groups_error,omitempty"`
	// GroupsByVersion lists the group enumerations, one per protocol
	// generation: over TLS 1.3, and over the newest of TLS 1.2 and older
	// with ECDHE suites (the curves) or DHE suites in an RFC 7919 group,
	// whether or not the server speaks TLS 1.3. A server may accept weaker
	// curves with its older versions than with TLS 1.3, which Groups
	// (the TLS 1.3 enumeration when there is one) does not show. Oldest
	// version first; empty without group enumeration.
	GroupsByVersion []GroupScan `json:"groups_by_version,omitempty"`
	// Connections is the number of TCP connections the probe opened.
	Connections int `json:"connections"`
}

// GroupScan is the key-exchange groups enumerated over one protocol
// version.
type GroupScan struct {
	Version Version `json:"version"`
	// Groups lists the groups accepted at Version, in the order the server
	// chose them when offered all remaining ones (over TLS 1.2 and older:
	// the curves, then the RFC 7919 groups).
	Groups []Group `json:"groups"`
	// Preferred is the group chosen when every group was offered.
	Preferred string `json:"preferred,omitempty"`
	// Error is set when this enumeration stopped early: Groups is then
	// partial.
	Error string `json:"error,omitempty"`
}

// Supported reports whether the server accepted version v.
func (r *TLSResult) Supported(v Version) bool {
	for _, vr := range r.Versions {
		if vr.Version == v {
			return vr.Supported
		}
	}
	return false
}

// VersionResult is one protocol version tested on one endpoint.
type VersionResult struct {
	Version   Version `json:"version"`
	Supported bool    `json:"supported"`
	// Suites lists the accepted cipher suites; when Preference is "server"
	// they are in the server's order of preference.
	Suites     []Suite    `json:"suites,omitempty"`
	Preference Preference `json:"preference,omitempty"`
	// Error is set when the version could not be tested; Supported is then
	// false but means "unknown", not "refused".
	Error  string `json:"error,omitempty"`
	Status Status `json:"status"`
}

// Suite is one cipher suite a server accepted.
type Suite struct {
	Code uint16 `json:"code"`
	Name string `json:"name"`
	// DHBits is the size of the finite-field DH prime for DHE suites.
	DHBits int `json:"dh_bits,omitempty"`
	// Group is the group the server chose with this suite, when seen: the
	// ECDHE curve, the TLS 1.3 group, or for a DHE suite the RFC 7919 group
	// whose prime the server sent (empty for a prime of its own).
	Group string `json:"group,omitempty"`
}

// Valid reports whether s names a suite: false for nil.
func (s *Suite) Valid() bool { return s != nil }

// Group is one key-exchange group (named curve, finite-field group or hybrid).
type Group struct {
	Code uint16 `json:"code"`
	Name string `json:"name"`
}

func hex4(x uint16) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[x>>12], digits[x>>8&0xf], digits[x>>4&0xf], digits[x&0xf]})
}
