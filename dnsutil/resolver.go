package dnsutil

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sync/singleflight"
)

// Resolver looks up DNS records. Everything in mailscore that needs DNS
// takes a Resolver, so tests can point it at dnstest and the CLI can switch
// it off.
type Resolver interface {
	// Lookup returns the records of type qtype at name. The name is made
	// absolute (no search domains). A failure is an *Error whose Kind says
	// what happened; NXDOMAIN and NODATA are errors too (see IsNotFound).
	Lookup(ctx context.Context, name string, qtype uint16) (*Answer, error)
}

// Answer is a successful lookup. It may be shared with other callers
// through the cache: treat it, and its records, as read-only.
type Answer struct {
	Name    string   // the absolute, lower-case name asked for
	Type    uint16   // the type asked for
	Records []dns.RR // the records of Type at Name or at the end of its CNAME chain
	// TTL is the smallest TTL of the records, in seconds, as the server
	// gave it (before any floor or ceiling the cache applies).
	TTL uint32
	// Authenticated is the AD bit of the answer, reported only when the
	// Client trusts its upstream to validate DNSSEC (Options.TrustAD).
	Authenticated bool
	// Server is the upstream that answered.
	Server string
}

// Options configure a Client. The zero value reads /etc/resolv.conf and
// uses the defaults below.
type Options struct {
	// Servers are upstream resolvers as "host" or "host:port". Empty means
	// the nameservers of ResolvConf.
	Servers []string
	// ResolvConf is read when Servers is empty; default /etc/resolv.conf.
	ResolvConf string
	// Timeout bounds one query to one server; default 2s.
	Timeout time.Duration
	// Attempts is how many rounds over all servers are tried; default 2.
	Attempts int
	// UDPSize is the EDNS0 buffer size advertised; default 1232 (the DNS
	// flag day 2020 value, which avoids IP fragmentation).
	UDPSize uint16
	// TrustAD asks upstream for DNSSEC validation (AD bit, RFC 6840
	// section 5.7) and reports Answer.Authenticated. Set it only when the
	// path to the upstream is trusted (e.g. a validating resolver on
	// localhost).
	TrustAD bool
	// Cache configures the answer cache.
	Cache CacheOptions
	// Now is the clock; nil means time.Now. Tests inject one.
	Now func() time.Time
	// Logger receives debug messages about retries; nil discards them.
	Logger *slog.Logger
}

// Client is a caching, failure-aware Resolver over github.com/miekg/dns. It
// is safe for concurrent use.
type Client struct {
	servers  []string
	timeout  time.Duration
	attempts int
	udpSize  uint16
	trustAD  bool
	now      func() time.Time
	log      *slog.Logger
	cache    *cache
	flight   singleflight.Group
	stats    counters
}

// New returns a Client. It fails only when no upstream server can be found.
func New(opts Options) (*Client, error) {
	c := &Client{
		timeout:  opts.Timeout,
		attempts: opts.Attempts,
		udpSize:  opts.UDPSize,
		trustAD:  opts.TrustAD,
		now:      opts.Now,
		log:      opts.Logger,
	}
	if c.timeout <= 0 {
		c.timeout = 2 * time.Second
	}
	if c.attempts <= 0 {
		c.attempts = 2
	}
	if c.udpSize == 0 {
		c.udpSize = 1232
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	servers := opts.Servers
	if len(servers) == 0 {
		path := opts.ResolvConf
		if path == "" {
			path = "/etc/resolv.conf"
		}
		cfg, err := dns.ClientConfigFromFile(path)
		if err != nil {
			return nil, fmt.Errorf("dnsutil: reading %s: %w", path, err)
		}
		for _, s := range cfg.Servers {
			servers = append(servers, net.JoinHostPort(s, cfg.Port))
		}
	}
	for _, s := range servers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			s = net.JoinHostPort(strings.Trim(s, "[]"), "53")
		}
		c.servers = append(c.servers, s)
	}
	if len(c.servers) == 0 {
		return nil, errors.New("dnsutil: no DNS servers configured")
	}
	var err error
	c.cache, err = newCache(opts.Cache, c.now)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Servers returns the upstream servers in the order they are tried.
func (c *Client) Servers() []string { return c.servers }

// Canonical returns name lower-cased and absolute, or an error matching
// ErrInvalidName. It allocates only when name needs changing.
func Canonical(name string) (string, error) {
	if name == "" || name == "." {
		if name == "." {
			return ".", nil
		}
		return "", ErrInvalidName
	}
	lower, abs := true, name[len(name)-1] == '.'
	label := 0
	for i := 0; i < len(name); i++ {
		b := name[i]
		if 'A' <= b && b <= 'Z' {
			lower = false
		}
		if b == '.' {
			if label == 0 && !(i == len(name)-1 && i > 0) {
				return "", fmt.Errorf("%w: empty label in %q", ErrInvalidName, name)
			}
			label = 0
			continue
		}
		if label++; label > 63 {
			return "", fmt.Errorf("%w: label over 63 octets in %q", ErrInvalidName, name)
		}
	}
	n := len(name)
	if !abs {
		n++
	}
	if n > 254 { // 253 characters plus the root dot (RFC 1035 section 2.3.4)
		return "", fmt.Errorf("%w: %d octets is too long", ErrInvalidName, n)
	}
	if lower && abs {
		return name, nil
	}
	name = strings.ToLower(name)
	if !abs {
		name += "."
	}
	return name, nil
}

// Lookup implements Resolver: cache first, then one upstream query shared by
// every concurrent caller asking the same question. A caller whose context
// ends stops waiting at once; the shared query finishes (bounded by the
// client's own timeouts) and fills the cache for the next caller.
func (c *Client) Lookup(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	cname, err := Canonical(name)
	if err != nil {
		return nil, &Error{Name: name, Type: qtype, Kind: ErrInvalidName, Err: err}
	}
	if a, err, ok := c.cache.get(cname, qtype); ok {
		c.stats.hits.Add(1)
		return a, err
	}
	c.stats.misses.Add(1)
	if err := ctx.Err(); err != nil {
		return nil, &Error{Name: cname, Type: qtype, Kind: ErrTimeout, Err: err}
	}
	key := strconv.Itoa(int(qtype)) + " " + cname
	ch := c.flight.DoChan(key, func() (any, error) {
		// Detached from any one caller: a caller giving up must not fail
		// the others sharing this query.
		a, err := c.resolve(context.WithoutCancel(ctx), cname, qtype)
		c.cache.put(cname, qtype, a, err)
		var n *negative
		if errors.As(err, &n) {
			err = n.err
		}
		return a, err
	})
	select {
	case r := <-ch:
		if r.Shared {
			c.stats.coalesced.Add(1)
		}
		a, _ := r.Val.(*Answer)
		return a, r.Err
	case <-ctx.Done():
		return nil, &Error{Name: cname, Type: qtype, Kind: ErrTimeout, Err: ctx.Err()}
	}
}

// resolve asks the upstream servers in turn, Attempts rounds at most. A
// server failure, refusal, timeout or malformed answer moves on to the next
// server; NXDOMAIN, NODATA and answers end the search.
func (c *Client) resolve(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	var last error
	for attempt := 0; attempt < c.attempts; attempt++ {
		for _, srv := range c.servers {
			a, err := c.query(ctx, srv, name, qtype)
			if err == nil || !IsTemporary(err) {
				return a, err
			}
			c.log.Debug("dns query failed", "server", srv, "name", name, "type", dns.TypeToString[qtype], "err", err)
			last = err
		}
	}
	return nil, last
}

// newID returns a random query ID from the system's CSPRNG, so answers
// cannot be guessed by an off-path attacker (RFC 5452 section 9.2).
func newID() uint16 {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint16(b[:])
}

// query sends one question to one server, over UDP and then over TCP if
// the answer is truncated (RFC 7766 section 5).
func (c *Client) query(ctx context.Context, srv, name string, qtype uint16) (*Answer, error) {
	q := new(dns.Msg)
	q.Id = newID()
	q.RecursionDesired = true
	q.Question = []dns.Question{{Name: name, Qtype: qtype, Qclass: dns.ClassINET}}
	q.SetEdns0(c.udpSize, false)
	if c.trustAD {
		q.AuthenticatedData = true
	}
	resp, err := c.exchange(ctx, "udp", srv, q)
	if err == nil && resp.Truncated {
		q.Id = newID()
		resp, err = c.exchange(ctx, "tcp", srv, q)
	}
	if err != nil {
		return nil, err
	}
	return c.interpret(q, resp, srv)
}

// exchange sends q to srv and reads the matching response. The socket is
// opened by the OS, so its source port is from the ephemeral range; a port
// below 1024 (some firewalls drop those, and the answers come back as
// SERVFAIL or nothing) is refused and the socket reopened.
func (c *Client) exchange(ctx context.Context, network, srv string, q *dns.Msg) (*dns.Msg, error) {
	qn, qt := q.Question[0].Name, q.Question[0].Qtype
	fail := func(kind, err error) (*dns.Msg, error) {
		return nil, &Error{Name: qn, Type: qt, Kind: kind, Server: srv, Err: err}
	}
	c.stats.queries.Add(1)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var d net.Dialer
	var conn net.Conn
	for range 4 {
		cn, err := d.DialContext(ctx, network, srv)
		if err != nil {
			return fail(ErrTimeout, err)
		}
		if lowPort(cn.LocalAddr()) {
			cn.Close()
			continue
		}
		conn = cn
		break
	}
	if conn == nil {
		return fail(ErrTimeout, errors.New("could not get a source port above 1023"))
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Close the socket when the context ends, to unblock reads.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	co := &dns.Conn{Conn: conn, UDPSize: c.udpSize}
	if err := co.WriteMsg(q); err != nil {
		return fail(ErrTimeout, err)
	}
	for {
		r, err := co.ReadMsg()
		if err != nil && r == nil {
			// No datagram or connection trouble: no answer from this server.
			return fail(ErrTimeout, err)
		}
		if err != nil {
			// The bytes did not parse. Over UDP, a datagram that is not
			// even for our query may be spoofed noise: keep listening.
			if network == "udp" && r.Id != q.Id {
				continue
			}
			return fail(ErrMalformed, err)
		}
		// Over UDP, ignore responses that do not match our question: they
		// may be spoofed or stale (RFC 5452 section 4.2).
		if r.Id != q.Id || !r.Response || len(r.Question) != 1 ||
			!strings.EqualFold(r.Question[0].Name, qn) || r.Question[0].Qtype != qt {
			if network == "udp" {
				continue
			}
			return fail(ErrMalformed, errors.New("response does not match the question"))
		}
		return r, nil
	}
}

func lowPort(a net.Addr) bool {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.Port < 1024
	case *net.TCPAddr:
		return a.Port < 1024
	}
	return false
}

// interpret turns a response into an Answer or an *Error.
func (c *Client) interpret(q, r *dns.Msg, srv string) (*Answer, error) {
	name, qtype := q.Question[0].Name, q.Question[0].Qtype
	fail := func(kind error, detail error) (*Answer, error) {
		return nil, &Error{Name: name, Type: qtype, Kind: kind, Server: srv, Err: detail}
	}
	switch r.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		e := &Error{Name: name, Type: qtype, Kind: ErrNXDomain, Server: srv}
		return nil, &negative{err: e, ttl: negativeTTL(r)}
	case dns.RcodeServerFailure:
		return fail(ErrServFail, nil)
	case dns.RcodeRefused:
		return fail(ErrRefused, nil)
	default:
		return fail(ErrServFail, fmt.Errorf("rcode %s", dns.RcodeToString[r.Rcode]))
	}
	// Follow the CNAME chain in the answer section from the name asked
	// (RFC 1034 section 3.6.2) and keep only records on it.
	chain := map[string]bool{name: true}
	if qtype != dns.TypeCNAME {
		for range 8 {
			grew := false
			for _, rr := range r.Answer {
				if cn, ok := rr.(*dns.CNAME); ok && chain[strings.ToLower(cn.Hdr.Name)] && !chain[strings.ToLower(cn.Target)] {
					chain[strings.ToLower(cn.Target)] = true
					grew = true
				}
			}
			if !grew {
				break
			}
		}
	}
	a := &Answer{Name: name, Type: qtype, Server: srv}
	for _, rr := range r.Answer {
		h := rr.Header()
		if h.Rrtype != qtype || h.Class != dns.ClassINET || !chain[strings.ToLower(h.Name)] {
			continue
		}
		if a.Records == nil || h.Ttl < a.TTL {
			a.TTL = h.Ttl
		}
		a.Records = append(a.Records, rr)
	}
	if len(a.Records) == 0 {
		e := &Error{Name: name, Type: qtype, Kind: ErrNoData, Server: srv}
		return nil, &negative{err: e, ttl: negativeTTL(r)}
	}
	a.Authenticated = c.trustAD && r.AuthenticatedData
	return a, nil
}

// negative carries the TTL a negative answer may be cached for.
type negative struct {
	err *Error
	ttl int64 // seconds; -1 when the answer had no SOA and must not be cached
}

func (n *negative) Error() string { return n.err.Error() }
func (n *negative) Unwrap() error { return n.err }

// negativeTTL is the TTL of a negative answer: the smaller of the SOA
// record's TTL and its MINIMUM field (RFC 2308 section 5), or -1 when there
// is no SOA (such answers SHOULD NOT be cached).
func negativeTTL(r *dns.Msg) int64 {
	for _, rr := range r.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return int64(min(soa.Hdr.Ttl, soa.Minttl))
		}
	}
	return -1
}
