package preamble

import (
	"encoding/xml"
	"fmt"
	"strings"
)

const (
	nsStreams = "http://etherx.jabber.org/streams"
	nsTLS     = "urn:ietf:params:xml:ns:xmpp-tls"
	maxTokens = 2000 // XML tokens read before TLS
)

func xmppClient(s *session) error { return xmpp(s, "jabber:client") }
func xmppServer(s *session) error { return xmpp(s, "jabber:server") }

// xmpp opens a stream to the host, reads the stream features and asks for
// STARTTLS (RFC 6120 5.4).
func xmpp(s *session, ns string) error {
	if s.host == "" {
		return protoErr("XMPP needs the service's domain name, not an IP address")
	}
	open := fmt.Sprintf("<?xml version='1.0'?><stream:stream to='%s' version='1.0' xmlns='%s' xmlns:stream='%s'>",
		xmlEscape(s.host), ns, nsStreams)
	if err := s.send([]byte(open)); err != nil {
		return err
	}
	d := &xmlReader{d: xml.NewDecoder(s.r)}
	features, err := d.features(s)
	if err != nil {
		return err
	}
	if !features {
		return s.notOffered("no starttls in the stream features")
	}
	if err := s.send([]byte("<starttls xmlns='" + nsTLS + "'/>")); err != nil {
		return err
	}
	name, err := d.nextElement()
	if err != nil {
		return err
	}
	s.res.Reply = name.Local
	if name.Space != nsTLS || name.Local != "proceed" {
		return s.notOffered("<" + name.Local + "> in answer to starttls")
	}
	return d.skipTo(name, 0)
}

// xmlReader counts the tokens it reads.
type xmlReader struct {
	d *xml.Decoder
	n int
}

func (x *xmlReader) token() (xml.Token, error) {
	x.n++
	if x.n > maxTokens {
		return nil, protoErr("more than %d XML tokens before TLS", maxTokens)
	}
	t, err := x.d.Token()
	if err != nil {
		return nil, fmt.Errorf("xml stream: %w", err)
	}
	return t, nil
}

// nextElement returns the name of the next start element.
func (x *xmlReader) nextElement() (xml.Name, error) {
	for {
		t, err := x.token()
		if err != nil {
			return xml.Name{}, err
		}
		if se, ok := t.(xml.StartElement); ok {
			return se.Name, nil
		}
	}
}

// skipTo reads up to the end of the element just started, depth deep.
func (x *xmlReader) skipTo(name xml.Name, depth int) error {
	for {
		t, err := x.token()
		if err != nil {
			return err
		}
		switch e := t.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			if depth == 0 && e.Name == name {
				return nil
			}
			depth--
		}
	}
}

// features reads the server's stream header and its <stream:features>,
// recording each feature, and reports whether starttls is one.
func (x *xmlReader) features(s *session) (bool, error) {
	name, err := x.nextElement()
	if err != nil {
		return false, err
	}
	if name.Space != nsStreams || name.Local != "stream" {
		return false, protoErr("not an XMPP stream: <%s>", name.Local)
	}
	s.banner("stream from " + s.host)
	if name, err = x.nextElement(); err != nil {
		return false, err
	}
	if name.Space == nsStreams && name.Local == "error" {
		return false, s.refused("stream error")
	}
	if name.Space != nsStreams || name.Local != "features" {
		return false, protoErr("<%s> where the stream features belong", name.Local)
	}
	return x.featureList(s)
}

// featureList reads the children of <stream:features> to its end.
func (x *xmlReader) featureList(s *session) (bool, error) {
	starttls := false
	for {
		t, err := x.token()
		if err != nil {
			return false, err
		}
		switch e := t.(type) {
		case xml.StartElement:
			s.capability(strings.ToUpper(e.Name.Local))
			starttls = starttls || e.Name.Space == nsTLS && e.Name.Local == "starttls"
			if err := x.skipTo(e.Name, 0); err != nil {
				return false, err
			}
		case xml.EndElement:
			return starttls, nil
		}
	}
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return strings.ReplaceAll(b.String(), "'", "&#39;")
}
