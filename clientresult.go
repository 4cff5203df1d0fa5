package tlswarden

// ClientsResult is the client simulation of one endpoint: for each client
// of the list (real browsers, operating systems, libraries and mail
// clients, whose hellos Debian's testssl.sh package ships), whether it
// connects, with what, or why not. Each answer is computed from the
// endpoint's enumerated facts where they decide it, and read from the
// server's answer to the client's own hello where they do not. Facts
// only: which clients must connect is the policy's call. See
// docs/client-simulation.md.
type ClientsResult struct {
	// Source names the client list: its origin and version.
	Source  string         `json:"source"`
	Clients []ClientResult `json:"clients"`
	// Hellos counts the clients whose own hello was sent; Connections
	// the TCP connections that took.
	Hellos      int `json:"hellos"`
	Connections int `json:"connections"`
}

// Client returns the answer for the client with id, or nil.
func (r *ClientsResult) Client(id string) *ClientResult {
	if r == nil {
		return nil
	}
	for i := range r.Clients {
		if r.Clients[i].ID == id {
			return &r.Clients[i]
		}
	}
	return nil
}

// Failing returns the clients that do not connect.
func (r *ClientsResult) Failing() []ClientResult {
	if r == nil {
		return nil
	}
	var out []ClientResult
	for _, c := range r.Clients {
		if !c.Connects {
			out = append(out, c)
		}
	}
	return out
}

// How a client's answer was found (ClientResult.Method).
const (
	// ClientComputed: computed from the enumerated facts, which decide it.
	ClientComputed = "computed"
	// ClientHello: the server's answer to the client's own hello.
	ClientHello = "hello"
	// ClientEstimated: the facts did not decide it and the client's hello
	// was not sent (the probe's budget of hellos was spent) or got no
	// answer; the answer is the likeliest, and Uncertain says why.
	ClientEstimated = "estimated"
)

// Why a client does not connect (ClientResult.Reason).
const (
	ClientNoVersion     = "no_common_version"
	ClientNoSuite       = "no_common_suite"
	ClientNoGroup       = "no_common_group"
	ClientDHTooSmall    = "dh_too_small"
	ClientDHTooLarge    = "dh_too_large"
	ClientKeyTooSmall   = "key_too_small"
	ClientKeyTooLarge   = "key_too_large"
	ClientSHA1Signature = "sha1_signature"
	ClientNeedsSNI      = "sni_required"
	ClientRefused       = "refused" // the server refused the client's own hello
	ClientNoCertificate = "no_certificate"
)

// ClientResult is one client's simulated connection to the endpoint.
type ClientResult struct {
	// ID is the client's short name in the list (testssl.sh's, e.g.
	// "ie_11_win7"); Name the name people read ("IE 11 Win 7").
	ID       string `json:"id"`
	Name     string `json:"name"`
	Connects bool   `json:"connects"`
	// Version, Suite and Group are what the client negotiates; Group is
	// the ECDHE curve or TLS 1.3 group, empty for RSA key exchange and for
	// a DHE suite (DHBits gives the prime's size).
	Version Version `json:"version,omitempty"`
	Suite   *Suite  `json:"suite,omitempty"`
	Group   string  `json:"group,omitempty"`
	DHBits  int     `json:"dh_bits,omitempty"`
	// Chain is the ChainID of the certificate chain the client gets.
	Chain string `json:"chain,omitempty"`
	// Reason says why the client does not connect (one of the Client...
	// reasons), Detail says it in words.
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Method says how the answer was found: computed, hello or estimated.
	Method string `json:"method"`
	// Uncertain names what the facts left open, when the answer was not
	// computed (why the hello was sent, or what the estimate guesses).
	Uncertain []string `json:"uncertain,omitempty"`
}
