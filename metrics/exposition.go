package metrics

import (
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tlswarden/tlswarden/store"
)

// The per-endpoint series are written straight in the Prometheus text
// format (version 0.0.4) rather than collected through the registry: for
// 10,000 endpoints that is 250,000 series, and client_golang's cost per
// series (a dto.Metric, its label pairs, a consistency hash, sorting) made
// a scrape take seconds and hundreds of megabytes. Written here, a series
// is a few appends to a reused buffer.

// flushSize is how much text a textWriter gathers before writing it out.
const flushSize = 32 << 10

// textWriter gathers text in a buffer and writes it to w in chunks of
// about flushSize bytes. After a write error it keeps the first error and
// discards the rest.
type textWriter struct {
	w   io.Writer
	buf []byte
	err error
}

func newTextWriter(w io.Writer) *textWriter {
	return &textWriter{w: w, buf: make([]byte, 0, flushSize+4<<10)}
}

// Write appends p; it lets expfmt's encoder write through the same buffer.
func (t *textWriter) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	t.maybeFlush()
	return len(p), t.err
}

func (t *textWriter) maybeFlush() {
	if len(t.buf) >= flushSize {
		t.flush()
	}
}

// flush writes out what is buffered and returns the first write error.
func (t *textWriter) flush() error {
	if t.err == nil && len(t.buf) > 0 {
		_, t.err = t.w.Write(t.buf)
	}
	t.buf = t.buf[:0]
	return t.err
}

// seriesWriter writes the samples of one family for one endpoint at a
// time; the family's HELP and TYPE lines go before its first sample, so a
// family without samples is left out, as the registry leaves it out.
type seriesWriter struct {
	*textWriter
	f      *family
	labels []byte // endpoint="...",org="..." of the current endpoint
	headed bool   // f's HELP and TYPE are written
}

// sample writes one sample of the current family for the current endpoint,
// with values for the family's extra labels, in order.
func (w *seriesWriter) sample(v float64, values ...string) {
	b := w.buf
	if !w.headed {
		b, w.headed = append(b, w.f.header...), true
	}
	b = append(append(b, w.f.prefix...), w.labels...)
	for i, val := range values {
		b = append(append(append(b, ','), w.f.extra[i]...), `="`...)
		b = append(appendLabelValue(b, val), '"')
	}
	b = appendFloat(append(b, '}', ' '), v)
	w.buf = append(b, '\n')
	w.maybeFlush()
}

// writeEndpoints writes the per-endpoint families of the given entries,
// each family's samples together, endpoints in the entries' order.
func writeEndpoints(t *textWriter, families []*family, entries []entry) error {
	// The endpoint and org labels are on every series: escape them once.
	labels := make([]byte, 0, 64*len(entries))
	ends := make([]int, len(entries))
	for i := range entries {
		labels = appendEndpointLabels(labels, &entries[i].state.Target)
		ends[i] = len(labels)
	}
	w := &seriesWriter{textWriter: t}
	for _, f := range families {
		if t.err != nil {
			break
		}
		w.f, w.headed = f, false
		start := 0
		for i := range entries {
			w.labels, start = labels[start:ends[i]], ends[i]
			f.samples(w, &entries[i])
		}
	}
	return t.flush()
}

// appendEndpointLabels appends endpoint="host:port",org="owner", with the
// kind's scheme before host:port for every kind but https
// (endpoint="smtp://mx.example.org:25"): targets are unique by kind, host
// and port, so mail://example.org and smtp://example.org, or https:// and
// tls:// on one port, are two endpoints, and with one label their series
// would collide and Prometheus would drop one of them.
func appendEndpointLabels(b []byte, t *store.Target) []byte {
	b = append(b, `endpoint="`...)
	if !t.Kind.SpeaksHTTP() {
		b = appendLabelValue(b, string(t.Kind)+"://")
	}
	b = appendLabelValue(b, t.String())
	b = append(b, `",org="`...)
	b = appendLabelValue(b, t.Owner)
	return append(b, '"')
}

// appendLabelValue appends s escaped as a label value of the text format:
// backslash, double quote and line feed are escaped, and invalid UTF-8 is
// replaced by U+FFFD, since Prometheus rejects the whole scrape over one
// invalid label value.
func appendLabelValue(b []byte, s string) []byte {
	s = validLabel(s)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// validLabel returns s with invalid UTF-8 replaced by U+FFFD; s itself
// when it is valid.
func validLabel(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, string(utf8.RuneError))
}

// appendFloat appends a sample value as expfmt writes it.
func appendFloat(b []byte, f float64) []byte {
	switch {
	case f == 1:
		return append(b, '1')
	case f == 0:
		return append(b, '0')
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, +1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}
