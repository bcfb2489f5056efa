package spf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/mailscore/mailscore/dnsutil"
)

// Limits of RFC 7208 section 4.6.4.
const (
	maxLookups = 10 // DNS-querying terms per check
	maxMXNames = 10 // MX names per mx mechanism
	// maxDepth bounds include/redirect nesting. Each level costs a
	// DNS-querying term, so the lookup limit is reached first; this is
	// the array size that keeps the per-check state off the heap.
	maxDepth = maxLookups + 2
)

// evaluator is the state of one check.
type evaluator struct {
	c   *Checker
	ctx context.Context

	ip           netip.Addr // unmapped
	sender       string     // <sender>
	local        string     // its local-part ("postmaster" when empty)
	senderDomain string     // its domain (%{o})
	helo         string

	lookups, voids int
	deadline       time.Time // zero: none besides the context's

	stack   [maxDepth]string // domains being evaluated, for loop detection
	path    [maxDepth]*Term  // terms followed to the latest match
	pathLen int

	trace []Step

	// %{p} is computed once per domain.
	pDone           bool
	pDomain, pValue string
}

// outcome is the result of check_host() for one domain.
type outcome struct {
	code ResultCode
	err  error
	// mech is the mechanism that matched in this record or in the record
	// a redirect led to.
	mech *Term
	// expRec and expDomain are the record whose exp= applies to a fail
	// (section 6.2: the redirect target's, never an include's) and its
	// domain.
	expRec    *Record
	expDomain string
}

func (e *evaluator) step(depth int, domain, term, target, note, detail string) {
	e.trace = append(e.trace, Step{Depth: depth, Domain: domain, Term: term, Target: target, Note: note, Detail: detail})
}

func (c *Checker) run(ctx context.Context, ip netip.Addr, domain, sender, helo string, id Identity) Result {
	e := evaluator{c: c, ctx: ctx, ip: ip.Unmap(), helo: helo}
	e.trace = make([]Step, 0, 12)
	res := Result{Identity: id, IP: e.ip, HELO: helo}

	// RFC 7208 section 4.3: an empty local-part becomes "postmaster".
	at := strings.LastIndexByte(sender, '@')
	local := sender[:max(at, 0)]
	if local == "" {
		local = "postmaster"
		sender = "postmaster@" + sender[at+1:]
	}
	e.sender, e.local = sender, local
	e.senderDomain = trimDot(sender[strings.LastIndexByte(sender, '@')+1:])
	res.Sender = sender

	d, ok := checkDomain(domain)
	res.Domain = d
	if !e.ip.IsValid() {
		res.Code, res.Err = None, ErrInvalidIP
		e.step(0, d, "", "", "not checked", "invalid client IP address")
		res.Trace = e.trace
		return res
	}
	if !ok {
		res.Code, res.Err = None, fmt.Errorf("%w: %s", ErrInvalidDomain, quote(domain))
		e.step(0, d, "", "", "none", "not a valid multi-label domain name (RFC 7208 section 4.3)")
		res.Trace = e.trace
		return res
	}
	if _, ok := ctx.Deadline(); !ok && c.opts.Timeout > 0 {
		// No timer and no derived context (they would cost more than
		// the rest of a cached check): the deadline is checked before
		// each DNS-querying term, and the resolver's timeouts bound the
		// queries in flight. A context with a deadline rules alone.
		e.deadline = c.opts.Now().Add(c.opts.Timeout)
	}
	qname, _ := queryName(d)
	o := e.checkHost(d, qname, 0)
	res.Code, res.Err = o.code, o.err
	res.Lookups, res.VoidLookups = e.lookups, e.voids
	if o.mech != nil && o.code != TempError && o.code != PermError {
		res.Path = make([]string, e.pathLen)
		for i, t := range e.path[:e.pathLen] {
			res.Path[i] = t.Text
			if res.Mechanism == "" && t.Kind != KindRedirect {
				res.Mechanism = t.Text
			}
		}
	}
	if o.code == Fail {
		res.Explanation = e.explanation(o, d)
	}
	res.Trace = e.trace
	return res
}

// checkHost is check_host() (RFC 7208 section 4) for domain, lower-case
// without a trailing dot, whose absolute query name is qname.
func (e *evaluator) checkHost(domain, qname string, depth int) outcome {
	e.stack[depth] = domain
	rec, o, ok := e.fetch(domain, qname, depth)
	if !ok {
		return o
	}
	// Section 4.6.2: mechanisms are evaluated in order; the first match
	// gives the result.
	for i := range rec.Terms {
		t := &rec.Terms[i]
		if !t.Kind.Mechanism() {
			continue
		}
		match, o := e.mechanism(t, domain, qname, depth)
		if o.code == TempError || o.code == PermError {
			return o
		}
		if match {
			e.path[depth] = t
			if t.Kind != KindInclude {
				e.pathLen = depth + 1
			}
			e.step(depth, domain, t.Text, "", "matched", t.Qualifier.Result().String())
			return outcome{code: t.Qualifier.Result(), mech: t, expRec: rec, expDomain: domain}
		}
	}
	// Section 6.1: redirect= applies when no mechanism matched, and is
	// ignored when the record has an "all" mechanism.
	if t := rec.Redirect; t != nil && !rec.HasAll {
		return e.redirect(t, domain, qname, depth)
	}
	// Section 4.7: no match and no redirect gives neutral.
	e.step(depth, domain, "", "", "no mechanism matched", "default result neutral (RFC 7208 section 4.7)")
	return outcome{code: Neutral, expRec: rec, expDomain: domain}
}

// fetch looks up and selects the SPF record of domain (sections 4.4 and
// 4.5) and parses it. When it reports false, o is the result.
func (e *evaluator) fetch(domain, qname string, depth int) (rec *Record, o outcome, ok bool) {
	a, err := e.resolve(qname, dns.TypeTXT)
	if err != nil {
		if dnsutil.IsNotFound(err) || errors.Is(err, dnsutil.ErrInvalidName) {
			e.step(depth, domain, "", "", "no SPF record", "")
			return nil, outcome{code: None}, false
		}
		e.step(depth, domain, "", "", "temperror", err.Error())
		return nil, outcome{code: TempError, err: err}, false
	}
	var txt string
	n := 0
	for _, rr := range a.Records {
		t, isTXT := rr.(*dns.TXT)
		if !isTXT {
			continue
		}
		s := dnsutil.TXTString(t)
		if !IsRecord(s) {
			continue // not an SPF record (section 4.5)
		}
		if n++; n > 1 {
			e.step(depth, domain, "", "", "permerror", "more than one SPF record (RFC 7208 section 4.5)")
			return nil, outcome{code: PermError, err: fmt.Errorf("%w at %s", ErrMultipleRecords, domain)}, false
		}
		txt = s
	}
	if n == 0 {
		e.step(depth, domain, "", "", "no SPF record", "")
		return nil, outcome{code: None}, false
	}
	e.step(depth, domain, "", "", "record", txt)
	rec, err = e.c.parse(txt)
	if err != nil {
		e.step(depth, domain, "", "", "permerror", err.Error())
		return nil, outcome{code: PermError, err: err}, false
	}
	return rec, outcome{}, true
}

// Records kept by the parsed-record cache are at most this big.
const (
	maxCachedRecordLen   = 2048
	maxCachedRecordTerms = 64
)

// parse parses a record, through the Checker's record cache. Parsed
// records are never modified, so they are shared between checks.
func (c *Checker) parse(txt string) (*Record, error) {
	if c.records != nil {
		if rec, ok := c.records.Get(txt); ok {
			return rec, nil
		}
	}
	rec, err := Parse(txt)
	if err != nil {
		return nil, err
	}
	if c.records != nil && len(txt) <= maxCachedRecordLen && len(rec.Terms) <= maxCachedRecordTerms {
		c.records.Add(txt, rec)
	}
	return rec, nil
}

// count charges one DNS-querying term against the limit, and checks the
// time limit (section 4.6.4). The clock is read once per term, not per
// query: a term's queries are bounded by the context and the resolver's
// own timeouts.
func (e *evaluator) count(depth int, domain string, t *Term) (outcome, bool) {
	e.lookups++
	if e.lookups > maxLookups {
		e.step(depth, domain, t.Text, "", "permerror", "more than 10 DNS-querying terms (RFC 7208 section 4.6.4)")
		return outcome{code: PermError, err: ErrLookupLimit}, false
	}
	if !e.deadline.IsZero() && e.c.opts.Now().After(e.deadline) {
		err := &dnsutil.Error{Name: domain, Kind: dnsutil.ErrTimeout, Err: errCheckTimeout}
		return e.tempError(depth, domain, t, "", err), false
	}
	return outcome{}, true
}

// void charges one void lookup against the limit (section 4.6.4).
func (e *evaluator) void(depth int, domain string, t *Term, target string) (outcome, bool) {
	e.voids++
	if e.voids > e.c.opts.MaxVoidLookups {
		e.step(depth, domain, t.Text, target, "permerror", "too many void lookups (RFC 7208 section 4.6.4)")
		return outcome{code: PermError, err: ErrVoidLimit}, false
	}
	e.step(depth, domain, t.Text, target, "void lookup", "no match")
	return outcome{}, true
}

// target returns the domain a term queries: its domain-spec, expanded and
// truncated (section 7.3), or the current domain. ok is false when the
// result cannot be queried; o is a PermError for macro errors.
func (e *evaluator) target(t *Term, domain, qname string, depth int) (name, q string, o outcome, ok bool) {
	if t.Domain == "" {
		return domain, qname, outcome{}, true
	}
	if !t.macro {
		if t.fqdn == "" {
			e.step(depth, domain, t.Text, t.Domain, "no match", "not a valid domain name")
			return t.Domain, "", outcome{}, false
		}
		return t.target, t.fqdn, outcome{}, true
	}
	name, err := e.expand(t.Domain, domain, false)
	if err != nil {
		e.step(depth, domain, t.Text, "", "permerror", err.Error())
		return "", "", outcome{code: PermError, err: err}, false
	}
	name = truncateDomain(name)
	q, ok = queryName(name)
	if !ok {
		e.step(depth, domain, t.Text, name, "no match", "not a valid domain name")
		return name, "", outcome{}, false
	}
	return lower(trimDot(name)), q, outcome{}, true
}

// lookup asks the resolver and sorts the error: found (err nil), void
// (NXDOMAIN or no records), invalid name, or temporary.
func (e *evaluator) lookup(q string, qtype uint16) (*dnsutil.Answer, lookupStatus, error) {
	a, err := e.resolve(q, qtype)
	switch {
	case err == nil:
		return a, found, nil
	case dnsutil.IsNotFound(err):
		return nil, void, err
	case errors.Is(err, dnsutil.ErrInvalidName):
		return nil, invalid, err
	}
	return nil, temporary, err
}

// mechLookup looks up q for mechanism t. When the answer has no records
// it settles the mechanism as a non-match and ok is false: void lookups
// count against the limit of section 4.6.4, a name that is not a valid
// domain name cannot exist and so does not match, and a temporary failure
// is temperror (section 2.6.6).
func (e *evaluator) mechLookup(t *Term, domain, name, q string, qtype uint16, depth int) (a *dnsutil.Answer, o outcome, ok bool) {
	a, st, err := e.lookup(q, qtype)
	switch st {
	case void:
		o, ok := e.void(depth, domain, t, name)
		return nil, o.orNone(ok), false
	case invalid:
		e.step(depth, domain, t.Text, name, "no match", "not a valid domain name")
		return nil, outcome{}, false
	case temporary:
		return nil, e.tempError(depth, domain, t, name, err), false
	}
	return a, outcome{}, true
}

// resolve is the one place lookups go through.
func (e *evaluator) resolve(q string, qtype uint16) (*dnsutil.Answer, error) {
	return e.c.resolver.Lookup(e.ctx, q, qtype)
}

var errCheckTimeout = fmt.Errorf("spf: check took longer than its time limit (RFC 7208 section 4.6.4): %w", context.DeadlineExceeded)

type lookupStatus uint8

const (
	found lookupStatus = iota
	void
	invalid
	temporary
)

// mechanism evaluates one mechanism (section 5). o.code is TempError or
// PermError when evaluation must stop.
func (e *evaluator) mechanism(t *Term, domain, qname string, depth int) (bool, outcome) {
	switch t.Kind {
	case KindAll:
		return true, outcome{}
	case KindIP4, KindIP6:
		m := t.Prefix.Contains(e.ip)
		if !m {
			e.step(depth, domain, t.Text, "", "no match", "")
		}
		return m, outcome{}
	case KindInclude:
		return e.include(t, domain, qname, depth)
	}
	// a, mx, ptr, exists: one DNS-querying term each.
	if o, ok := e.count(depth, domain, t); !ok {
		return false, o
	}
	name, q, o, ok := e.target(t, domain, qname, depth)
	if !ok {
		return false, o
	}
	switch t.Kind {
	case KindA:
		return e.mechA(t, domain, name, q, depth)
	case KindMX:
		return e.mechMX(t, domain, name, q, depth)
	case KindPTR:
		return e.mechPTR(t, domain, name, depth)
	case KindExists:
		return e.mechExists(t, domain, name, q, depth)
	}
	return false, outcome{}
}

// tempError records a temporary DNS failure of a term.
func (e *evaluator) tempError(depth int, domain string, t *Term, target string, err error) outcome {
	e.step(depth, domain, t.Text, target, "temperror", err.Error())
	return outcome{code: TempError, err: err}
}

// matchAddrs reports whether an answer has an address whose network of
// the term's length holds the client (sections 5.3 and 5.4).
func (e *evaluator) matchAddrs(t *Term, a *dnsutil.Answer) bool {
	bits := t.Bits4
	if e.ip.Is6() {
		bits = t.Bits6
	}
	for _, rr := range a.Records {
		addr, ok := rrAddr(rr)
		if !ok || addr.Is4() != e.ip.Is4() {
			continue
		}
		if p, err := addr.Prefix(bits); err == nil && p.Contains(e.ip) {
			return true
		}
	}
	return false
}

// mechA is "a" (section 5.3).
func (e *evaluator) mechA(t *Term, domain, name, q string, depth int) (bool, outcome) {
	a, o, ok := e.mechLookup(t, domain, name, q, e.addrType(), depth)
	if !ok {
		return false, o
	}
	if e.matchAddrs(t, a) {
		return true, outcome{}
	}
	e.step(depth, domain, t.Text, name, "no match", "")
	return false, outcome{}
}

// orNone returns o when a limit was exceeded (ok false), else no outcome.
func (o outcome) orNone(ok bool) outcome {
	if ok {
		return outcome{}
	}
	return o
}

// mechMX is "mx" (section 5.4): the addresses of the target's MX hosts,
// with no fallback to the target's own address (section 5.4, 4th para).
func (e *evaluator) mechMX(t *Term, domain, name, q string, depth int) (bool, outcome) {
	a, o, ok := e.mechLookup(t, domain, name, q, dns.TypeMX, depth)
	if !ok {
		return false, o
	}
	n := 0
	for _, rr := range a.Records {
		if _, ok := rr.(*dns.MX); ok {
			n++
		}
	}
	if n > maxMXNames {
		e.step(depth, domain, t.Text, name, "permerror", "more than 10 MX names (RFC 7208 section 4.6.4)")
		return false, outcome{code: PermError, err: fmt.Errorf("%w at %s", ErrMXLimit, name)}
	}
	qtype := e.addrType()
	for _, rr := range a.Records {
		mx, ok := rr.(*dns.MX)
		if !ok || mx.Mx == "." || mx.Mx == "" {
			continue // null MX (RFC 7505)
		}
		host := mx.Mx
		aa, st, err := e.lookup(host, qtype)
		switch st {
		case void, invalid:
			continue
		case temporary:
			return false, e.tempError(depth, domain, t, host, err)
		}
		if e.matchAddrs(t, aa) {
			e.step(depth, domain, t.Text, name, "matched MX host", trimDot(host))
			return true, outcome{}
		}
	}
	e.step(depth, domain, t.Text, name, "no match", "")
	return false, outcome{}
}

// mechPTR is "ptr" (section 5.5): a validated name of the client that is
// the target or a subdomain of it. DNS errors make it not match.
func (e *evaluator) mechPTR(t *Term, domain, name string, depth int) (bool, outcome) {
	a, st, err := e.lookup(dnsutil.ReverseName(e.ip), dns.TypePTR)
	switch st {
	case void:
		o, ok := e.void(depth, domain, t, name)
		return false, o.orNone(ok)
	case invalid, temporary:
		e.step(depth, domain, t.Text, name, "no match", "PTR lookup failed: "+err.Error())
		return false, outcome{}
	}
	n := 0
	for _, rr := range a.Records {
		p, ok := rr.(*dns.PTR)
		if !ok {
			continue
		}
		// Section 4.6.4: only the first 10 PTR names are looked at.
		if n++; n > maxPTRNames {
			break
		}
		host := lower(dnsutil.Unescape(trimDot(p.Ptr)))
		if hasSuffixDomain(host, name) && e.validates(host) {
			e.step(depth, domain, t.Text, name, "matched validated name", host)
			return true, outcome{}
		}
	}
	e.step(depth, domain, t.Text, name, "no match", "")
	return false, outcome{}
}

// mechExists is "exists" (section 5.7): any A record, whatever the
// client's address family.
func (e *evaluator) mechExists(t *Term, domain, name, q string, depth int) (bool, outcome) {
	a, o, ok := e.mechLookup(t, domain, name, q, dns.TypeA, depth)
	if !ok {
		return false, o
	}
	for _, rr := range a.Records {
		if _, ok := rr.(*dns.A); ok {
			return true, outcome{}
		}
	}
	e.step(depth, domain, t.Text, name, "no match", "")
	return false, outcome{}
}

// recurse evaluates check_host() for an include or redirect target,
// stopping loops at once.
func (e *evaluator) recurse(t *Term, domain, qname string, depth int) (outcome, string, bool) {
	name, q, o, ok := e.target(t, domain, qname, depth)
	if !ok {
		if o.code == PermError {
			return o, name, false
		}
		// A target that is not a valid domain has no record (section
		// 4.3), which is a permerror for include and redirect.
		e.step(depth, domain, t.Text, name, "permerror", "target is not a valid domain name, so it has no SPF record")
		return outcome{code: PermError, err: fmt.Errorf("%w: %s is not a valid domain name", ErrNoRecord, quote(name))}, name, false
	}
	for i := 0; i <= depth; i++ {
		if e.stack[i] == name {
			e.step(depth, domain, t.Text, name, "permerror", "loop: "+name+" is already being evaluated")
			return outcome{code: PermError, err: fmt.Errorf("%w: %s", ErrLoop, name)}, name, false
		}
	}
	if depth+1 >= maxDepth {
		e.step(depth, domain, t.Text, name, "permerror", "nesting too deep")
		return outcome{code: PermError, err: ErrLookupLimit}, name, false
	}
	return e.checkHost(name, q, depth+1), name, true
}

// include is "include" (section 5.2).
func (e *evaluator) include(t *Term, domain, qname string, depth int) (bool, outcome) {
	if o, ok := e.count(depth, domain, t); !ok {
		return false, o
	}
	sub, name, ok := e.recurse(t, domain, qname, depth)
	if !ok {
		return false, sub
	}
	switch sub.code {
	case Pass:
		e.path[depth] = t
		return true, outcome{}
	case Fail, SoftFail, Neutral:
		e.step(depth, domain, t.Text, name, "no match", includedResult[sub.code])
		return false, outcome{}
	case None:
		e.step(depth, domain, t.Text, name, "permerror", "included domain has no SPF record (RFC 7208 section 5.2)")
		return false, outcome{code: PermError, err: fmt.Errorf("%w: include:%s", ErrNoRecord, name)}
	}
	return false, outcome{code: sub.code, err: sub.err}
}

// includedResult is the trace detail of an include that did not match.
var includedResult = [...]string{
	Fail:     "included result fail",
	SoftFail: "included result softfail",
	Neutral:  "included result neutral",
}

// redirect is the redirect= modifier (section 6.1).
func (e *evaluator) redirect(t *Term, domain, qname string, depth int) outcome {
	if o, ok := e.count(depth, domain, t); !ok {
		return o
	}
	sub, name, ok := e.recurse(t, domain, qname, depth)
	if !ok {
		return sub
	}
	e.path[depth] = t
	if sub.code == None {
		e.step(depth, domain, t.Text, name, "permerror", "redirect target has no SPF record (RFC 7208 section 6.1)")
		return outcome{code: PermError, err: fmt.Errorf("%w: redirect=%s", ErrNoRecord, name)}
	}
	return sub
}

// explanation computes the explanation of a fail (section 6.2): the exp=
// of the record that produced it, or the default. Any problem with exp=
// (macro errors, DNS errors, not exactly one TXT record, a syntax error in
// the text) means the default is used. The lookup is not counted against
// any limit.
func (e *evaluator) explanation(o outcome, domain string) string {
	if o.expDomain != "" {
		domain = o.expDomain
	}
	if !e.c.opts.NoExplanation && o.expRec != nil && o.expRec.Exp != nil {
		if s, ok := e.fetchExplanation(o.expRec.Exp, domain); ok {
			return s
		}
	}
	s, err := e.expand(e.c.opts.DefaultExplanation, domain, true)
	if err != nil {
		return e.c.opts.DefaultExplanation
	}
	return s
}

func (e *evaluator) fetchExplanation(t *Term, domain string) (string, bool) {
	name, err := e.expand(t.Domain, domain, false)
	if err != nil {
		return "", false
	}
	q, ok := queryName(truncateDomain(name))
	if !ok {
		return "", false
	}
	a, err := e.resolve(q, dns.TypeTXT)
	if err != nil {
		e.step(0, domain, t.Text, name, "explanation not used", err.Error())
		return "", false
	}
	var txt string
	n := 0
	for _, rr := range a.Records {
		if tx, ok := rr.(*dns.TXT); ok {
			txt = dnsutil.TXTString(tx)
			n++
		}
	}
	if n != 1 {
		e.step(0, domain, t.Text, name, "explanation not used", "not exactly one TXT record (RFC 7208 section 6.2)")
		return "", false
	}
	// explain-string = *( macro-string / SP )
	if msg := checkMacroString(txt, true, true); msg != "" {
		e.step(0, domain, t.Text, name, "explanation not used", msg)
		return "", false
	}
	s, err := e.expand(txt, domain, true)
	if err != nil {
		return "", false
	}
	return s, true
}
