package api

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

func (s *Server) listEndpoints(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := store.EndpointFilter{
		TargetID:     q.id("target_id"),
		Owner:        q.str("owner"),
		Tag:          q.str("tag"),
		Grades:       q.list("grade"),
		AcceptsBelow: q.version("accepts_below"),
		Limit:        q.limit(),
	}
	f.Compliances = q.compliances("compliance")
	for _, st := range q.word("status") {
		f.Statuses = append(f.Statuses, tlswarden.Status(st))
	}
	if q.err != nil {
		return q.err
	}
	eps, err := s.cfg.Store.ListEndpoints(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"endpoints": nonNil(eps)})
}

func (s *Server) listFindings(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := store.FindingFilter{
		Severities:  q.severities("severity"),
		MinSeverity: q.severity("min_severity"),
		RuleIDs:     q.list("rule"),
		Outcomes:    q.outcomes("outcome"),
		Owner:       q.str("owner"),
		Tag:         q.str("tag"),
		TargetID:    q.id("target_id"),
		Waived:      q.boolPtr("waived"),
		AfterID:     q.id("after_id"),
		Limit:       q.limit(),
	}
	if q.err != nil {
		return q.err
	}
	fs, err := s.cfg.Store.ListFindings(r.Context(), f)
	if err != nil {
		return err
	}
	out := map[string]any{"findings": nonNil(fs)}
	if len(fs) == f.Limit {
		out["next_after_id"] = fs[len(fs)-1].ID
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) error {
	return s.writeEvents(w, r, false)
}

func (s *Server) listRegressions(w http.ResponseWriter, r *http.Request) error {
	return s.writeEvents(w, r, true)
}

func (s *Server) writeEvents(w http.ResponseWriter, r *http.Request, regressions bool) error {
	q := newQuery(r)
	f := store.EventFilter{
		Since:    q.time("since", time.Now()),
		TargetID: q.id("target_id"),
		Kinds:    q.kinds("kind"),
		AfterID:  q.id("after_id"),
		Limit:    q.limit(),
	}
	if b := q.boolPtr("regression"); b != nil {
		f.Regression = *b
	}
	f.Regression = f.Regression || regressions
	if q.err != nil {
		return q.err
	}
	evs, err := s.cfg.Store.ListEvents(r.Context(), f)
	if err != nil {
		return err
	}
	out := map[string]any{"events": nonNil(evs)}
	if len(evs) == f.Limit {
		out["next_after_id"] = evs[len(evs)-1].ID
	}
	return writeJSON(w, http.StatusOK, out)
}

// postureColumns are the posture export's columns, one row per endpoint
// of each target's latest scan and one per target never scanned.
var postureColumns = []string{
	"target_id", "host", "port", "owner", "tags", "enabled", "address", "hostname",
	"status", "min_version", "max_version", "grade", "compliance", "profile",
	"failed_findings", "worst_severity", "scan_id", "scan_finished", "addresses_drift",
}

func (s *Server) postureCSV(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := newQuery(r)
	tf := store.TargetFilter{Owner: q.str("owner"), Tag: q.str("tag")}
	if q.err != nil {
		return q.err
	}
	targets, err := s.cfg.Store.ListTargets(ctx, tf)
	if err != nil {
		return err
	}
	eps, err := s.cfg.Store.ListEndpoints(ctx, store.EndpointFilter{Owner: tf.Owner, Tag: tf.Tag})
	if err != nil {
		return err
	}
	fails, err := s.failures(r, tf)
	if err != nil {
		return err
	}
	byTarget := map[int64][]store.EndpointSummary{}
	for _, e := range eps {
		byTarget[e.TargetID] = append(byTarget[e.TargetID], e)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="tlswarden-posture.csv"`)
	cw := csvWriter{csv.NewWriter(w)}
	if err := cw.Write(postureColumns); err != nil {
		return err
	}
	for _, t := range targets {
		base := []string{strconv.FormatInt(t.ID, 10), t.Host, strconv.Itoa(t.Port), t.Owner, strings.Join(t.Tags, " "), strconv.FormatBool(t.Enabled)}
		if len(byTarget[t.ID]) == 0 {
			status := "not_scanned"
			if t.LatestScanID != 0 {
				status = "no_endpoints"
			}
			cw.Write(append(base, "", "", status, "", "", "", "", "", "0", "", idOrEmpty(t.LatestScanID), "", ""))
			continue
		}
		for _, e := range byTarget[t.ID] {
			f := fails[endpointKey{e.ScanID, e.Endpoint}]
			cw.Write(append(base, e.Endpoint.Addr.String(), e.Endpoint.Host, string(e.Status),
				versionOrEmpty(e.MinVersion), versionOrEmpty(e.MaxVersion), e.Grade, string(e.Compliance), e.Profile,
				strconv.Itoa(f.count), severityOrEmpty(f.worst), strconv.FormatInt(e.ScanID, 10), e.ScanFinished.UTC().Format(time.RFC3339),
				strconv.FormatBool(f.drift)))
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvWriter is a csv.Writer that neutralises formulas: a cell that begins
// with =, +, -, @, tab or carriage return is prefixed with a single quote,
// as OWASP recommends against CSV injection, so that a spreadsheet opening
// the export shows an owner such as =HYPERLINK(...) instead of running it.
type csvWriter struct{ *csv.Writer }

// Write neutralises a copy of record: the caller's slice (the shared
// column names, a row's reused prefix) is left as it was.
func (w csvWriter) Write(record []string) error {
	out := make([]string, len(record))
	for i, cell := range record {
		out[i] = neutralise(cell)
	}
	return w.Writer.Write(out)
}

func neutralise(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}

type endpointKey struct {
	scanID   int64
	endpoint tlswarden.Endpoint
}

type failureCount struct {
	count int
	worst tlswarden.Severity
	// drift: the address differs from the name's others (an unwaived
	// target.addresses_consistent failure).
	drift bool
}

// failures counts the unwaived failed findings of each endpoint of the
// latest scans.
func (s *Server) failures(r *http.Request, tf store.TargetFilter) (map[endpointKey]failureCount, error) {
	notWaived := false
	out := map[endpointKey]failureCount{}
	f := store.FindingFilter{Owner: tf.Owner, Tag: tf.Tag, Outcomes: []tlswarden.RuleOutcome{tlswarden.RuleFail}, Waived: &notWaived, Limit: 10000}
	for {
		fs, err := s.cfg.Store.ListFindings(r.Context(), f)
		if err != nil {
			return nil, err
		}
		for _, fi := range fs {
			k := endpointKey{fi.ScanID, fi.Endpoint}
			c := out[k]
			c.count++
			c.worst = max(c.worst, fi.Severity)
			c.drift = c.drift || fi.RuleID == "target.addresses_consistent"
			out[k] = c
		}
		if len(fs) < f.Limit {
			return out, nil
		}
		f.AfterID = fs[len(fs)-1].ID
	}
}

func versionOrEmpty(v tlswarden.Version) string {
	if v == 0 {
		return ""
	}
	return v.String()
}

func severityOrEmpty(s tlswarden.Severity) string {
	if s == 0 {
		return ""
	}
	return s.String()
}

func idOrEmpty(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}
