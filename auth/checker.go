// Package auth runs the sender authentication checks of one message as a
// single mailscore Check named "auth": SPF for MAIL FROM and for HELO (RFC
// 7208), DKIM (RFC 6376), ARC (RFC 8617), DMARC (RFC 9989 or RFC 7489) and
// iprev (RFC 8601 section 3). SPF, iprev and ARC run beside DKIM while DNS
// answers are slow (see Concurrency); DMARC runs when SPF and DKIM are
// done, with their results as plain values. It emits signals with default
// weights (see Symbols) and the Authentication-Results field for the
// message (RFC 8601, through package authres).
//
// ARC does not change DMARC's result. A passing chain is weak evidence on
// its own (anyone can seal), a broken one weakly spam-ward; with
// Options.TrustedSealers, a passing chain whose trusted sealer saw the
// message pass DMARC offsets a DMARC failure (ARC_TRUSTED_PASS, RFC 8617
// section 7.2): the remedy for the forwarding problem of RFC 7960.
//
// Signals of domains that authenticated carry Key{KeyAuthDomain, domain}
// and Key{KeyOrgDomain, registrable domain}; DMARC signals carry
// Key{KeyDomain, From domain}. A check that fails temporarily gives a
// *_TEMPERROR signal with confidence 0, and Check returns an error
// (matching dnsutil.IsTemporary when DNS was the cause), so the engine
// marks "auth" incomplete and holds nothing against the message.
//
// Shortest use:
//
//	c, err := auth.New(auth.Options{Resolver: resolver})
//	engine, err := mailscore.NewEngine(mailscore.EngineOptions{}, c)
//	verdict := engine.Score(ctx, msg)
//
// and for the header an MTA adds:
//
//	res, err := c.Evaluate(ctx, msg)
//	field := res.AuthResultsField("mx.example.org")
package auth

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/auth/arc"
	"github.com/mailscore/mailscore/auth/authres"
	"github.com/mailscore/mailscore/auth/dkim"
	"github.com/mailscore/mailscore/auth/dmarc"
	"github.com/mailscore/mailscore/auth/iprev"
	"github.com/mailscore/mailscore/auth/spf"
	"github.com/mailscore/mailscore/dnsutil"
)

// Name is the check's name.
const Name = "auth"

// Options configure a Checker. Only Resolver is required.
type Options struct {
	// Resolver answers every DNS query; normally a caching *dnsutil.Client.
	Resolver dnsutil.Resolver
	// SPF, DKIM, DMARC and IPRev configure the underlying checks. The
	// DKIM Resolver is filled in from Resolver when nil.
	SPF   spf.Options
	DKIM  dkim.Options
	DMARC dmarc.Options
	IPRev iprev.Options
	// SkipIPRev turns the iprev check off (no PTR lookups).
	SkipIPRev bool
	// SkipHELO turns the SPF check of the HELO identity off.
	SkipHELO bool
	// ARC configures the validation of Authenticated Received Chains
	// (RFC 8617). Its Resolver is filled in from Resolver, and its Now
	// from DKIM.Now, when nil.
	ARC arc.Options
	// SkipARC turns ARC validation off (no arc= result, no ARC signals).
	SkipARC bool
	// TrustedSealers are the ARC sealers whose word this receiver takes:
	// domains (a listed domain covers its subdomains) of forwarders and
	// mailing lists known to check mail before they change and seal it.
	// When DMARC fails but the chain passes, its newest sealers are
	// trusted, and the oldest of them recorded DMARC passing (or an
	// aligned DKIM or SPF pass) for the From domain, the check emits
	// ARC_TRUSTED_PASS, which offsets the DMARC failure (RFC 8617 section
	// 7.2; RFC 7960 describes why forwarding fails DMARC). Empty: no
	// sealer is trusted.
	TrustedSealers []string
	// Concurrency says when SPF (MAIL FROM and HELO), iprev and ARC run
	// on goroutines of their own beside DKIM. Default ConcurrencyAuto.
	Concurrency Concurrency
}

// Concurrency chooses between running the independent checks of a message
// side by side and one after the other.
type Concurrency int

// Concurrency modes.
const (
	// ConcurrencyAuto runs them side by side while DNS answers are slow
	// (a cold cache: their round trips then overlap DKIM's), and one after
	// the other while they come from the cache, where a goroutine's start,
	// stack growth and cross-thread wake-up would cost more than the
	// overlap saves. It decides from a moving average of how long they
	// took on recent messages.
	ConcurrencyAuto Concurrency = iota
	// ConcurrencyAlways always runs them side by side.
	ConcurrencyAlways
	// ConcurrencyNever runs every check on the calling goroutine.
	ConcurrencyNever
)

// slowOthers is the average time of SPF, HELO and iprev above which
// ConcurrencyAuto runs them beside DKIM: a few cached lookups take
// microseconds, one DNS round trip a good part of a millisecond.
const slowOthers = 200 * time.Microsecond

// Checker is the "auth" check. It is safe for concurrent use; create one
// and share it (the DKIM key cache and SPF record cache live in it).
type Checker struct {
	opts Options
	// othersNs is the moving average, in nanoseconds, of how long SPF,
	// HELO and iprev took (ConcurrencyAuto).
	othersNs atomic.Int64
	spf      *spf.Checker
	dkim     *dkim.Verifier
	dmarc    *dmarc.Verifier
	iprev    *iprev.Checker
	arc      *arc.Validator // nil with SkipARC
	trusted  []string       // TrustedSealers, lower-case, no trailing dot
}

// New returns a Checker.
func New(opts Options) (*Checker, error) {
	if opts.Resolver == nil {
		return nil, errors.New("auth: Options.Resolver is required")
	}
	if opts.DKIM.Resolver == nil {
		opts.DKIM.Resolver = opts.Resolver
	}
	v, err := dkim.NewVerifier(opts.DKIM)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	c := &Checker{
		opts:  opts,
		spf:   spf.New(opts.Resolver, opts.SPF),
		dkim:  v,
		dmarc: dmarc.New(opts.Resolver, opts.DMARC),
		iprev: iprev.New(opts.Resolver, opts.IPRev),
	}
	if !opts.SkipARC {
		ao := opts.ARC
		if ao.Resolver == nil {
			ao.Resolver = opts.Resolver
		}
		if ao.Now == nil {
			ao.Now = opts.DKIM.Now
		}
		if c.arc, err = arc.NewValidator(ao); err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
	}
	for _, d := range opts.TrustedSealers {
		d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
		if d == "" {
			return nil, errors.New("auth: an empty TrustedSealers entry")
		}
		c.trusted = append(c.trusted, d)
	}
	c.othersNs.Store(int64(slowOthers)) // start side by side: the cache is cold
	return c, nil
}

// Name implements mailscore.Check.
func (c *Checker) Name() string { return Name }

// ErrNoClientIP is returned (and makes the check incomplete) when the
// envelope has no client address: SPF and iprev cannot run, and DMARC can
// only pass through DKIM.
var ErrNoClientIP = errors.New("auth: the envelope has no client IP address: SPF and iprev not checked")

// Results are the results of every check for one message.
type Results struct {
	// SPF is the MAIL FROM check (for a null reverse path, postmaster@HELO);
	// SPFChecked is false when it could not run (no client IP).
	SPF        spf.Result
	SPFChecked bool
	// HELO is the HELO check; HELOChecked is false when it was skipped
	// (no HELO, no client IP, or Options.SkipHELO).
	HELO        spf.Result
	HELOChecked bool
	// DKIM holds one result per DKIM-Signature field, in header order.
	DKIM []dkim.Result
	// DMARC is the DMARC result (never nil after Evaluate).
	DMARC *dmarc.Result
	// IPRev is the iprev result; IPRevChecked is false when skipped.
	IPRev        iprev.Result
	IPRevChecked bool
	// ARC is the validation of the message's Authenticated Received Chain
	// (Status none without ARC header fields); ARCChecked is false, and
	// ARC nil, with Options.SkipARC.
	ARC        *arc.Result
	ARCChecked bool
	// ARCTrusted is set when DMARC failed and a trusted sealer's passing
	// chain vouches for the message (Options.TrustedSealers).
	ARCTrusted *TrustedARC
	// ClientIP is the address checked.
	ClientIP netip.Addr
}

// TrustedARC says which trusted ARC sealer vouched for a message that
// failed DMARC, and with what.
type TrustedARC struct {
	// Sealer is the domain of the trusted sealer (its ARC-Seal d=) whose
	// ARC-Authentication-Results are relied on, and Instance its set.
	Sealer   string
	Instance int
	// AuthServID is the authserv-id of those results.
	AuthServID string
	// Method is what passed there for the From domain: "dmarc", or an
	// aligned "dkim" or "spf".
	Method string
	// Domain is the authenticated domain (header.from, header.d or the
	// smtp.mailfrom domain).
	Domain string
}

// Evaluate runs the checks on msg. The error is non-nil when some check
// could not finish (a temporary DNS failure, or no client address); it
// joins the underlying errors, so dnsutil.IsTemporary tells a DNS failure.
// Results are complete for everything that did finish.
func (c *Checker) Evaluate(ctx context.Context, msg *mailscore.Message) (*Results, error) {
	env := msg.Envelope
	res := &Results{ClientIP: env.ClientIP.Unmap()}
	hasIP := res.ClientIP.IsValid()
	// SPF for MAIL FROM, SPF for HELO and iprev run on one goroutine
	// beside this one, which verifies DKIM, when their DNS answers are
	// slow (see Concurrency). Whoever starts them first runs them: if the
	// goroutine has not been scheduled by the time DKIM is done, this one
	// runs them itself instead of waiting for the scheduler.
	var claimed atomic.Bool
	var done chan struct{}
	others := func() {
		start := time.Now()
		res.SPF = c.spf.Check(ctx, res.ClientIP, env.HELO, env.MailFrom)
		if res.HELOChecked {
			res.HELO = c.spf.CheckHELO(ctx, res.ClientIP, env.HELO)
		}
		if res.IPRevChecked {
			res.IPRev = c.iprev.Check(ctx, res.ClientIP)
		}
		d := int64(time.Since(start))
		old := c.othersNs.Load()
		c.othersNs.CompareAndSwap(old, old-old/8+d/8) // a lost update is harmless
	}
	if hasIP {
		res.SPFChecked = true
		res.HELOChecked = env.HELO != "" && !c.opts.SkipHELO
		res.IPRevChecked = !c.opts.SkipIPRev
	}
	side := hasIP && (c.opts.Concurrency == ConcurrencyAlways ||
		c.opts.Concurrency == ConcurrencyAuto && c.othersNs.Load() >= int64(slowOthers))
	if side {
		done = make(chan struct{})
		go func() {
			if claimed.CompareAndSwap(false, true) {
				others()
				close(done)
			}
		}()
	}
	// ARC runs beside DKIM too, on a goroutine of its own, under the same
	// rule; a message without ARC header fields costs nothing.
	var arcClaimed atomic.Bool
	var arcDone chan struct{}
	res.ARCChecked = c.arc != nil
	hasARC := res.ARCChecked && arc.Present(msg)
	if hasARC && (c.opts.Concurrency == ConcurrencyAlways ||
		c.opts.Concurrency == ConcurrencyAuto && c.othersNs.Load() >= int64(slowOthers)) {
		arcDone = make(chan struct{})
		go func() {
			if arcClaimed.CompareAndSwap(false, true) {
				res.ARC = c.arc.Validate(ctx, msg)
				close(arcDone)
			}
		}()
	}
	res.DKIM = c.dkim.VerifyMessage(ctx, msg)
	if hasIP {
		if claimed.CompareAndSwap(false, true) {
			others()
		} else {
			<-done
		}
	}
	switch {
	case hasARC && arcClaimed.CompareAndSwap(false, true):
		res.ARC = c.arc.Validate(ctx, msg)
	case hasARC:
		<-arcDone
	case res.ARCChecked:
		res.ARC = &arc.Result{Status: arc.StatusNone}
	}

	// DMARC with the SPF (MAIL FROM) and DKIM outcomes as plain values.
	var spfOut dmarc.SPFOutcome
	if res.SPFChecked {
		spfOut = dmarc.SPFOutcome{Domain: res.SPF.Domain, Result: dmarc.AuthResult(res.SPF.Code.String())}
	} else {
		// Without a client address SPF is unknown: had it run, the MAIL
		// FROM domain (or, for a null or absent reverse path, any domain
		// of the sender's) might have passed and aligned. Telling DMARC it
		// failed temporarily makes a DMARC fail a temperror instead.
		d := domainOf(env.MailFrom)
		if d == "" {
			if a, err := dmarc.AuthorDomain(msg.Header.Values("From")); err == nil {
				d = a.Domain
			}
		}
		spfOut = dmarc.SPFOutcome{Domain: d, Result: dmarc.AuthTempError}
	}
	dkimOut := make([]dmarc.DKIMOutcome, 0, len(res.DKIM))
	for _, r := range res.DKIM {
		dkimOut = append(dkimOut, dmarc.DKIMOutcome{Domain: r.Domain, Selector: r.Selector, Result: dmarc.AuthResult(r.Status)})
	}
	res.DMARC = c.dmarc.EvaluateMessage(ctx, msg.Header.Values("From"), spfOut, dkimOut)
	res.ARCTrusted = c.trustedARC(res)
	return res, res.err()
}

// trustedARC decides whether a trusted sealer vouches for a message that
// failed DMARC (RFC 8617 section 7.2): the chain passes; its newest
// sealers, from the newest down, are trusted; and the oldest of those
// trusted sets recorded, in its ARC-Authentication-Results, DMARC passing
// for the From domain, or DKIM or SPF passing for a domain aligned with
// it (relaxed, RFC 7489 section 3.1). Only trusted hands held the message
// since then, so what that hop saw is what this message was.
func (c *Checker) trustedARC(r *Results) *TrustedARC {
	if len(c.trusted) == 0 || r.ARC == nil || r.ARC.Status != arc.StatusPass || r.DMARC == nil || r.DMARC.Status != dmarc.Fail {
		return nil
	}
	from := strings.ToLower(r.DMARC.AuthorDomain)
	if from == "" {
		return nil
	}
	k := len(r.ARC.Sets)
	for k > 0 && c.isTrusted(r.ARC.Sets[k-1].Seal.Domain) {
		k--
	}
	if k == len(r.ARC.Sets) {
		return nil // the newest sealer is not trusted
	}
	set := &r.ARC.Sets[k]
	h := set.AAR.Header
	if h == nil {
		return nil
	}
	t := &TrustedARC{Sealer: set.Seal.Domain, Instance: set.Instance, AuthServID: h.AuthServID}
	// DMARC's own verdict first, then an aligned DKIM, then SPF.
	for _, method := range []string{"dmarc", "dkim", "spf"} {
		for _, res := range h.Find(method) {
			if !strings.EqualFold(res.Value, "pass") {
				continue
			}
			var dom string
			switch method {
			case "dmarc":
				if d := res.Get("header", "from"); d != "" && !strings.EqualFold(d, from) {
					continue
				}
				dom = from
			case "dkim":
				if dom = res.Get("header", "d"); dom == "" {
					dom = domainOf(res.Get("header", "i"))
				}
			case "spf":
				dom = domainOf(res.Get("smtp", "mailfrom"))
			}
			if dom != "" && aligned(dom, from) {
				t.Method, t.Domain = method, strings.ToLower(dom)
				return t
			}
		}
	}
	return nil
}

func (c *Checker) isTrusted(domain string) bool {
	domain = strings.ToLower(domain)
	for _, t := range c.trusted {
		if domain == t || strings.HasSuffix(domain, "."+t) {
			return true
		}
	}
	return false
}

// aligned reports relaxed identifier alignment (RFC 7489 section 3.1):
// the same organizational domain.
func aligned(a, b string) bool {
	na, err1 := dmarc.NormalizeDomain(a)
	nb, err2 := dmarc.NormalizeDomain(b)
	if err1 != nil || err2 != nil {
		return false
	}
	oa, ok := dmarc.OrganizationalDomainPSL(na)
	if !ok {
		oa = na
	}
	ob, ok := dmarc.OrganizationalDomainPSL(nb)
	if !ok {
		ob = nb
	}
	return oa == ob
}

// domainOf returns the domain of an address ("" if there is none).
func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 || i == len(addr)-1 {
		return ""
	}
	return addr[i+1:]
}

// err joins the errors of the checks that could not finish.
func (r *Results) err() error {
	var errs []error
	if !r.SPFChecked {
		errs = append(errs, ErrNoClientIP)
	} else if r.SPF.Code == spf.TempError {
		errs = append(errs, fmt.Errorf("auth: SPF: %w", r.SPF.Err))
	}
	if r.HELOChecked && r.HELO.Code == spf.TempError {
		errs = append(errs, fmt.Errorf("auth: SPF HELO: %w", r.HELO.Err))
	}
	if st, _ := dkimSummary(r.DKIM); st == dkim.StatusTempError {
		for _, d := range r.DKIM {
			if d.Status == dkim.StatusTempError {
				errs = append(errs, fmt.Errorf("auth: DKIM %s: %w", d.Domain, d.Err))
				break
			}
		}
	}
	if r.DMARC != nil && r.DMARC.Status == dmarc.TempError {
		errs = append(errs, fmt.Errorf("auth: DMARC: %w", r.DMARC.Err))
	}
	if r.IPRevChecked && r.IPRev.Status == iprev.TempError {
		errs = append(errs, fmt.Errorf("auth: iprev: %w", r.IPRev.Err))
	}
	if r.ARCChecked && r.ARC != nil && r.ARC.Status == arc.StatusTempError {
		errs = append(errs, fmt.Errorf("auth: ARC: %w", r.ARC.Err))
	}
	return errors.Join(errs...)
}

// dkimSummary is the overall DKIM outcome: pass if any signature passed;
// else temperror if any failed temporarily; else fail if any failed or was
// broken; "" when there is no signature. It also returns the passing
// results.
func dkimSummary(rs []dkim.Result) (dkim.Status, []dkim.Result) {
	var passed []dkim.Result
	temp, bad := false, false
	for _, r := range rs {
		switch r.Status {
		case dkim.StatusPass:
			passed = append(passed, r)
		case dkim.StatusTempError:
			temp = true
		case dkim.StatusFail, dkim.StatusPermError, dkim.StatusPolicy:
			bad = true
		}
	}
	switch {
	case len(passed) > 0:
		return dkim.StatusPass, passed
	case temp:
		return dkim.StatusTempError, nil
	case bad:
		return dkim.StatusFail, nil
	case len(rs) > 0:
		return dkim.StatusNeutral, nil
	}
	return "", nil
}

// Check implements mailscore.Check: Evaluate, then Signals.
func (c *Checker) Check(ctx context.Context, msg *mailscore.Message, _ []mailscore.Signal) ([]mailscore.Signal, error) {
	res, err := c.Evaluate(ctx, msg)
	return res.Signals(), err
}

// Header returns the Authentication-Results of the message (RFC 8601)
// for the given authserv-id: spf (MAIL FROM, then HELO), one dkim per
// signature (dkim=none without any), arc (RFC 8617 section 10: with
// smtp.remote-ip, header.oldest-pass when older sets no longer validate,
// and a comment with what the first hop saw), dmarc, iprev. An ARC sealer
// puts this header into its ARC-Authentication-Results.
func (r *Results) Header(authservID string) authres.Header {
	h := authres.Header{AuthServID: authservID}
	if r.SPFChecked {
		sr := authres.SPF(r.SPF.Code.String(), r.SPF.Sender, "")
		switch r.SPF.Code {
		case spf.TempError:
			sr.Reason = tempReason
		case spf.PermError:
			sr.Reason = errText(r.SPF.Err)
		}
		h.Results = append(h.Results, sr)
	}
	if r.HELOChecked {
		h.Results = append(h.Results, authres.SPF(r.HELO.Code.String(), "", r.HELO.HELO))
	}
	if len(r.DKIM) == 0 {
		h.Results = append(h.Results, authres.Result{Method: "dkim", Value: "none"})
	}
	for _, d := range r.DKIM {
		reason := d.Reason()
		if d.Status == dkim.StatusTempError {
			reason = tempReason
		}
		h.Results = append(h.Results, authres.DKIM(string(d.Status), reason, d.Domain, d.Identity, d.Selector, d.Algorithm, d.SignaturePrefix()))
	}
	if r.ARCChecked && r.ARC != nil {
		ar := r.ARC.AuthResult(r.ClientIP)
		if r.ARC.Status == arc.StatusTempError {
			ar.Reason = tempReason
		}
		h.Results = append(h.Results, ar)
	}
	if m := r.DMARC; m != nil {
		dr := authres.Result{Method: "dmarc", Value: string(m.Status)}
		if m.AuthorDomain != "" {
			dr.Props = append(dr.Props, authres.Property{Type: "header", Name: "from", Value: m.AuthorDomain})
		}
		if m.Disposition != "" {
			dr.Props = append(dr.Props, authres.Property{Type: "policy", Name: "dmarc", Value: string(m.Disposition)})
		}
		if m.Record != nil {
			dr.Comment = "p=" + string(m.Record.Policy)
			if m.Record.SubdomainPolicy != "" {
				dr.Comment += " sp=" + string(m.Record.SubdomainPolicy)
			}
			if m.Policy != m.Disposition && m.Disposition != "" {
				dr.Comment += " dis=" + string(m.Disposition)
			}
		}
		switch m.Status {
		case dmarc.PermError:
			dr.Reason = errText(m.Err)
		case dmarc.TempError:
			dr.Reason = tempReason
		}
		h.Results = append(h.Results, dr)
	}
	if r.IPRevChecked {
		h.Results = append(h.Results, authres.IPRev(string(r.IPRev.Status), r.IPRev.IP.String(), r.IPRev.Name))
	}
	return h
}

// tempReason is the reason given for a temperror in the header: the
// details of a DNS failure (which server, which address) stay in the
// signals and the error, out of mail that leaves the site.
const tempReason = "DNS lookup failed temporarily"

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// AuthResults returns the Authentication-Results field value, on one line,
// for the given authserv-id (the receiving host's name, RFC 8601 section
// 2.5). Every value is quoted or escaped: no input can add a header line.
func (r *Results) AuthResults(authservID string) string {
	h := r.Header(authservID)
	return h.String()
}

// AuthResultsField returns the whole folded "Authentication-Results: ..."
// field ending in CRLF, ready to prepend to the message.
func (r *Results) AuthResultsField(authservID string) string {
	h := r.Header(authservID)
	return h.Field()
}
