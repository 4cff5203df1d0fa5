package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/notify"
	"github.com/tlswarden/tlswarden/store"
)

// runSubscriptions is `tlswarden subscriptions add|list|remove|disable|
// enable|deliveries`: notification subscriptions, read and written
// straight in the store. A receiver's URL and secret are read from a file
// or the environment, never from the command line (where ps and the
// shell's history would keep them), and never printed.
func runSubscriptions(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		subscriptionsUsage(stderr)
		if len(args) == 0 {
			return exitNotScanned
		}
		return exitOK
	}
	cmds := map[string]func(*subscriptionsCmd, []string) error{
		"add": (*subscriptionsCmd).add, "list": (*subscriptionsCmd).list, "ls": (*subscriptionsCmd).list,
		"remove": (*subscriptionsCmd).remove, "rm": (*subscriptionsCmd).remove,
		"disable": (*subscriptionsCmd).disable, "enable": (*subscriptionsCmd).enable,
		"deliveries": (*subscriptionsCmd).deliveries, "test": (*subscriptionsCmd).test,
	}
	fn, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "tlswarden subscriptions: unknown command %q\n\n", args[0])
		subscriptionsUsage(stderr)
		return exitNotScanned
	}
	c := &subscriptionsCmd{targetsCmd{ctx: ctx, name: args[0], stdin: stdin, stdout: stdout, stderr: stderr}}
	err := fn(c, args[1:])
	if c.backend != nil {
		c.backend.Close()
	}
	return registryExit(stderr, "subscriptions "+c.name, err)
}

func subscriptionsUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: tlswarden subscriptions COMMAND [flags] ...

Manages notification subscriptions, straight in the store: who hears about
the regressions, fixes and expiring certificates of an owner's targets, a
tag's, or the whole estate, through a generic JSON webhook (signed with
HMAC-SHA256), a Slack incoming webhook or a Microsoft Teams Workflows
webhook. serve and worker send one digest per subscription per scan run.

The receiver's URL and a webhook's signing secret are credentials: they
are read from $TLSWARDEN_WEBHOOK_URL and $TLSWARDEN_WEBHOOK_SECRET, or
from --url-file and --secret-file ("-": standard input), and never printed.

Commands:
  add --name N [--owner O | --tag T] --channel webhook|slack|teams [flags]
  list              list subscriptions, receivers redacted (--json)
  remove ID         remove a subscription and its deliveries
  disable ID        stop sending to a subscription (enable ID: start again)
  deliveries        list deliveries: sent, pending or failed, and why (--subscription ID)
  test ID           send the receiver a sample digest now (marked as a test; nothing recorded)

Run "tlswarden subscriptions COMMAND -h" for a command's flags.
`)
}

type subscriptionsCmd struct{ targetsCmd }

func (c *subscriptionsCmd) flags(usage string) *flag.FlagSet {
	fs := c.targetsCmd.flags(usage)
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: tlswarden subscriptions %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// subscriptions opens the store's subscriptions.
func (c *subscriptionsCmd) subscriptions() (store.SubscriptionStore, error) {
	st, err := c.open()
	if err != nil {
		return nil, err
	}
	ss, ok := st.(store.SubscriptionStore)
	if !ok {
		return nil, fmt.Errorf("the store keeps no subscriptions")
	}
	return ss, nil
}

func (c *subscriptionsCmd) add(args []string) error {
	fs := c.flags("add --name N [--owner O | --tag T] --channel webhook|slack|teams [flags]")
	var s store.Subscription
	var urlFile, secretFile, minSeverity string
	fs.StringVar(&s.Name, "name", "", "what people call the subscription (`NAME`)")
	fs.StringVar(&s.Owner, "owner", "", "only the targets of this `OWNER`")
	fs.StringVar(&s.Tag, "tag", "", "only the targets with this `TAG` (neither: every target)")
	fs.StringVar(&s.Channel, "channel", "", "the receiver: webhook (generic JSON, signed), slack or teams")
	fs.StringVar(&urlFile, "url-file", "", "read the receiver's URL from `FILE` (\"-\": stdin; default $TLSWARDEN_WEBHOOK_URL)")
	fs.StringVar(&secretFile, "secret-file", "", "read a webhook's signing secret (16 to 200 bytes) from `FILE` (default $TLSWARDEN_WEBHOOK_SECRET)")
	fs.BoolVar(&s.Regressions, "regressions", true, "send regressions (and new targets that are not compliant)")
	fs.BoolVar(&s.Fixes, "fixes", false, "send fixes too")
	fs.IntVar(&s.ExpiryDays, "expiry-days", 0, "send certificates expiring within `N` days (0: none)")
	fs.StringVar(&minSeverity, "min-severity", "", "leave out findings below `SEVERITY` (info, low, medium, high, critical)")
	fs.StringVar(&s.CreatedBy, "as", os.Getenv("USER"), "who you are (`NAME`)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"add takes flags only"}
	}
	if minSeverity != "" {
		sev, err := tlswarden.ParseSeverity(minSeverity)
		if err != nil {
			return usageError{"--min-severity: " + err.Error()}
		}
		s.MinSeverity = sev
	}
	var err error
	if s.URL, err = c.credential(urlFile, "TLSWARDEN_WEBHOOK_URL", "--url-file"); err != nil {
		return err
	}
	if s.Channel == store.ChannelWebhook {
		if s.Secret, err = c.credential(secretFile, "TLSWARDEN_WEBHOOK_SECRET", "--secret-file"); err != nil {
			return err
		}
	}
	ss, err := c.subscriptions()
	if err != nil {
		return err
	}
	if s, err = ss.CreateSubscription(c.ctx, s); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "subscription %d added: %s to %s (%s); events from now on are sent\n",
		s.ID, s.Scope(), s.Channel, notify.RedactURL(s.URL))
	return nil
}

// credential reads a URL or secret from a file (or stdin) or else the
// environment, trimmed of the surrounding space a file ends with.
func (c *subscriptionsCmd) credential(file, env, flagName string) (string, error) {
	if file == "" {
		v := strings.TrimSpace(os.Getenv(env))
		if v == "" {
			return "", usageError{fmt.Sprintf("%s FILE or $%s is required", flagName, env)}
		}
		return v, nil
	}
	var r io.Reader
	if file == "-" {
		r = c.stdin
	} else {
		f, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("%s: %w", flagName, err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, store.MaxWebhookURLLen+1))
	if err != nil {
		return "", fmt.Errorf("%s: %w", flagName, err)
	}
	return strings.TrimSpace(string(b)), nil
}

func (c *subscriptionsCmd) list(args []string) error {
	fs := c.flags("list [flags]")
	asJSON := fs.Bool("json", false, "print JSON (receivers redacted, secrets left out)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ss, err := c.subscriptions()
	if err != nil {
		return err
	}
	subs, err := ss.ListSubscriptions(c.ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]subscriptionView, len(subs))
		for i, s := range subs {
			out[i] = viewSubscription(s)
		}
		return writeJSONTo(c.stdout, out)
	}
	tw := tabwriter.NewWriter(c.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSCOPE\tCHANNEL\tRECEIVER\tSENDS\tSTATE")
	for _, s := range subs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Name, s.Scope(), s.Channel, notify.RedactURL(s.URL),
			sends(s), map[bool]string{false: "enabled", true: "disabled"}[s.Disabled])
	}
	return tw.Flush()
}

// subscriptionView is a subscription as the CLI prints it in JSON: its
// receiver redacted.
type subscriptionView struct {
	store.Subscription
	Receiver string `json:"receiver"`
}

func viewSubscription(s store.Subscription) subscriptionView {
	return subscriptionView{Subscription: s, Receiver: notify.RedactURL(s.URL)}
}

// sends says in a few words what a subscription is sent.
func sends(s store.Subscription) string {
	var parts []string
	if s.Regressions {
		r := "regressions"
		if s.MinSeverity > 0 {
			r += " (" + s.MinSeverity.String() + "+)"
		}
		parts = append(parts, r)
	}
	if s.Fixes {
		parts = append(parts, "fixes")
	}
	if s.ExpiryDays > 0 {
		parts = append(parts, fmt.Sprintf("expiry %dd", s.ExpiryDays))
	}
	return strings.Join(parts, ", ")
}

func (c *subscriptionsCmd) id(args []string, usage string) (int64, error) {
	fs := c.flags(usage)
	if err := fs.Parse(args); err != nil {
		return 0, err
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if fs.NArg() != 1 || err != nil || id <= 0 {
		return 0, usageError{"want one subscription ID (tlswarden subscriptions list shows them)"}
	}
	return id, nil
}

func (c *subscriptionsCmd) remove(args []string) error {
	id, err := c.id(args, "remove [flags] ID")
	if err != nil {
		return err
	}
	ss, err := c.subscriptions()
	if err != nil {
		return err
	}
	if err := ss.DeleteSubscription(c.ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "subscription %d removed\n", id)
	return nil
}

func (c *subscriptionsCmd) disable(args []string) error { return c.setDisabled(args, true) }
func (c *subscriptionsCmd) enable(args []string) error  { return c.setDisabled(args, false) }

func (c *subscriptionsCmd) setDisabled(args []string, disabled bool) error {
	id, err := c.id(args, c.name+" [flags] ID")
	if err != nil {
		return err
	}
	ss, err := c.subscriptions()
	if err != nil {
		return err
	}
	s, err := ss.SetSubscriptionDisabled(c.ctx, id, disabled)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "subscription %d %sd\n", s.ID, c.name)
	return nil
}

func (c *subscriptionsCmd) deliveries(args []string) error {
	fs := c.flags("deliveries [flags]")
	var f store.DeliveryFilter
	var status string
	fs.Int64Var(&f.SubscriptionID, "subscription", 0, "only the deliveries of subscription `ID`")
	fs.StringVar(&status, "status", "", "only deliveries in `STATE`: pending, sent or failed")
	fs.IntVar(&f.Limit, "limit", 50, "at most `N`, newest first (0: all)")
	asJSON := fs.Bool("json", false, "print JSON, each with its digest")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch f.Status = store.DeliveryStatus(status); f.Status {
	case "", store.DeliveryPending, store.DeliverySent, store.DeliveryFailed:
	default:
		return usageError{"--status: want pending, sent or failed"}
	}
	ss, err := c.subscriptions()
	if err != nil {
		return err
	}
	ds, err := ss.ListDeliveries(c.ctx, f)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONTo(c.stdout, append([]store.Delivery{}, ds...))
	}
	tw := tabwriter.NewWriter(c.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSUBSCRIPTION\tSTATUS\tATTEMPTS\tCREATED\tSENT\tITEMS\tLAST ERROR")
	for _, d := range ds {
		sent := "-"
		if !d.SentAt.IsZero() {
			sent = stamp(d.SentAt)
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%d\t%s\t%s\t%d\t%s\n", d.ID, d.SubscriptionID, d.Status, d.Attempts,
			stamp(d.CreatedAt), sent, len(d.Items), orDash(d.LastError))
	}
	return tw.Flush()
}

// test sends a sample digest, marked as a test, straight to a
// subscription's receiver: what a person runs after adding one.
func (c *subscriptionsCmd) test(args []string) error {
	id, err := c.id(args, "test [flags] ID")
	if err != nil {
		return err
	}
	ss, err := c.subscriptions()
	if err != nil {
		return err
	}
	sub, err := ss.GetSubscription(c.ctx, id)
	if err != nil {
		return err
	}
	now := time.Now()
	dg := notify.Build(sub, []notify.Item{{Kind: notify.ItemEvent, Key: "test", Regression: true, At: now,
		Target: notify.TargetRef{Name: "test.example:443"}, Summary: "a sample regression: nothing has changed"}}, now, "")
	dg.Test = true
	dest := notify.Destination{Channel: notify.Channel(sub.Channel), URL: sub.URL, Secret: sub.Secret}
	if err := notify.NewSender(notify.SenderConfig{}).Send(c.ctx, dest, dg); err != nil {
		return err // its text never holds the URL or the secret
	}
	fmt.Fprintf(c.stdout, "subscription %d: %s accepted a test digest\n", sub.ID, notify.RedactURL(sub.URL))
	return nil
}
