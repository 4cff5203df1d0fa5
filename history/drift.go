package history

import (
	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

// Event kinds for drift between the addresses of one name: they start or
// stop serving different configurations (the policy's
// target.addresses_consistent rule), once per target.
const (
	EventAddressesDrift      store.EventKind = "addresses_drift"
	EventAddressesConsistent store.EventKind = "addresses_consistent"
)

// driftRule is the policy rule that compares a name's addresses.
const driftRule = "target.addresses_consistent"

// drift is what one scan says of its addresses: known when the rule
// compared any, drifting when it failed on some, with the endpoints it
// failed on and the first one's message.
type drift struct {
	known, drifting bool
	endpoints       []string
	message         string
}

func scanDrift(r *store.ScanResult) drift {
	var d drift
	if r.Evaluation == nil {
		return d
	}
	for _, ee := range r.Evaluation.Endpoints {
		for _, f := range ee.Findings {
			if f.RuleID != driftRule || (f.Outcome != tlswarden.RuleFail && f.Outcome != tlswarden.RulePass) {
				continue
			}
			d.known = true
			if f.Outcome == tlswarden.RuleFail {
				if !d.drifting {
					d.message = f.Message
				}
				d.drifting = true
				d.endpoints = append(d.endpoints, ee.Endpoint.String())
			}
		}
	}
	return d
}

// compareDrift adds the event of drift appearing (a regression) or going.
func (c *changes) compareDrift(prev, cur *store.ScanResult) {
	was, now := scanDrift(prev), scanDrift(cur)
	switch {
	case !was.known || !now.known || was.drifting == now.drifting:
	case now.drifting:
		for _, e := range now.endpoints {
			c.add(e, change{kind: EventAddressesDrift, key: driftRule, regression: true,
				details: Details{Summary: "the addresses now serve different configurations", Rule: driftRule, Message: now.message}})
		}
	default:
		for _, e := range was.endpoints {
			c.add(e, change{kind: EventAddressesConsistent, key: driftRule,
				details: Details{Summary: "the addresses serve the same configuration again", Rule: driftRule, Message: was.message}})
		}
	}
}
