package policy

import (
	"maps"
	"net"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tlswarden/tlswarden"
)

// paramSetters reads each key of a profile file's "params" mapping into
// Params; docs/policies.md lists them.
var paramSetters = map[string]func(l *loader, p *Params, n *yaml.Node){
	"min_version": func(l *loader, p *Params, n *yaml.Node) {
		if err := p.MinVersion.UnmarshalText([]byte(l.str(n))); err != nil {
			l.errorf(n, "unknown protocol version %q (want SSLv3, TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3)", n.Value)
		}
	},
	"min_dh_bits":            func(l *loader, p *Params, n *yaml.Node) { p.MinDHBits = int(l.integer(n, 512, 16384)) },
	"min_ecdh_bits":          func(l *loader, p *Params, n *yaml.Node) { p.MinECDHBits = int(l.integer(n, 160, 1024)) },
	"min_rsa_bits":           func(l *loader, p *Params, n *yaml.Node) { p.MinRSABits = int(l.integer(n, 1024, 16384)) },
	"max_cert_lifespan_days": func(l *loader, p *Params, n *yaml.Node) { p.MaxCertLifespanDays = int(l.integer(n, 1, 3650)) },
	"expiry_warning_days":    func(l *loader, p *Params, n *yaml.Node) { p.ExpiryWarningDays = int(l.integer(n, 0, 365)) },
	"hsts_min_max_age":       func(l *loader, p *Params, n *yaml.Node) { p.HSTSMinMaxAge = l.integer(n, 0, 1<<31) },
	"min_header_score":       func(l *loader, p *Params, n *yaml.Node) { p.MinHeaderScore = int(l.integer(n, 0, 165)) },
	"min_lifetime_left_percent": func(l *loader, p *Params, n *yaml.Node) {
		p.MinLifetimeLeft = float64(l.integer(n, 0, 100)) / 100
	},
	"br_rules_for_private_roots": func(l *loader, p *Params, n *yaml.Node) { p.BRForPrivateRoots = l.boolean(n) },
	"intrusive_checks":           func(l *loader, p *Params, n *yaml.Node) { p.NoIntrusive = !l.boolean(n) },
	"tls12_suites":               func(l *loader, p *Params, n *yaml.Node) { p.TLS12Suites = l.suites(n, "tls12_suites") },
	"tls13_suites":               func(l *loader, p *Params, n *yaml.Node) { p.TLS13Suites = l.suites(n, "tls13_suites") },
	"cert_key_types": func(l *loader, p *Params, n *yaml.Node) {
		p.CertKeyTypes = l.list(n, "cert_key_types", oneOf("RSA", "ECDSA", "Ed25519"))
	},
	"cert_curves": func(l *loader, p *Params, n *yaml.Node) {
		p.CertCurves = l.list(n, "cert_curves", oneOf("P-256", "P-384", "P-521"))
	},
	"required_clients": func(l *loader, p *Params, n *yaml.Node) {
		p.RequiredClients = l.list(n, "required_clients", clientID)
		if len(p.RequiredClients) == 0 {
			p.RequiredClients = nil
		}
	},
	"cert_signatures": func(l *loader, p *Params, n *yaml.Node) {
		p.CertSignatures = l.list(n, "cert_signatures", func(s string) bool { return s != "" })
	},
}

func oneOf(values ...string) func(string) bool {
	return func(s string) bool { return containsFold(values, s) }
}

func (l *loader) params(p *Params, n *yaml.Node) {
	keys := slices.Sorted(maps.Keys(paramSetters))
	for k, v := range l.fields(n, "params", keys...) {
		l.remember("params."+k, v)
		paramSetters[k](l, p, v)
	}
}

// suites reads a list of IANA cipher suite names into code points.
func (l *loader) suites(n *yaml.Node, what string) []uint16 {
	names := l.list(n, what, func(s string) bool { _, ok := suiteCode(s); return ok })
	codes := []uint16{}
	for _, name := range names {
		if c, ok := suiteCode(name); ok {
			codes = append(codes, c)
		}
	}
	return codes
}

// rules reads the "rules" mapping: each key a rule ID, each value "off",
// "on", a severity, or a mapping with "enabled" and "severity".
func (l *loader) rules(p *Profile, n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		l.errorf(n, "rules must be a mapping of rule IDs to off, on, a severity, or {enabled, severity}")
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if _, ok := LookupRule(k.Value); !ok {
			l.errorf(k, "unknown rule %q (run \"tlswarden profiles\" for the list)", k.Value)
			continue
		}
		if seen[k.Value] {
			l.errorf(k, "rule %q given twice", k.Value)
			continue
		}
		seen[k.Value] = true
		l.remember("rules."+k.Value, v)
		l.rule(p, k.Value, v)
	}
}

// rule applies one rule setting.
func (l *loader) rule(p *Profile, id string, v *yaml.Node) {
	enabled, sev := true, tlswarden.Severity(0)
	if pr, ok := p.Rule(id); ok {
		sev = pr.Severity
	}
	switch v.Kind {
	case yaml.ScalarNode:
		switch strings.ToLower(v.Value) {
		case "off", "false", "disabled":
			enabled = false
		case "on", "true", "enabled":
		default:
			sev = l.severity(v)
		}
	case yaml.MappingNode:
		f := l.fields(v, "rule "+id, "enabled", "severity")
		if e, ok := f["enabled"]; ok {
			enabled = l.boolean(e)
		}
		if s, ok := f["severity"]; ok {
			sev = l.severity(s)
		}
	default:
		l.errorf(v, "rule %s: want off, on, a severity, or {enabled, severity}", id)
		return
	}
	if !enabled {
		p.disable(id)
		return
	}
	_ = p.enable(id, sev) // id is known: checked by the caller
}

func (l *loader) boolean(n *yaml.Node) bool {
	switch strings.ToLower(l.str(n)) {
	case "true", "on", "yes":
		return true
	case "false", "off", "no":
		return false
	}
	l.errorf(n, "want true or false, not %q", n.Value)
	return false
}

// waivers reads the "waivers" list.
func (l *loader) waivers(p *Profile, n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, "waivers must be a list")
		return
	}
	for _, item := range n.Content {
		if w, ok := l.waiver(p, item); ok {
			p.Waivers = append(p.Waivers, w)
		}
	}
}

// waiver reads one waiver; every field is required.
func (l *loader) waiver(p *Profile, n *yaml.Node) (tlswarden.Waiver, bool) {
	f := l.fields(n, "a waiver", "target", "rule", "reason", "expires")
	if f == nil {
		return tlswarden.Waiver{}, false
	}
	for _, k := range []string{"target", "rule", "reason", "expires"} {
		if f[k] == nil {
			l.errorf(n, "waiver lacks %q (target, rule, reason and expires are all required)", k)
			return tlswarden.Waiver{}, false
		}
	}
	before := len(l.errs)
	w := tlswarden.Waiver{
		Target:  l.waiverTarget(f["target"]),
		Rule:    l.str(f["rule"]),
		Reason:  strings.TrimSpace(l.str(f["reason"])),
		Expires: l.date(f["expires"]),
	}
	if _, ok := p.Rule(w.Rule); !ok && w.Rule != "" {
		l.errorf(f["rule"], "rule %q is not in profile %s, so there is nothing to waive", w.Rule, p.Name)
	}
	if w.Reason == "" {
		l.errorf(f["reason"], "a waiver needs a reason")
	}
	return w, len(l.errs) == before
}

// waiverTarget reads "host" (every port) or "host:port" into the form
// Target.Host or Target.String gives.
func (l *loader) waiverTarget(n *yaml.Node) string {
	s := l.str(n)
	t, err := tlswarden.ParseTarget(s, tlswarden.DefaultPort)
	if err != nil {
		l.errorf(n, "bad waiver target: %v", err)
		return s
	}
	if _, _, err := net.SplitHostPort(s); err == nil {
		return t.String()
	}
	return t.Host
}

// clientID accepts the form of a client simulation ID ("ie_11_win7");
// whether the client list has it is checked where the list is at hand
// (cmd/tlswarden), since the policy does not read probe data.
func clientID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_' && r != '.' && r != '-' {
			return false
		}
	}
	return true
}
