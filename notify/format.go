package notify

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ChatItems bounds the items a Slack or Teams message lists; the rest are
// counted, and the link leads to them. Chat messages are read by people,
// and both services cap a message's size.
const ChatItems = 15

// Payload returns the body and content type sent to a channel.
func Payload(c Channel, d Digest) ([]byte, error) {
	var v any
	switch c {
	case ChannelWebhook:
		v = d
	case ChannelSlack:
		v = slackMessage(d)
	case ChannelTeams:
		v = teamsMessage(d)
	default:
		return nil, fmt.Errorf("notify: unknown channel %q", c)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("notify: encode %s payload: %w", c, err)
	}
	return b, nil
}

// title is the first line of a chat message.
func title(d Digest) string {
	t := "tlswarden: " + d.Summary
	if d.Subscription.Name != "" {
		t += " (" + d.Subscription.Name + ")"
	}
	if d.Test {
		t = "tlswarden: test message for " + d.Subscription.Name + "; " + d.Summary
	}
	return t
}

// line says one item in a line of plain text.
func line(it Item) string {
	var b strings.Builder
	switch {
	case it.Kind == ItemEvent && it.Regression:
		b.WriteString("Regression")
	case it.Kind == ItemEvent:
		b.WriteString("Fixed")
	case it.Kind == ItemCertExpiry:
		b.WriteString("Certificate expiring")
	case it.Kind == ItemNewTarget:
		b.WriteString("New target")
	}
	if it.Severity != "" {
		b.WriteString(" [" + it.Severity + "]")
	}
	b.WriteString(" " + it.Target.Name + ": " + it.Summary)
	return b.String()
}

// rest counts the items a chat message leaves out.
func rest(d Digest) int {
	return max(len(d.Items)-ChatItems, 0) + d.Omitted
}

// Slack incoming webhooks take a message with a fallback text (shown in
// notifications) and layout blocks; mrkdwn needs &, < and > escaped.
// A section's text is capped at 3000 characters and a message at 50
// blocks; ChatItems keeps well inside both.
type slackBlock struct {
	Type     string       `json:"type"`
	Text     *slackText   `json:"text,omitempty"`
	Elements []*slackText `json:"elements,omitempty"`
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func slackMessage(d Digest) any {
	head := title(d)
	blocks := []slackBlock{{Type: "header", Text: &slackText{Type: "plain_text", Text: truncate(head, 150)}}}
	for i, it := range d.Items {
		if i == ChatItems {
			break
		}
		text := slackEscape(line(it))
		if it.Link != "" {
			text += " <" + it.Link + "|details>"
		}
		blocks = append(blocks, slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: truncate(text, 2900)}})
	}
	var foot []string
	if n := rest(d); n > 0 {
		foot = append(foot, fmt.Sprintf("and %d more", n))
	}
	if d.Link != "" {
		foot = append(foot, "<"+d.Link+"|open tlswarden>")
	}
	if len(foot) > 0 {
		blocks = append(blocks, slackBlock{Type: "context", Elements: []*slackText{{Type: "mrkdwn", Text: strings.Join(foot, " · ")}}})
	}
	return struct {
		Text   string       `json:"text"`
		Blocks []slackBlock `json:"blocks"`
	}{slackEscape(head), blocks}
}

// Teams Workflows ("post to a channel when a webhook request is
// received") take a message whose attachment is an Adaptive Card; the
// Office 365 connectors' MessageCard is not accepted there.
type teamsAttachment struct {
	ContentType string    `json:"contentType"`
	ContentURL  *string   `json:"contentUrl"`
	Content     teamsCard `json:"content"`
}

type teamsCard struct {
	Schema  string        `json:"$schema"`
	Type    string        `json:"type"`
	Version string        `json:"version"`
	Body    []teamsBlock  `json:"body"`
	Actions []teamsAction `json:"actions,omitempty"`
	MSTeams struct {
		Width string `json:"width"`
	} `json:"msteams"`
}

type teamsBlock struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Wrap     bool   `json:"wrap"`
	Weight   string `json:"weight,omitempty"`
	Size     string `json:"size,omitempty"`
	Color    string `json:"color,omitempty"`
	IsSubtle bool   `json:"isSubtle,omitempty"`
}

type teamsAction struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

// teamsEscape keeps an Adaptive Card's markdown subset from reading
// names as formatting.
func teamsEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`).Replace(s)
}

func teamsMessage(d Digest) any {
	card := teamsCard{Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard", Version: "1.4"}
	card.MSTeams.Width = "Full"
	card.Body = append(card.Body, teamsBlock{Type: "TextBlock", Text: teamsEscape(title(d)), Wrap: true, Weight: "Bolder", Size: "Medium"})
	for i, it := range d.Items {
		if i == ChatItems {
			break
		}
		b := teamsBlock{Type: "TextBlock", Text: teamsEscape(line(it)), Wrap: true}
		if it.Link != "" {
			b.Text += " [details](" + it.Link + ")"
		}
		if it.Kind == ItemEvent && it.Regression || it.Kind == ItemNewTarget {
			b.Color = "Attention"
		}
		card.Body = append(card.Body, b)
	}
	if n := rest(d); n > 0 {
		card.Body = append(card.Body, teamsBlock{Type: "TextBlock", Text: fmt.Sprintf("and %d more", n), Wrap: true, IsSubtle: true})
	}
	if d.Link != "" {
		card.Actions = []teamsAction{{Type: "Action.OpenUrl", Title: "Open tlswarden", URL: d.Link}}
	}
	return struct {
		Type        string            `json:"type"`
		Attachments []teamsAttachment `json:"attachments"`
	}{"message", []teamsAttachment{{ContentType: "application/vnd.microsoft.card.adaptive", Content: card}}}
}

// truncate cuts s to at most n bytes, on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !validStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// validStart reports whether b can begin a UTF-8 sequence.
func validStart(b byte) bool { return b&0xC0 != 0x80 }
