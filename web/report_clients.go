package web

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tlswarden/tlswarden"
)

// clientsView is an endpoint's client simulation as a table: one row per
// client, the profile's required clients first.
type clientsView struct {
	Source          string
	Connect, Total  int
	Hellos          int
	Rows            []clientRow
	RequiredFailing int
}

type clientRow struct {
	Name, ID                   string
	Required, Connects         bool
	Version, Suite, Group, Why string
	Certificate                string // the leaf's key type and SHA-256 prefix
	Method                     string // computed, hello or estimated
	Uncertain                  []string
}

func clientsOf(cr *tlswarden.ClientsResult, required []string) *clientsView {
	v := &clientsView{Source: cr.Source, Total: len(cr.Clients), Hellos: cr.Hellos}
	for _, c := range cr.Clients {
		row := clientRow{Name: c.Name, ID: c.ID, Required: slices.Contains(required, c.ID), Connects: c.Connects,
			Method: c.Method}
		if c.Method == tlswarden.ClientEstimated {
			row.Uncertain = c.Uncertain
		}
		if c.Connects {
			v.Connect++
			row.Version = c.Version.String()
			if c.Suite != nil {
				row.Suite = c.Suite.Name
			}
			row.Group = c.Group
			if kt, sum, ok := strings.Cut(c.Chain, ":"); ok {
				row.Certificate = fmt.Sprintf("%s %.12s", kt, sum)
			}
			if c.DHBits > 0 {
				row.Group = fmt.Sprintf("%s DH %d bits", row.Group, c.DHBits)
			}
		} else {
			row.Why = c.Detail
			if row.Why == "" {
				row.Why = c.Reason
			}
			if row.Required {
				v.RequiredFailing++
			}
		}
		v.Rows = append(v.Rows, row)
	}
	slices.SortStableFunc(v.Rows, func(a, b clientRow) int {
		switch {
		case a.Required == b.Required:
			return 0
		case a.Required:
			return -1
		}
		return 1
	})
	return v
}
