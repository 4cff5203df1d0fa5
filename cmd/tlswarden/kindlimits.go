package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tlswarden/tlswarden"
)

// maxKindSpacing bounds --kind-spacing: a scan of 30 connections spaced a
// minute apart already takes half an hour.
const maxKindSpacing = time.Minute

// kindValues is a flag of KIND=VALUE pairs, comma-separated and
// repeatable, set over defaults: --kind-conns and --kind-spacing, the
// politeness each kind of server gets. A kind named twice is an error,
// since one of the two would be silently lost.
type kindValues[V any] struct {
	set   map[tlswarden.Kind]V
	parse func(string) (V, error)
	show  func(V) string
}

func newKindConns() *kindValues[int] {
	return &kindValues[int]{parse: parseKindConns, show: strconv.Itoa}
}

func newKindSpacing() *kindValues[time.Duration] {
	return &kindValues[time.Duration]{parse: parseKindSpacing, show: time.Duration.String}
}

func parseKindConns(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a number of connections (0 or more)", s)
	}
	return n, nil
}

func parseKindSpacing(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > maxKindSpacing {
		return 0, fmt.Errorf("%q is not a duration from 0 to %s (such as 200ms)", s, maxKindSpacing)
	}
	return d, nil
}

// Set reads one flag value: KIND=VALUE[,KIND=VALUE...].
func (f *kindValues[V]) Set(s string) error {
	for part := range strings.SplitSeq(s, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%q: want KIND=VALUE, such as smtp=2", part)
		}
		kind, err := tlswarden.ParseKind(strings.TrimSpace(name))
		if err != nil {
			return err
		}
		if kind == tlswarden.KindMail {
			return fmt.Errorf("a mail domain's servers are scanned as smtp: write smtp=%s", value)
		}
		v, err := f.parse(strings.TrimSpace(value))
		if err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
		if _, dup := f.set[kind]; dup {
			return fmt.Errorf("%s is given twice", kind)
		}
		if f.set == nil {
			f.set = map[tlswarden.Kind]V{}
		}
		f.set[kind] = v
	}
	return nil
}

// String lists the values set, in the kinds' documented order.
func (f *kindValues[V]) String() string {
	if f == nil || f.show == nil {
		return ""
	}
	var parts []string
	for _, ki := range tlswarden.Kinds() {
		if v, ok := f.set[ki.Kind]; ok {
			parts = append(parts, string(ki.Kind)+"="+f.show(v))
		}
	}
	return strings.Join(parts, ",")
}

// over returns defaults with the values set in their place (a copy:
// the defaults are the scanner package's).
func (f *kindValues[V]) over(defaults map[tlswarden.Kind]V) map[tlswarden.Kind]V {
	m := maps.Clone(defaults)
	if m == nil {
		m = map[tlswarden.Kind]V{}
	}
	maps.Copy(m, f.set)
	return m
}

// describeDefaults writes defaults as the flag's help shows them.
func describeDefaults[V any](defaults map[tlswarden.Kind]V, show func(V) string) string {
	kinds := slices.Sorted(maps.Keys(defaults))
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = string(k) + "=" + show(defaults[k])
	}
	return strings.Join(parts, ",")
}
