// Package tlswarden holds the domain types of tlswarden: targets, endpoints,
// the facts a scan gathers about them (a Report), and the Probe contract that
// the scanner runs and the probes package implements.
//
// It imports nothing of the project, so every other package can speak of
// these types without depending on one another.
package tlswarden

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"time"
)

// ReportSchema names the version of the JSON report format, documented in
// docs/report-schema.md. It changes whenever a field changes meaning or is
// removed; adding a field keeps it.
const ReportSchema = "tlswarden.report/v1"

// DefaultPort is the port a target gets when none is given.
const DefaultPort = 443

// Kind is the protocol spoken on a target's port.
type Kind string

// KindHTTPS is TLS directly on connect, with HTTP inside.
const KindHTTPS Kind = "https"

// Target is one service the registry knows: a hostname (or an IP literal)
// and a port. Host is always in its ASCII (A-label) form.
type Target struct {
	Host  string   `json:"host"`
	Port  int      `json:"port"`
	Kind  Kind     `json:"kind,omitempty"`
	Owner string   `json:"owner,omitempty"`
	Tags  []string `json:"tags,omitempty"`
}

// String returns host:port, with brackets around an IPv6 literal.
func (t Target) String() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// URL returns kind://host:port, the form that names the kind as well: the
// empty kind of targets written before kinds existed is https.
func (t Target) URL() string {
	k := t.Kind
	if k == "" {
		k = KindHTTPS
	}
	return string(k) + "://" + t.String()
}

// IsIP reports whether the target's host is an IP literal rather than a name.
func (t Target) IsIP() bool {
	_, err := netip.ParseAddr(t.Host)
	return err == nil
}

// Endpoint is one address of a target: the unit every probe works on. Host is
// the name used for SNI and the HTTP Host header; it is empty when the target
// was given as an IP literal.
type Endpoint struct {
	Host string         `json:"host,omitempty"`
	Addr netip.AddrPort `json:"address"`
}

// String returns the address dialed, with the hostname when there is one.
func (e Endpoint) String() string {
	if e.Host == "" {
		return e.Addr.String()
	}
	return e.Host + "@" + e.Addr.String()
}

// DialFunc opens one TCP connection to the endpoint being probed. The scanner
// supplies it so that it can bound connections per address, pace them and
// count them; the caller closes the connection it gets.
type DialFunc func(ctx context.Context) (net.Conn, error)

// Probe is one kind of measurement run against an endpoint. Run returns the
// facts it could gather; on error the Observation may still hold partial
// facts, and the scanner records both.
type Probe struct {
	Name    string
	Timeout time.Duration
	// Kinds lists the kinds of target the probe concerns (the HTTP probe:
	// https); nil means every kind. On other kinds it is not run.
	Kinds []Kind
	// Skipped, when not empty, says why the user asked not to run the
	// probe (--no-http): it is not run, and recorded as skipped with this
	// reason, so that the policy can say which rules were left out.
	Skipped string
	Run     func(ctx context.Context, ep Endpoint, dial DialFunc) (Observation, error)
	// Derive, set in place of Run, runs after every Run probe of the
	// endpoint has ended, with the facts they gathered: for facts computed
	// from other facts (client simulation), which connect only where the
	// facts do not decide. It must not change facts.
	Derive func(ctx context.Context, ep Endpoint, dial DialFunc, facts *EndpointReport) (Observation, error)
}

// Concerns reports whether the probe applies to targets of kind k.
func (p *Probe) Concerns(k Kind) bool {
	if k == "" {
		k = KindHTTPS
	}
	return p.Kinds == nil || slices.Contains(p.Kinds, k)
}

// Observation carries what one probe found, one optional pointer per probe
// kind, so that code reading it is type-checked.
type Observation struct {
	TLS     *TLSResult
	Cert    *CertResult
	HTTP    *HTTPResult
	Vuln    *VulnResult
	Clients *ClientsResult
}

// Merge copies the non-nil parts of o into r.
func (r *EndpointReport) Merge(o Observation) {
	if o.TLS != nil {
		r.TLS = o.TLS
	}
	if o.Cert != nil {
		r.Cert = o.Cert
	}
	if o.HTTP != nil {
		r.HTTP = o.HTTP
	}
	if o.Vuln != nil {
		r.Vuln = o.Vuln
	}
	if o.Clients != nil {
		r.Clients = o.Clients
	}
}

// Status says how an attempt to gather facts ended. The vocabulary is shared
// by resolution, probes and whole endpoints.
type Status string

const (
	StatusOK             Status = "ok"
	StatusRefused        Status = "refused"         // TCP connection refused
	StatusTimeout        Status = "timeout"         // a deadline passed
	StatusReset          Status = "reset"           // the peer reset or closed the connection early
	StatusUnreachable    Status = "unreachable"     // no route, network down
	StatusProtocolError  Status = "protocol_error"  // the peer spoke, but not TLS we could parse
	StatusHandshakeError Status = "handshake_error" // TLS spoken, but no handshake was possible
	StatusDNSError       Status = "dns_error"       // the name could not be resolved
	StatusCanceled       Status = "canceled"        // the scan was stopped
	StatusSkipped        Status = "skipped"         // the user asked not to run it (a probe only)
	StatusRateLimited    Status = "rate_limited"    // the server turned connections away after accepting earlier ones
	StatusBlocked        Status = "blocked"         // no answer at all to connect on a port outbound filters commonly block (25)
	StatusError          Status = "error"           // anything else
)

// ProtocolError reports a peer whose bytes are not the protocol we expected:
// garbage, impossible lengths, messages out of order.
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return "protocol error: " + e.Msg }

// Report is the result of one scan of one target: the name's resolution and a
// report per endpoint. It holds facts only; judging them is the policy's job.
type Report struct {
	Schema     string      `json:"schema"`
	Target     Target      `json:"target"`
	Started    time.Time   `json:"started"`
	Finished   time.Time   `json:"finished"`
	Status     Status      `json:"status"`
	Error      string      `json:"error,omitempty"`
	Resolution *Resolution `json:"resolution,omitempty"`
	// Mail is what DNS says about a mail domain (kind mail): its MX hosts,
	// whose addresses are the endpoints.
	Mail      *MailResult      `json:"mail,omitempty"`
	Endpoints []EndpointReport `json:"endpoints"`
}

// Scanned reports whether every endpoint of the target was scanned.
func (r *Report) Scanned() bool {
	if r.AcceptsNoMail() {
		return true // nothing to scan, and that is the answer
	}
	if r.Status != StatusOK || len(r.Endpoints) == 0 {
		return false
	}
	for _, e := range r.Endpoints {
		if e.Status != StatusOK {
			return false
		}
	}
	return true
}

// EndpointReport holds the facts gathered about one endpoint.
type EndpointReport struct {
	Endpoint    Endpoint      `json:"endpoint"`
	Status      Status        `json:"status"`
	Error       string        `json:"error,omitempty"`
	Connections int           `json:"connections"`
	DurationMS  int64         `json:"duration_ms"`
	Probes      []ProbeStatus `json:"probes"`
	// Service is what the server said before TLS, on kinds with a
	// STARTTLS exchange; absent for TLS on connect.
	Service *ServiceResult `json:"service,omitempty"`
	TLS     *TLSResult     `json:"tls,omitempty"`
	Cert    *CertResult    `json:"certificate,omitempty"`
	HTTP    *HTTPResult    `json:"http,omitempty"`
	Vuln    *VulnResult    `json:"vulnerabilities,omitempty"`
	// Clients is the client simulation: which clients connect, with what.
	Clients *ClientsResult `json:"clients,omitempty"`
	// OneConnectionAtATime says the endpoint answered only one connection
	// at a time: a hello timed out while other connections to it were
	// open, and was answered when retried alone (in this scan or an
	// earlier one of the same Scanner); from then on the scanner opened
	// one connection at a time to it.
	OneConnectionAtATime bool `json:"one_connection_at_a_time,omitempty"`
}

// ProbeStatus records how one probe ended on one endpoint.
type ProbeStatus struct {
	Name       string `json:"name"`
	Status     Status `json:"status"`
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}
