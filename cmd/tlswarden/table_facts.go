package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tlswarden/tlswarden"
)

// writeCert prints the certificate facts: every chain served (the primary
// first, then one per other key type) and what was derived from each.
func writeCert(w io.Writer, c *tlswarden.CertResult) {
	several := len(c.OtherChains) > 0
	writeChain(w, c, several)
	for i := range c.OtherChains {
		writeChain(w, &c.OtherChains[i], several)
	}
	if c.OtherChainsError != "" {
		fmt.Fprintf(w, "  other chains\tmay be incomplete: %s\n", c.OtherChainsError)
	}
}

// writeChain prints one chain; named puts its leaf's key type in its title,
// for an endpoint that serves several.
func writeChain(w io.Writer, c *tlswarden.CertResult, named bool) {
	trust := "trusted"
	if !c.Trusted {
		trust = "NOT trusted: " + c.VerificationError
	}
	title := "certificate"
	if leaf := c.Leaf(); named && leaf != nil {
		title += " " + leaf.KeyType
	}
	fmt.Fprintf(w, "  %s\t%s\n", title, trust)
	if c.Source == "server_flight" {
		fmt.Fprintf(w, "    read from\tthe server's flight (Certificate message %d bytes, asked for %s)%s\n",
			c.MessageBytes, c.Offered, yesNo(c.HandshakeError != "", "; full handshake failed: "+c.HandshakeError, ""))
	}
	host := "matches " + c.HostnameChecked
	if !c.HostnameMatches {
		host = "does NOT match " + c.HostnameChecked
	}
	fmt.Fprintf(w, "    hostname\t%s\n", host)
	fmt.Fprintf(w, "    chain\t%d certificates, order %s, %s\n", c.ChainLength,
		yesNo(c.ChainOrderCorrect, "correct", "WRONG"), yesNo(c.ChainComplete, "complete", "INCOMPLETE"))
	for i, cert := range c.Chain {
		writeChainCert(w, i, &cert)
	}
	ocsp := "no OCSP response stapled"
	if c.OCSP != nil {
		ocsp = "OCSP stapled: " + c.OCSP.Status + c.OCSP.Error
	}
	fmt.Fprintf(w, "    stapling\t%s; SCTs: %d embedded, %d TLS, %d OCSP\n", ocsp, c.SCTs.Embedded, c.SCTs.TLSExtension, c.SCTs.OCSP)
	if c.DiffersWithoutSNI {
		fmt.Fprintf(w, "    without SNI\ta different certificate (%s)\n", short(c.LeafSHA256WithoutSNI))
	}
}

func writeChainCert(w io.Writer, i int, c *tlswarden.Certificate) {
	if c.ParseError != "" {
		fmt.Fprintf(w, "    #%d\tunparseable (%d bytes): %s\n", i, c.Size, c.ParseError)
		return
	}
	key := fmt.Sprintf("%s %d", c.KeyType, c.KeyBits)
	if c.Curve != "" {
		key = c.KeyType + " " + c.Curve
	}
	state := fmt.Sprintf("expires in %s", days(c.SecondsUntilExpiry))
	switch {
	case c.Expired:
		state = fmt.Sprintf("EXPIRED %s ago", days(-c.SecondsUntilExpiry))
	case c.NotYetValid:
		state = "NOT YET VALID"
	}
	fmt.Fprintf(w, "    #%d\t%s\n", i, c.Subject)
	fmt.Fprintf(w, "    \tissuer %s; %s, %s; valid %d days, %s%s\n", c.Issuer, key, c.SignatureAlgorithm,
		c.ValidityDays, state, yesNo(c.SelfSigned, "; self-signed", ""))
	if len(c.DNSNames)+len(c.IPAddresses) > 0 {
		fmt.Fprintf(w, "    \tSANs %s\n", strings.Join(append(append([]string{}, c.DNSNames...), c.IPAddresses...), ", "))
	}
	if c.Lints != nil && len(c.Lints.Errors)+len(c.Lints.Warnings) > 0 {
		fmt.Fprintf(w, "    \tlint errors %s; warnings %s\n", list(c.Lints.Errors), list(c.Lints.Warnings))
	}
}

// writeHTTP prints the HTTP response and its security headers.
func writeHTTP(w io.Writer, h *tlswarden.HTTPResult) {
	fmt.Fprintf(w, "  http\tGET %s: %d %s\n", h.URL, h.StatusCode, h.Proto)
	for _, r := range h.Redirects {
		fmt.Fprintf(w, "    redirect\t%d -> %s\n", r.StatusCode, r.Location)
	}
	if h.RedirectStop != "" {
		fmt.Fprintf(w, "    \tnot followed: %s\n", h.RedirectStop)
	}
	fmt.Fprintf(w, "    HSTS\t%s\n", hstsText(h.HSTS))
	fmt.Fprintf(w, "    CSP\t%s\n", cspText(h.CSP))
	fmt.Fprintf(w, "    X-Content-Type-Options\t%s\n", header(h, "x-content-type-options"))
	fmt.Fprintf(w, "    X-Frame-Options\t%s\n", header(h, "x-frame-options"))
	fmt.Fprintf(w, "    Referrer-Policy\t%s\n", header(h, "referrer-policy"))
	fmt.Fprintf(w, "    Permissions-Policy\t%s\n", header(h, "permissions-policy"))
	for _, name := range []string{"cross-origin-opener-policy", "cross-origin-embedder-policy", "cross-origin-resource-policy"} {
		fmt.Fprintf(w, "    %s\t%s\n", name, header(h, name))
	}
	for _, c := range h.Cookies {
		same := "no SameSite"
		if c.SameSite != nil {
			same = "SameSite=" + *c.SameSite
		}
		fmt.Fprintf(w, "    cookie %s\t%s, %s, %s\n", c.Name, yesNo(c.Secure, "Secure", "NOT Secure"), yesNo(c.HTTPOnly, "HttpOnly", "not HttpOnly"), same)
	}
	for _, s := range []*tlswarden.SoftwareHeader{h.Server, h.XPoweredBy} {
		if s != nil && s.DisclosesVersion {
			fmt.Fprintf(w, "    version disclosed\t%s\n", strings.Join(s.Versions, ", "))
		}
	}
	if p := h.Plain; p != nil {
		fmt.Fprintf(w, "    plain HTTP\t%s\n", plainText(p))
	}
}

func hstsText(h *tlswarden.HSTS) string {
	switch {
	case h == nil:
		return "missing"
	case !h.Valid:
		return "INVALID: " + strings.Join(h.Problems, "; ")
	}
	s := fmt.Sprintf("max-age %s", days(h.MaxAge))
	return s + yesNo(h.IncludeSubDomains, ", includeSubDomains", "") + yesNo(h.Preload, ", preload", "")
}

func cspText(ps []tlswarden.CSPPolicy) string {
	if len(ps) == 0 {
		return "missing"
	}
	var flags []string
	for _, p := range ps {
		if p.UnsafeInline && !p.Nonce && !p.Hash {
			flags = append(flags, "unsafe-inline")
		}
		if p.UnsafeEval {
			flags = append(flags, "unsafe-eval")
		}
		if len(p.BroadSources) > 0 {
			flags = append(flags, "broad sources")
		}
		if p.ScriptDirective == "" {
			flags = append(flags, "scripts unrestricted")
		}
	}
	if len(flags) == 0 {
		return fmt.Sprintf("%d policies", len(ps))
	}
	return fmt.Sprintf("%d policies: %s", len(ps), strings.Join(flags, ", "))
}

func plainText(p *tlswarden.PlainHTTPResult) string {
	switch {
	case !p.Listening:
		return "no listener (" + string(p.Status) + ")"
	case p.FirstRedirectHTTPSSameHost:
		return "redirects straight to HTTPS on the same host"
	case p.ReachesHTTPS:
		return "reaches HTTPS, but not directly on the same host"
	}
	return fmt.Sprintf("does NOT redirect to HTTPS (status %d)", p.StatusCode)
}

func header(h *tlswarden.HTTPResult, name string) string {
	v := h.Headers[name]
	if len(v) == 0 {
		return "missing"
	}
	return strings.Join(v, " | ")
}

func days(seconds int64) string {
	d := time.Duration(seconds) * time.Second
	if d < 48*time.Hour {
		return d.Round(time.Minute).String()
	}
	return fmt.Sprintf("%d days", int64(d/(24*time.Hour)))
}

func short(fp string) string {
	if len(fp) > 16 {
		return fp[:16] + "..."
	}
	return fp
}

func list(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}
