package spf

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/mailscore/mailscore/dnsutil"
)

// ResultCode is the outcome of check_host() (RFC 7208 section 2.6).
type ResultCode uint8

// The results of RFC 7208 section 2.6. The zero value is None.
const (
	// None: no syntactically valid domain to check, or no SPF record
	// (section 2.6.1).
	None ResultCode = iota
	// Neutral: the domain states nothing about the client (section 2.6.2).
	Neutral
	// Pass: the client is authorized to use the domain (section 2.6.3).
	Pass
	// Fail: the client is explicitly not authorized (section 2.6.4).
	Fail
	// SoftFail: the client is probably not authorized (section 2.6.5).
	SoftFail
	// TempError: a transient (generally DNS) error; try later
	// (section 2.6.6).
	TempError
	// PermError: the domain's records could not be interpreted
	// (section 2.6.7).
	PermError
)

var resultNames = [...]string{"none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"}

// String returns the lower-case name used in Received-SPF and
// Authentication-Results ("pass", "softfail", "permerror", ...).
func (c ResultCode) String() string {
	if int(c) < len(resultNames) {
		return resultNames[c]
	}
	return "invalid"
}

// ParseResultCode parses a result name, case-insensitively.
func ParseResultCode(s string) (ResultCode, error) {
	for i, n := range resultNames {
		if strings.EqualFold(s, n) {
			return ResultCode(i), nil
		}
	}
	return None, errors.New("spf: unknown result " + `"` + s + `"`)
}

// Identity names the identity that was checked (RFC 7208 sections 2.3 and
// 2.4). Its value is the Received-SPF identity= value (section 9.1).
type Identity string

const (
	// MailFrom is the MAIL FROM identity (section 2.4). When the reverse
	// path is null it is postmaster@ the HELO domain.
	MailFrom Identity = "mailfrom"
	// HELO is the HELO/EHLO identity (section 2.3).
	HELO Identity = "helo"
)

// Errors carried by Result.Err. Every PermError result matches exactly one
// of the permanent kinds below with errors.Is; a TempError result wraps the
// dnsutil error (so dnsutil.IsTemporary reports true) or the context error.
var (
	// ErrSyntax: a record, or a term in it, does not follow the grammar of
	// RFC 7208 section 12 (always a *SyntaxError).
	ErrSyntax = errors.New("spf: syntax error")
	// ErrLookupLimit: more than 10 DNS-querying terms (include, a, mx,
	// ptr, exists, redirect) were evaluated (section 4.6.4).
	ErrLookupLimit = errors.New("spf: more than 10 DNS-querying terms")
	// ErrVoidLimit: more than the allowed number of lookups (default 2)
	// returned no records or NXDOMAIN (section 4.6.4).
	ErrVoidLimit = errors.New("spf: too many void lookups")
	// ErrMXLimit: an mx mechanism's domain has more than 10 MX records
	// (section 4.6.4).
	ErrMXLimit = errors.New("spf: more than 10 MX names")
	// ErrLoop: an include or redirect leads back to a record that is
	// already being evaluated. The RFC's lookup limit would end such a
	// loop in permerror too; it is stopped at once instead.
	ErrLoop = errors.New("spf: include/redirect loop")
	// ErrMultipleRecords: a domain publishes more than one SPF record
	// (section 4.5).
	ErrMultipleRecords = errors.New("spf: more than one SPF record")
	// ErrNoRecord: an include or redirect target has no SPF record (or is
	// not a valid domain) (sections 5.2 and 6.1).
	ErrNoRecord = errors.New("spf: include or redirect target has no SPF record")
	// ErrInvalidDomain: the domain to check is not a multi-label domain
	// name (section 4.3). Carried by None results.
	ErrInvalidDomain = errors.New("spf: not a valid domain name")
	// ErrInvalidIP: the client address is the zero netip.Addr. Carried by
	// None results: nothing was checked.
	ErrInvalidIP = errors.New("spf: invalid client IP address")
)

// SyntaxError describes a syntax error in an SPF record. It matches
// ErrSyntax with errors.Is.
type SyntaxError struct {
	Record string // the record, as published
	Term   string // the term at fault, if any
	Msg    string // what is wrong
}

func (e *SyntaxError) Error() string {
	if e.Term != "" {
		return "spf: syntax error in " + quote(e.Term) + ": " + e.Msg
	}
	return "spf: syntax error: " + e.Msg
}

// Unwrap returns ErrSyntax.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// Result is the outcome of one SPF check, with everything needed to record
// it (Received-SPF, Authentication-Results) and to explain it.
type Result struct {
	// Code is the SPF result.
	Code ResultCode
	// Identity is the identity checked: MailFrom or HELO.
	Identity Identity
	// IP is the client address as evaluated (an IPv4-mapped IPv6
	// address is reported as IPv4, section 5).
	IP netip.Addr
	// HELO is the HELO/EHLO domain given by the client.
	HELO string
	// Sender is the <sender> of check_host(): the MAIL FROM address, or
	// postmaster@HELO for the HELO identity and for a null reverse path
	// (section 2.4). An empty local-part is replaced by "postmaster"
	// (section 4.3).
	Sender string
	// NullSender reports that MAIL FROM was empty (the reverse path was
	// null) and Sender was made from the HELO domain.
	NullSender bool
	// Domain is the <domain> checked, lower-case, without a trailing dot.
	Domain string
	// Mechanism is the directive that decided the result, as written
	// (e.g. "-all", "include:_spf.example.net", "ip4:192.0.2.0/24"), in
	// the checked domain's record or in the record a redirect= led to.
	// Empty when no mechanism matched (default result, none, errors).
	Mechanism string
	// Path is the chain of terms followed to the innermost mechanism that
	// matched, outermost first: e.g. ["include:_spf.example.net",
	// "ip4:192.0.2.0/24"], or ["redirect=_spf.example.com", "-all"]. Nil
	// when nothing matched.
	Path []string
	// Explanation is set for Fail results: the expanded exp= text of the
	// domain (section 6.2) or, when there is none, the checker's default
	// explanation. It is third-party text: show it, never trust it.
	Explanation string
	// Err says why the result is TempError or PermError, or why it is
	// None when nothing could be checked (ErrInvalidDomain, ErrInvalidIP).
	// It is nil otherwise. TempError wraps the dnsutil error or context error;
	// PermError matches ErrSyntax, ErrLookupLimit, ErrVoidLimit,
	// ErrMXLimit, ErrLoop, ErrMultipleRecords or ErrNoRecord.
	Err error
	// Lookups counts the DNS-querying terms evaluated (at most 10 unless
	// the result is PermError with ErrLookupLimit).
	Lookups int
	// VoidLookups counts lookups that found no records (section 4.6.4).
	VoidLookups int
	// Trace lists the evaluation steps in order, for a postmaster.
	Trace []Step
}

// Step is one step of an evaluation, for Result.Trace.
type Step struct {
	// Depth is the include/redirect nesting level (0: the checked domain).
	Depth int
	// Domain is the domain whose record is being evaluated.
	Domain string
	// Term is the term evaluated, as written; empty for steps about the
	// record itself (fetching, selecting, parsing, the default result).
	Term string
	// Target is the domain the term queried, after macro expansion, when
	// it is not Domain.
	Target string
	// Note says what happened: "record", "matched", "no match", "void
	// lookup", "temperror", "permerror", ...
	Note string
	// Detail adds to Note: the record's text, the result a match gives,
	// an error message, ...
	Detail string
}

// String renders the step on one line, indented by depth:
// "  _spf.example.net: ip4:192.0.2.0/24 -> matched: pass".
func (s Step) String() string {
	var b strings.Builder
	for range s.Depth {
		b.WriteString("  ")
	}
	b.WriteString(s.Domain)
	b.WriteString(": ")
	if s.Term != "" {
		b.WriteString(s.Term)
		if s.Target != "" && s.Target != s.Domain {
			b.WriteString(" [" + s.Target + "]")
		}
		b.WriteString(" -> ")
	}
	b.WriteString(s.Note)
	if s.Detail != "" {
		b.WriteString(": ")
		b.WriteString(s.Detail)
	}
	return b.String()
}

// TraceLines renders Trace, one line per step.
func (r *Result) TraceLines() []string {
	out := make([]string, len(r.Trace))
	for i, s := range r.Trace {
		out[i] = s.String()
	}
	return out
}

// DefaultExplanation is the explanation given for Fail results when the
// domain publishes none and Options.DefaultExplanation is empty. It is a
// macro-string (RFC 7208 section 7), expanded like an exp= text.
const DefaultExplanation = "%{o} does not designate %{c} as a permitted sender"

// DefaultTimeout bounds one check when Options.Timeout is zero. RFC 7208
// section 4.6.4 asks for a limit of at least 20 seconds.
const DefaultTimeout = 20 * time.Second

// Options configure a Checker. The zero value follows RFC 7208's defaults.
type Options struct {
	// Receiver is the domain name of the host performing the check: the
	// %{r} macro (section 7.3) and the Received-SPF receiver. Default
	// "unknown", as the RFC says.
	Receiver string
	// DefaultExplanation is the macro-string explanation for Fail results
	// when the domain gives no usable exp= (section 6.2). Default
	// DefaultExplanation.
	DefaultExplanation string
	// NoExplanation skips the exp= TXT lookup on Fail; Explanation is
	// then the default explanation.
	NoExplanation bool
	// Timeout bounds the elapsed time of one check; when it runs out the
	// result is TempError (section 4.6.4). It is checked before every
	// DNS-querying term; the queries of a term are bounded by the context
	// and the resolver's own timeouts (a dnsutil.Client's are 2s per server
	// and attempt). When the context has a deadline, that deadline rules
	// instead. Zero means DefaultTimeout; a negative value means only the
	// context bounds the check.
	Timeout time.Duration
	// MaxVoidLookups is the void lookup limit (section 4.6.4); zero means
	// 2, the RFC's recommended default.
	MaxVoidLookups int
	// Now is the clock for the %{t} macro and the Timeout; nil means
	// time.Now.
	Now func() time.Time
	// RecordCache is how many parsed records the Checker keeps, keyed by
	// their text, so a record seen again (from the resolver's cache) is not
	// parsed again. Zero means 512; negative disables it. Records over 2048
	// octets or 64 terms are not kept.
	RecordCache int
}

// Checker evaluates SPF policies. It is safe for concurrent use; besides
// its options it keeps only a bounded cache of parsed records.
type Checker struct {
	resolver dnsutil.Resolver
	opts     Options
	records  *lru.Cache[string, *Record] // nil when disabled
}

// New returns a Checker that looks records up through r.
func New(r dnsutil.Resolver, opts Options) *Checker {
	if opts.Receiver == "" {
		opts.Receiver = "unknown"
	}
	if opts.DefaultExplanation == "" {
		opts.DefaultExplanation = DefaultExplanation
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxVoidLookups <= 0 {
		opts.MaxVoidLookups = 2
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Checker{resolver: r, opts: opts}
	if opts.RecordCache == 0 {
		opts.RecordCache = 512
	}
	if opts.RecordCache > 0 {
		c.records, _ = lru.New[string, *Record](opts.RecordCache) // fails only for size <= 0
	}
	return c
}

// Check is the shortest use: it checks the MAIL FROM identity with default
// options. See Checker.Check. A long-lived Checker (New) is cheaper when
// checking many messages: it keeps parsed records.
func Check(ctx context.Context, r dnsutil.Resolver, ip netip.Addr, helo, sender string) Result {
	return New(r, Options{RecordCache: -1}).Check(ctx, ip, helo, sender)
}

// Check checks the MAIL FROM identity (RFC 7208 section 2.4): may ip send
// mail with this reverse path? sender is the MAIL FROM address without
// angle brackets; when it is empty (a null reverse path) the identity
// checked is postmaster@helo. helo is the HELO/EHLO argument (the %{h}
// macro).
func (c *Checker) Check(ctx context.Context, ip netip.Addr, helo, sender string) Result {
	null := sender == ""
	if null {
		sender = "postmaster@" + helo
	}
	res := c.checkIdentity(ctx, ip, helo, sender, MailFrom)
	res.NullSender = null
	return res
}

// CheckHELO checks the HELO identity (RFC 7208 section 2.3): may ip use
// this HELO/EHLO name? An address literal or a single-label name gives
// None.
func (c *Checker) CheckHELO(ctx context.Context, ip netip.Addr, helo string) Result {
	return c.checkIdentity(ctx, ip, helo, "postmaster@"+helo, HELO)
}

// CheckHost is RFC 7208 section 4's check_host(ip, domain, sender), with
// helo for the %{h} macro. Check and CheckHELO derive domain from sender
// and call it; use it directly for other identities. The Identity of the
// result is MailFrom.
func (c *Checker) CheckHost(ctx context.Context, ip netip.Addr, domain, sender, helo string) Result {
	return c.run(ctx, ip, domain, sender, helo, MailFrom)
}

func (c *Checker) checkIdentity(ctx context.Context, ip netip.Addr, helo, sender string, id Identity) Result {
	domain := sender
	if at := strings.LastIndexByte(sender, '@'); at >= 0 {
		domain = sender[at+1:]
	} else {
		// A bare domain: treat it as postmaster@domain (section 4.3).
		sender = "postmaster@" + sender
	}
	return c.run(ctx, ip, domain, sender, helo, id)
}
