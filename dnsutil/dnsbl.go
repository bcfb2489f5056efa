package dnsutil

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sync/singleflight"
)

// ListKind says what a DNS list holds.
type ListKind int

// List kinds (RFC 5782 sections 2.1 and 3).
const (
	IPList     ListKind = iota // queried with reversed IPv4 octets or IPv6 nibbles
	DomainList                 // queried with a domain name
)

func (k ListKind) String() string {
	if k == DomainList {
		return "domain"
	}
	return "ip"
}

// Code is what one answer of a list means.
type Code struct {
	Name    string  // short name, e.g. "SBL", "PH", "trust-high"; used in symbol names
	Meaning string  // a sentence fragment a postmaster can read
	Value   float64 // strength toward spam in [-1, 1]; negative for allowlists, 0 for neutral bands
}

// BitCode is a code signalled by one bit of the last octet of the answer,
// as in bitmask lists such as SURBL and URIBL.
type BitCode struct {
	Mask uint8
	Code Code
}

// Blocklist describes a DNS blocklist or allowlist (RFC 5782): where it is,
// what it lists, and how to read its answers. Presets are returned by
// functions such as SpamhausZEN; callers may describe any other list.
type Blocklist struct {
	Name string   // display name, e.g. "Spamhaus ZEN"
	Zone string   // e.g. "zen.spamhaus.org"
	Kind ListKind // IP or domain list
	// Codes maps exact answers to meanings.
	Codes map[netip.Addr]Code
	// Bits decode bitmask answers (127.0.0.x with one bit per sub-list).
	Bits []BitCode
	// LastOctet maps the last octet of any 127.x.y.z answer to a meaning,
	// for lists that grade in the last octet (DNSWL trust levels).
	LastOctet map[uint8]Code
	// Listed is the meaning of an answer in 127.0.0.0/8 that no table
	// names (RFC 5782 section 2.3: any such answer is a listing). Its zero
	// Value means such answers count as neutral.
	Listed Code
	// ErrorCodes are the list's own answers that mean "not answered": the
	// query was refused, came through a public resolver, or was malformed.
	// They are errors, never listings. 127.255.255.0/24 is always treated
	// so (the convention for list error codes).
	ErrorCodes map[netip.Addr]string
	// TestEntry is listed by a healthy list (RFC 5782 section 5: 127.0.0.2
	// for IP lists, "test" for domain lists). Empty means no positive
	// canary. NotListedEntry (127.0.0.1, "invalid") must not be listed.
	TestEntry, NotListedEntry string
}

// ErrListAnswer is matched by the errors a list's answer produces instead
// of a listing: an error code, or an answer outside 127.0.0.0/8.
var ErrListAnswer = errors.New("list answered with an error, not a listing")

// ErrListUnhealthy is matched when a list is skipped because it failed its
// health check.
var ErrListUnhealthy = errors.New("list is unhealthy and skipped")

// ListError explains an answer that is not a listing.
type ListError struct {
	List   string
	Query  string
	Answer netip.Addr
	Reason string
}

func (e *ListError) Error() string {
	return fmt.Sprintf("dnsutil: %s answered %s for %s: %s", e.List, e.Answer, e.Query, e.Reason)
}

// Unwrap lets errors.Is match ErrListAnswer.
func (e *ListError) Unwrap() error { return ErrListAnswer }

var (
	loopback8   = netip.MustParsePrefix("127.0.0.0/8")
	listErrors8 = netip.MustParsePrefix("127.255.255.0/24")
)

// QueryName returns the name to query for ip in an IP list: the reversed
// octets (IPv4, RFC 5782 section 2.1) or nibbles (IPv6, section 2.4),
// followed by the zone, absolute. It allocates only the result.
func (b *Blocklist) QueryName(ip netip.Addr) string {
	return reverseInto(ip, b.Zone, !strings.HasSuffix(b.Zone, "."))
}

// DomainQueryName returns the name to query for domain in a domain list
// (RFC 5782 section 3): the domain, lower-case and without a trailing dot,
// then the zone. It fails for names that cannot be queried.
func (b *Blocklist) DomainQueryName(domain string) (string, error) {
	domain = strings.TrimSuffix(domain, ".")
	if domain == "" || strings.HasPrefix(domain, ".") || strings.Contains(domain, "..") {
		return "", fmt.Errorf("%w: %q", ErrInvalidName, domain)
	}
	name := domain + "." + strings.TrimSuffix(b.Zone, ".") + "."
	return Canonical(name)
}

// Interpret reads a list's answer: the codes it means, or an error when
// the answer is an error code or cannot be a listing. An empty answer is
// not listed (nil, nil).
func (b *Blocklist) Interpret(answers []netip.Addr) ([]Code, error) {
	var codes []Code
	for _, a := range answers {
		a = a.Unmap()
		if !a.Is4() || !loopback8.Contains(a) {
			// RFC 5782 section 2.3: answers are in 127.0.0.0/8; anything
			// else is a wildcard, a hijacking resolver or a dead list.
			return nil, &ListError{List: b.Name, Answer: a, Reason: "answer outside 127.0.0.0/8 (wildcard or hijacked DNS?)"}
		}
		if reason, ok := b.ErrorCodes[a]; ok {
			return nil, &ListError{List: b.Name, Answer: a, Reason: reason}
		}
		if listErrors8.Contains(a) {
			return nil, &ListError{List: b.Name, Answer: a, Reason: "error code in 127.255.255.0/24 (query refused or misdirected)"}
		}
		if c, ok := b.Codes[a]; ok {
			codes = append(codes, c)
			continue
		}
		last := a.As4()[3]
		if c, ok := b.LastOctet[last]; ok {
			codes = append(codes, c)
			continue
		}
		matched := false
		for _, bc := range b.Bits {
			if last&bc.Mask != 0 {
				codes = append(codes, bc.Code)
				matched = true
			}
		}
		if !matched {
			c := b.Listed
			if c.Name == "" {
				c = Code{Name: "listed", Meaning: "listed with code " + a.String()}
			}
			codes = append(codes, c)
		}
	}
	return codes, nil
}

// Result is the outcome of one list query.
type Result struct {
	List    string       // the list's name
	Zone    string       // the list's zone
	Item    string       // the IP or domain asked about
	Query   string       // the name queried
	Listed  bool         // true when the list lists the item
	Codes   []Code       // what the listing means
	Answers []netip.Addr // the raw answer
	// Err is set when the list could not say: a DNS failure (temporary),
	// an error answer (ErrListAnswer) or a skipped unhealthy list
	// (ErrListUnhealthy). A Result with Err is unknown, never a listing.
	Err error
}

// DNSBLOptions configure a DNSBL client. The zero value checks list health
// every 10 minutes and backs off from 1 minute to 1 hour when a list fails.
type DNSBLOptions struct {
	Now            func() time.Time
	HealthInterval time.Duration // re-check healthy lists this often; default 10m
	MinBackoff     time.Duration // first wait after a failed check; default 1m
	MaxBackoff     time.Duration // longest wait; default 1h
	// SkipHealthChecks turns canaries off (every list is assumed healthy).
	SkipHealthChecks bool
}

// Health is a list's state as the health checks see it.
type Health struct {
	List      string
	Zone      string
	Healthy   bool
	Reason    string    // why it is unhealthy, or "" when healthy
	CheckedAt time.Time // zero until first checked
	NextCheck time.Time
	Failures  int // consecutive failed checks
}

type listState struct {
	list Blocklist
	mu   sync.Mutex
	h    Health
}

// DNSBL queries DNS lists through a Resolver and watches their health with
// the RFC 5782 section 5 test entries: a list that does not list its test
// entry, lists its not-listed entry (it answers everything), or answers
// with error codes is marked unhealthy and skipped, with exponential
// backoff, and Health shows it. Safe for concurrent use.
type DNSBL struct {
	r      Resolver
	opts   DNSBLOptions
	lists  []*listState
	flight singleflight.Group
}

// NewDNSBL returns a client for the given lists.
func NewDNSBL(r Resolver, opts DNSBLOptions, lists ...Blocklist) (*DNSBL, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HealthInterval <= 0 {
		opts.HealthInterval = 10 * time.Minute
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Minute
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Hour
	}
	d := &DNSBL{r: r, opts: opts}
	seen := map[string]bool{}
	for _, l := range lists {
		z, err := Canonical(l.Zone)
		if err != nil || z == "." {
			return nil, fmt.Errorf("dnsutil: list %q: bad zone %q", l.Name, l.Zone)
		}
		if seen[z] {
			return nil, fmt.Errorf("dnsutil: list zone %q given twice", l.Zone)
		}
		seen[z] = true
		l.Zone = strings.TrimSuffix(z, ".")
		if l.Name == "" {
			l.Name = l.Zone
		}
		d.lists = append(d.lists, &listState{list: l, h: Health{List: l.Name, Zone: l.Zone, Healthy: true}})
	}
	return d, nil
}

// Lists returns the lists' descriptions.
func (d *DNSBL) Lists() []Blocklist {
	out := make([]Blocklist, len(d.lists))
	for i, s := range d.lists {
		out[i] = s.list
	}
	return out
}

// Health returns every list's health.
func (d *DNSBL) Health() []Health {
	out := make([]Health, len(d.lists))
	for i, s := range d.lists {
		s.mu.Lock()
		out[i] = s.h
		s.mu.Unlock()
	}
	return out
}

// LookupIP queries every IP list for ip, concurrently, and returns one
// Result per list in the order the lists were given.
func (d *DNSBL) LookupIP(ctx context.Context, ip netip.Addr) []Result {
	return d.lookupAll(ctx, IPList, ip.Unmap().String(), func(l *Blocklist) (string, error) {
		return l.QueryName(ip), nil
	})
}

// LookupDomain queries every domain list for domain, concurrently.
func (d *DNSBL) LookupDomain(ctx context.Context, domain string) []Result {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	return d.lookupAll(ctx, DomainList, domain, func(l *Blocklist) (string, error) {
		return l.DomainQueryName(domain)
	})
}

func (d *DNSBL) lookupAll(ctx context.Context, kind ListKind, item string, name func(*Blocklist) (string, error)) []Result {
	var idx []int
	for i, s := range d.lists {
		if s.list.Kind == kind {
			idx = append(idx, i)
		}
	}
	out := make([]Result, len(idx))
	var wg sync.WaitGroup
	for j, i := range idx {
		wg.Go(func() {
			s := d.lists[i]
			out[j] = d.query(ctx, s, item, name)
		})
	}
	wg.Wait()
	return out
}

func (d *DNSBL) query(ctx context.Context, s *listState, item string, name func(*Blocklist) (string, error)) Result {
	res := Result{List: s.list.Name, Zone: s.list.Zone, Item: item}
	if err := d.ensureHealthy(ctx, s); err != nil {
		res.Err = err
		return res
	}
	q, err := name(&s.list)
	if err != nil {
		res.Err = err
		return res
	}
	res.Query = q
	res.Answers, res.Codes, res.Err = d.ask(ctx, &s.list, q)
	res.Listed = res.Err == nil && len(res.Codes) > 0
	return res
}

// ask queries one name in one list and interprets the answer.
func (d *DNSBL) ask(ctx context.Context, l *Blocklist, q string) ([]netip.Addr, []Code, error) {
	addrs, err := LookupAddrs(ctx, d.r, q, dns.TypeA)
	if IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	codes, err := l.Interpret(addrs)
	if err != nil {
		var le *ListError
		if errors.As(err, &le) {
			le.Query = q
		}
		return addrs, nil, err
	}
	return addrs, codes, nil
}

// ensureHealthy runs the list's canary when it is due and reports an
// error when the list is unhealthy.
func (d *DNSBL) ensureHealthy(ctx context.Context, s *listState) error {
	if d.opts.SkipHealthChecks {
		return nil
	}
	now := d.opts.Now()
	s.mu.Lock()
	due := s.h.CheckedAt.IsZero() || !now.Before(s.h.NextCheck)
	h := s.h
	s.mu.Unlock()
	if due {
		// One canary per list at a time; concurrent callers share it.
		v, _, _ := d.flight.Do(s.list.Zone, func() (any, error) {
			return d.canary(ctx, s), nil
		})
		h = v.(Health)
	}
	if !h.Healthy {
		return fmt.Errorf("%w: %s: %s (next check %s)", ErrListUnhealthy, s.list.Name, h.Reason, h.NextCheck.Format(time.RFC3339))
	}
	return nil
}

// canary checks the list with its RFC 5782 section 5 test entries and
// records the outcome.
func (d *DNSBL) canary(ctx context.Context, s *listState) Health {
	l := &s.list
	reason := ""
	entryName := func(e string) (string, error) {
		if l.Kind == IPList {
			ip, err := netip.ParseAddr(e)
			if err != nil {
				return "", err
			}
			return l.QueryName(ip), nil
		}
		return l.DomainQueryName(e)
	}
	if l.TestEntry != "" {
		q, err := entryName(l.TestEntry)
		if err == nil {
			var codes []Code
			_, codes, err = d.ask(ctx, l, q)
			if err == nil && len(codes) == 0 {
				reason = fmt.Sprintf("test entry %s is not listed (the list may be dead or blocking us)", l.TestEntry)
			}
		}
		if err != nil && reason == "" {
			reason = fmt.Sprintf("test entry %s: %v", l.TestEntry, err)
		}
	}
	if reason == "" && l.NotListedEntry != "" {
		q, err := entryName(l.NotListedEntry)
		if err == nil {
			var codes []Code
			_, codes, err = d.ask(ctx, l, q)
			if err == nil && len(codes) > 0 {
				reason = fmt.Sprintf("entry %s that must not be listed is listed (the list answers everything)", l.NotListedEntry)
			}
		}
		if err != nil && reason == "" {
			reason = fmt.Sprintf("entry %s: %v", l.NotListedEntry, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ctx.Err() != nil {
		// The caller gave up; that says nothing about the list.
		return s.h
	}
	now := d.opts.Now()
	s.h.CheckedAt = now
	if reason == "" {
		s.h.Healthy, s.h.Reason, s.h.Failures = true, "", 0
		s.h.NextCheck = now.Add(d.opts.HealthInterval)
	} else {
		s.h.Healthy, s.h.Reason = false, reason
		s.h.Failures++
		backoff := d.opts.MinBackoff
		for i := 1; i < s.h.Failures && backoff < d.opts.MaxBackoff; i++ {
			backoff *= 2
		}
		s.h.NextCheck = now.Add(min(backoff, d.opts.MaxBackoff))
	}
	return s.h
}
