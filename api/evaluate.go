package api

import (
	"net/http"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/policy"
	"github.com/tlswarden/tlswarden/store"
)

// reEvaluation is a stored scan judged again: nothing is stored.
type reEvaluation struct {
	ScanID     int64                 `json:"scan_id"`
	Evaluation *tlswarden.Evaluation `json:"evaluation"`
}

// evaluateScan judges a stored scan's report against a built-in profile
// (default: the one it was judged against, when that is built in) as of
// a time (default now), without scanning and without storing anything.
func (s *Server) evaluateScan(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	q := newQuery(r)
	name, at := q.str("profile"), q.str("at")
	if q.err != nil {
		return q.err
	}
	now, err := judgeTime(at, s.cfg.Now())
	if err != nil {
		return err
	}
	res, err := s.cfg.Store.GetScanResult(r.Context(), id)
	if err != nil {
		return err
	}
	if name == "" && res.Evaluation != nil {
		name = res.Evaluation.Profile.Name
	}
	p, err := builtinProfile(name)
	if err != nil {
		return err
	}
	waivers, sslv2, err := s.scanContext(r, id)
	if err != nil {
		return err
	}
	ev := policy.Evaluate(&res.Report, p, policy.Options{Now: now, Waivers: waivers, SSLv2Leaves: sslv2})
	return writeJSON(w, http.StatusOK, reEvaluation{ScanID: id, Evaluation: &ev})
}

// scanContext returns what the store adds to a scan's judgement, as the
// scan job does: the waivers for its target and the estate's SSLv2 keys
// (DROWN) beyond the target's own.
func (s *Server) scanContext(r *http.Request, scanID int64) ([]tlswarden.Waiver, map[string]string, error) {
	sc, err := s.cfg.Store.GetScan(r.Context(), scanID)
	if err != nil {
		return nil, nil, err
	}
	t, err := s.cfg.Store.GetTarget(r.Context(), sc.TargetID)
	if err != nil {
		return nil, nil, err
	}
	ws, err := store.PolicyWaivers(r.Context(), s.cfg.Store, t)
	if err != nil {
		return nil, nil, err
	}
	sslv2, err := store.SSLv2Leaves(r.Context(), s.cfg.Store, t.ID)
	return ws, sslv2, err
}

// builtinProfile returns the built-in profile of that name (default: the
// default profile). A client cannot name a file on the server.
func builtinProfile(name string) (*policy.Profile, error) {
	if name == "" {
		name = policy.DefaultProfile
	}
	p, ok := policy.Builtin(name)
	if !ok {
		return nil, badParam("profile", "no built-in profile "+name+" (tlswarden profiles lists them)")
	}
	return p, nil
}

// judgeTime reads the at parameter: now (the default), scan (when the
// report was taken: the zero time) or an RFC 3339 time.
func judgeTime(at string, now time.Time) (time.Time, error) {
	switch at {
	case "", "now":
		return now, nil
	case "scan":
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, at)
	if err != nil {
		return time.Time{}, badParam("at", "want now, scan or an RFC 3339 time")
	}
	return t, nil
}
