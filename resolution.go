package tlswarden

import "net/netip"

// Outcome is how a DNS query for one name and type ended.
type Outcome string

const (
	OutcomeOK       Outcome = "ok"       // records of the type asked for
	OutcomeNXDomain Outcome = "nxdomain" // the name does not exist
	OutcomeNoData   Outcome = "nodata"   // the name exists, with no records of that type
	OutcomeServFail Outcome = "servfail" // the resolver could not answer
	OutcomeRefused  Outcome = "refused"  // the resolver refused to answer
	OutcomeTimeout  Outcome = "timeout"  // no answer in time
	OutcomeError    Outcome = "error"    // anything else: malformed answer, network error
)

// Resolution is what DNS said about a target's name: the CNAME chain, each
// address with its TTL, and how each query type ended.
type Resolution struct {
	Name      string    `json:"name"`
	Chain     []CNAME   `json:"cname_chain,omitempty"`
	Addresses []Address `json:"addresses"`
	// AddressesOmitted counts the addresses past the scanner's cap on
	// addresses per name (64 by default): resolved, listed above, but not
	// scanned.
	AddressesOmitted int           `json:"addresses_omitted,omitempty"`
	Queries          []QueryResult `json:"queries"`
}

// CNAME is one link of a CNAME chain.
type CNAME struct {
	Name   string `json:"name"`
	Target string `json:"target"`
	TTL    uint32 `json:"ttl"`
}

// Address is one A or AAAA record.
type Address struct {
	Addr netip.Addr `json:"address"`
	TTL  uint32     `json:"ttl"`
}

// QueryResult records how the query of one type ended.
type QueryResult struct {
	Type    string  `json:"type"` // "A" or "AAAA"
	Outcome Outcome `json:"outcome"`
	Error   string  `json:"error,omitempty"`
}
