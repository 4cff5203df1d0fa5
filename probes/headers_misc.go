package probes

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/tlswarden/tlswarden"
)

// parseXContentTypeOptions reads X-Content-Type-Options as Fetch's
// "determine nosniff" does: the first comma-separated value decides.
func parseXContentTypeOptions(values []string) *tlswarden.XContentTypeOptions {
	list := splitHeaderList(values)
	if list == nil {
		return nil
	}
	return &tlswarden.XContentTypeOptions{Value: list[0], Nosniff: strings.EqualFold(list[0], "nosniff")}
}

// parseXFrameOptions reads X-Frame-Options as the HTML standard does:
// values are compared in lower case, repeats of one value are one value,
// and different values conflict.
func parseXFrameOptions(values []string) *tlswarden.XFrameOptions {
	list := splitHeaderList(values)
	if list == nil {
		return nil
	}
	var distinct, lower []string
	for _, v := range list {
		if l := strings.ToLower(v); !slices.Contains(lower, l) {
			lower, distinct = append(lower, l), append(distinct, v)
		}
	}
	if len(distinct) > 1 {
		return &tlswarden.XFrameOptions{Value: "invalid", Problems: []string{conflictingXFO(lower)}}
	}
	return xfoValue(distinct[0])
}

func conflictingXFO(lower []string) string {
	for _, v := range lower {
		if v == "deny" || v == "sameorigin" || v == "allowall" {
			return fmt.Sprintf("conflicting values %q: browsers block all framing", lower)
		}
	}
	return fmt.Sprintf("conflicting values %q: browsers ignore the header", lower)
}

// xfoValue classifies one X-Frame-Options value.
func xfoValue(v string) *tlswarden.XFrameOptions {
	l := strings.ToLower(v)
	switch {
	case l == "deny":
		return &tlswarden.XFrameOptions{Value: "DENY"}
	case l == "sameorigin":
		return &tlswarden.XFrameOptions{Value: "SAMEORIGIN"}
	case l == "allow-from" || strings.HasPrefix(l, "allow-from ") || strings.HasPrefix(l, "allow-from\t"):
		return &tlswarden.XFrameOptions{
			Value:     "ALLOW-FROM",
			AllowFrom: strings.Trim(v[len("allow-from"):], " \t"),
			Problems:  []string{"ALLOW-FROM is not supported by current browsers, which ignore the header"},
		}
	}
	return &tlswarden.XFrameOptions{Value: "invalid", Problems: []string{fmt.Sprintf("unknown value %q: browsers ignore the header", v)}}
}

// referrerPolicies are the Referrer Policy standard's policy tokens.
var referrerPolicies = []string{
	"no-referrer", "no-referrer-when-downgrade", "same-origin", "origin",
	"strict-origin", "origin-when-cross-origin", "strict-origin-when-cross-origin", "unsafe-url",
}

// parseReferrerPolicy reads Referrer-Policy: the last token a browser
// recognises is the policy, so that new tokens can be listed after a
// fallback.
func parseReferrerPolicy(values []string) *tlswarden.ReferrerPolicy {
	list := splitHeaderList(values)
	if list == nil {
		return nil
	}
	rp := &tlswarden.ReferrerPolicy{Tokens: []string{}}
	for _, tok := range list {
		if tok == "" {
			continue
		}
		rp.Tokens = append(rp.Tokens, tok)
		if l := strings.ToLower(tok); slices.Contains(referrerPolicies, l) {
			rp.Policy, rp.Valid = l, true
		}
	}
	return rp
}

// Values of the Cross-Origin-*-Policy headers (HTML and Fetch standards).
var (
	coopValues = []string{"same-origin", "same-origin-allow-popups", "noopener-allow-popups", "unsafe-none"}
	coepValues = []string{"require-corp", "credentialless", "unsafe-none"}
	corpValues = []string{"same-site", "same-origin", "cross-origin"}
)

// parseHeaderToken reads a header whose value is one keyword, compared
// case-sensitively as browsers do. For a structured-field item (sfItem)
// parameters after ";" such as report-to are dropped. More than one header
// is invalid: browsers combine them into one value that matches nothing.
func parseHeaderToken(values []string, allowed []string, sfItem bool) *tlswarden.HeaderToken {
	if len(values) == 0 {
		return nil
	}
	if len(values) > 1 {
		return &tlswarden.HeaderToken{Value: strings.Join(values, ", ")}
	}
	v := values[0]
	if sfItem {
		v, _, _ = strings.Cut(v, ";")
	}
	v = strings.Trim(v, " \t")
	return &tlswarden.HeaderToken{Value: v, Valid: slices.Contains(allowed, v)}
}

// productVersion matches a product token followed by a version number:
// "nginx/1.22.1", "Microsoft-IIS/10.0", "Jetty(9.4.44)", "Apache 2.4.1".
// After a space the version needs a dot, so that "Server 2" is not one.
var productVersion = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`[A-Za-z][A-Za-z0-9_.+-]*(?:[/(]v?[0-9]+(?:\.[0-9]+)*| v?[0-9]+(?:\.[0-9]+)+)`)
})

// parseSoftware reads a header naming server software and reports the
// product/version tokens in it.
func parseSoftware(values []string) *tlswarden.SoftwareHeader {
	if len(values) == 0 {
		return nil
	}
	sh := &tlswarden.SoftwareHeader{Values: slices.Clone(values)}
	for _, v := range values {
		sh.Versions = append(sh.Versions, versionTokens(v)...)
	}
	sh.DisclosesVersion = len(sh.Versions) > 0
	return sh
}

// versionTokens returns the product/version tokens of s. A number directly
// followed by a letter or digit is not a version ("ECS (dcb/7F83)" names a
// node, not a release).
func versionTokens(s string) []string {
	var out []string
	for _, m := range productVersion().FindAllStringIndex(s, -1) {
		if m[1] < len(s) && isAlnum(s[m[1]]) {
			continue
		}
		out = append(out, s[m[0]:m[1]])
	}
	return out
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
