// Package policy judges the facts of a scan: it evaluates a tlswarden.Report
// against a Profile and returns findings (one per rule and endpoint, with
// pass, fail, not_applicable or not_evaluated), a compliance verdict, a TLS
// grade and an HTTP security-header score.
//
// The package is pure: it never touches the network, so a stored report
// can be re-evaluated against a new or custom profile at any time.
//
// Rules are values with a stable ID, a title, a default severity, a
// rationale citing its source, and a Check over one endpoint's facts. A
// profile (built in, or read from a YAML file by Load) is a filter and a
// set of parameters over those rules, in the shape of zlint's lints and
// profiles. A rule whose facts could not be gathered is not_evaluated,
// never pass: "not tested" is never "absent".
package policy
