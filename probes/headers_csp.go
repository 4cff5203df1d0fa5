package probes

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tlswarden/tlswarden"
)

// parseCSPHeader parses the values of a Content-Security-Policy (or
// -Report-Only) header: each value is a comma-separated list of policies,
// and browsers enforce every one. It returns nil when there are no values.
func parseCSPHeader(values []string) []tlswarden.CSPPolicy {
	var out []tlswarden.CSPPolicy
	for _, v := range values {
		for serialized := range strings.SplitSeq(v, ",") {
			out = append(out, parseCSP(serialized))
		}
	}
	return out
}

// parseCSP parses one serialized policy as CSP Level 3 section 2.2.1 does,
// then derives the facts a policy check needs about scripts, objects,
// styles and framing.
func parseCSP(serialized string) tlswarden.CSPPolicy {
	p := tlswarden.CSPPolicy{Directives: make(map[string][]string)}
	for token := range strings.SplitSeq(serialized, ";") {
		addCSPDirective(&p, strings.Trim(token, asciiWhitespace))
	}
	if len(p.Directives) == 0 {
		p.Problems = append(p.Problems, "policy has no directives: browsers ignore it")
	}
	cspScriptFacts(&p)
	cspBroadSources(&p)
	if fa, ok := p.Directives["frame-ancestors"]; ok {
		v := strings.Join(fa, " ")
		p.FrameAncestors = &v
	}
	return p
}

// asciiWhitespace is the Infra standard's ASCII whitespace.
const asciiWhitespace = "\t\n\f\r "

// addCSPDirective adds one "name value..." token to p; the first occurrence
// of a name wins.
func addCSPDirective(p *tlswarden.CSPPolicy, token string) {
	if token == "" {
		return
	}
	fields := strings.FieldsFunc(token, func(r rune) bool { return strings.ContainsRune(asciiWhitespace, r) })
	name := strings.ToLower(fields[0])
	if !validCSPName(name) {
		p.Problems = append(p.Problems, fmt.Sprintf("malformed directive name %q ignored", fields[0]))
		return
	}
	if _, dup := p.Directives[name]; dup {
		if !slices.Contains(p.DuplicateDirectives, name) {
			p.DuplicateDirectives = append(p.DuplicateDirectives, name)
		}
		p.Problems = append(p.Problems, fmt.Sprintf("directive %q repeated: browsers use the first", name))
		return
	}
	p.Directives[name] = append([]string{}, fields[1:]...)
}

// validCSPName reports whether name matches CSP's directive-name grammar,
// 1*( ALPHA / DIGIT / "-" ).
func validCSPName(name string) bool {
	for i := range len(name) {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return name != ""
}

// governing returns the directive that applies to a resource type: its own
// directive, else default-src, else "" (unrestricted).
func governing(p *tlswarden.CSPPolicy, own string) string {
	for _, d := range []string{own, "default-src"} {
		if _, ok := p.Directives[d]; ok {
			return d
		}
	}
	return ""
}

// cspScriptFacts records which directive governs scripts and objects and
// which keywords the script and style sources hold. Keywords compare
// case-insensitively.
func cspScriptFacts(p *tlswarden.CSPPolicy) {
	p.ScriptDirective = governing(p, "script-src")
	p.ObjectDirective = governing(p, "object-src")
	for _, src := range p.Directives[p.ScriptDirective] {
		switch s := strings.ToLower(src); {
		case s == "'unsafe-inline'":
			p.UnsafeInline = true
		case s == "'unsafe-eval'":
			p.UnsafeEval = true
		case s == "'unsafe-hashes'":
			p.UnsafeHashes = true
		case s == "'strict-dynamic'":
			p.StrictDynamic = true
		case strings.HasPrefix(s, "'nonce-"):
			p.Nonce = true
		case strings.HasPrefix(s, "'sha256-"), strings.HasPrefix(s, "'sha384-"), strings.HasPrefix(s, "'sha512-"):
			p.Hash = true
		}
	}
	for _, src := range p.Directives[governing(p, "style-src")] {
		if strings.EqualFold(src, "'unsafe-inline'") {
			p.StyleUnsafeInline = true
		}
	}
}

// cspBroadSources records the sources of default-src, script-src and
// object-src that let in almost any origin.
func cspBroadSources(p *tlswarden.CSPPolicy) {
	for _, d := range []string{"default-src", "script-src", "object-src"} {
		for _, src := range p.Directives[d] {
			if !broadSource(src) {
				continue
			}
			if p.BroadSources == nil {
				p.BroadSources = make(map[string][]string)
			}
			p.BroadSources[d] = append(p.BroadSources[d], src)
		}
	}
}

// broadSource reports whether a CSP source expression matches almost any
// origin: "*", a bare scheme such as "https:" or "data:", or a host that is
// only wildcards, such as "https://*", "*.*" or "http://*:8080".
func broadSource(src string) bool {
	s := strings.ToLower(src)
	if s == "*" || isSchemeSource(s) {
		return true
	}
	if _, rest, ok := strings.Cut(s, "://"); ok {
		s = rest
	}
	host, _, _ := strings.Cut(s, "/")
	host, _, _ = strings.Cut(host, ":")
	return host == "*" || host == "*.*"
}

// isSchemeSource reports whether s is a scheme-source: a scheme and a colon.
func isSchemeSource(s string) bool {
	scheme, ok := strings.CutSuffix(s, ":")
	if !ok || scheme == "" || !('a' <= scheme[0] && scheme[0] <= 'z') {
		return false
	}
	for i := range len(scheme) {
		c := scheme[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
