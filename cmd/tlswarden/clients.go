package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/tlswarden/tlswarden/probes/clients"
)

// runClients lists the client simulation's clients: their IDs (what a
// profile's required_clients names), names, versions and services, and
// which are simulated by default.
func runClients(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("clients", flag.ContinueOnError)
	fs.SetOutput(stderr)
	all := fs.Bool("all", false, "list every client of the list, not only those simulated by default")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: tlswarden clients [-all]

Lists the clients of the client simulation (docs/client-simulation.md):
the ID a profile's required_clients names, the name, the versions offered
and the services the client speaks. By default only the clients every scan
simulates; -all lists the whole list (a profile may require any of them).
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitNotScanned
	}
	list := clients.Load()
	defaults := clients.DefaultClients()
	fmt.Fprintf(stdout, "source: %s (converted %s)\n", list.Source, list.Converted)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tVERSIONS\tSERVICES\tDEFAULT")
	for _, c := range list.Clients {
		def := slices.Contains(defaults, c.ID)
		if !def && !*all {
			continue
		}
		mark := ""
		if def {
			mark = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s-%s\t%s\t%s\n", c.ID, c.Name, c.MinVersion, c.MaxVersion, strings.Join(c.Services, ","), mark)
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintln(stderr, "tlswarden clients:", err)
		return exitNotScanned
	}
	return exitOK
}
