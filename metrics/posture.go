package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tlswarden/tlswarden/store"
)

// Detail says how many series the posture collector exports.
type Detail string

// The detail levels of --metrics-detail.
const (
	// DetailFull exports the fleet summaries and every per-endpoint series
	// (about 30 per endpoint).
	DetailFull Detail = "full"
	// DetailSummary exports the fleet summaries only: a constant number of
	// series, whatever the estate's size.
	DetailSummary Detail = "summary"
)

// ParseDetail returns the detail level named s: "full" or "summary".
func ParseDetail(s string) (Detail, error) {
	switch d := Detail(s); d {
	case DetailFull, DetailSummary:
		return d, nil
	}
	return "", fmt.Errorf("metrics detail must be %q or %q, not %q", DetailFull, DetailSummary, s)
}

// PostureConfig configures the posture collector; its zero value works.
type PostureConfig struct {
	// Detail is DetailFull when empty.
	Detail Detail
	// Timeout bounds one scrape's store reads; 30 seconds when zero.
	Timeout time.Duration
	// Batch is how many scans' endpoint postures are read per store call;
	// 500 when zero. It bounds the memory a scrape needs after a restart.
	Batch int
	// Logger receives store errors; slog.Default() when nil.
	Logger *slog.Logger
	// Interval returns the longest a target waits between scheduled scans
	// (0: it is not scanned on a schedule), exported per endpoint so that
	// alerts judge each by its own schedule; nil exports none.
	// (*jobs.Queue).Interval is one.
	Interval func(store.Target) time.Duration
}

func (c PostureConfig) withDefaults() PostureConfig {
	if c.Detail == "" {
		c.Detail = DetailFull
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Batch == 0 {
		c.Batch = 500
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (c PostureConfig) validate() error {
	var errs []error
	if _, err := ParseDetail(string(c.Detail)); err != nil {
		errs = append(errs, err)
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("metrics timeout must not be negative"))
	}
	if c.Batch < 0 {
		errs = append(errs, fmt.Errorf("metrics batch must not be negative"))
	}
	return errors.Join(errs...)
}

// PostureCollector is a prometheus.Collector that computes the estate's
// posture at scrape time from the store's latest results, so that every
// replica reports the same numbers, also right after a restart.
//
// Measurements come from each endpoint's last successful scan and stay
// while later scans fail. They are derived from the endpoints' postures
// (store.EndpointPosture), which the store keeps apart from the documents
// they come from; and because a finished scan never changes, what is
// derived is cached by scan ID: a scrape reads the scan states (one query)
// and only the postures of scans it has not seen. Prime fills the cache
// before the first scrape.
//
// Through the registry it sends its health and the fleet summaries; the
// per-endpoint series of full detail are written by Handler, from what
// Collect read at the same gathering, in the text format: a gatherer other
// than Handler sees no per-endpoint series.
type PostureCollector struct {
	src store.PostureStore
	cfg PostureConfig
	d   postureDescs
	// gathering serialises Handler's gatherings, so that the entries a
	// scrape writes are those its own Collect read.
	gathering sync.Mutex
	mu        sync.Mutex // one snapshot at a time; guards cache and pending
	cache     map[int64]*measured
	// pending are the entries of the last Collect in full detail, nil
	// when it exported no per-endpoint series.
	pending []entry
}

// NewPostureCollector returns a collector over src.
func NewPostureCollector(src store.PostureStore, cfg PostureConfig) (*PostureCollector, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &PostureCollector{src: src, cfg: cfg, d: newPostureDescs(), cache: map[int64]*measured{}}, nil
}

// RegisterPosture creates a posture collector over src and registers it.
// Serve reg with Handler(reg, c) to export the per-endpoint series too.
func RegisterPosture(reg prometheus.Registerer, src store.PostureStore, cfg PostureConfig) (*PostureCollector, error) {
	c, err := NewPostureCollector(src, cfg)
	if err != nil {
		return nil, err
	}
	if err := reg.Register(c); err != nil {
		return nil, fmt.Errorf("register posture collector: %w", err)
	}
	return c, nil
}

// Describe sends the descriptors of every metric the collector can export,
// the per-endpoint ones included.
func (c *PostureCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.d.all() {
		ch <- d
	}
}

// Collect reads the store and sends the collector's health and the fleet
// summaries; in full detail it keeps what it read for Handler to write the
// per-endpoint series. When the store cannot be read it sends
// tlswarden_posture_collect_success 0 and nothing else, so stale numbers
// are never served as fresh.
func (c *PostureCollector) Collect(ch chan<- prometheus.Metric) {
	start := time.Now()
	// A scrape is the root of this call path: the registry hands Collect no
	// context, so the timeout starts here.
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	entries, err := c.snapshot(ctx)
	success := 1.0
	if err != nil {
		c.cfg.Logger.Error("posture metrics: reading the store failed", "err", err)
		success = 0
	} else {
		c.emitFleet(ch, entries)
	}
	if c.cfg.Detail != DetailFull {
		entries = nil
	}
	c.setPending(entries)
	ch <- prometheus.MustNewConstMetric(c.d.up, prometheus.GaugeValue, success)
	ch <- prometheus.MustNewConstMetric(c.d.duration, prometheus.GaugeValue, time.Since(start).Seconds())
}

// Prime reads the store as a scrape does and caches what it derives, so
// that the first scrape after a start costs what any later one does; a
// scrape that arrives meanwhile waits for it and then reads only the scan
// states. Its reads are bounded by Timeout, as a scrape's are. It returns
// how many enabled targets have measurements.
func (c *PostureCollector) Prime(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	entries, err := c.snapshot(ctx)
	n := 0
	for _, e := range entries {
		if e.m != nil {
			n++
		}
	}
	return n, err
}

func (c *PostureCollector) setPending(entries []entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = entries
}

func (c *PostureCollector) takePending() []entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	entries := c.pending
	c.pending = nil
	return entries
}

// gathered runs gather, which gathers a registry c is registered with,
// and returns the entries c's Collect read at that gathering: nil in
// summary detail, when the store could not be read, or when gather did not
// call c. Gatherings through gathered run one at a time.
func (c *PostureCollector) gathered(gather func()) []entry {
	c.gathering.Lock()
	defer c.gathering.Unlock()
	c.setPending(nil)
	gather()
	return c.takePending()
}

// writeEndpoints writes the per-endpoint families of entries.
func (c *PostureCollector) writeEndpoints(t *textWriter, entries []entry) error {
	return writeEndpoints(t, c.d.perEndpoint, entries)
}

// entry is one enabled target with what its last successful scan measured
// (nil when it has none).
type entry struct {
	state *store.ScanState
	m     *measured
	// interval is how long the target may wait between scheduled scans,
	// 0 when it is not scheduled or unknown.
	interval time.Duration
}

// snapshot reads the scan states and derives the measurements of the scans
// not yet cached; the cache keeps only the scans still referenced.
func (c *PostureCollector) snapshot(ctx context.Context) ([]entry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	states, err := c.src.ListScanStates(ctx)
	if err != nil {
		return nil, err
	}
	var missing []int64
	for _, st := range states {
		if id := st.LastSuccess.ID; id != 0 && st.Target.Enabled && c.cache[id] == nil {
			missing = append(missing, id)
		}
	}
	fresh, err := c.measureScans(ctx, missing)
	if err != nil {
		return nil, err
	}
	next := make(map[int64]*measured, len(states))
	entries := make([]entry, 0, len(states))
	for i := range states {
		st := &states[i]
		if !st.Target.Enabled {
			continue
		}
		id := st.LastSuccess.ID
		m := c.cache[id]
		if m == nil {
			m = fresh[id]
		}
		if id != 0 && m != nil {
			next[id] = m
		}
		e := entry{state: st, m: m}
		if c.cfg.Interval != nil {
			e.interval = c.cfg.Interval(st.Target)
		}
		entries = append(entries, e)
	}
	c.cache = next
	return entries, nil
}

// measureScans reads the endpoint postures of the given scans in batches
// and derives their measurements.
func (c *PostureCollector) measureScans(ctx context.Context, ids []int64) (map[int64]*measured, error) {
	out := make(map[int64]*measured, len(ids))
	var scratch measureScratch
	for batch := range slices.Chunk(ids, c.cfg.Batch) {
		eps, err := c.src.ListEndpointPostures(ctx, batch)
		if err != nil {
			return nil, err
		}
		for len(eps) > 0 {
			n := 1
			for n < len(eps) && eps[n].ScanID == eps[0].ScanID {
				n++
			}
			out[eps[0].ScanID] = measure(eps[:n], &scratch)
			eps = eps[n:]
		}
	}
	return out, nil
}

// gauge sends one gauge sample.
func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func timestamp(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
