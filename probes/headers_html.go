package probes

import (
	"bytes"
	"fmt"
	"mime"
	"strings"

	"golang.org/x/net/html"

	"github.com/tlswarden/tlswarden"
)

// maxHTMLScripts caps the scripts recorded from one page.
const maxHTMLScripts = 64

// isHTML reports whether a Content-Type names an HTML document.
func isHTML(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "text/html" || mt == "application/xhtml+xml")
}

// parseHTML reads the <meta> policies and <script src> elements of an HTML
// body (possibly cut short by the body cap). It returns nil when the body
// declares none of them.
func parseHTML(body []byte) *tlswarden.HTMLFacts {
	var f tlswarden.HTMLFacts
	z := html.NewTokenizer(bytes.NewReader(body))
	for {
		switch z.Next() {
		case html.ErrorToken:
			if f.CSP == nil && f.Referrer == nil && f.Scripts == nil {
				return nil
			}
			return &f
		case html.StartTagToken, html.SelfClosingTagToken:
			htmlElement(&f, z.Token())
		}
	}
}

// htmlElement records one start tag, if it is a meta policy or a script.
func htmlElement(f *tlswarden.HTMLFacts, t html.Token) {
	attrs := make(map[string]string, len(t.Attr))
	for _, a := range t.Attr {
		if _, dup := attrs[a.Key]; !dup { // HTML keeps the first of repeated attributes
			attrs[a.Key] = a.Val
		}
	}
	switch t.Data {
	case "meta":
		metaPolicy(f, attrs)
	case "script":
		src, ok := attrs["src"]
		_, integrity := attrs["integrity"]
		if ok && len(f.Scripts) < maxHTMLScripts {
			f.Scripts = append(f.Scripts, tlswarden.HTMLScript{Src: src, Integrity: integrity, CrossOrigin: attrs["crossorigin"]})
		}
	}
}

// metaPolicy records a <meta http-equiv="Content-Security-Policy"> or a
// <meta name="referrer">.
func metaPolicy(f *tlswarden.HTMLFacts, attrs map[string]string) {
	content, ok := attrs["content"]
	if !ok {
		return
	}
	switch {
	case strings.EqualFold(strings.TrimSpace(attrs["http-equiv"]), "content-security-policy"):
		f.CSP = append(f.CSP, parseMetaCSP(content))
	case strings.EqualFold(strings.TrimSpace(attrs["name"]), "referrer"):
		f.Referrer = append(f.Referrer, content)
	}
}

// metaIgnored are the directives browsers drop from a <meta> policy (CSP
// Level 3 section 3.3).
var metaIgnored = []string{"frame-ancestors", "report-uri", "sandbox"}

// parseMetaCSP parses a <meta> policy: one policy (commas do not separate
// policies there), without the directives a meta element cannot set.
func parseMetaCSP(content string) tlswarden.CSPPolicy {
	p := parseCSP(content)
	for _, d := range metaIgnored {
		if _, ok := p.Directives[d]; ok {
			delete(p.Directives, d)
			p.Problems = append(p.Problems, fmt.Sprintf("%s is ignored in a <meta> policy", d))
		}
	}
	p.FrameAncestors = nil
	return p
}
