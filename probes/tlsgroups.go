package probes

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
)

// scanGroups enumerates the key-exchange groups once per protocol
// generation, the enumerations at once: over TLS 1.3 HelloRetryRequests
// when the server speaks TLS 1.3, and over the ServerKeyExchange of the
// newest older version with ECDHE suites (the curves) and with DHE suites
// in an RFC 7919 group (the finite-field groups), whether or not it speaks
// TLS 1.3: a server may accept weaker curves over TLS 1.2 than over 1.3.
// The old fields (Groups, GroupsTestedWith, ...) keep the TLS 1.3
// enumeration when there is one, else the older one.
func (r *tlsRun) scanGroups(ctx context.Context, res *tlswarden.TLSResult, scans []*versionScan) {
	var tls13, ec, ff groupRun
	var wg sync.WaitGroup
	enum := func(dst *groupRun, s *versionScan, groups func(context.Context, *versionScan) ([]uint16, error)) {
		if s != nil {
			wg.Go(func() { g, err := groups(ctx, s); *dst = groupRun{s.version, g, err} })
		}
	}
	early := func(dst *groupRun, e *earlyGroup, s *versionScan) *versionScan {
		if g, ok := e.result(); ok && s != nil && s.version == g.version {
			*dst = g
			return nil
		}
		return s
	}
	if s := versionScanOf(scans, tlswarden.TLS13); s != nil && s.supported {
		enum(&tls13, early(&tls13, &r.early.tls13, s), r.groupsTLS13)
	}
	enum(&ec, early(&ec, &r.early.ec, newestLegacyWith(scans, ecdheSuites)), r.groupsLegacy)
	enum(&ff, early(&ff, &r.early.ff, newestLegacyWith(scans, ffdheSuites)), r.groupsFFDHE)
	wg.Wait()
	legacy := []groupRun{ec, ff}
	if ec.version == ff.version || ec.version == 0 || ff.version == 0 {
		legacy = []groupRun{ec.merge(ff)}
	}
	for _, g := range append(legacy, tls13) {
		if g.version != 0 {
			res.GroupsByVersion = append(res.GroupsByVersion, g.result())
		}
	}
	slices.SortFunc(res.GroupsByVersion, func(a, b tlswarden.GroupScan) int { return cmp.Compare(a.Version, b.Version) })
	main := tls13
	if main.version == 0 {
		main = ec.merge(ff)
	}
	main.setLegacyFields(res)
	if err := errors.Join(ec.err, ff.err, tls13.err); err != nil {
		r.log.Debug("group enumeration incomplete", "err", err)
	}
}

// groupRun is one group enumeration: the version it ran over, the groups
// found in the order found, and why it stopped early.
type groupRun struct {
	version tlswarden.Version
	groups  []uint16
	err     error
}

// merge joins the curves' and the finite-field groups' enumerations
// (either may not have run) under the newer version of the two.
func (g groupRun) merge(o groupRun) groupRun {
	return groupRun{max(g.version, o.version), append(slices.Clip(g.groups), o.groups...), errors.Join(g.err, o.err)}
}

func (g groupRun) result() tlswarden.GroupScan {
	gs := tlswarden.GroupScan{Version: g.version, Groups: namedGroups(g.groups)}
	if len(g.groups) > 0 {
		gs.Preferred = iana.GroupName(g.groups[0])
	}
	if g.err != nil {
		gs.Error = g.err.Error()
	}
	return gs
}

// setLegacyFields fills the fields that held the one enumeration before
// there was one per version.
func (g groupRun) setLegacyFields(res *tlswarden.TLSResult) {
	if g.version == 0 {
		return
	}
	gs := g.result()
	res.Groups, res.GroupsTestedWith, res.PreferredGroup, res.GroupsError = gs.Groups, gs.Version, gs.Preferred, gs.Error
	if len(res.Groups) == 0 {
		res.Groups = nil
	}
}

func namedGroups(codes []uint16) []tlswarden.Group {
	groups := make([]tlswarden.Group, 0, len(codes))
	for _, c := range codes {
		groups = append(groups, tlswarden.Group{Code: c, Name: iana.GroupName(c)})
	}
	return groups
}

// firstGroupOnly reports, without enumerating, the group the server chose
// when TLS 1.3 suite enumeration offered every group.
func (r *tlsRun) firstGroupOnly(res *tlswarden.TLSResult, scans []*versionScan) {
	if s := versionScanOf(scans, tlswarden.TLS13); s != nil && s.supported && s.firstGroup != 0 {
		res.PreferredGroup = iana.GroupName(s.firstGroup)
	}
}

func versionScanOf(scans []*versionScan, v tlswarden.Version) *versionScan {
	for _, s := range scans {
		if s.version == v {
			return s
		}
	}
	return nil
}

// newestLegacyWith returns the newest of TLS 1.0 to 1.2 at which suites
// finds a suite (SSLv3 hellos carry no supported_groups), or nil.
func newestLegacyWith(scans []*versionScan, suites func(*versionScan) []uint16) *versionScan {
	for _, s := range slices.Backward(scans) {
		if s.version >= tlswarden.TLS10 && s.version <= tlswarden.TLS12 && len(suites(s)) > 0 {
			return s
		}
	}
	return nil
}

// ecdheSuites returns the ECDHE suites of s answered on a named curve.
func ecdheSuites(s *versionScan) []uint16 {
	var codes []uint16
	for _, su := range s.suites {
		if cs, _ := iana.Suite(su.Code); strings.HasPrefix(cs.KeyExchange, "ECDHE_") && su.Group != "" {
			codes = append(codes, su.Code)
		}
	}
	return codes
}

// ffdheSuites returns the DHE suites of s answered in an RFC 7919 group.
func ffdheSuites(s *versionScan) []uint16 {
	var codes []uint16
	for _, su := range s.suites {
		if g, ok := iana.Group(su.Group); ok && su.DHBits > 0 && g.FiniteField() {
			codes = append(codes, su.Code)
		}
	}
	return codes
}

// groupsTLS13 offers the TLS 1.3 suites found with all remaining groups and
// no key share; the HelloRetryRequest names the group picked. The suite
// enumeration's first hello already offered every group, so its group comes
// first without another connection. When the suites' preference test was
// deferred to here, the first two hellos offer the suites in its two
// orders (reversed, then rotated) and their HelloRetryRequests, which name
// the suite picked too, answer it.
func (r *tlsRun) groupsTLS13(ctx context.Context, s *versionScan) ([]uint16, error) {
	suites := suiteCodes(s.suites)
	candidates := tls13GroupOrder()
	var found []uint16
	if slices.Contains(candidates, s.firstGroup) {
		found = append(found, s.firstGroup)
	}
	if !s.prefDeferred {
		return r.groupChainsTLS13(ctx, suites, found, candidates)
	}
	orders := [][]uint16{r.reversedFound(s), r.rotatedFound(s)}
	var answers []helloAnswer
	groups, err := enumerateGroups(found, candidates, func(groups []uint16) (helloAnswer, bool) {
		offer := suites
		if n := len(answers); n < len(orders) {
			offer = orders[n]
		}
		a := r.offerSuites(ctx, tlswarden.TLS13, r.tls13Hello(groups), offer)
		answers = append(answers, a)
		return a, a.ok() && a.sh.KeyShareGroup != 0
	})
	if s.prefDeferred {
		r.settleTLS13Preference(ctx, s, answers)
		r.notePreferenceCut(ctx, s)
	}
	return groups, err
}

// settleTLS13Preference judges the deferred preference test from the group
// enumeration's first answers, sending what they could not answer (the
// enumeration ended first) as hellos of its own.
func (r *tlsRun) settleTLS13Preference(ctx context.Context, s *versionScan, answers []helloAnswer) {
	s.prefDeferred = false
	build, candidates := r.tls13Hello(nil), tls13SuiteOrder()
	if len(answers) == 0 || !answers[0].ok() {
		r.preference(ctx, s, candidates, build)
		return
	}
	var rotated *bool
	if rot := r.rotatedFound(s); len(rot) <= 2 {
		follows := true
		rotated = &follows
	} else if len(answers) > 1 && answers[1].ok() {
		follows := answers[1].sh.CipherSuite == rot[0]
		rotated = &follows
	}
	r.judgePreference(ctx, s, candidates, build, answers[0].sh.CipherSuite, true, rotated)
}

// groupsLegacy offers the ECDHE suites found at s.version with all
// remaining curves; the ServerKeyExchange names the curve picked. The
// suite enumeration's hellos offered every curve, so the curve its ECDHE
// suites were answered with comes first without another connection.
func (r *tlsRun) groupsLegacy(ctx context.Context, s *versionScan) ([]uint16, error) {
	suites := ecdheSuites(s)
	candidates := legacyGroupOrder(false)
	var found []uint16
	if g, ok := iana.Group(suiteOf(s, suites[0]).Group); ok && slices.Contains(candidates, g.Code) {
		found = append(found, g.Code)
	}
	return enumerateGroups(found, candidates, func(groups []uint16) (helloAnswer, bool) {
		a := r.offerSuites(ctx, s.version, r.legacyHello(s.version, groups), suites)
		return a, a.ok() && a.kx != nil && a.kx.CurveType == 3
	})
}

// groupsFFDHE offers the DHE suites found at s.version with every RFC
// 7919 group not yet found; the prime of the ServerKeyExchange says which
// the server picked. The suite enumeration, which offered every group, saw
// the first. A server that negotiates no group (RFC 7919 is optional in
// TLS 1.2) sends its one prime whatever is offered: then that group alone
// is reported, and a server that refuses is done.
func (r *tlsRun) groupsFFDHE(ctx context.Context, s *versionScan) ([]uint16, error) {
	suites := ffdheSuites(s)
	first, _ := iana.Group(suiteOf(s, suites[0]).Group)
	found := []uint16{first.Code}
	remaining := slices.DeleteFunc(legacyGroupOrder(true), func(c uint16) bool { return c < 256 || c == first.Code })
	for len(remaining) > 0 {
		a := r.offerSuites(ctx, s.version, r.legacyHello(s.version, remaining), suites)
		switch {
		case a.verdict == verdictRefused || a.verdict == verdictOtherVersion:
			return found, nil
		case a.verdict == verdictFailed:
			return found, fmt.Errorf("finite-field group enumeration: %w", a.err)
		case a.kx == nil || a.kx.DHBits == 0:
			return found, fmt.Errorf("finite-field group enumeration: %w", tlsProtocolErrorf("server accepted a DHE suite without DH parameters"))
		}
		g, ok := iana.FFDHEGroup(a.kx.DHPrime)
		if !ok || !slices.Contains(remaining, g) {
			return found, nil // a fixed group: the one already found, or one not offered
		}
		found = append(found, g)
		remaining = slices.DeleteFunc(remaining, func(c uint16) bool { return c == g })
	}
	return found, nil
}

// suiteOf returns the suite of s with the given code, which s holds.
func suiteOf(s *versionScan, code uint16) tlswarden.Suite {
	return s.suites[slices.IndexFunc(s.suites, func(su tlswarden.Suite) bool { return su.Code == code })]
}

// enumerateGroups offers the candidates not yet found, records the group
// the server picks, removes it and offers the rest, until the server
// refuses. offer sends one hello and says whether its answer names a group.
func enumerateGroups(found, candidates []uint16, offer func([]uint16) (helloAnswer, bool)) ([]uint16, error) {
	remaining := slices.DeleteFunc(candidates, func(c uint16) bool { return slices.Contains(found, c) })
	for len(remaining) > 0 {
		a, named := offer(remaining)
		g, done, err := judgeGroupReply(a, remaining, named)
		if done {
			return found, err
		}
		found = append(found, g)
		remaining = slices.DeleteFunc(remaining, func(c uint16) bool { return c == g })
	}
	return found, nil
}

func (a helloAnswer) ok() bool { return a.verdict == verdictAccepted }

// judgeGroupReply judges one answer of a group enumeration: the group
// picked (named says the answer names one), or done when the server refused
// the rest, or an error.
func judgeGroupReply(a helloAnswer, offered []uint16, named bool) (g uint16, done bool, err error) {
	switch {
	case a.verdict == verdictRefused || a.verdict == verdictOtherVersion:
		return 0, true, nil
	case a.verdict == verdictFailed:
		return 0, true, fmt.Errorf("group enumeration: %w", a.err)
	case !named:
		return 0, true, fmt.Errorf("group enumeration: %w", tlsProtocolErrorf("server accepted without naming a group"))
	}
	g = a.sh.KeyShareGroup
	if a.kx != nil {
		g = a.kx.Curve
	}
	if !slices.Contains(offered, g) {
		return 0, true, fmt.Errorf("group enumeration: %w", tlsProtocolErrorf("server chose group %s, which was not offered", iana.GroupName(g)))
	}
	return g, false, nil
}

// Early group enumerations. The group enumerations need only one suite of
// the right kind accepted at the right version, not the whole list: over
// TLS 1.3 any suite, over TLS 1.2 an ECDHE suite on a named curve (the
// curves) and a DHE suite in an RFC 7919 group (the finite-field groups).
// TLS 1.2, when it has such a suite, is the newest older version that has
// one, which scanGroups would pick. So each starts as soon as the suite
// enumeration's first hello of that kind is answered, beside the rest of
// the enumeration rather than after it, and scanGroups takes its result.
// The TLS 1.3 preference test, which needs the suites all known, then
// rides on whichever group hellos are still to go once they are
// (tlsride.go), and has hellos of its own only when none are.

// earlyGroups are one run's early group enumerations.
type earlyGroups struct {
	tls13, ec, ff earlyGroup
}

// earlyGroup is one group enumeration started early, at most once.
type earlyGroup struct {
	mu   sync.Mutex
	done chan struct{}
	run  groupRun
}

// start runs enum in a goroutine of its own, unless one was started.
func (e *earlyGroup) start(enum func() groupRun) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done != nil {
		return
	}
	done := make(chan struct{})
	e.done = done
	go func() {
		defer close(done)
		e.run = enum()
	}()
}

// result waits for the enumeration and returns it; ok is false when none
// was started.
func (e *earlyGroup) result() (g groupRun, ok bool) {
	e.mu.Lock()
	done := e.done
	e.mu.Unlock()
	if done == nil {
		return groupRun{}, false
	}
	<-done
	return e.run, true
}

// wait returns a channel closed when the enumeration is done (nil, which
// never is, when none was started).
func (e *earlyGroup) wait() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.done
}

// running reports whether an enumeration was started and is not done.
func (e *earlyGroup) running() bool {
	select {
	case <-e.wait():
		return false
	default:
		return e.started()
	}
}

// started reports whether an enumeration was started.
func (e *earlyGroup) started() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.done != nil
}

// startEarlyGroups starts the group enumerations that answer a, an
// accepted hello of the suite enumeration at v, makes possible.
func (r *tlsRun) startEarlyGroups(ctx context.Context, v tlswarden.Version, a helloAnswer) {
	if r.cfg.NoGroups || (v != tlswarden.TLS12 && v != tlswarden.TLS13) {
		return
	}
	one := &versionScan{version: v}
	one.accept(a)
	enum := func(e *earlyGroup, groups func(context.Context, *versionScan) ([]uint16, error)) {
		e.start(func() groupRun { g, err := groups(ctx, one); return groupRun{v, g, err} })
	}
	switch {
	case v == tlswarden.TLS13:
		if one.firstGroup != 0 {
			enum(&r.early.tls13, r.groupsTLS13)
		}
	case len(ecdheSuites(one)) > 0:
		enum(&r.early.ec, r.groupsLegacy)
	case len(ffdheSuites(one)) > 0:
		enum(&r.early.ff, r.groupsFFDHE)
	}
}

// groupChainsTLS13 enumerates the TLS 1.3 groups in two chains at once:
// the elliptic-curve and hybrid groups, and the RFC 7919 finite-field
// groups, which a server's order does not interleave with them (OpenSSL's
// default list has every curve first): a server with both kinds, as
// OpenSSL 3 has by default, no longer offers them one hello after the
// other. The second chain's finds follow the first's, the chain of the
// preferred group (found) first; one hello checks the border, offering the
// second chain's first before the first chain's last, and when the server
// picks the former the two are merged, a hello per group placed. It
// offers suites.
func (r *tlsRun) groupChainsTLS13(ctx context.Context, suites, found, candidates []uint16) ([]uint16, error) {
	offer := func(groups []uint16) (helloAnswer, bool) {
		a := r.offerGroups13(ctx, suites, groups)
		return a, a.ok() && a.sh.KeyShareGroup != 0
	}
	ff := func(g uint16) bool { return g >= 256 && g <= 511 }
	parts := [2][]uint16{slices.DeleteFunc(slices.Clone(candidates), ff), slices.DeleteFunc(slices.Clone(candidates), func(g uint16) bool { return !ff(g) })}
	if len(found) > 0 && ff(found[0]) {
		parts[0], parts[1] = parts[1], parts[0]
	}
	var lists [2][]uint16
	var errs [2]error
	var wg sync.WaitGroup
	for i := range parts {
		have := slices.DeleteFunc(slices.Clone(found), func(g uint16) bool { return !slices.Contains(parts[i], g) })
		wg.Go(func() { lists[i], errs[i] = enumerateGroups(have, parts[i], offer) })
	}
	wg.Wait()
	err := errors.Join(errs[0], errs[1])
	a, b := lists[0], lists[1]
	if len(a) == 0 || len(b) == 0 || err != nil {
		return append(a, b...), err
	}
	if top, ok := r.pickGroup(ctx, suites, []uint16{b[0], a[len(a)-1]}); ok && top == a[len(a)-1] {
		return append(a, b...), nil
	}
	var merged []uint16
	for len(a) > 0 && len(b) > 0 {
		top, ok := r.pickGroup(ctx, suites, []uint16{a[0], b[0]})
		switch {
		case !ok:
			return append(merged, append(a, b...)...), errors.New("group enumeration: the order of the two kinds of groups could not be settled")
		case top == a[0]:
			merged, a = append(merged, top), a[1:]
		default:
			merged, b = append(merged, top), b[1:]
		}
	}
	return append(append(merged, a...), b...), nil
}

// pickGroup offers groups over TLS 1.3 and returns the one the server's
// HelloRetryRequest names.
func (r *tlsRun) pickGroup(ctx context.Context, suites, groups []uint16) (uint16, bool) {
	a := r.offerGroups13(ctx, suites, groups)
	if !a.ok() || a.sh.KeyShareGroup == 0 || !slices.Contains(groups, a.sh.KeyShareGroup) {
		return 0, false
	}
	return a.sh.KeyShareGroup, true
}
