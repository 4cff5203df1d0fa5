package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

// historyScans bounds the scans the history chart draws.
const historyScans = 60

// historyView is a target's history: a chart of grade and oldest version
// per scan, the scans, and the events.
type historyView struct {
	Target store.Target
	Chart  *chart
	Scans  []scanRow
	Events []eventRow
	JSON   string
}

func (v *historyView) title() string   { return "History: " + v.Target.String() }
func (v *historyView) jsonURL() string { return v.JSON }

type scanRow struct {
	ID                   int64
	Finished             time.Time
	Status               string
	Grade, Min           string
	Compliance           string
	Trigger, RequestedBy string
}

type eventRow struct {
	At         time.Time
	Kind       string
	Summary    string
	Regression bool
	ScanID     int64
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	t, err := s.cfg.Store.GetTarget(ctx, id)
	if err != nil {
		return err
	}
	scans, err := s.cfg.Store.ListScans(ctx, store.ScanFilter{TargetID: id, Limit: historyScans})
	if err != nil {
		return err
	}
	v := &historyView{Target: t, JSON: fmt.Sprintf("/api/v1/events?target_id=%d", id)}
	byScan, err := s.scanEndpoints(r, scans)
	if err != nil {
		return err
	}
	var points []point
	for _, sc := range scans {
		row, p := scanPoint(sc, byScan[sc.ID])
		v.Scans = append(v.Scans, row)
		if p != nil {
			points = append(points, *p)
		}
	}
	slices.Reverse(points) // oldest first, left to right
	v.Chart = drawChart(points)
	evs, err := s.cfg.Store.ListEvents(ctx, store.EventFilter{TargetID: id})
	if err != nil {
		return err
	}
	for i := len(evs) - 1; i >= 0; i-- { // newest first
		v.Events = append(v.Events, eventRowOf(evs[i]))
	}
	s.render(w, r, http.StatusOK, "history", v)
	return nil
}

// scanEndpoints reads the endpoints of every finished scan of the list in
// one query, by scan.
func (s *Server) scanEndpoints(r *http.Request, scans []store.Scan) (map[int64][]store.EndpointSummary, error) {
	ids := []int64{}
	for _, sc := range scans {
		if !sc.Running() {
			ids = append(ids, sc.ID)
		}
	}
	eps, err := s.cfg.Store.ListEndpoints(r.Context(), store.EndpointFilter{ScanIDs: ids})
	if err != nil {
		return nil, err
	}
	by := make(map[int64][]store.EndpointSummary, len(ids))
	for _, e := range eps {
		by[e.ScanID] = append(by[e.ScanID], e)
	}
	return by, nil
}

// scanPoint summarises one scan: its worst grade and oldest version over
// its endpoints, and the chart point they make (nil for a running scan or
// one with no endpoints).
func scanPoint(sc store.Scan, eps []store.EndpointSummary) (scanRow, *point) {
	row := scanRow{ID: sc.ID, Finished: sc.Finished, Status: string(sc.Status), Compliance: complianceWord(sc.Compliance),
		Trigger: string(sc.Trigger), RequestedBy: sc.RequestedBy, Grade: "—", Min: "—"}
	if sc.Running() || len(eps) == 0 {
		return row, nil
	}
	p := &point{at: sc.Finished, grade: "", min: 0}
	for i, e := range eps {
		if i == 0 || gradeRank(e.Grade) < gradeRank(p.grade) {
			p.grade = e.Grade
		}
		if e.MinVersion != 0 && (p.min == 0 || e.MinVersion < p.min) {
			p.min = e.MinVersion
		}
	}
	if p.grade != "" {
		row.Grade = p.grade
	}
	row.Min = versionName(p.min)
	return row, p
}

// gradeRank orders letters worst first; T (a trust problem) ranks with F,
// and no grade below everything.
func gradeRank(g string) int {
	if g == "T" {
		g = "F"
	}
	return slices.Index(gradeOrder[1:len(gradeOrder)-1], g)
}

func eventRowOf(e store.Event) eventRow {
	var d struct {
		Summary string `json:"summary"`
	}
	_ = json.Unmarshal(e.Details, &d) // a missing summary shows the kind alone
	return eventRow{At: e.At, Kind: strings.ReplaceAll(string(e.Kind), "_", " "), Summary: d.Summary, Regression: e.Regression, ScanID: e.ScanID}
}

// point is one scan on the chart.
type point struct {
	at    time.Time
	grade string
	min   tlswarden.Version
}

// chart is an SVG line chart drawn by the server: two series over one
// time axis, grade (top) and oldest version accepted (bottom).
type chart struct {
	Width, Height int
	Grade, Min    series
	Label         string // the text alternative
	First, Last   string
}

type series struct {
	Path   string
	Dots   []dot
	Ticks  []tick
	Top    int
	Bottom int
}

type dot struct {
	X, Y  int
	Title string
}

type tick struct {
	Y     int
	Label string
}

// Chart geometry, in SVG user units.
const (
	chartW, chartH = 640, 260
	plotL, plotR   = 60, 620
	gradeTop       = 20
	gradeBottom    = 110
	minTop         = 160
	minBottom      = 230
)

var chartGrades = []string{"F", "E", "D", "C", "B", "A-", "A", "A+"}
var chartVersions = []tlswarden.Version{tlswarden.SSLv2, tlswarden.SSLv3, tlswarden.TLS10, tlswarden.TLS11, tlswarden.TLS12, tlswarden.TLS13}

func drawChart(ps []point) *chart {
	if len(ps) == 0 {
		return nil
	}
	c := &chart{Width: chartW, Height: chartH, First: ps[0].at.UTC().Format("2006-01-02"), Last: ps[len(ps)-1].at.UTC().Format("2006-01-02")}
	c.Grade = series{Top: gradeTop, Bottom: gradeBottom}
	c.Min = series{Top: minTop, Bottom: minBottom}
	for i, g := range chartGrades {
		c.Grade.Ticks = append(c.Grade.Ticks, tick{Y: scaleY(i, len(chartGrades), gradeTop, gradeBottom), Label: g})
	}
	for i, v := range chartVersions {
		c.Min.Ticks = append(c.Min.Ticks, tick{Y: scaleY(i, len(chartVersions), minTop, minBottom), Label: v.String()})
	}
	var gradePath, minPath []string
	for i, p := range ps {
		x := scaleX(i, len(ps))
		when := p.at.UTC().Format("2006-01-02 15:04")
		if gi := slices.Index(chartGrades, strings.ReplaceAll(p.grade, "T", "F")); gi >= 0 {
			y := scaleY(gi, len(chartGrades), gradeTop, gradeBottom)
			gradePath = append(gradePath, fmt.Sprintf("%d,%d", x, y))
			c.Grade.Dots = append(c.Grade.Dots, dot{X: x, Y: y, Title: when + ": grade " + p.grade})
		}
		if vi := slices.Index(chartVersions, p.min); vi >= 0 {
			y := scaleY(vi, len(chartVersions), minTop, minBottom)
			minPath = append(minPath, fmt.Sprintf("%d,%d", x, y))
			c.Min.Dots = append(c.Min.Dots, dot{X: x, Y: y, Title: when + ": oldest version " + p.min.String()})
		}
	}
	c.Grade.Path, c.Min.Path = strings.Join(gradePath, " "), strings.Join(minPath, " ")
	last := ps[len(ps)-1]
	scans := "scans"
	if len(ps) == 1 {
		scans = "scan"
	}
	c.Label = fmt.Sprintf("%d %s from %s to %s; latest grade %s, oldest version accepted %s", len(ps), scans, c.First, c.Last, orDash(last.grade), versionName(last.min))
	return c
}

// scaleX spreads n points across the plot, one alone in the middle.
func scaleX(i, n int) int {
	if n == 1 {
		return (plotL + plotR) / 2
	}
	return plotL + i*(plotR-plotL)/(n-1)
}

// scaleY places step i of n between bottom (the worst) and top (the best).
func scaleY(i, n, top, bottom int) int {
	return bottom - i*(bottom-top)/(n-1)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
