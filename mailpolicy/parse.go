package mailpolicy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tlswarden/tlswarden"
)

// maxMaxAge is the largest max_age RFC 8461 §3.2 allows: about a year.
const maxMaxAge = 31557600

// fields splits a "k=v; k=v" record (RFC 8461 §3.1, RFC 8460 §3) into
// its fields, in order; a field without "=" is an error.
func fields(rec string) ([][2]string, error) {
	var out [][2]string
	for f := range strings.SplitSeq(rec, ";") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("field %q has no value", f)
		}
		out = append(out, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
	}
	return out, nil
}

// stsRecord checks an MTA-STS TXT record and returns its id.
func stsRecord(rec string) (string, error) {
	fs, err := fields(rec)
	if err != nil {
		return "", err
	}
	if len(fs) == 0 || fs[0] != [2]string{"v", "STSv1"} {
		return "", errors.New(`the record does not start with "v=STSv1"`)
	}
	for _, f := range fs[1:] {
		if f[0] == "id" {
			if f[1] == "" || len(f[1]) > 32 || !alnum(f[1]) {
				return "", fmt.Errorf("id %q is not 1 to 32 letters and digits", f[1])
			}
			return f[1], nil
		}
	}
	return "", errors.New("the record has no id")
}

func alnum(s string) bool {
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// parsePolicy reads an MTA-STS policy (RFC 8461 §3.2): "key: value" lines
// ending in CRLF or LF. Unknown keys are ignored, as the RFC asks.
func parsePolicy(text string) (*tlswarden.MTASTSPolicy, error) {
	p := &tlswarden.MTASTSPolicy{MaxAge: -1}
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("line %q is not key: value", line)
		}
		if err := setField(p, strings.TrimSpace(k), strings.TrimSpace(v)); err != nil {
			return nil, err
		}
	}
	return p, checkPolicy(p)
}

func setField(p *tlswarden.MTASTSPolicy, k, v string) error {
	switch k {
	case "version":
		p.Version = v
	case "mode":
		p.Mode = v
	case "mx":
		p.MX = append(p.MX, strings.ToLower(v))
	case "max_age":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > maxMaxAge || len(v) > 10 {
			return fmt.Errorf("max_age %q is not a number of seconds from 0 to %d", v, maxMaxAge)
		}
		p.MaxAge = n
	}
	return nil
}

// checkPolicy checks the fields every policy must have.
func checkPolicy(p *tlswarden.MTASTSPolicy) error {
	var errs []error
	if p.Version != "STSv1" {
		errs = append(errs, fmt.Errorf("version %q, want STSv1", p.Version))
	}
	switch p.Mode {
	case "enforce", "testing", "none":
	default:
		errs = append(errs, fmt.Errorf("mode %q, want enforce, testing or none", p.Mode))
	}
	if p.MaxAge < 0 {
		errs = append(errs, errors.New("no max_age"))
	}
	if len(p.MX) == 0 && p.Mode != "none" {
		errs = append(errs, errors.New("no mx pattern"))
	}
	return errors.Join(errs...)
}

// mxMatches reports whether host matches a policy's mx pattern: the same
// name, or "*.rest" with exactly one label before rest (RFC 8461 §4.1).
func mxMatches(pattern, host string) bool {
	pattern, host = strings.ToLower(strings.TrimSuffix(pattern, ".")), strings.ToLower(strings.TrimSuffix(host, "."))
	if rest, ok := strings.CutPrefix(pattern, "*."); ok {
		label, tail, found := strings.Cut(host, ".")
		return found && label != "" && tail == rest
	}
	return pattern == host
}

// tlsrptRecord checks a TLS-RPT record and returns its reporting URIs.
func tlsrptRecord(rec string) ([]string, error) {
	fs, err := fields(rec)
	if err != nil {
		return nil, err
	}
	if len(fs) == 0 || fs[0] != [2]string{"v", "TLSRPTv1"} {
		return nil, errors.New(`the record does not start with "v=TLSRPTv1"`)
	}
	for _, f := range fs[1:] {
		if f[0] == "rua" {
			var uris []string
			for u := range strings.SplitSeq(f[1], ",") {
				uris = append(uris, strings.TrimSpace(u))
			}
			return uris, nil
		}
	}
	return nil, errors.New("the record has no rua")
}
