package metrics

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// Handler serves g's metrics and, when posture is not nil, the
// per-endpoint posture series that posture read at the same gathering, in
// the Prometheus text format 0.0.4 (OpenMetrics and protobuf are not
// offered: Prometheus accepts the text format). posture must be registered
// with g. The body is gzipped (fastest level) when the client accepts
// gzip, as Prometheus does. A collector's error is logged by the collector
// and answered with what could be gathered, not a 500.
func Handler(g prometheus.Gatherer, posture *PostureCollector) http.Handler {
	h := &handler{g: g, posture: posture, reserved: map[string]bool{}}
	if posture != nil {
		for _, f := range posture.d.perEndpoint {
			h.reserved[f.name] = true
		}
	}
	return h
}

type handler struct {
	g       prometheus.Gatherer
	posture *PostureCollector
	// reserved are the names of the families posture writes itself: a
	// family of g by one of these names (from an unchecked collector) is
	// left out, so that no family appears twice.
	reserved map[string]bool
}

// gzipWriters are reused: a flate compressor is about a megabyte.
var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level: no error
	return w
}}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var head []byte // g's families in the text format
	var entries []entry
	if h.posture == nil {
		head = h.registryText()
	} else {
		entries = h.posture.gathered(func() { head = h.registryText() })
	}
	w.Header().Set("Content-Type", string(expfmt.FmtText))
	w.Header().Add("Vary", "Accept-Encoding")
	var out io.Writer = w
	if acceptsGzip(r.Header.Values("Accept-Encoding")) {
		w.Header().Set("Content-Encoding", "gzip")
		gz := gzipWriters.Get().(*gzip.Writer)
		gz.Reset(w)
		defer func() {
			gz.Close() // a write error is the client's: nothing to tell it
			gz.Reset(nil)
			gzipWriters.Put(gz)
		}()
		out = gz
	}
	t := newTextWriter(out)
	t.Write(head)
	if entries != nil {
		h.posture.writeEndpoints(t, entries)
	}
	t.flush()
}

// registryText gathers g and encodes its families as text. Errors are
// ignored: the registry returns what it could gather with them.
func (h *handler) registryText() []byte {
	mfs, _ := h.g.Gather()
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.FmtText)
	for _, mf := range mfs {
		if h.reserved[mf.GetName()] {
			continue
		}
		enc.Encode(mf) // a bytes.Buffer does not fail
	}
	return buf.Bytes()
}

// acceptsGzip reports whether Accept-Encoding header values accept gzip:
// with a quality above zero, named or else through "*".
func acceptsGzip(values []string) bool {
	gzipQ, anyQ := -1.0, -1.0
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			switch coding = strings.TrimSpace(coding); {
			case strings.EqualFold(coding, "gzip"):
				gzipQ = quality(params)
			case coding == "*":
				anyQ = quality(params)
			}
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return anyQ > 0
}

// quality reads the q parameter of an Accept-Encoding element, 1 when
// absent, 0 when unreadable.
func quality(params string) float64 {
	for p := range strings.SplitSeq(params, ";") {
		name, value, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(name), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err != nil {
				return 0
			}
			return q
		}
	}
	return 1
}
