package main

import (
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// databaseURLFlag is the value of --database-url. Its String, which the
// flag package prints as the default in -h and in the usage after a typo,
// hides the password that a DATABASE_URL default carries.
type databaseURLFlag struct{ url *string }

func (f databaseURLFlag) String() string {
	if f.url == nil {
		return ""
	}
	return redactURL(*f.url)
}

func (f databaseURLFlag) Set(s string) error {
	*f.url = s
	return nil
}

// dsnPassword finds the password of a key=value connection string.
var dsnPassword = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)\b((?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)
})

// redactURL returns a Postgres connection string fit to print: the
// password of a URL (in its user information or a password or sslpassword
// parameter) or of a key=value string replaced by xxxxx.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		return dsnPassword().ReplaceAllString(s, "${1}xxxxx")
	}
	q := u.Query()
	for _, k := range []string{"password", "sslpassword"} {
		if q.Has(k) {
			q.Set(k, "xxxxx")
		}
	}
	if u.RawQuery != "" {
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// secretsOf returns the passwords a connection string holds, in the forms
// an error may quote them.
func secretsOf(s string) []string {
	var out []string
	if u, err := url.Parse(s); err == nil {
		if p, ok := u.User.Password(); ok {
			out = append(out, p, url.UserPassword("", p).String()[1:])
		}
		for _, k := range []string{"password", "sslpassword"} {
			if p := u.Query().Get(k); p != "" {
				out = append(out, p, url.QueryEscape(p))
			}
		}
	}
	for _, m := range dsnPassword().FindAllStringSubmatch(s, -1) {
		out = append(out, strings.Trim(m[2], "'"))
	}
	return out
}

// redactedError is an error whose message has the secrets taken out; it
// still unwraps to the original for errors.Is.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactError returns err with every password of the connection string
// dsn, and the connection string itself, replaced by their redacted forms.
func redactError(err error, dsn string) error {
	if err == nil || dsn == "" {
		return err
	}
	msg := strings.ReplaceAll(err.Error(), dsn, redactURL(dsn))
	for _, p := range secretsOf(dsn) {
		if len(p) >= 4 { // a shorter one would mangle the message; the whole string is replaced above
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
	}
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}
