package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

func (s *Server) listScans(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := store.ScanFilter{TargetID: q.id("target_id"), Limit: q.limit()}
	if q.err != nil {
		return q.err
	}
	return s.writeScans(w, r, f)
}

func (s *Server) listTargetScans(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	q := newQuery(r)
	f := store.ScanFilter{TargetID: id, Limit: q.limit()}
	if q.err != nil {
		return q.err
	}
	if _, err := s.cfg.Store.GetTarget(r.Context(), id); err != nil {
		return err
	}
	return s.writeScans(w, r, f)
}

func (s *Server) writeScans(w http.ResponseWriter, r *http.Request, f store.ScanFilter) error {
	scans, err := s.cfg.Store.ListScans(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"scans": nonNil(scans)})
}

// scanRequestBody is what a client may say when asking for a scan.
type scanRequestBody struct {
	RequestedBy string `json:"requested_by"`
}

func (s *Server) requestScan(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body scanRequestBody
	if err := readOptionalJSON(r, &body); err != nil {
		return err
	}
	if body.RequestedBy == "" {
		body.RequestedBy = "api"
	}
	if err := store.CheckText("requested_by", body.RequestedBy, store.MaxRequestedByLen); err != nil {
		return err
	}
	if s.cfg.Scans == nil {
		return &Error{Status: http.StatusServiceUnavailable, Msg: "this server does not run scans"}
	}
	req, err := s.cfg.Scans.RequestScan(r.Context(), id, body.RequestedBy)
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/scan-requests/%d", req.ID))
	return writeJSON(w, http.StatusAccepted, req)
}

func (s *Server) getScanRequest(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if s.cfg.Scans == nil {
		return &Error{Status: http.StatusServiceUnavailable, Msg: "this server does not run scans"}
	}
	req, err := s.cfg.Scans.Request(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, req)
}

func (s *Server) listScanRequests(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	q := newQuery(r)
	limit := q.limit()
	if q.err != nil {
		return q.err
	}
	if s.cfg.Scans == nil {
		return &Error{Status: http.StatusServiceUnavailable, Msg: "this server does not run scans"}
	}
	if _, err := s.cfg.Store.GetTarget(r.Context(), id); err != nil {
		return err
	}
	reqs, err := s.cfg.Scans.Requests(r.Context(), id, limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"scan_requests": nonNil(reqs)})
}

func (s *Server) getScan(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	sc, err := s.cfg.Store.GetScan(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sc)
}

func (s *Server) getScanResult(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	res, err := s.cfg.Store.GetScanResult(r.Context(), id)
	if err != nil {
		return err
	}
	res.Events = nonNil(res.Events)
	return writeJSON(w, http.StatusOK, res)
}

func (s *Server) listScanEndpoints(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.cfg.Store.GetScan(r.Context(), id); err != nil {
		return err
	}
	eps, err := s.cfg.Store.ListEndpoints(r.Context(), store.EndpointFilter{ScanID: id})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"endpoints": nonNil(eps)})
}

// endpointReport is one endpoint of a scan in full: the facts and their
// judgement.
type endpointReport struct {
	ScanID     int64                         `json:"scan_id"`
	Ordinal    int                           `json:"ordinal"`
	Report     tlswarden.EndpointReport      `json:"report"`
	Evaluation *tlswarden.EndpointEvaluation `json:"evaluation,omitempty"`
}

func (s *Server) getEndpointReport(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 {
		return &Error{Status: http.StatusNotFound, Msg: "no such endpoint: " + strconv.Quote(r.PathValue("n"))}
	}
	if es, ok := s.cfg.Store.(store.EndpointReportStore); ok {
		// One endpoint's rows, not the whole scan's documents decoded.
		rep, ev, err := es.GetEndpointReport(r.Context(), id, n)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, endpointReport{ScanID: id, Ordinal: n, Report: rep, Evaluation: ev})
	}
	res, err := s.cfg.Store.GetScanResult(r.Context(), id)
	if err != nil {
		return err
	}
	if n >= len(res.Report.Endpoints) {
		return fmt.Errorf("scan %d has %d endpoints, none numbered %d: %w", id, len(res.Report.Endpoints), n, store.ErrNotFound)
	}
	out := endpointReport{ScanID: id, Ordinal: n, Report: res.Report.Endpoints[n]}
	if ev := res.Evaluation; ev != nil && n < len(ev.Endpoints) {
		out.Evaluation = &ev.Endpoints[n]
	}
	return writeJSON(w, http.StatusOK, out)
}
