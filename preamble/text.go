package preamble

import (
	"strconv"
	"strings"
)

// reply is a numbered reply of SMTP (RFC 5321 4.2) or FTP (RFC 959 4.2):
// its code and its lines' texts.
type reply struct {
	code  int
	lines []string
}

func (r reply) String() string {
	return strconv.Itoa(r.code) + " " + strings.Join(r.lines, " / ")
}

// readReply reads a numbered reply, multi-line or not: "250-a", "250 b".
// FTP's multi-line replies may hold lines that do not start with the
// code; they are kept as text.
func (s *session) readReply() (reply, error) {
	var r reply
	for {
		l, err := s.line()
		if err != nil {
			return r, err
		}
		code, last, text, ok := parseReplyLine(l)
		switch {
		case !ok && r.code == 0:
			return r, protoErr("not a numbered reply: %q", printable(l, 80))
		case !ok:
			r.lines = append(r.lines, l)
			continue
		case r.code != 0 && code != r.code && last:
			return r, protoErr("a multi-line reply %d ended with code %d", r.code, code)
		}
		r.code = code
		r.lines = append(r.lines, text)
		if last {
			return r, nil
		}
		if len(r.lines) > maxCaps*4 {
			return r, protoErr("a reply of more than %d lines", maxCaps*4)
		}
	}
}

// parseReplyLine splits "250-text" or "250 text" (or a bare "250").
func parseReplyLine(l string) (code int, last bool, text string, ok bool) {
	if len(l) < 3 {
		return 0, false, "", false
	}
	n, err := strconv.Atoi(l[:3])
	if err != nil || n < 100 || n > 599 || l[0] == '+' || l[0] == '-' {
		return 0, false, "", false
	}
	switch {
	case len(l) == 3:
		return n, true, "", true
	case l[3] == ' ':
		return n, true, l[4:], true
	case l[3] == '-':
		return n, false, l[4:], true
	}
	return 0, false, "", false
}

// smtp greets with EHLO and asks for STARTTLS (RFC 3207), as a sending
// server does; it never gets as far as MAIL FROM.
func smtp(s *session) error {
	greet, err := s.readReply()
	if err != nil {
		return err
	}
	s.banner(strings.Join(greet.lines, " "))
	if greet.code != 220 {
		return s.refused(greet.String())
	}
	if err := s.send([]byte("EHLO " + EHLOName + "\r\n")); err != nil {
		return err
	}
	ehlo, err := s.readReply()
	if err != nil {
		return err
	}
	if ehlo.code != 250 {
		return s.notOffered(ehlo.String()) // no ESMTP, so no STARTTLS
	}
	offered := false
	for _, l := range ehlo.lines[1:] {
		kw := strings.ToUpper(strings.TrimSpace(l))
		s.capability(kw)
		offered = offered || kw == "STARTTLS"
	}
	if !offered {
		return s.notOffered(ehlo.String())
	}
	return s.command("STARTTLS", 220)
}

// command sends a numbered-reply command and wants the code back.
func (s *session) command(cmd string, want int) error {
	if err := s.send([]byte(cmd + "\r\n")); err != nil {
		return err
	}
	r, err := s.readReply()
	if err != nil {
		return err
	}
	s.res.Reply = printable(r.String(), maxBanner)
	if r.code != want {
		return s.notOffered(r.String())
	}
	return nil
}

// ftp asks for the features and then AUTH TLS (RFC 4217). A server that
// does not list AUTH TLS in FEAT is asked all the same: many do not list
// it; its answer decides.
func ftp(s *session) error {
	greet, err := s.readReply()
	if err != nil {
		return err
	}
	s.banner(strings.Join(greet.lines, " "))
	if greet.code != 220 {
		return s.refused(greet.String())
	}
	if err := s.send([]byte("FEAT\r\n")); err != nil {
		return err
	}
	feat, err := s.readReply()
	if err != nil {
		return err
	}
	if feat.code == 211 && len(feat.lines) > 2 {
		for _, l := range feat.lines[1 : len(feat.lines)-1] {
			s.capability(strings.ToUpper(l))
		}
	}
	return s.command("AUTH TLS", 234)
}

// imap asks for the capabilities and STARTTLS (RFC 3501 6.2.1).
func imap(s *session) error {
	greet, err := s.line()
	if err != nil {
		return err
	}
	s.banner(greet)
	upper := strings.ToUpper(greet)
	switch {
	case strings.HasPrefix(upper, "* BYE"):
		return s.refused(greet)
	case !strings.HasPrefix(upper, "* OK"):
		return protoErr("not an IMAP greeting: %q", printable(greet, 80))
	}
	if err := s.send([]byte("a1 CAPABILITY\r\n")); err != nil {
		return err
	}
	caps, err := s.tagged("a1", func(l string) {
		if f := strings.Fields(strings.ToUpper(l)); len(f) > 1 && f[0] == "*" && f[1] == "CAPABILITY" {
			for _, c := range f[2:] {
				s.capability(c)
			}
		}
	})
	if err != nil {
		return err
	}
	if !hasWord(s.res.Capabilities, "STARTTLS") {
		return s.notOffered(caps)
	}
	if err := s.send([]byte("a2 STARTTLS\r\n")); err != nil {
		return err
	}
	done, err := s.tagged("a2", nil)
	s.res.Reply = printable(done, maxBanner)
	if err == nil && !strings.HasPrefix(strings.ToUpper(done), "A2 OK") {
		return s.notOffered(done)
	}
	return err
}

// tagged reads untagged lines, handing each to untagged, until the line
// with tag, which it returns.
func (s *session) tagged(tag string, untagged func(string)) (string, error) {
	for i := 0; i < maxCaps*4; i++ {
		l, err := s.line()
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(strings.ToUpper(l), strings.ToUpper(tag)+" ") {
			return l, nil
		}
		if untagged != nil {
			untagged(l)
		}
	}
	return "", protoErr("no answer tagged %s after %d lines", tag, maxCaps*4)
}

// pop3 asks for the capabilities and STLS (RFC 2595 4). A server whose
// CAPA fails is asked STLS all the same.
func pop3(s *session) error {
	greet, err := s.line()
	if err != nil {
		return err
	}
	s.banner(greet)
	switch {
	case strings.HasPrefix(greet, "-ERR"):
		return s.refused(greet)
	case !strings.HasPrefix(greet, "+OK"):
		return protoErr("not a POP3 greeting: %q", printable(greet, 80))
	}
	if err := s.send([]byte("CAPA\r\n")); err != nil {
		return err
	}
	if err := s.pop3Capa(); err != nil {
		return err
	}
	if err := s.send([]byte("STLS\r\n")); err != nil {
		return err
	}
	r, err := s.line()
	if err != nil {
		return err
	}
	s.res.Reply = printable(r, maxBanner)
	if !strings.HasPrefix(r, "+OK") {
		return s.notOffered(r)
	}
	return nil
}

// pop3Capa reads CAPA's answer: +OK, lines, and a lone dot.
func (s *session) pop3Capa() error {
	first, err := s.line()
	if err != nil || !strings.HasPrefix(first, "+OK") {
		return err
	}
	for i := 0; i < maxCaps*4; i++ {
		l, err := s.line()
		if err != nil {
			return err
		}
		if l == "." {
			return nil
		}
		if f := strings.Fields(l); len(f) > 0 {
			s.capability(strings.ToUpper(f[0]))
		}
	}
	return protoErr("CAPA answered more than %d lines", maxCaps*4)
}

func hasWord(list []string, w string) bool {
	for _, x := range list {
		if x == w {
			return true
		}
	}
	return false
}
