package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tlswarden/tlswarden"
)

// StatusRunning is the status of a scan that has not finished.
const StatusRunning tlswarden.Status = "running"

// Trigger says why a scan was started.
type Trigger string

// The reasons a scan starts.
const (
	TriggerSchedule Trigger = "schedule" // the periodic job
	TriggerRequest  Trigger = "request"  // someone asked through the API or CLI
	// TriggerReevaluation: no new scan; the latest report judged again
	// because a waiver covering the target changed.
	TriggerReevaluation Trigger = "reevaluation"
)

// MaxRequestedByLen bounds Scan.RequestedBy, in characters.
const MaxRequestedByLen = 100

// Scan is one scan of one target.
type Scan struct {
	ID          int64     `json:"id"`
	TargetID    int64     `json:"target_id"`
	Trigger     Trigger   `json:"trigger"`
	RequestedBy string    `json:"requested_by,omitempty"` // who asked, for TriggerRequest
	Started     time.Time `json:"started"`
	// Finished is zero while the scan runs.
	Finished time.Time `json:"finished,omitzero"`
	// Status is StatusRunning until the scan finishes, then how it ended:
	// the Report's status.
	Status tlswarden.Status `json:"status"`
	Error  string           `json:"error,omitempty"`
	// Profile and Compliance are the evaluation's profile name and verdict,
	// empty while running or when the report was not evaluated.
	Profile    string               `json:"profile,omitempty"`
	Compliance tlswarden.Compliance `json:"compliance,omitempty"`
}

// Running reports whether the scan has not finished.
func (s Scan) Running() bool { return s.Finished.IsZero() }

// Normalize returns s as CreateScan stores it: running, started at now when
// Started is zero, triggered by request when Trigger is empty.
func (s Scan) Normalize(now time.Time) (Scan, error) {
	if s.TargetID <= 0 {
		return s, invalid("target_id", "must be a target's ID")
	}
	switch s.Trigger {
	case "":
		s.Trigger = TriggerRequest
	case TriggerSchedule, TriggerRequest, TriggerReevaluation:
	default:
		return s, invalid("trigger", "unknown trigger %q", s.Trigger)
	}
	if err := CheckText("requested_by", s.RequestedBy, MaxRequestedByLen); err != nil {
		return s, err
	}
	if s.Started.IsZero() {
		s.Started = now
	}
	s.Started = Timestamp(s.Started)
	s.Finished, s.Status, s.Error, s.Profile, s.Compliance = time.Time{}, StatusRunning, "", "", ""
	return s, nil
}

// ScanFilter selects scans; its zero value selects all.
type ScanFilter struct {
	TargetID int64 // scans of one target
	Limit    int   // at most this many; 0 means no limit
}

// ScanResult is how a scan ended: what FinishScan stores and GetScanResult
// returns.
type ScanResult struct {
	// Report holds the facts; its Finished, Status and Error become the
	// scan's.
	Report tlswarden.Report `json:"report"`
	// Evaluation is the policy's judgement of Report, nil if it was not
	// judged. It has one endpoint evaluation per report endpoint, in the
	// same order, as policy.Evaluate returns it.
	Evaluation *tlswarden.Evaluation `json:"evaluation,omitempty"`
	// Events say what changed since the previous scan; the store sets their
	// TargetID and ScanID.
	Events []Event `json:"events,omitempty"`
}

// Normalize returns r as FinishScan stores it, or a *ValidationError: the
// finish time in UTC to the microsecond, each event's time defaulted to it
// and its details to {}.
func (r ScanResult) Normalize() (ScanResult, error) {
	rep := r.Report
	if rep.Finished.IsZero() {
		return r, invalid("report.finished", "required")
	}
	rep.Finished = Timestamp(rep.Finished)
	if rep.Status == "" || rep.Status == StatusRunning {
		return r, invalid("report.status", "must say how the scan ended, not %q", rep.Status)
	}
	for i := range rep.Endpoints {
		if err := checkEndpoint(fmt.Sprintf("report.endpoints[%d]", i), &rep.Endpoints[i]); err != nil {
			return r, err
		}
	}
	if err := checkEvaluation(r.Evaluation, rep.Endpoints); err != nil {
		return r, err
	}
	evs := make([]Event, len(r.Events))
	for i, ev := range r.Events {
		var err error
		if evs[i], err = ev.normalize(fmt.Sprintf("events[%d]", i), rep.Finished); err != nil {
			return r, err
		}
	}
	r.Report, r.Events = rep, evs
	return r, nil
}

func checkEndpoint(field string, e *tlswarden.EndpointReport) error {
	if !e.Endpoint.Addr.IsValid() {
		return invalid(field+".endpoint.address", "required")
	}
	if e.Status == "" {
		return invalid(field+".status", "required")
	}
	return nil
}

func checkEvaluation(ev *tlswarden.Evaluation, eps []tlswarden.EndpointReport) error {
	if ev == nil {
		return nil
	}
	if len(ev.Endpoints) != len(eps) {
		return invalid("evaluation.endpoints", "%d evaluations for %d endpoints", len(ev.Endpoints), len(eps))
	}
	for i, ee := range ev.Endpoints {
		field := fmt.Sprintf("evaluation.endpoints[%d]", i)
		if ee.Endpoint != eps[i].Endpoint {
			return invalid(field+".endpoint", "%s, but report endpoint %d is %s", ee.Endpoint, i, eps[i].Endpoint)
		}
		for j, f := range ee.Findings {
			switch {
			case f.RuleID == "":
				return invalid(fmt.Sprintf("%s.findings[%d].rule", field, j), "required")
			case f.Outcome == "":
				return invalid(fmt.Sprintf("%s.findings[%d].outcome", field, j), "required")
			}
		}
	}
	return nil
}

// NeedsAttention reports whether a finding is one ListFindings lists: a
// failure, or a rule that could not be evaluated. Passes and rules that do
// not apply are kept only in the endpoint's evaluation.
func NeedsAttention(f tlswarden.Finding) bool {
	return f.Outcome == tlswarden.RuleFail || f.Outcome == tlswarden.RuleNotEvaluated
}

// VersionRange returns the oldest and newest versions r says the endpoint
// accepted, or zeros when it accepted none or was not probed.
func VersionRange(r *tlswarden.TLSResult) (lo, hi tlswarden.Version) {
	if r == nil {
		return 0, 0
	}
	for _, v := range r.Versions {
		if !v.Supported {
			continue
		}
		if lo == 0 || v.Version < lo {
			lo = v.Version
		}
		if v.Version > hi {
			hi = v.Version
		}
	}
	return lo, hi
}

// EventKind names a change between two scans of a target.
type EventKind string

// The changes the history records.
const (
	EventFindingOpened   EventKind = "finding_opened"
	EventFindingResolved EventKind = "finding_resolved"
	EventVersionAdded    EventKind = "version_added"
	EventVersionRemoved  EventKind = "version_removed"
	EventGradeChanged    EventKind = "grade_changed"
	EventCertReplaced    EventKind = "cert_replaced"
)

// Event is one change in a target's history.
type Event struct {
	ID       int64     `json:"id"`
	TargetID int64     `json:"target_id"`
	ScanID   int64     `json:"scan_id,omitempty"` // 0 once retention deleted the scan
	Kind     EventKind `json:"kind"`
	// Regression is true when the change makes things worse: a finding
	// opened, an old version accepted again, a lower grade.
	Regression bool            `json:"regression"`
	Details    json.RawMessage `json:"details"`
	At         time.Time       `json:"at"`
}

func (e Event) normalize(field string, finished time.Time) (Event, error) {
	if e.Kind == "" {
		return e, invalid(field+".kind", "required")
	}
	if e.At.IsZero() {
		e.At = finished
	}
	e.At = Timestamp(e.At)
	if len(bytes.TrimSpace(e.Details)) == 0 {
		e.Details = json.RawMessage(`{}`)
	}
	if !json.Valid(e.Details) {
		return e, invalid(field+".details", "not valid JSON")
	}
	return e, nil
}

// EventFilter selects events; its zero value selects all.
type EventFilter struct {
	Since      time.Time   // events at or after this time
	TargetID   int64       // events of one target
	Kinds      []EventKind // events of these kinds
	Regression bool        // only regressions
	AfterID    int64       // events with a greater ID: the next page
	Limit      int         // at most this many; 0 means no limit
}

// FindingFilter selects findings of each target's latest scan that need
// attention (see NeedsAttention); its zero value selects all of them. A
// slice matches any of its values.
type FindingFilter struct {
	Severities  []tlswarden.Severity
	MinSeverity tlswarden.Severity // findings at least this severe
	RuleIDs     []string
	Outcomes    []tlswarden.RuleOutcome
	Owner       string // targets with this owner
	Tag         string // targets with this tag
	TargetID    int64  // one target
	Waived      *bool  // only waived (true) or not waived (false) findings
	AfterID     int64  // findings with a greater ID: the next page
	Limit       int    // at most this many; 0 means no limit
}

// EstateFinding is a finding that needs attention, as listed across the
// estate: on which target, endpoint and scan it was found.
type EstateFinding struct {
	ID int64 `json:"id"`
	tlswarden.Finding
	TargetID     int64              `json:"target_id"`
	Target       tlswarden.Target   `json:"target"`
	Endpoint     tlswarden.Endpoint `json:"endpoint"`
	ScanID       int64              `json:"scan_id"`
	ScanFinished time.Time          `json:"scan_finished"`
}

// EndpointFilter selects endpoints, of each target's latest scan or of one
// scan; its zero value selects every endpoint of every latest scan.
type EndpointFilter struct {
	ScanID      int64                  // endpoints of this scan instead
	ScanIDs     []int64                // endpoints of these scans instead (ScanID unset)
	TargetID    int64                  // one target
	Owner       string                 // targets with this owner
	Tag         string                 // targets with this tag
	Statuses    []tlswarden.Status     // how the endpoint's scan ended
	Compliances []tlswarden.Compliance // the policy's verdicts
	Grades      []string               // grade letters
	// AcceptsBelow selects endpoints whose oldest accepted version is older
	// than this: TLS12 finds those still accepting TLS 1.1 or older.
	AcceptsBelow tlswarden.Version
	Limit        int // at most this many; 0 means no limit
}

// EndpointSummary is one endpoint of a scan in the columns the store
// derives from its report and evaluation, without the documents
// themselves; GetScanResult returns those.
type EndpointSummary struct {
	ScanID       int64              `json:"scan_id"`
	ScanFinished time.Time          `json:"scan_finished"`
	TargetID     int64              `json:"target_id"`
	Target       tlswarden.Target   `json:"target"`
	Endpoint     tlswarden.Endpoint `json:"endpoint"`
	Status       tlswarden.Status   `json:"status"`
	// MinVersion and MaxVersion are the oldest and newest versions the
	// endpoint accepted, 0 if none or not probed.
	MinVersion tlswarden.Version    `json:"min_version,omitempty"`
	MaxVersion tlswarden.Version    `json:"max_version,omitempty"`
	Grade      string               `json:"grade,omitempty"`
	Compliance tlswarden.Compliance `json:"compliance,omitempty"`
	Profile    string               `json:"profile,omitempty"`
}

// Timestamp returns t as the store keeps times: UTC, to the microsecond.
func Timestamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
