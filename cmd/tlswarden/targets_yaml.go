package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

// yamlTarget is one row of a targets file:
//
//	targets:
//	  - host: www.example.org   # or www.example.org:8443
//	    port: 443               # default 443
//	    owner: web-team
//	    tags: [prod, pci]
//	    enabled: true           # default true
//	    schedule: "0 3 * * *"   # default: the service's schedule
//	    intrusive: false        # default true: false skips Heartbleed, CCS injection, ROBOT, the CBC padding oracle
//
// A file may also be just the list.
type yamlTarget struct {
	Host     string   `yaml:"host"`
	Port     *int     `yaml:"port"` // nil when absent; 0 is refused, as by the API
	Kind     string   `yaml:"kind"`
	Owner    string   `yaml:"owner"`
	Tags     []string `yaml:"tags"`
	Enabled  *bool    `yaml:"enabled"`
	Schedule string   `yaml:"schedule"`
	// Intrusive false exempts the target from the intrusive weakness
	// checks (a fragile appliance).
	Intrusive *bool `yaml:"intrusive"`
}

var yamlTargetKeys = []string{"host", "port", "kind", "owner", "tags", "enabled", "schedule", "intrusive"}

// lineError is a problem at a line of a file.
type lineError struct {
	file string
	line int
	err  error
}

func (e *lineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.file, e.line, e.err) }
func (e *lineError) Unwrap() error { return e.err }

// parseTargetsYAML reads a targets file into rows for ImportTargets, with
// the line each row starts on. The rows are also normalised and checked as
// the store will, so every bad row is reported at once, each with its line
// and reason, in an *importError; then no row is returned, and nothing is
// half-imported.
func parseTargetsYAML(name string, data []byte) ([]store.Target, []int, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, &importError{[]error{fmt.Errorf("%s: %v", name, err)}}
	}
	seq, err := targetSequence(name, &doc)
	if err != nil {
		return nil, nil, err
	}
	var (
		rows   []store.Target
		lines  []int
		failed = map[int]error{}
	)
	for i, item := range seq.Content {
		t, err := yamlRow(item)
		if err != nil {
			failed[i] = &lineError{name, item.Line, err}
		}
		rows, lines = append(rows, t), append(lines, item.Line)
	}
	_, err = store.NormalizeRows(rows)
	for _, re := range rowErrorsOf(err) {
		if _, ok := failed[re.Index]; !ok {
			failed[re.Index] = &lineError{name, lines[re.Index], re.Err}
		}
	}
	if len(failed) > 0 {
		ie := &importError{}
		for i := range rows {
			if e, ok := failed[i]; ok {
				ie.rows = append(ie.rows, e)
			}
		}
		return nil, nil, ie
	}
	return rows, lines, nil
}

// importError lists the bad rows of an import, one per line of output.
type importError struct{ rows []error }

func (e *importError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d bad rows, nothing imported:", len(e.rows))
	for _, r := range e.rows {
		b.WriteString("\n  " + r.Error())
	}
	return b.String()
}

// Is makes errors.Is(err, store.ErrInvalid) true: the input is at fault.
func (e *importError) Is(target error) bool { return target == store.ErrInvalid }

func targetSequence(name string, doc *yaml.Node) (*yaml.Node, error) {
	bad := func(line int, msg string) error {
		return &importError{[]error{&lineError{name, line, errors.New(msg)}}}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, bad(1, "empty file: want a list of targets, or targets: followed by one")
	}
	n := doc.Content[0]
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Value != "targets" {
				return nil, bad(k.Line, fmt.Sprintf("unknown key %q: want targets", k.Value))
			}
		}
		if len(n.Content) != 2 {
			return nil, bad(n.Line, "want targets: followed by a list")
		}
		n = n.Content[1]
	}
	if n.Kind != yaml.SequenceNode {
		return nil, bad(n.Line, "want a list of targets")
	}
	return n, nil
}

func yamlRow(item *yaml.Node) (store.Target, error) {
	if item.Kind != yaml.MappingNode {
		return store.Target{}, errors.New("want a mapping with host, port, owner, tags, enabled, schedule, intrusive")
	}
	for i := 0; i+1 < len(item.Content); i += 2 {
		if k := item.Content[i].Value; !slices.Contains(yamlTargetKeys, k) {
			return store.Target{}, fmt.Errorf("unknown key %q (known: %s)", k, strings.Join(yamlTargetKeys, ", "))
		}
	}
	var y yamlTarget
	if err := item.Decode(&y); err != nil {
		return store.Target{}, err
	}
	if y.Host == "" {
		return store.Target{}, errors.New("host: required")
	}
	t, err := yamlHostPortKind(y)
	if err != nil {
		return store.Target{}, err
	}
	enabled := y.Enabled == nil || *y.Enabled
	return store.Target{
		Target:  tlswarden.Target{Host: t.Host, Port: t.Port, Kind: t.Kind, Owner: y.Owner, Tags: y.Tags},
		Enabled: enabled, Schedule: y.Schedule, Intrusive: y.Intrusive == nil || *y.Intrusive,
	}, nil
}

// yamlHostPortKind settles a row's host, port and kind from host (which
// may be host:port or KIND://HOST[:PORT]), port and kind. A port or kind
// given twice must agree; a bare port that is a kind's well-known one
// gets that kind, as on the command line; otherwise the kind is https.
func yamlHostPortKind(y yamlTarget) (tlswarden.Target, error) {
	port := 0
	if y.Port != nil {
		if *y.Port == 0 {
			return tlswarden.Target{}, errors.New("port: must be from 1 to 65535, not 0")
		}
		port = *y.Port
	}
	t := tlswarden.Target{Host: y.Host, Port: port}
	if y.Kind != "" {
		k, err := tlswarden.ParseKind(y.Kind)
		if err != nil {
			return t, err
		}
		t.Kind = k
	}
	src := tlswarden.KindDefault
	if strings.Contains(y.Host, "://") || strings.Contains(y.Host, ":") && !strings.Contains(y.Host, "::") || strings.HasPrefix(y.Host, "[") {
		p, s, err := tlswarden.ParseTargetSpec(y.Host, tlswarden.DefaultPort)
		if err != nil {
			return t, err
		}
		if port != 0 && port != p.Port {
			return t, fmt.Errorf("host %q names port %d but port says %d", y.Host, p.Port, port)
		}
		if s == tlswarden.KindFromScheme && t.Kind != "" && t.Kind != p.Kind {
			return t, fmt.Errorf("host %q names kind %s but kind says %s", y.Host, p.Kind, y.Kind)
		}
		t.Host, t.Port, src = p.Host, p.Port, s
		if s == tlswarden.KindFromScheme {
			t.Kind = p.Kind
		}
	}
	if t.Port == 0 {
		t.Port = tlswarden.DefaultPort
	}
	if k, ok := tlswarden.KindOfPort(t.Port); ok && t.Kind == "" && src != tlswarden.KindFromScheme {
		t.Kind = k
	}
	return t, nil
}

// rowErrorsOf returns the *store.RowError values joined or wrapped in err.
func rowErrorsOf(err error) []*store.RowError {
	if err == nil {
		return nil
	}
	if re, ok := err.(*store.RowError); ok {
		return []*store.RowError{re}
	}
	var out []*store.RowError
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			out = append(out, rowErrorsOf(e)...)
		}
	case interface{ Unwrap() error }:
		out = rowErrorsOf(u.Unwrap())
	}
	return out
}

// withLines rewrites an ImportTargets error naming bad rows as one naming
// the file and line of each; other errors are returned as they are.
func withLines(name string, lines []int, err error) error {
	res := rowErrorsOf(err)
	if len(res) == 0 {
		return err
	}
	ie := &importError{}
	for _, re := range res {
		line := 0
		if re.Index < len(lines) {
			line = lines[re.Index]
		}
		ie.rows = append(ie.rows, &lineError{name, line, re.Err})
	}
	return ie
}
