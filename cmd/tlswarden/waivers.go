package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/tlswarden/tlswarden/policy"
	"github.com/tlswarden/tlswarden/store"
	"github.com/tlswarden/tlswarden/waivers"
)

// runWaivers is `tlswarden waivers request|approve|revoke|list|audit`:
// waiver records, read and written straight in the store. Approving or
// revoking judges the latest scan of each covered target again at once.
func runWaivers(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		waiversUsage(stderr)
		if len(args) == 0 {
			return exitNotScanned
		}
		return exitOK
	}
	cmds := map[string]func(*waiversCmd, []string) error{
		"request": (*waiversCmd).request, "approve": (*waiversCmd).approve, "revoke": (*waiversCmd).revoke,
		"list": (*waiversCmd).list, "ls": (*waiversCmd).list, "audit": (*waiversCmd).audit,
	}
	fn, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "tlswarden waivers: unknown command %q\n\n", args[0])
		waiversUsage(stderr)
		return exitNotScanned
	}
	c := &waiversCmd{targetsCmd: targetsCmd{ctx: ctx, name: args[0], stdout: stdout, stderr: stderr}}
	err := fn(c, args[1:])
	if c.backend != nil {
		c.backend.Close()
	}
	return registryExit(stderr, "waivers "+c.name, err)
}

func waiversUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: tlswarden waivers COMMAND [flags] ...

Manages waivers, straight in the store: exceptions to one rule for a target,
an owner's targets or a tag's, until a day. A waiver applies once a second
person approves it; approving, revoking (and, in serve, expiring) judges
the latest scan of every covered target again at once, without scanning.
People are named with --as (default $USER); the approver must differ from
the requester. Every step goes to an append-only audit log.

Commands:
  request (--target ID|HOST[:PORT] | --owner O | --tag T) --rule R --reason TEXT --expires YYYY-MM-DD
  approve ID        approve a requested waiver
  revoke ID         revoke a waiver
  list              list waivers and their state (--json)
  audit [ID]        print the audit log (of one waiver)

Run "tlswarden waivers COMMAND -h" for a command's flags.
`)
}

type waiversCmd struct {
	targetsCmd
	as, profile string
}

func (c *waiversCmd) flags(usage string) *flag.FlagSet {
	fs := c.targetsCmd.flags(usage)
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: tlswarden waivers %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.as, "as", os.Getenv("USER"), "who you are, for the audit log (`NAME`)")
	fs.StringVar(&c.profile, "profile", policy.DefaultProfile, "the profile serve judges with (`NAME` or FILE), to judge covered targets again")
	return fs
}

// service opens the store and the waiver service over it.
func (c *waiversCmd) service() (*waivers.Service, store.Store, error) {
	st, err := c.open()
	if err != nil {
		return nil, nil, err
	}
	p, err := loadProfile(c.profile)
	if err != nil {
		return nil, nil, err
	}
	svc, err := waivers.New(waivers.Config{Store: st, Profile: p})
	return svc, st, err
}

// who is the person's name and key; CLI keys are their own namespace,
// apart from the API's tokens.
func (c *waiversCmd) who() (string, string, error) {
	if c.as == "" {
		return "", "", usageError{"--as NAME is required (no $USER)"}
	}
	return c.as + " (cli)", "cli:" + c.as, nil
}

func (c *waiversCmd) request(args []string) error {
	fs := c.flags("request (--target ID|HOST[:PORT] | --owner O | --tag T) --rule R --reason TEXT --expires YYYY-MM-DD")
	var target, expires string
	var w store.Waiver
	fs.StringVar(&target, "target", "", "the target (`ID|HOST[:PORT]`)")
	fs.StringVar(&w.Owner, "owner", "", "every target of this `OWNER`")
	fs.StringVar(&w.Tag, "tag", "", "every target with this `TAG`")
	fs.StringVar(&w.Rule, "rule", "", "the rule `ID` waived (tlswarden profiles lists them)")
	fs.StringVar(&w.Reason, "reason", "", "why the exception is accepted (`TEXT`)")
	fs.StringVar(&expires, "expires", "", "the last day the waiver holds (`YYYY-MM-DD`)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if w.Expires, err = time.Parse("2006-01-02", expires); err != nil {
		return usageError{"--expires: want YYYY-MM-DD"}
	}
	if w.RequestedBy, w.RequesterKey, err = c.who(); err != nil {
		return err
	}
	svc, st, err := c.service()
	if err != nil {
		return err
	}
	if target != "" {
		t, err := find(c.ctx, st, target)
		if err != nil {
			return err
		}
		w.TargetID = t.ID
	}
	if w, err = svc.Request(c.ctx, w); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "waiver %d requested: %s on %s until %s; another person approves it with: tlswarden waivers approve %d\n",
		w.ID, w.Rule, w.Scope(), w.Expires.Format("2006-01-02"), w.ID)
	return nil
}

func (c *waiversCmd) approve(args []string) error {
	return c.change(args, "approve", func(svc *waivers.Service, id int64, name, key string) (store.Waiver, error) {
		return svc.Approve(c.ctx, id, name, key)
	})
}

func (c *waiversCmd) revoke(args []string) error {
	return c.change(args, "revoke", func(svc *waivers.Service, id int64, name, _ string) (store.Waiver, error) {
		return svc.Revoke(c.ctx, id, name)
	})
}

func (c *waiversCmd) change(args []string, verb string, fn func(*waivers.Service, int64, string, string) (store.Waiver, error)) error {
	fs := c.flags(verb + " [flags] ID")
	if err := fs.Parse(args); err != nil {
		return err
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if fs.NArg() != 1 || err != nil || id <= 0 {
		return usageError{"want one waiver ID (tlswarden waivers list shows them)"}
	}
	name, key, err := c.who()
	if err != nil {
		return err
	}
	svc, _, err := c.service()
	if err != nil {
		return err
	}
	w, err := fn(svc, id, name, key)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "waiver %d is %s; the targets it covers were judged again\n", w.ID, w.State(time.Now()))
	return nil
}

func (c *waiversCmd) list(args []string) error {
	fs := c.flags("list [flags]")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	svc, _, err := c.service()
	if err != nil {
		return err
	}
	ws, err := svc.Store().ListWaivers(c.ctx, store.WaiverFilter{})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONTo(c.stdout, append([]store.Waiver{}, ws...))
	}
	tw := tabwriter.NewWriter(c.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSCOPE\tRULE\tEXPIRES\tREQUESTED BY\tAPPROVED BY\tREASON")
	for _, w := range ws {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", w.ID, w.State(time.Now()), w.Scope(), w.Rule, w.Expires.Format("2006-01-02"),
			w.RequestedBy, orDash(w.ApprovedBy), w.Reason)
	}
	return tw.Flush()
}

func (c *waiversCmd) audit(args []string) error {
	fs := c.flags("audit [flags] [ID]")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var id int64
	if fs.NArg() > 0 {
		var err error
		if id, err = strconv.ParseInt(fs.Arg(0), 10, 64); err != nil || id <= 0 {
			return usageError{"want a waiver ID"}
		}
	}
	svc, _, err := c.service()
	if err != nil {
		return err
	}
	log, err := svc.Store().ListWaiverAudit(c.ctx, id)
	if err != nil {
		return err
	}
	for _, a := range log {
		fmt.Fprintf(c.stdout, "%s  waiver %d %s by %s: %s on %s until %s\n", stamp(a.At), a.WaiverID, a.Action, a.Actor,
			a.Waiver.Rule, a.Waiver.Scope(), a.Waiver.Expires.Format("2006-01-02"))
	}
	return nil
}

func writeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
