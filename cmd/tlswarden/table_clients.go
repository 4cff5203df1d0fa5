package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/tlswarden/tlswarden"
)

// writeClients prints the client simulation: the clients that connect,
// grouped by what they negotiate, then each client that does not, with
// why. An answer the facts did not decide and no hello settled is marked
// "(estimated)".
func writeClients(w io.Writer, cr *tlswarden.ClientsResult) {
	var connect, fail int
	var order []string
	groups := map[string][]string{}
	var failing []string
	for _, c := range cr.Clients {
		name := c.Name
		if c.Method == tlswarden.ClientEstimated {
			name += " (estimated)"
		}
		if !c.Connects {
			fail++
			failing = append(failing, fmt.Sprintf("    %s\tNO: %s", name, orNone(c.Detail)))
			continue
		}
		connect++
		key := negotiatedText(&c)
		if groups[key] == nil {
			order = append(order, key)
		}
		groups[key] = append(groups[key], name)
	}
	fmt.Fprintf(w, "  clients\t%d of %d simulated clients connect (%d answers read from the client's own hello)\n", connect, connect+fail, cr.Hellos)
	for _, key := range order {
		fmt.Fprintf(w, "    %s\t%s\n", key, strings.Join(groups[key], ", "))
	}
	for _, line := range failing {
		fmt.Fprintln(w, line)
	}
}

// negotiatedText says what a client negotiates: version, suite, and the
// group or the DH prime's size.
func negotiatedText(c *tlswarden.ClientResult) string {
	s := c.Version.String()
	if c.Suite != nil {
		s += " " + c.Suite.Name
	}
	switch {
	case c.Group != "" && c.DHBits > 0:
		s += fmt.Sprintf(" %s (%d bits)", c.Group, c.DHBits)
	case c.Group != "":
		s += " " + c.Group
	case c.DHBits > 0:
		s += fmt.Sprintf(" DH %d bits", c.DHBits)
	}
	return s
}
