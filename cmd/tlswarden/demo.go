package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/jobs"
	"github.com/tlswarden/tlswarden/store"
)

// demoTag marks the targets serve --demo registers; demoTag + ":" + the
// testbed endpoint's name tells them apart.
const demoTag = "demo"

// startDemo registers the testbed's endpoints as targets (replacing those
// of an earlier demo in the same data directory), asks for a scan of each,
// prints where to look, and prints a summary once the scans are done.
func (m *Main) startDemo(ctx context.Context) error {
	st := m.backend.store
	if err := m.removeOldDemo(ctx); err != nil {
		return err
	}
	rows := make([]store.Target, 0, len(m.testbed.Endpoints))
	for _, ep := range m.testbed.Endpoints {
		rows = append(rows, store.Target{
			Target:  tlswarden.Target{Host: ep.Addr.Addr().String(), Port: int(ep.Addr.Port()), Kind: ep.Kind, Owner: "testbed", Tags: []string{demoTag, demoTag + ":" + ep.Name}},
			Enabled: true, Intrusive: true,
		})
	}
	res, err := st.ImportTargets(ctx, rows)
	if err != nil {
		return fmt.Errorf("demo: register testbed endpoints: %w", err)
	}
	if err := demoWaiver(ctx, st, res.Rows); err != nil {
		return err
	}
	var reqs []jobs.Request
	for _, row := range res.Rows {
		r, err := m.queue.RequestScan(ctx, row.Target.ID, "demo")
		if err != nil {
			return fmt.Errorf("demo: request scan: %w", err)
		}
		reqs = append(reqs, r)
	}
	m.printDemoIntro(len(rows))
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.stopDemo, m.demoDone = cancel, make(chan struct{})
	go func() {
		defer close(m.demoDone)
		m.reportDemo(dctx, reqs)
	}()
	return nil
}

func (m *Main) removeOldDemo(ctx context.Context) error {
	old, err := m.backend.store.ListTargets(ctx, store.TargetFilter{Tag: demoTag})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	for _, t := range old {
		if err := m.backend.store.DeleteTarget(ctx, t.ID); err != nil {
			return fmt.Errorf("demo: remove the targets of an earlier demo: %w", err)
		}
	}
	return nil
}

func (m *Main) printDemoIntro(n int) {
	u := m.LinkURL() + "/api/v1"
	fmt.Fprintf(m.Stdout, `
tlswarden demo: %d deliberately misconfigured endpoints are running on
127.0.0.1, registered as targets and being scanned now. Open
%s/ in a browser for the estate, each target's report and history,
or look at the JSON:

  %s/targets                      the targets, then /targets/ID for one's latest scan
  %s/findings?min_severity=high   what fails across the estate
  %s/endpoints                    grade, versions and compliance per endpoint
  %s/events                       what changed between scans
  %s/posture.csv                  the estate's posture as CSV
  %s/metrics                             Prometheus metrics

Ask for another scan with: curl -X POST %s/targets/1/scans
Stop with Ctrl-C.
`, n, m.LinkURL(), u, u, u, u, u, m.LinkURL(), u)
}

// reportDemo waits for the demo's scans and prints one line per endpoint.
func (m *Main) reportDemo(ctx context.Context, reqs []jobs.Request) {
	deadline := time.Now().Add(3 * time.Minute)
	pending := slices.Clone(reqs)
	for len(pending) > 0 && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
		pending = slices.DeleteFunc(pending, func(r jobs.Request) bool {
			cur, err := m.queue.Request(ctx, r.ID)
			return err == nil && cur.Done
		})
	}
	if len(pending) > 0 {
		m.log.Warn("demo scans not finished after 3 minutes", "pending", len(pending))
		return
	}
	writeDemoSummary(ctx, m.Stdout, m.backend.store, m.LinkURL())
}

func writeDemoSummary(ctx context.Context, w io.Writer, st store.Store, base string) {
	eps, err := st.ListEndpoints(ctx, store.EndpointFilter{Tag: demoTag})
	if err != nil {
		return
	}
	targets, err := st.ListTargets(ctx, store.TargetFilter{Tag: demoTag})
	if err != nil {
		return
	}
	names := map[int64]string{}
	for _, t := range targets {
		for _, tag := range t.Tags {
			if len(tag) > len(demoTag)+1 && tag[:len(demoTag)+1] == demoTag+":" {
				names[t.ID] = tag[len(demoTag)+1:]
			}
		}
	}
	slices.SortStableFunc(eps, func(a, b store.EndpointSummary) int { return int(a.TargetID - b.TargetID) })
	fmt.Fprintln(w, "\nThe demo's scans are done:")
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  ENDPOINT\tADDRESS\tVERSIONS\tGRADE\tCOMPLIANCE\tDETAILS")
	for _, e := range eps {
		versions := "-"
		if e.MinVersion != 0 {
			versions = e.MinVersion.String() + "-" + e.MaxVersion.String()
		}
		grade := e.Grade
		if grade == "" {
			grade = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", names[e.TargetID], e.Endpoint.Addr, versions, grade, e.Compliance,
			base+"/api/v1/targets/"+strconv.FormatInt(e.TargetID, 10))
	}
	tw.Flush()
}

// demoWaiver records the waiver the demo shows, requested and approved
// by two demo people: the legacy endpoint's missing TLS 1.3 accepted for
// 90 days, so that the pages show a waived finding beside the failures
// that are not waived. The scans that follow apply it.
func demoWaiver(ctx context.Context, st store.Store, rows []store.ImportRow) error {
	ws, ok := st.(store.WaiverStore)
	if !ok {
		return nil
	}
	for _, row := range rows {
		if !slices.Contains(row.Target.Tags, demoTag+":legacy") {
			continue
		}
		w, err := ws.CreateWaiver(ctx, store.Waiver{TargetID: row.Target.ID, Rule: "tls.version.tls13",
			Reason:  "demo: an accepted exception (the appliance is replaced next quarter)",
			Expires: time.Now().AddDate(0, 0, 90), RequestedBy: "demo requester", RequesterKey: "demo:requester"})
		if err == nil {
			_, err = ws.ApproveWaiver(ctx, w.ID, "demo approver", "demo:approver")
		}
		if err != nil {
			return fmt.Errorf("demo: waiver: %w", err)
		}
	}
	return nil
}
