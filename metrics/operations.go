package metrics

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tlswarden/tlswarden"
)

// Scan results, the result label of tlswarden_scans_total.
const (
	ScanSuccess  = "success"  // every endpoint scanned
	ScanPartial  = "partial"  // some endpoints scanned, some failed
	ScanFailed   = "failed"   // nothing scanned: DNS, every endpoint unreachable, ...
	ScanCanceled = "canceled" // stopped before it ended
)

// Operations are the scanner's and the job workers' own metrics: counters
// and histograms that live in the process that does the work, unlike the
// posture, which is read from the store. The scanner and the jobs call its
// methods; a nil *Operations does nothing, so code under test needs none.
type Operations struct {
	scanDuration *prometheus.HistogramVec
	scans        *prometheus.CounterVec
	connections  prometheus.Counter
	probes       *prometheus.CounterVec
	dnsFailures  prometheus.Counter
	jobErrors    *prometheus.CounterVec
	storeLatency *prometheus.HistogramVec
}

// NewOperations creates the operational metrics and registers them with reg.
func NewOperations(reg prometheus.Registerer) (*Operations, error) {
	o := &Operations{
		scanDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tlswarden_scan_duration_seconds",
			Help:    "Time taken by one scan of one target, all its endpoints, by result.",
			Buckets: prometheus.ExponentialBuckets(0.25, 2, 14), // 0.25 s to about 34 min
		}, []string{"result"}),
		scans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tlswarden_scans_total",
			Help: "Scans of targets finished by this process, by result: success, partial, failed, canceled.",
		}, []string{"result"}),
		connections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tlswarden_scanner_connections_total",
			Help: "TCP connections opened by the probes of this process (each carries one TLS ClientHello or HTTP exchange).",
		}),
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tlswarden_scanner_probes_total",
			Help: "Probe runs on endpoints by probe (tls, certificate, http, ...) and status (ok, refused, timeout, reset, unreachable, protocol_error, handshake_error, canceled, error).",
		}, []string{"probe", "status"}),
		dnsFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tlswarden_scanner_dns_failures_total",
			Help: "Scans whose target name could not be resolved.",
		}),
		jobErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tlswarden_job_errors_total",
			Help: "Background jobs that returned an error, by job kind.",
		}, []string{"kind"}),
		storeLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tlswarden_store_operation_duration_seconds",
			Help:    "Time taken by store operations, by operation.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10), // 0.5 ms to about 2 min
		}, []string{"operation"}),
	}
	for _, r := range []string{ScanSuccess, ScanPartial, ScanFailed, ScanCanceled} {
		o.scans.WithLabelValues(r)
		o.scanDuration.WithLabelValues(r)
	}
	for _, c := range []prometheus.Collector{o.scanDuration, o.scans, o.connections, o.probes, o.dnsFailures, o.jobErrors, o.storeLatency} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register operational metrics: %w", err)
		}
	}
	return o, nil
}

// ScanResult classifies a finished report for tlswarden_scans_total.
func ScanResult(r *tlswarden.Report) string {
	if r.Status == tlswarden.StatusCanceled {
		return ScanCanceled
	}
	ok := 0
	for _, e := range r.Endpoints {
		if e.Status == tlswarden.StatusOK {
			ok++
		}
	}
	switch {
	case r.Status != tlswarden.StatusOK || ok == 0:
		return ScanFailed
	case ok < len(r.Endpoints):
		return ScanPartial
	}
	return ScanSuccess
}

// ObserveScan records one finished scan: its result and duration, the
// connections its probes opened, each probe's status, a DNS failure.
func (o *Operations) ObserveScan(r *tlswarden.Report) {
	if o == nil {
		return
	}
	result := ScanResult(r)
	o.scans.WithLabelValues(result).Inc()
	if !r.Finished.IsZero() && !r.Started.IsZero() {
		o.scanDuration.WithLabelValues(result).Observe(r.Finished.Sub(r.Started).Seconds())
	}
	if r.Status == tlswarden.StatusDNSError {
		o.dnsFailures.Inc()
	}
	for _, e := range r.Endpoints {
		o.connections.Add(float64(e.Connections))
		for _, p := range e.Probes {
			o.probes.WithLabelValues(p.Name, string(p.Status)).Inc()
		}
	}
}

// JobError counts a failed job of the given kind (a River job kind: a
// bounded set).
func (o *Operations) JobError(kind string) {
	if o == nil {
		return
	}
	o.jobErrors.WithLabelValues(kind).Inc()
}

// ObserveStore records how long a store operation took since start; use
// it as `defer ops.ObserveStore("finish_scan", time.Now())`.
func (o *Operations) ObserveStore(operation string, start time.Time) {
	if o == nil {
		return
	}
	o.storeLatency.WithLabelValues(operation).Observe(time.Since(start).Seconds())
}

// RegisterQueueDepth registers tlswarden_job_queue_depth, read from depth
// at every scrape: the number of jobs waiting to run. depth must be cheap
// and must not block for long (a COUNT over the queue's available jobs).
func RegisterQueueDepth(reg prometheus.Registerer, depth func() float64) error {
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tlswarden_job_queue_depth",
		Help: "Jobs waiting in the queue to run, read at scrape time.",
	}, depth)
	if err := reg.Register(g); err != nil {
		return fmt.Errorf("register queue depth: %w", err)
	}
	return nil
}
