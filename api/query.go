package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

// MaxLimit bounds the items of one page; DefaultLimit is a page's size when
// the client names none.
const (
	MaxLimit     = 1000
	DefaultLimit = 100
)

func badParam(name, msg string) error {
	return &Error{Status: http.StatusBadRequest, Field: name, Msg: name + ": " + msg}
}

// pathID reads a positive ID from the path.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, &Error{Status: http.StatusNotFound, Msg: "not found: " + strconv.Quote(r.PathValue(name)) + " is not an ID"}
	}
	return id, nil
}

// query reads the query parameters of a request, gathering the first
// error.
type query struct {
	v   url.Values
	err error
}

func newQuery(r *http.Request) *query { return &query{v: r.URL.Query()} }

func (q *query) fail(name, msg string) {
	if q.err == nil {
		q.err = badParam(name, msg)
	}
}

func (q *query) str(name string) string { return strings.TrimSpace(q.v.Get(name)) }

// list returns the values of a parameter given several times or
// comma-separated.
func (q *query) list(name string) []string {
	var out []string
	for _, v := range q.v[name] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func (q *query) id(name string) int64 {
	s := q.str(name)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		q.fail(name, "want a positive integer")
	}
	return n
}

func (q *query) boolPtr(name string) *bool {
	s := q.str(name)
	if s == "" {
		return nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		q.fail(name, "want true or false")
		return nil
	}
	return &b
}

// limit reads a page size: DefaultLimit when absent, at most MaxLimit.
func (q *query) limit() int {
	s := q.str("limit")
	if s == "" {
		return DefaultLimit
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxLimit {
		q.fail("limit", "want an integer from 1 to "+strconv.Itoa(MaxLimit))
	}
	return n
}

// time reads an RFC 3339 time, or a duration back from now ("24h").
func (q *query) time(name string, now time.Time) time.Time {
	s := q.str(name)
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d)
	}
	q.fail(name, "want an RFC 3339 time (2026-01-02T15:04:05Z) or a duration back from now (24h)")
	return time.Time{}
}

func (q *query) severities(name string) []tlswarden.Severity {
	var out []tlswarden.Severity
	for _, s := range q.list(name) {
		v, err := tlswarden.ParseSeverity(s)
		if err != nil {
			q.fail(name, err.Error())
			continue
		}
		out = append(out, v)
	}
	return out
}

func (q *query) severity(name string) tlswarden.Severity {
	s := q.str(name)
	if s == "" {
		return 0
	}
	v, err := tlswarden.ParseSeverity(s)
	if err != nil {
		q.fail(name, err.Error())
	}
	return v
}

func (q *query) version(name string) tlswarden.Version {
	s := q.str(name)
	if s == "" {
		return 0
	}
	var v tlswarden.Version
	if err := v.UnmarshalText([]byte(s)); err != nil {
		q.fail(name, "want a version such as TLSv1.2")
	}
	return v
}

func (q *query) outcomes(name string) []tlswarden.RuleOutcome {
	var out []tlswarden.RuleOutcome
	for _, s := range q.list(name) {
		o := tlswarden.RuleOutcome(s)
		if o != tlswarden.RuleFail && o != tlswarden.RuleNotEvaluated {
			q.fail(name, "want fail or not_evaluated")
		}
		out = append(out, o)
	}
	return out
}

func (q *query) kinds(name string) []store.EventKind {
	var out []store.EventKind
	for _, s := range q.word(name) {
		out = append(out, store.EventKind(s))
	}
	return out
}

// word returns the values of a list parameter whose values are snake_case
// names (event kinds, statuses), failing on anything else: such a value
// cannot match and is a typo.
func (q *query) word(name string) []string {
	out := q.list(name)
	for _, s := range out {
		if len(s) > 32 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz_") != "" {
			q.fail(name, strconv.Quote(s)+" is not a name: want lower-case letters and underscores")
		}
	}
	return out
}

func (q *query) compliances(name string) []tlswarden.Compliance {
	var out []tlswarden.Compliance
	for _, s := range q.list(name) {
		c := tlswarden.Compliance(s)
		if c != tlswarden.Compliant && c != tlswarden.NonCompliant && c != tlswarden.ComplianceUnknown {
			q.fail(name, "want compliant, non_compliant or unknown")
		}
		out = append(out, c)
	}
	return out
}
