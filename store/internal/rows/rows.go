// Package rows turns a scan result into the rows the stores write, and the
// rows they read back into a result, so that every store derives the same
// columns in the same way.
package rows

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

// Scan is what a finished scan adds to its row in the scans table.
type Scan struct {
	Finished   time.Time
	Status     tlswarden.Status
	Error      string
	Profile    string
	Compliance tlswarden.Compliance
	Report     []byte // the Report without its endpoints, as JSON
	Evaluation []byte // the Evaluation without its endpoints; nil if none
	// Postures is each endpoint's store.EndpointPosture, in order, in
	// EncodePostures's encoding: the scan's row in scan_postures.
	Postures []byte
}

// Endpoint is one row of the endpoint_reports table.
type Endpoint struct {
	Ordinal                int
	Address, Hostname      string
	Status                 tlswarden.Status
	MinVersion, MaxVersion tlswarden.Version // 0 is stored as NULL
	Grade                  string
	Compliance             tlswarden.Compliance
	Profile                string
	Report                 []byte // JSON
	Evaluation             []byte // JSON; nil if not evaluated
}

// Finding is one row of the findings table.
type Finding struct {
	Ordinal int // the endpoint's
	tlswarden.Finding
	Waiver []byte // JSON; nil if none
}

// Split returns the rows that store r, which must be normalised.
func Split(r store.ScanResult) (Scan, []Endpoint, []Finding, error) {
	sc, err := scanRow(r)
	if err != nil {
		return sc, nil, nil, err
	}
	eps := make([]Endpoint, len(r.Report.Endpoints))
	postures := make([]store.EndpointPosture, len(eps))
	var fs []Finding
	for i := range eps {
		var ee *tlswarden.EndpointEvaluation
		if r.Evaluation != nil {
			ee = &r.Evaluation.Endpoints[i]
		}
		if eps[i], err = endpointRow(i, &r.Report.Endpoints[i], ee, sc.Profile); err != nil {
			return sc, nil, nil, err
		}
		if fs, err = appendFindings(fs, i, ee); err != nil {
			return sc, nil, nil, err
		}
		postures[i] = store.PostureOf(&r.Report.Endpoints[i], ee, eps[i].Profile)
	}
	sc.Postures = EncodePostures(postures)
	return sc, eps, fs, nil
}

func scanRow(r store.ScanResult) (Scan, error) {
	rep := r.Report
	rep.Endpoints = nil
	sc := Scan{Finished: rep.Finished, Status: rep.Status, Error: rep.Error}
	var err error
	if sc.Report, err = json.Marshal(rep); err != nil {
		return sc, fmt.Errorf("encode report: %w", err)
	}
	if r.Evaluation == nil {
		return sc, nil
	}
	ev := *r.Evaluation
	ev.Endpoints = nil
	sc.Profile, sc.Compliance = ev.Profile.Name, ev.Compliance
	if sc.Evaluation, err = json.Marshal(ev); err != nil {
		return sc, fmt.Errorf("encode evaluation: %w", err)
	}
	return sc, nil
}

func endpointRow(i int, rep *tlswarden.EndpointReport, ee *tlswarden.EndpointEvaluation, profile string) (Endpoint, error) {
	e := Endpoint{Ordinal: i, Address: rep.Endpoint.Addr.String(), Hostname: rep.Endpoint.Host, Status: rep.Status}
	e.MinVersion, e.MaxVersion = store.VersionRange(rep.TLS)
	var err error
	if e.Report, err = json.Marshal(rep); err != nil {
		return e, fmt.Errorf("encode report of endpoint %s: %w", rep.Endpoint, err)
	}
	if ee == nil {
		return e, nil
	}
	e.Compliance, e.Profile = ee.Compliance, profile
	if ee.Grade != nil {
		e.Grade = ee.Grade.Letter
	}
	if e.Evaluation, err = json.Marshal(ee); err != nil {
		return e, fmt.Errorf("encode evaluation of endpoint %s: %w", rep.Endpoint, err)
	}
	return e, nil
}

func appendFindings(fs []Finding, ordinal int, ee *tlswarden.EndpointEvaluation) ([]Finding, error) {
	if ee == nil {
		return fs, nil
	}
	for _, f := range ee.Findings {
		if !store.NeedsAttention(f) {
			continue
		}
		row := Finding{Ordinal: ordinal, Finding: f}
		if f.Waiver != nil {
			b, err := json.Marshal(f.Waiver)
			if err != nil {
				return nil, fmt.Errorf("encode waiver of %s: %w", f.RuleID, err)
			}
			row.Waiver = b
		}
		fs = append(fs, row)
	}
	return fs, nil
}

// Join rebuilds a result, without its events, from the JSON columns of a
// scan and of its endpoints in order.
func Join(report, evaluation []byte, endpointReports, endpointEvaluations [][]byte) (store.ScanResult, error) {
	var r store.ScanResult
	if err := json.Unmarshal(report, &r.Report); err != nil {
		return r, fmt.Errorf("decode report: %w", err)
	}
	r.Report.Endpoints = make([]tlswarden.EndpointReport, len(endpointReports))
	for i, b := range endpointReports {
		if err := json.Unmarshal(b, &r.Report.Endpoints[i]); err != nil {
			return r, fmt.Errorf("decode report of endpoint %d: %w", i, err)
		}
	}
	if evaluation == nil {
		return r, nil
	}
	r.Evaluation = new(tlswarden.Evaluation)
	if err := json.Unmarshal(evaluation, r.Evaluation); err != nil {
		return r, fmt.Errorf("decode evaluation: %w", err)
	}
	r.Evaluation.Endpoints = make([]tlswarden.EndpointEvaluation, len(endpointEvaluations))
	for i, b := range endpointEvaluations {
		if err := json.Unmarshal(b, &r.Evaluation.Endpoints[i]); err != nil {
			return r, fmt.Errorf("decode evaluation of endpoint %d: %w", i, err)
		}
	}
	return r, nil
}

// EndpointReport decodes one endpoint's stored report and evaluation
// (nil when evaluation is).
func EndpointReport(report, evaluation []byte) (tlswarden.EndpointReport, *tlswarden.EndpointEvaluation, error) {
	var r tlswarden.EndpointReport
	if err := json.Unmarshal(report, &r); err != nil {
		return r, nil, fmt.Errorf("decode endpoint report: %w", err)
	}
	if evaluation == nil {
		return r, nil, nil
	}
	ev := new(tlswarden.EndpointEvaluation)
	if err := json.Unmarshal(evaluation, ev); err != nil {
		return r, nil, fmt.Errorf("decode endpoint evaluation: %w", err)
	}
	return r, ev, nil
}

// Succeeded says whether a scan counts as its target's success
// (store.ScanState.LastSuccess): its status is ok and it scanned at least
// one endpoint.
func Succeeded(sc Scan, eps []Endpoint) bool {
	if sc.Status != tlswarden.StatusOK {
		return false
	}
	for _, e := range eps {
		if e.Status == tlswarden.StatusOK {
			return true
		}
	}
	return false
}
