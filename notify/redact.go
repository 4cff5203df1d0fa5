package notify

import (
	"errors"
	"net/url"
	"strings"
)

// RedactURL returns a webhook URL fit to print: its scheme and host only.
// The rest is the credential of Slack's and Teams' webhooks (a path
// token, a sig parameter), and user information may hold a password.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(unparsable URL)"
	}
	out := u.Scheme + "://" + u.Host
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		out += "/…"
	}
	return out
}

// redactError returns err's text with the destination's URL and secret
// replaced, wrapped so that errors.Is and As still see what it wraps.
// net/http's errors quote the whole URL (*url.Error); its forms are all
// replaced, escaped or not.
func redactError(err error, d Destination) error {
	if err == nil {
		return nil
	}
	return &redactedError{msg: redactText(err.Error(), d), err: err}
}

// redactText replaces every form of the destination's URL and secret in s.
func redactText(s string, d Destination) string {
	var pairs []string
	if d.URL != "" {
		red := RedactURL(d.URL)
		pairs = append(pairs, d.URL, red, url.QueryEscape(d.URL), red)
		if u, err := url.Parse(d.URL); err == nil {
			// What a receiver or a proxy might quote: the path, the query.
			for _, part := range []string{u.EscapedPath(), u.Path, u.RawQuery} {
				if len(part) > 1 {
					pairs = append(pairs, part, "…")
				}
			}
		}
	}
	if d.Secret != "" {
		pairs = append(pairs, d.Secret, "xxxxx")
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

// Unwrap lets errors.Is see context errors and the like. A caller that
// prints the unwrapped error itself would print the URL: callers print
// only this one.
func (e *redactedError) Unwrap() error {
	var ue *url.Error
	if errors.As(e.err, &ue) {
		return ue.Err
	}
	return e.err
}
