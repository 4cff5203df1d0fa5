package policy

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tlswarden/tlswarden"
)

// FileError is one problem in a custom profile file, with its line.
type FileError struct {
	File string
	Line int
	Msg  string
}

func (e *FileError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Parse reads a custom profile from YAML. The file extends a built-in
// profile and may rename it, change its thresholds, switch rules off or
// on, change their severities and add waivers; docs/policies.md shows the
// format. Every problem is reported, each as a *FileError with its line,
// joined into one error. name is the file's name, used in messages.
func Parse(name string, data []byte) (*Profile, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxError(name, err)
	}
	l := &loader{file: name}
	if len(doc.Content) == 0 {
		return nil, l.errorf(&doc, "empty file: want a mapping with at least \"extends\"")
	}
	p := l.document(doc.Content[0])
	if err := errors.Join(l.errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// syntaxError turns the YAML parser's "yaml: line N: reason" into a
// *FileError.
func syntaxError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, reason, ok := strings.Cut(rest, ": "); ok {
			if line, aerr := strconv.Atoi(num); aerr == nil {
				return &FileError{File: name, Line: line, Msg: "invalid YAML: " + reason}
			}
		}
	}
	return fmt.Errorf("%s: invalid YAML: %w", name, err)
}

// loader walks a profile file's nodes, collecting every error.
type loader struct {
	file string
	errs []error
	// nodes remembers where settings were made ("rules.ID",
	// "params.KEY"), for errors found once the whole file is read.
	nodes map[string]*yaml.Node
}

func (l *loader) remember(key string, n *yaml.Node) {
	if l.nodes == nil {
		l.nodes = map[string]*yaml.Node{}
	}
	l.nodes[key] = n
}

func (l *loader) errorf(n *yaml.Node, format string, args ...any) error {
	err := &FileError{File: l.file, Line: n.Line, Msg: fmt.Sprintf(format, args...)}
	l.errs = append(l.errs, err)
	return err
}

// fields checks that n is a mapping without duplicate or unknown keys and
// returns its values by key.
func (l *loader) fields(n *yaml.Node, what string, known ...string) map[string]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		l.errorf(n, "%s must be a mapping", what)
		return nil
	}
	out := map[string]*yaml.Node{}
	keys := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case keys[k.Value] > 0:
			l.errorf(k, "%q given twice (first on line %d)", k.Value, keys[k.Value])
		case known != nil && !slices.Contains(known, k.Value):
			l.errorf(k, "unknown key %q in %s (want one of %s)", k.Value, what, strings.Join(known, ", "))
		default:
			out[k.Value] = v
		}
		keys[k.Value] = k.Line
	}
	return out
}

func (l *loader) document(n *yaml.Node) *Profile {
	f := l.fields(n, "the profile", "name", "version", "description", "extends", "fail_at", "params", "rules", "waivers")
	if f == nil {
		return nil
	}
	ext, ok := f["extends"]
	if !ok {
		l.errorf(n, "missing \"extends\": name the built-in profile to start from (%s)", builtinNames())
		return nil
	}
	base, ok := Builtin(l.str(ext))
	if !ok {
		l.errorf(ext, "unknown profile %q to extend (want one of %s)", ext.Value, builtinNames())
		return nil
	}
	p := base.Clone()
	p.Extends = base.Name + " " + base.Version
	p.Name, p.Version = base.Name+"+custom", "custom"
	p.Source = "custom profile " + l.file + ", extending " + base.Source
	l.header(p, f)
	if v, ok := f["params"]; ok {
		l.params(&p.Params, v)
	}
	if v, ok := f["rules"]; ok {
		l.rules(p, v)
	}
	if v, ok := f["waivers"]; ok {
		l.waivers(p, v)
	}
	l.protect(p, base, n)
	return p
}

// protect keeps the core of the Internet First rule out of a custom
// profile's reach: a profile extending nhs-internet-first may not switch
// off or demote tls.version.min, nor lower the minimum version. An
// exception for one service is a waiver, which is visible and expires.
func (l *loader) protect(p, base *Profile, doc *yaml.Node) {
	at := func(key string) *yaml.Node {
		if n := l.nodes[key]; n != nil {
			return n
		}
		return doc
	}
	if base.Name != "nhs-internet-first" {
		return
	}
	const why = "Internet First requires TLS 1.2 or better; use a waiver (target, rule, reason, expires) for a service that cannot comply yet"
	if pr, ok := p.Rule(ruleMinVersion.ID); !ok || pr.Severity < p.FailAt {
		l.errorf(at("rules."+ruleMinVersion.ID), "a profile extending nhs-internet-first must keep tls.version.min at or above fail_at (%s): %s", p.FailAt, why)
	}
	if p.Params.MinVersion < tlswarden.TLS12 {
		l.errorf(at("params.min_version"), "a profile extending nhs-internet-first cannot lower min_version below TLSv1.2: %s", why)
	}
}

// header reads the profile's name, version, description and threshold.
func (l *loader) header(p *Profile, f map[string]*yaml.Node) {
	if v, ok := f["name"]; ok {
		p.Name = l.str(v)
		if _, builtin := Builtin(p.Name); builtin {
			l.errorf(v, "name %q is a built-in profile's; give the custom profile its own name", p.Name)
		} else if p.Name == "" || strings.ContainsAny(p.Name, " \t") {
			l.errorf(v, "name must be one word, like \"trust-estate\"")
		}
	}
	if v, ok := f["version"]; ok {
		p.Version = l.str(v)
	}
	if v, ok := f["description"]; ok {
		p.Description = l.str(v)
	}
	if v, ok := f["fail_at"]; ok {
		p.FailAt = l.severity(v)
	}
}

func builtinNames() string {
	var names []string
	for _, p := range Builtins() {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

// str returns a scalar's value, or records an error for any other node.
func (l *loader) str(n *yaml.Node) string {
	if !l.scalar(n) {
		return ""
	}
	return n.Value
}

// scalar reports whether n is a single value, recording an error if not.
func (l *loader) scalar(n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode {
		l.errorf(n, "want a single value, not a list or mapping")
		return false
	}
	return true
}

func (l *loader) severity(n *yaml.Node) tlswarden.Severity {
	if !l.scalar(n) {
		return 0
	}
	s, err := tlswarden.ParseSeverity(n.Value)
	if err != nil {
		l.errorf(n, "unknown severity %q (want info, low, medium, high or critical)", n.Value)
	}
	return s
}

// integer reads a whole number within [lo, hi].
func (l *loader) integer(n *yaml.Node, lo, hi int64) int64 {
	if !l.scalar(n) {
		return 0
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil || v < lo || v > hi {
		l.errorf(n, "want a whole number from %d to %d, not %q", lo, hi, n.Value)
	}
	return v
}

// list reads a sequence of scalars, each checked by ok.
func (l *loader) list(n *yaml.Node, what string, ok func(string) bool) []string {
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, "%s must be a list", what)
		return nil
	}
	out := []string{}
	for _, c := range n.Content {
		if !l.scalar(c) {
			continue
		}
		s := c.Value
		if !ok(s) {
			l.errorf(c, "%q is not a valid entry for %s", s, what)
		}
		out = append(out, s)
	}
	return out
}

// date reads a YYYY-MM-DD date.
func (l *loader) date(n *yaml.Node) time.Time {
	if !l.scalar(n) {
		return time.Time{}
	}
	t, err := time.Parse(time.DateOnly, n.Value)
	if err != nil {
		l.errorf(n, "want a date as YYYY-MM-DD, not %q", n.Value)
	}
	return t
}
