package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tlswarden/tlswarden"
)

// writeTable prints one report for a person at a terminal.
func writeTable(w io.Writer, r *tlswarden.Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\t%s\n", r.Target, r.Finished.Sub(r.Started).Round(time.Millisecond))
	if r.Resolution != nil {
		writeResolution(tw, r.Resolution)
	}
	if r.Status != tlswarden.StatusOK {
		fmt.Fprintf(tw, "  NOT SCANNED\t%s: %s\n", r.Status, r.Error)
	}
	for i := range r.Endpoints {
		writeEndpoint(tw, &r.Endpoints[i])
	}
	return tw.Flush()
}

func writeResolution(w io.Writer, res *tlswarden.Resolution) {
	for _, c := range res.Chain {
		fmt.Fprintf(w, "  CNAME\t%s -> %s (ttl %ds)\n", c.Name, c.Target, c.TTL)
	}
	for _, q := range res.Queries {
		if q.Outcome != tlswarden.OutcomeOK {
			fmt.Fprintf(w, "  DNS %s\t%s %s\n", q.Type, q.Outcome, q.Error)
		}
	}
}

func writeEndpoint(w io.Writer, e *tlswarden.EndpointReport) {
	fmt.Fprintf(w, "\n  endpoint %s\t%d connections, %dms\n", e.Endpoint.Addr, e.Connections, e.DurationMS)
	if e.Status != tlswarden.StatusOK {
		fmt.Fprintf(w, "  ERROR\t%s: %s\n", e.Status, e.Error)
	}
	if e.TLS == nil {
		return
	}
	for _, v := range e.TLS.Versions {
		writeVersion(w, &v)
	}
	if len(e.TLS.Groups) > 0 {
		names := make([]string, len(e.TLS.Groups))
		for i, g := range e.TLS.Groups {
			names[i] = g.Name
		}
		fmt.Fprintf(w, "  groups\t%s (over %s; preferred %s)\n", strings.Join(names, ", "), e.TLS.GroupsTestedWith, e.TLS.PreferredGroup)
	}
}

func writeVersion(w io.Writer, v *tlswarden.VersionResult) {
	switch {
	case v.Error != "":
		fmt.Fprintf(w, "  %s\tnot tested: %s\n", v.Version, v.Error)
		return
	case !v.Supported:
		fmt.Fprintf(w, "  %s\tno\n", v.Version)
		return
	}
	order := ""
	if v.Preference != "" {
		order = ", " + string(v.Preference) + " preference"
	}
	fmt.Fprintf(w, "  %s\tyes, %d suites%s\n", v.Version, len(v.Suites), order)
	for _, s := range v.Suites {
		extra := ""
		switch {
		case s.DHBits > 0:
			extra = fmt.Sprintf("DH %d bits", s.DHBits)
		case s.Group != "":
			extra = s.Group
		}
		fmt.Fprintf(w, "    0x%04X\t%s\t%s\n", s.Code, s.Name, extra)
	}
}
