package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
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
	// Batch is how many scans' documents are read per store call; 500 when
	// zero. It bounds the memory a scrape needs after a restart.
	Batch int
	// Logger receives store errors; slog.Default() when nil.
	Logger *slog.Logger
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
// while later scans fail. Because a finished scan never changes, what is
// derived from its documents is cached by scan ID: a scrape reads the scan
// states (one query) and only the documents of scans it has not seen.
type PostureCollector struct {
	src   store.PostureStore
	cfg   PostureConfig
	d     postureDescs
	mu    sync.Mutex // one scrape at a time; guards cache
	cache map[int64]*measured
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

// Describe sends the descriptors of every metric the collector can export.
func (c *PostureCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.d.all() {
		ch <- d
	}
}

// Collect reads the store and sends the posture metrics. When the store
// cannot be read it sends tlswarden_posture_collect_success 0 and nothing
// else, so stale numbers are never served as fresh.
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
		if c.cfg.Detail == DetailFull {
			for i := range entries {
				c.emitEndpoint(ch, &entries[i])
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(c.d.up, prometheus.GaugeValue, success)
	ch <- prometheus.MustNewConstMetric(c.d.duration, prometheus.GaugeValue, time.Since(start).Seconds())
}

// entry is one enabled target with what its last successful scan measured
// (nil when it has none).
type entry struct {
	state store.ScanState
	m     *measured
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
		if id := st.LastSuccess.ID; id != 0 && c.cache[id] == nil {
			missing = append(missing, id)
		}
	}
	fresh, err := c.measureScans(ctx, missing)
	if err != nil {
		return nil, err
	}
	next := make(map[int64]*measured, len(states))
	entries := make([]entry, 0, len(states))
	for _, st := range states {
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
		entries = append(entries, entry{state: st, m: m})
	}
	c.cache = next
	return entries, nil
}

// measureScans reads the documents of the given scans in batches and
// derives their measurements.
func (c *PostureCollector) measureScans(ctx context.Context, ids []int64) (map[int64]*measured, error) {
	out := make(map[int64]*measured, len(ids))
	for batch := range slices.Chunk(ids, c.cfg.Batch) {
		eps, err := c.src.ListScanEndpoints(ctx, batch)
		if err != nil {
			return nil, err
		}
		for len(eps) > 0 {
			n := 1
			for n < len(eps) && eps[n].ScanID == eps[0].ScanID {
				n++
			}
			out[eps[0].ScanID] = measure(eps[:n])
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

// emitEndpoint sends one endpoint's series.
func (c *PostureCollector) emitEndpoint(ch chan<- prometheus.Metric, e *entry) {
	d, st := &c.d, &e.state
	ep, org := st.Target.String(), st.Target.Owner
	profile := ""
	if e.m != nil {
		profile = e.m.profile
	}
	gauge(ch, d.info, 1, ep, org, st.Target.Host, strconv.Itoa(st.Target.Port), string(st.Target.Kind), profile)
	gauge(ch, d.scanSuccess, bool01(st.Latest.ID != 0 && st.LatestFailure == ""), ep, org)
	if st.Latest.ID != 0 {
		gauge(ch, d.lastScan, timestamp(st.Latest.Finished), ep, org)
	}
	if st.LatestFailure != "" {
		gauge(ch, d.scanError, 1, ep, org, string(st.LatestFailure))
	}
	if e.m == nil {
		return
	}
	gauge(ch, d.lastSuccessful, timestamp(st.LastSuccess.Finished), ep, org)
	c.emitMeasured(ch, e.m, ep, org)
}

// emitMeasured sends the measurements of an endpoint's last successful
// scan.
func (c *PostureCollector) emitMeasured(ch chan<- prometheus.Metric, m *measured, ep, org string) {
	d := &c.d
	gauge(ch, d.addresses, float64(m.ipv4), ep, org, "ipv4")
	gauge(ch, d.addresses, float64(m.ipv6), ep, org, "ipv6")
	gauge(ch, d.inconsistent, bool01(m.inconsistent), ep, org)
	if m.evaluated {
		gauge(ch, d.compliant, bool01(m.compliance == "compliant"), ep, org, m.profile)
	}
	if m.grade != "" {
		gauge(ch, d.grade, gradeValues[m.grade], ep, org)
	}
	if m.headerScored {
		gauge(ch, d.headerScore, m.headerScore, ep, org)
	}
	c.emitTLS(ch, m, ep, org)
	c.emitCert(ch, m.cert, ep, org)
}

func (c *PostureCollector) emitTLS(ch chan<- prometheus.Metric, m *measured, ep, org string) {
	d := &c.d
	if !m.tlsMeasured {
		return
	}
	for i, v := range m.versions {
		if v >= 0 {
			gauge(ch, d.versionSupported, float64(v), ep, org, versionLabels[i])
		}
	}
	if m.minVer >= 0 {
		gauge(ch, d.minVersion, versionValues[m.minVer], ep, org)
		gauge(ch, d.maxVersion, versionValues[m.maxVer], ep, org)
	}
	// A class with no suite is left out: most endpoints accept one or two
	// of the nine classes, and an absent class reads as 0 in PromQL with
	// `or vector(0)`, so the series count stays near what is accepted.
	for i, n := range m.suites {
		if n > 0 {
			gauge(ch, d.suites, float64(n), ep, org, suiteClasses[i])
		}
	}
}

func (c *PostureCollector) emitCert(ch chan<- prometheus.Metric, cm *certMeasure, ep, org string) {
	d := &c.d
	if cm == nil {
		return
	}
	gauge(ch, d.notBefore, cm.notBefore, ep, org)
	gauge(ch, d.notAfter, cm.notAfter, ep, org)
	if cm.chainNotAfter > 0 {
		gauge(ch, d.chainNotAfter, cm.chainNotAfter, ep, org)
	}
	gauge(ch, d.verified, bool01(cm.verified), ep, org)
	for _, r := range cm.reasons {
		gauge(ch, d.verifyError, 1, ep, org, r)
	}
}
