package metrics

import (
	"bytes"
	"compress/gzip"
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
// and answered with what could be gathered, not a 500. Requests that
// arrive while a scrape is being built are answered with that one (see
// shared).
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

	mu       sync.Mutex
	building *scrape // the scrape being built, nil when none is
}

// gzipWriters are reused: a flate compressor is about a megabyte.
var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level: no error
	return w
}}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b := h.shared(r)
	if b == nil || !b.built {
		http.Error(w, "the scrape was not built: see the log", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", string(expfmt.FmtText))
	w.Header().Add("Vary", "Accept-Encoding")
	data := b.plain
	if acceptsGzip(r.Header.Values("Accept-Encoding")) {
		w.Header().Set("Content-Encoding", "gzip")
		data = b.gzipped()
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data) // a write error is the client's: nothing to tell it
}

// scrape is one encoded scrape, shared by every request that arrived
// while it was built.
type scrape struct {
	done   chan struct{} // closed once the build has ended
	plain  []byte
	built  bool // false when the build panicked
	gzOnce sync.Once
	gz     []byte
}

// gzipped returns the body gzipped (fastest level), compressed once for
// every request that wants it.
func (s *scrape) gzipped() []byte {
	s.gzOnce.Do(func() {
		var buf bytes.Buffer
		gz := gzipWriters.Get().(*gzip.Writer)
		gz.Reset(&buf)
		gz.Write(s.plain) // a bytes.Buffer does not fail
		gz.Close()
		gz.Reset(nil)
		gzipWriters.Put(gz)
		s.gz = buf.Bytes()
	})
	return s.gz
}

// shared returns the scrape being built when the request arrives, or
// builds one: concurrent scrapes share one gathering, one encoding and one
// compression instead of each building a body of its own (some 20 MB for
// 10,000 endpoints), so that many scrapers cannot queue each other behind
// the posture collector's lock. It returns nil when the request ends
// first, or the build panicked.
func (h *handler) shared(r *http.Request) *scrape {
	h.mu.Lock()
	s := h.building
	if s == nil {
		s = &scrape{done: make(chan struct{})}
		h.building = s
		h.mu.Unlock()
		h.build(s)
		return s
	}
	h.mu.Unlock()
	select {
	case <-s.done:
		return s
	case <-r.Context().Done():
		return nil
	}
}

// build gathers and encodes a scrape into s; whatever happens, s is
// marked done and the next request builds anew.
func (h *handler) build(s *scrape) {
	defer func() {
		h.mu.Lock()
		h.building = nil
		h.mu.Unlock()
		close(s.done)
	}()
	var head []byte // g's families in the text format
	var entries []entry
	if h.posture == nil {
		head = h.registryText()
	} else {
		entries = h.posture.gathered(func() { head = h.registryText() })
	}
	var buf bytes.Buffer
	t := newTextWriter(&buf)
	t.Write(head)
	if entries != nil {
		h.posture.writeEndpoints(t, entries)
	}
	t.flush()
	s.plain, s.built = buf.Bytes(), true
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
