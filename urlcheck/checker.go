package urlcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/internal/snapshot"
)

// CheckName is the Checker's name.
const CheckName = "urlcheck"

// Symbols the Checker emits. Listings by a URI blocklist have symbols of
// their own, "URL_" + the list's tag + "_" + the code's name
// (URL_DBL_SPAM, URL_SURBL_PH, URL_URIBL_BLACK...; see ListSymbol).
const (
	SymNumericHost       = "URL_NUMERIC_HOST"       // a link to an IP address, worse when obfuscated
	SymUserinfo          = "URL_USERINFO"           // user@ before the host, worst when it looks like a host name
	SymLookalike         = "URL_LOOKALIKE"          // a domain imitating a protected name
	SymMixedScript       = "URL_MIXED_SCRIPT"       // a label mixing scripts, or all-Cyrillic letters passing for Latin
	SymShortener         = "URL_SHORTENER"          // a link through a URL shortener
	SymRedirector        = "URL_REDIRECTOR"         // a link carrying another URL (open redirector)
	SymIPListed          = "URL_IP_LISTED"          // a link's address on an IP blocklist
	SymNSListed          = "URL_NS_LISTED"          // a nameserver's domain on a domain blocklist
	SymNSIPListed        = "URL_NS_IP_LISTED"       // a nameserver's address on an IP blocklist
	SymNSReputation      = "URL_NS_REPUTATION"      // learned reputation of the nameservers behind the domains
	SymDomainReputation  = "URL_DOMAIN_REPUTATION"  // learned reputation of the URL domains
	SymListUnknown       = "URL_LIST_UNKNOWN"       // a list could not answer (always confidence 0)
	SymRedirectChain     = "URL_REDIRECT_CHAIN"     // a followed link bounced through several domains
	SymLandingExecutable = "URL_LANDING_EXECUTABLE" // a followed link downloads a program
	SymLandingLogin      = "URL_LANDING_LOGIN_FORM" // a followed link lands on a password form
)

// Default weights (points at value 1, confidence 1).
const (
	WeightList = 4.0 // every URL_<LIST>_<CODE> symbol; the code's Value scales it
)

// Options configure a Checker. The zero value extracts links and flags
// what the links themselves show (numeric hosts, userinfo, look-alikes,
// shorteners, redirectors), looks up the nameservers of their domains
// and learns from feedback; it queries no blocklist and follows no link.
type Options struct {
	// Extract bounds link extraction.
	Extract ExtractOptions

	// URIBlocklists are domain lists (RFC 5782 section 3) that URL domains
	// and nameserver domains are checked against: for example
	// dnsutil.SpamhausDBL(), dnsutil.SURBL(), dnsutil.URIBL(). None by
	// default. Most operators refuse queries that come through public
	// resolvers.
	URIBlocklists []dnsutil.Blocklist
	// IPBlocklists are IP lists for links whose host is an address and for
	// nameserver addresses, for example dnsutil.SpamhausZEN(). None by
	// default.
	IPBlocklists []dnsutil.Blocklist
	// DNSBL configures the lists' health checks.
	DNSBL dnsutil.DNSBLOptions
	// MaxListQueries bounds list queries per message (one per item per
	// list); default 60.
	MaxListQueries int

	// DisableNameservers turns nameserver association off.
	DisableNameservers bool
	// MaxDomains bounds the distinct registered domains examined per
	// message, for lists and nameservers; default 20.
	MaxDomains int
	// MaxNSLookups bounds the DNS lookups of nameserver association per
	// message (NS lookups, and address lookups of nameservers when
	// IPBlocklists are set); default 40.
	MaxNSLookups int
	// MaxNameservers bounds the distinct nameserver hosts examined per
	// message; default 16.
	MaxNameservers int
	// Timeout bounds the DNS work of one message; default 5s. The
	// engine's deadline bounds it too.
	Timeout time.Duration
	// Concurrency is how many lookups of one message run at once;
	// default 8.
	Concurrency int

	// Reputation configures what is learned from feedback.
	Reputation ReputationOptions

	// Protected are domains whose look-alikes are flagged ("paypal.com",
	// your bank, your own domain).
	Protected []string
	// Shorteners are registered domains of URL shorteners; nil means
	// DefaultShorteners().
	Shorteners []string
	// SkipDomains are registered domains never queried, flagged or
	// learned (your own domains, say).
	SkipDomains []string

	// Follower follows links to their landing pages; nil (the default)
	// follows nothing. See NewFollower, and its caveat: following a link
	// tells its owner the message arrived.
	Follower *Follower
	// MaxFollow is how many links of a message are followed; default 3.
	MaxFollow int

	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives debug messages; nil discards them.
	Logger *slog.Logger
}

// DefaultShorteners returns the registered domains of well-known URL
// shorteners.
func DefaultShorteners() []string {
	return []string{
		"bit.ly", "bitly.com", "bitly.ws", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "is.gd", "v.gd",
		"buff.ly", "rebrand.ly", "cutt.ly", "shorturl.at", "tiny.cc", "rb.gy", "t.ly", "s.id",
		"qrco.de", "lnkd.in", "bl.ink", "soo.gd", "clck.ru", "page.link", "shorte.st", "adf.ly",
		"tiny.one", "short.gy", "x.gd", "u.to", "trib.al", "db.tt", "1url.com", "urlz.fr", "shorturl.com",
	}
}

// Checker is the urlcheck mailscore.Check and mailscore.Learner. It is
// safe for concurrent use.
type Checker struct {
	opts       Options
	r          dnsutil.Resolver
	dnsbl      *dnsutil.DNSBL
	uriLists   []dnsutil.Blocklist
	ipLists    []dnsutil.Blocklist
	rep        *reputation
	protected  []protectedName
	shorteners map[string]bool
	skip       map[string]bool
	log        *slog.Logger
}

// New returns a Checker that looks things up through r. A nil r makes no
// DNS lookups: no lists, no nameservers.
func New(r dnsutil.Resolver, opts Options) (*Checker, error) {
	if opts.MaxListQueries <= 0 {
		opts.MaxListQueries = 60
	}
	if opts.MaxDomains <= 0 {
		opts.MaxDomains = 20
	}
	if opts.MaxNSLookups <= 0 {
		opts.MaxNSLookups = 40
	}
	if opts.MaxNameservers <= 0 {
		opts.MaxNameservers = 16
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.MaxFollow <= 0 {
		opts.MaxFollow = 3
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Extract = opts.Extract.resolved()
	c := &Checker{opts: opts, r: r, log: opts.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	for _, l := range opts.URIBlocklists {
		if l.Kind != dnsutil.DomainList {
			return nil, fmt.Errorf("urlcheck: URIBlocklists: %q is not a domain list", l.Name)
		}
	}
	for _, l := range opts.IPBlocklists {
		if l.Kind != dnsutil.IPList {
			return nil, fmt.Errorf("urlcheck: IPBlocklists: %q is not an IP list", l.Name)
		}
	}
	if r != nil && len(opts.URIBlocklists)+len(opts.IPBlocklists) > 0 {
		lists := append(slices.Clone(opts.URIBlocklists), opts.IPBlocklists...)
		d, err := dnsutil.NewDNSBL(r, opts.DNSBL, lists...)
		if err != nil {
			return nil, fmt.Errorf("urlcheck: %w", err)
		}
		c.dnsbl = d
		for _, l := range d.Lists() {
			if l.Kind == dnsutil.DomainList {
				c.uriLists = append(c.uriLists, l)
			} else {
				c.ipLists = append(c.ipLists, l)
			}
		}
	}
	c.rep = newReputation(opts.Reputation, opts.Now)
	c.protected = prepareProtected(opts.Protected)
	sh := opts.Shorteners
	if sh == nil {
		sh = DefaultShorteners()
	}
	c.shorteners = domainSet(sh)
	c.skip = domainSet(opts.SkipDomains)
	return c, nil
}

func domainSet(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		if u, k := parse("http://"+strings.TrimSpace(n)+"/", false); k == errNone {
			m[u.Host] = true
		}
	}
	return m
}

// Name implements mailscore.Check.
func (c *Checker) Name() string { return CheckName }

// After implements mailscore.Dependent: the Checker reads the domains that
// authenticated (mailscore.KeyAuthDomain) from the auth check's signals.
func (c *Checker) After() []string { return []string{"auth"} }

// ListSymbol returns the symbol of a listing by a URI blocklist: "URL_",
// the list's tag (DBL, SURBL, URIBL for the presets; otherwise the zone's
// first label), "_" and the code's name, upper-case.
func ListSymbol(list dnsutil.Blocklist, code dnsutil.Code) string {
	return "URL_" + listTag(list) + "_" + symbolPart(code.Name)
}

func listTag(l dnsutil.Blocklist) string {
	switch strings.TrimSuffix(strings.ToLower(l.Zone), ".") {
	case "dbl.spamhaus.org":
		return "DBL"
	case "multi.surbl.org":
		return "SURBL"
	case "multi.uribl.com":
		return "URIBL"
	}
	z := l.Zone
	if i := strings.IndexByte(z, '.'); i > 0 {
		z = z[:i]
	}
	return symbolPart(z)
}

func symbolPart(s string) string {
	b := []byte(strings.ToUpper(s))
	for i, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "LISTED"
	}
	return string(b)
}

// listCodes returns every code a list can answer.
func listCodes(l dnsutil.Blocklist) []dnsutil.Code {
	var out []dnsutil.Code
	seen := map[string]bool{}
	addc := func(c dnsutil.Code) {
		if c.Name != "" && !seen[c.Name] {
			seen[c.Name] = true
			out = append(out, c)
		}
	}
	for _, c := range l.Codes {
		addc(c)
	}
	for _, b := range l.Bits {
		addc(b.Code)
	}
	for _, c := range l.LastOctet {
		addc(c)
	}
	if l.Listed.Name != "" {
		addc(l.Listed)
	} else {
		addc(dnsutil.Code{Name: "listed"})
	}
	slices.SortFunc(out, func(a, b dnsutil.Code) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Symbols implements mailscore.SymbolProvider.
func (c *Checker) Symbols() []mailscore.Symbol {
	s := []mailscore.Symbol{
		{Name: SymNumericHost, Weight: 2, Description: "a link to an IP address instead of a name; value 1 when the address is obfuscated (hex, octal, one big number)"},
		{Name: SymUserinfo, Weight: 2.5, Description: "a link with user@ before the host; value 1 when that part looks like a host name (https://bank.example@evil.example/)"},
		{Name: SymLookalike, Weight: 5, Description: "a link to a domain that imitates a protected name"},
		{Name: SymMixedScript, Weight: 3, Description: "a link whose host mixes scripts in one label, or spells a label in non-Latin letters that pass for Latin"},
		{Name: SymShortener, Weight: 0.5, Description: "a link through a URL shortener, which hides where it goes"},
		{Name: SymRedirector, Weight: 0.5, Description: "a link that carries another URL (an open redirector)"},
		{Name: SymIPListed, Weight: 3, Description: "a link's IP address is on an IP blocklist"},
		{Name: SymNSListed, Weight: 3, Description: "a nameserver of a linked or sending domain has its domain on a domain blocklist"},
		{Name: SymNSIPListed, Weight: 2, Description: "a nameserver of a linked or sending domain has its address on an IP blocklist"},
		{Name: SymNSReputation, Weight: 4, Signed: true, Description: "what feedback taught about the nameservers behind the linked and sending domains"},
		{Name: SymDomainReputation, Weight: 4, Description: "what feedback taught about the linked domains"},
		{Name: SymListUnknown, Weight: 1, Description: "a blocklist could not answer; never evidence (confidence 0)"},
		{Name: SymRedirectChain, Weight: 1.5, Description: "a followed link bounced through several domains"},
		{Name: SymLandingExecutable, Weight: 6, Description: "a followed link downloads a program"},
		{Name: SymLandingLogin, Weight: 2.5, Description: "a followed link lands on a page asking for a password"},
	}
	for _, l := range c.uriLists {
		for _, code := range listCodes(l) {
			s = append(s, mailscore.Symbol{
				Name: ListSymbol(l, code), Weight: WeightList,
				Description: "a linked domain is listed by " + l.Name + ": " + code.Meaning,
			})
		}
	}
	return s
}

// Links returns the links ExtractMessage finds in msg with the Checker's
// extraction options.
func (c *Checker) Links(msg *mailscore.Message) Extraction {
	return ExtractMessage(msg, c.opts.Extract)
}

// Check implements mailscore.Check.
func (c *Checker) Check(ctx context.Context, msg *mailscore.Message, prior []mailscore.Signal) ([]mailscore.Signal, error) {
	x := c.Links(msg)
	r := newRun(c, x, senderDomains(msg, prior))
	if len(r.links) == 0 && len(r.senders) == 0 {
		return nil, nil
	}
	r.static()
	if c.opts.Follower != nil {
		r.follow(ctx)
	}
	if c.r != nil {
		r.dns(ctx)
	}
	r.reputation()
	return r.signals(), r.err()
}

// Learn implements mailscore.Learner: it counts the message's label
// against the nameservers (mailscore.KeyNameserver) and URL domains
// (mailscore.KeyURLDomain) in the keys of all of fb.Signals, each name
// once per message, weighted by fb.Source.
func (c *Checker) Learn(_ context.Context, _ *mailscore.Message, fb mailscore.Feedback) error {
	if fb.Label != mailscore.Spam && fb.Label != mailscore.Ham {
		return fmt.Errorf("urlcheck: learn: label must be spam or ham, got %v", fb.Label)
	}
	var ns, nsDom, dom []string
	seen := map[mailscore.Key]bool{}
	for _, s := range fb.Signals {
		for _, k := range s.Keys {
			if k.Kind != mailscore.KeyNameserver && k.Kind != mailscore.KeyURLDomain {
				continue
			}
			v := strings.TrimSuffix(strings.ToLower(k.Value), ".")
			if !validASCIIHost(v) || seen[mailscore.Key{Kind: k.Kind, Value: v}] {
				continue
			}
			seen[mailscore.Key{Kind: k.Kind, Value: v}] = true
			switch k.Kind {
			case mailscore.KeyNameserver:
				ns = append(ns, v)
				if d, _ := registeredDomains(v); d != "" && !slices.Contains(nsDom, d) {
					nsDom = append(nsDom, d)
				}
			case mailscore.KeyURLDomain:
				if !c.skip[v] {
					dom = append(dom, v)
				}
			}
		}
	}
	w := c.rep.opts.weight(fb.Source)
	c.rep.learn(tableNS, ns, fb.Label, w)
	c.rep.learn(tableNSDomain, nsDom, fb.Label, w)
	c.rep.learn(tableURL, dom, fb.Label, w)
	return nil
}

// NameserverReputation returns what feedback taught about a nameserver
// host name.
func (c *Checker) NameserverReputation(ns string) Estimate {
	return c.rep.estimate(tableNS, strings.TrimSuffix(strings.ToLower(ns), "."))
}

// DomainReputation returns what feedback taught about a URL's registered
// domain.
func (c *Checker) DomainReputation(domain string) Estimate {
	return c.rep.estimate(tableURL, strings.TrimSuffix(strings.ToLower(domain), "."))
}

// Save writes the learned reputation (JSON; the format is versioned). The
// example CLI frames it in its own checksummed state file.
func (c *Checker) Save(w io.Writer) error { return c.rep.save(w) }

// Load replaces the learned reputation with one written by Save. Invalid
// input is refused whole (ErrState) and leaves the state as it was.
func (c *Checker) Load(r io.Reader) error { return c.rep.load(r) }

// SnapshotKind is the kind of the snapshot files SaveFile writes.
const SnapshotKind = "urlcheck-reputation"

// SaveFile saves the learned reputation to path atomically, as a
// checksummed snapshot (internal/snapshot).
func (c *Checker) SaveFile(path string) error {
	return snapshot.WriteFile(path, SnapshotKind, stateVersion, c.Save)
}

// LoadFile loads a snapshot written by SaveFile. A corrupt or truncated
// file is refused whole.
func (c *Checker) LoadFile(path string) error {
	payload, _, err := snapshot.ReadFile(path, SnapshotKind, maxStateBytes)
	if err != nil {
		return err
	}
	return c.Load(strings.NewReader(string(payload)))
}

// senderDomain is a domain the message says it comes from.
type senderDomain struct {
	zone string // ICANN registered domain: where its NS records are
	auth bool   // authenticated (DKIM d= or SPF-pass MAIL FROM)
	how  string // "From", "DKIM/SPF"
}

// senderDomains returns the From header's domain and the authenticated
// domains from the auth check's keys, as registered domains.
func senderDomains(msg *mailscore.Message, prior []mailscore.Signal) []senderDomain {
	var out []senderDomain
	addd := func(d string, auth bool, how string) {
		u, k := parse("http://"+d+"/", false)
		if k != errNone || u.ICANNDomain == "" {
			return
		}
		for i := range out {
			if out[i].zone == u.ICANNDomain {
				out[i].auth = out[i].auth || auth
				return
			}
		}
		out = append(out, senderDomain{zone: u.ICANNDomain, auth: auth, how: how})
	}
	for _, s := range prior {
		for _, k := range s.Keys {
			if k.Kind == mailscore.KeyAuthDomain {
				addd(k.Value, true, "authenticated")
			}
		}
	}
	if from := msg.Header.Get("From"); from != "" {
		if d := addressDomain(from); d != "" {
			addd(d, false, "From")
		}
	}
	return out
}

// addressDomain returns the domain of the first address in a From field.
func addressDomain(v string) string {
	if len(v) > 2048 {
		v = v[:2048]
	}
	if a, err := mail.ParseAddress(v); err == nil {
		if at := strings.LastIndexByte(a.Address, '@'); at >= 0 {
			return a.Address[at+1:]
		}
	}
	if lt := strings.LastIndexByte(v, '<'); lt >= 0 {
		v = v[lt+1:]
		if gt := strings.IndexByte(v, '>'); gt >= 0 {
			v = v[:gt]
		}
	}
	if at := strings.LastIndexByte(v, '@'); at >= 0 {
		return strings.TrimSpace(v[at+1:])
	}
	return ""
}

// incompleteError wraps what could not be looked up.
type incompleteError struct {
	n     int
	first error
	all   error
}

// Error summarizes what could not be looked up.
func (e *incompleteError) Error() string {
	if e.n == 1 {
		return "urlcheck: a lookup could not finish: " + e.first.Error()
	}
	return fmt.Sprintf("urlcheck: %d lookups could not finish; first: %v", e.n, e.first)
}

// Unwrap returns every failure, so errors.Is finds the dnsutil kinds.
func (e *incompleteError) Unwrap() error { return e.all }

// ErrIncomplete is matched (errors.Is) by the error Check returns when
// lookups could not finish; the error also wraps the dnsutil errors, so
// dnsutil.IsTemporary reports a temporary failure.
var ErrIncomplete = errors.New("urlcheck: incomplete")

// Is matches ErrIncomplete.
func (e *incompleteError) Is(target error) bool { return target == ErrIncomplete }
