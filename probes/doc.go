// Package probes holds the measurements tlswarden runs against an endpoint,
// one file per probe kind. Each probe is a tlswarden.Probe value built from a
// Config whose zero value works; the scanner runs them and the command line
// wires them together, so probes never import the scanner.
//
// Probes connect only through the tlswarden.DialFunc they are handed, so the
// scanner can bound, pace and count connections. The wire formats live in
// the pure sub-package hello, which never opens a connection.
package probes
