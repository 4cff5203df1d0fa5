package tlswarden

// HTTPResult is what the HTTP probe found on one endpoint: one GET of
// https://HOST/ pinned to the endpoint's address, the redirects it met, the
// security headers of the response it ended on (raw and parsed), the
// cookies set along the way, what the HTML declares in <meta> tags, what a
// CORS preflight to the same URL gets back, and what plain HTTP on port 80
// of the same address does. Facts only: a nil
// header field means the header was absent; whether a value is good enough
// is the policy's call. See docs/report-schema.md.
type HTTPResult struct {
	// URL is the first URL requested, e.g. "https://www.example.com/".
	URL string `json:"url"`
	// FinalURL is the URL of the response the headers were taken from: the
	// last one fetched, after the redirects that were followed.
	FinalURL string `json:"final_url,omitempty"`
	// StatusCode and Proto are the final response's status and protocol
	// ("HTTP/1.1", "HTTP/2.0"); zero when no response arrived.
	StatusCode int    `json:"status_code,omitempty"`
	Proto      string `json:"proto,omitempty"`
	// Redirects lists each redirect response met, in order.
	Redirects []HTTPRedirect `json:"redirects,omitempty"`
	// RedirectStop says why the last redirect was not followed; empty when
	// the chain ended at a response that is not a redirect. Values:
	// off_host, not_https, other_port, loop, too_many, bad_location.
	RedirectStop string `json:"redirect_stop,omitempty"`

	// BodyBytes counts the body bytes read from the final response, at most
	// the probe's cap; BodyTruncated says the body was longer.
	BodyBytes     int64 `json:"body_bytes"`
	BodyTruncated bool  `json:"body_truncated,omitempty"`

	// Headers holds every value of the security-relevant headers of the
	// final response, by lower-case name, in the order received. Set-Cookie
	// values have the cookie's value replaced by "[redacted]".
	Headers map[string][]string `json:"headers,omitempty"`

	HSTS                *HSTS                `json:"strict_transport_security,omitempty"`
	CSP                 []CSPPolicy          `json:"content_security_policy,omitempty"`
	CSPReportOnly       []CSPPolicy          `json:"content_security_policy_report_only,omitempty"`
	XContentTypeOptions *XContentTypeOptions `json:"x_content_type_options,omitempty"`
	XFrameOptions       *XFrameOptions       `json:"x_frame_options,omitempty"`
	ReferrerPolicy      *ReferrerPolicy      `json:"referrer_policy,omitempty"`
	PermissionsPolicy   *PermissionsPolicy   `json:"permissions_policy,omitempty"`
	COOP                *HeaderToken         `json:"cross_origin_opener_policy,omitempty"`
	COEP                *HeaderToken         `json:"cross_origin_embedder_policy,omitempty"`
	CORP                *HeaderToken         `json:"cross_origin_resource_policy,omitempty"`
	Server              *SoftwareHeader      `json:"server,omitempty"`
	XPoweredBy          *SoftwareHeader      `json:"x_powered_by,omitempty"`

	// Cookies lists every cookie set by any HTTPS response of the chain, in
	// order. Cookie values are never recorded.
	Cookies []HTTPCookie `json:"cookies,omitempty"`

	// HTML is what the final response's body declares, when it is HTML.
	HTML *HTMLFacts `json:"html,omitempty"`

	// CORS is the CORS preflight sent to FinalURL; nil when it was not
	// sent, because the HTTPS fetch failed.
	CORS *CORSResult `json:"cors,omitempty"`

	// Plain is the plain-HTTP check; nil when it was not run.
	Plain *PlainHTTPResult `json:"plain_http,omitempty"`

	// ModernHandshakeError is set when the handshake of a modern client
	// (Go's crypto/tls, which like browsers offers no MD5 signature
	// algorithm and no export or anonymous suite) failed: it says why. The
	// HTTPS facts were then read through a legacy handshake (zcrypto,
	// offering the signature algorithms and suites of older clients), and
	// HTTP/1.1; browsers would not reach the headers at all.
	ModernHandshakeError string `json:"modern_handshake_error,omitempty"`

	// Connections is the number of TCP connections the probe opened, plain
	// HTTP included.
	Connections int `json:"connections"`
}

// HTTPRedirect is one redirect response.
type HTTPRedirect struct {
	// URL is the URL that answered with the redirect.
	URL        string `json:"url"`
	StatusCode int    `json:"status_code"`
	// Location is the header as sent; Target is it resolved against URL
	// (empty when it does not parse).
	Location string `json:"location"`
	Target   string `json:"target,omitempty"`
	Followed bool   `json:"followed"`
}

// HSTS is the Strict-Transport-Security header (RFC 6797). Like browsers,
// only the first header of the response is parsed.
type HSTS struct {
	// Valid is true when a browser would honour the first header: max-age
	// present with a number, and no directive repeated.
	Valid bool `json:"valid"`
	// MaxAge is in seconds (0 when missing or invalid; values too large
	// for 64 bits are clamped, as browsers do).
	MaxAge            int64 `json:"max_age"`
	IncludeSubDomains bool  `json:"include_subdomains"`
	Preload           bool  `json:"preload"`
	// Headers counts the Strict-Transport-Security headers received.
	Headers int `json:"headers"`
	// Problems explains what is wrong, in words: a missing or malformed
	// max-age, a repeated directive, more than one header, ...
	Problems []string `json:"problems,omitempty"`
}

// CSPPolicy is one Content-Security-Policy (CSP Level 3): a header can carry
// several, separated by commas, and every policy is enforced.
type CSPPolicy struct {
	// Directives maps each directive name (lower case) to its source list,
	// as written. A repeated directive keeps its first value, as in browsers.
	Directives map[string][]string `json:"directives"`
	// DuplicateDirectives names directives that appeared more than once.
	DuplicateDirectives []string `json:"duplicate_directives,omitempty"`
	// ScriptDirective names the directive that governs scripts:
	// "script-src", "default-src", or "" when scripts are unrestricted.
	// ObjectDirective is the same for plugins (object-src).
	ScriptDirective string `json:"script_directive,omitempty"`
	ObjectDirective string `json:"object_directive,omitempty"`
	// The keyword facts below are about the ScriptDirective's sources.
	UnsafeInline  bool `json:"unsafe_inline"`
	UnsafeEval    bool `json:"unsafe_eval"`
	UnsafeHashes  bool `json:"unsafe_hashes,omitempty"`
	StrictDynamic bool `json:"strict_dynamic"`
	// Nonce and Hash say a 'nonce-...' or 'sha256-...' (384, 512) source is
	// present; either makes browsers ignore 'unsafe-inline'.
	Nonce bool `json:"nonce"`
	Hash  bool `json:"hash"`
	// StyleUnsafeInline is 'unsafe-inline' in style-src (or default-src).
	StyleUnsafeInline bool `json:"style_unsafe_inline,omitempty"`
	// BroadSources lists, for default-src, script-src and object-src, the
	// sources that allow almost any origin: *, a bare scheme (http:,
	// https:, data:, ftp:, blob:, ...), or a wildcard host such as
	// https://* or http://*.*.
	BroadSources map[string][]string `json:"broad_sources,omitempty"`
	// FrameAncestors is the frame-ancestors directive's value as written;
	// nil when the directive is absent ("" means it has no sources, which
	// is the same as 'none').
	FrameAncestors *string `json:"frame_ancestors,omitempty"`
	// Problems lists what a browser ignores in the policy: repeated or
	// malformed directive names, an empty policy.
	Problems []string `json:"problems,omitempty"`
}

// XContentTypeOptions is the X-Content-Type-Options header as browsers read
// it (Fetch: the first comma-separated value decides).
type XContentTypeOptions struct {
	Value   string `json:"value"`
	Nosniff bool   `json:"nosniff"`
}

// XFrameOptions is the X-Frame-Options header as browsers read it (HTML
// standard): all values are compared case-insensitively.
type XFrameOptions struct {
	// Value is DENY, SAMEORIGIN, ALLOW-FROM (which browsers no longer
	// support), ALLOWALL, or "invalid" (unknown or conflicting values).
	Value string `json:"value"`
	// AllowFrom is the origin an ALLOW-FROM names.
	AllowFrom string   `json:"allow_from,omitempty"`
	Problems  []string `json:"problems,omitempty"`
}

// ReferrerPolicy is the Referrer-Policy header: browsers use the last token
// they recognise.
type ReferrerPolicy struct {
	// Tokens lists every comma-separated token, as sent.
	Tokens []string `json:"tokens"`
	// Policy is the last recognised token in lower case; "" when none is.
	Policy string `json:"policy"`
	Valid  bool   `json:"valid"`
}

// PermissionsPolicy is the Permissions-Policy header, a structured-field
// dictionary (RFC 8941) of features and their allowlists.
type PermissionsPolicy struct {
	// Valid is false when the header does not parse as a dictionary, in
	// which case browsers ignore it all and Features is empty.
	Valid    bool                 `json:"valid"`
	Features []PermissionsFeature `json:"features,omitempty"`
	Problems []string             `json:"problems,omitempty"`
}

// PermissionsFeature is one feature's allowlist: "*", "self", "src" or
// quoted origins; an empty list disables the feature everywhere.
type PermissionsFeature struct {
	Feature   string   `json:"feature"`
	Allowlist []string `json:"allowlist"`
}

// HeaderToken is a header whose value is one keyword, such as the
// Cross-Origin-*-Policy headers.
type HeaderToken struct {
	// Value is the keyword as sent (parameters such as report-to removed).
	Value string `json:"value"`
	// Valid is true when the keyword is one the header defines.
	Valid bool `json:"valid"`
}

// SoftwareHeader is a header naming the server software (Server,
// X-Powered-By).
type SoftwareHeader struct {
	Values []string `json:"values"`
	// DisclosesVersion is true when a value carries a version number after a
	// product name, e.g. "nginx/1.22.1" or "PHP/8.1".
	DisclosesVersion bool `json:"discloses_version"`
	// Versions lists those product/version tokens.
	Versions []string `json:"versions,omitempty"`
}

// HTTPCookie is one Set-Cookie header, parsed as browsers do (RFC 6265bis).
// The value is never recorded.
type HTTPCookie struct {
	Name     string `json:"name"`
	Secure   bool   `json:"secure"`
	HTTPOnly bool   `json:"http_only"`
	// SameSite is the attribute's value as sent, nil when the attribute is
	// absent; SameSiteValid is true when it is Strict, Lax or None.
	SameSite      *string `json:"same_site,omitempty"`
	SameSiteValid bool    `json:"same_site_valid"`
	Path          string  `json:"path,omitempty"`
	Domain        string  `json:"domain,omitempty"`
	// Expires and MaxAge are the attributes as sent; a cookie with neither
	// lasts only for the browser session.
	Expires     string `json:"expires,omitempty"`
	MaxAge      string `json:"max_age,omitempty"`
	Partitioned bool   `json:"partitioned,omitempty"`
	// Problems lists what a browser would reject or ignore.
	Problems []string `json:"problems,omitempty"`
}

// HTMLFacts is what the start of an HTML body declares (up to the body
// cap): meta policies, which browsers merge with the headers, and scripts,
// for Subresource Integrity.
type HTMLFacts struct {
	// CSP lists the policies of <meta http-equiv="Content-Security-Policy">
	// (where frame-ancestors and report-uri are ignored by browsers).
	CSP []CSPPolicy `json:"csp,omitempty"`
	// Referrer lists each <meta name="referrer"> content, in order.
	Referrer []string `json:"referrer,omitempty"`
	// Scripts lists the first scripts with a src attribute.
	Scripts []HTMLScript `json:"scripts,omitempty"`
}

// HTMLScript is one <script src=...>.
type HTMLScript struct {
	Src         string `json:"src"`
	Integrity   bool   `json:"integrity"`
	CrossOrigin string `json:"crossorigin,omitempty"`
}

// CORSResult is the CORS preflight the HTTP probe sends once the HTTPS
// fetch has succeeded, as the MDN HTTP Observatory does: OPTIONS to the
// final URL with an Origin of tlswarden's own and
// Access-Control-Request-Method: GET. Redirects are not followed (browsers
// do not follow them on a preflight). A preflight that fails is recorded
// here and does not fail the probe.
type CORSResult struct {
	// URL is the URL asked, the HTTPResult's FinalURL.
	URL string `json:"url"`
	// Origin is the Origin header sent.
	Origin string `json:"origin"`
	// Status is ok when a response arrived; otherwise why none did
	// (timeout, reset, error, ...), explained by Error.
	Status Status `json:"status"`
	Error  string `json:"error,omitempty"`
	// StatusCode is the preflight response's status; browsers act on a
	// preflight only when it is 2xx.
	StatusCode int `json:"status_code,omitempty"`
	// AllowOrigin and AllowCredentials are the preflight response's
	// Access-Control-Allow-Origin and Access-Control-Allow-Credentials
	// headers, every value joined with ", " as one field line; nil when
	// absent.
	AllowOrigin      *string `json:"allow_origin,omitempty"`
	AllowCredentials *string `json:"allow_credentials,omitempty"`
	// GETAllowOrigin is true when the final GET response, which was sent
	// without an Origin, had Access-Control-Allow-Origin; its values are in
	// HTTPResult.Headers.
	GETAllowOrigin bool `json:"get_allow_origin"`
}

// PlainHTTPResult is what GET http://HOST/ on port 80 of the endpoint's
// address did. Nothing listening is a fact, not a failure.
type PlainHTTPResult struct {
	URL string `json:"url"`
	// Listening is true when the TCP connection was accepted.
	Listening bool `json:"listening"`
	// Status is ok when a response arrived; refused or timeout when nothing
	// listened; otherwise why the exchange failed, explained by Error.
	Status Status `json:"status"`
	Error  string `json:"error,omitempty"`
	// StatusCode is the status of the last response received.
	StatusCode int `json:"status_code,omitempty"`
	// Redirects lists the redirects met. Only plain-HTTP hops on the same
	// host and port are followed; the chain stops at the first https URL.
	Redirects []HTTPRedirect `json:"redirects,omitempty"`
	// RedirectStop says why the last redirect was not followed: https (it
	// leads to HTTPS on the same host), off_host, other_port, not_https
	// (another scheme), loop, too_many, bad_location.
	RedirectStop string `json:"redirect_stop,omitempty"`
	// FirstRedirectHTTPSSameHost is true when the first response redirects
	// straight to https:// on the same hostname.
	FirstRedirectHTTPSSameHost bool `json:"first_redirect_https_same_host"`
	// ReachesHTTPS is true when the redirect chain arrives at an https URL
	// (on any host).
	ReachesHTTPS bool `json:"reaches_https"`
}
