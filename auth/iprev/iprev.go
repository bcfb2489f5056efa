// Package iprev checks forward-confirmed reverse DNS of an SMTP client, the
// "iprev" method of RFC 8601 section 3: the client address's PTR names are
// looked up, and each name's addresses must include the client address.
//
// Results follow RFC 8601 section 2.7.3: pass (a PTR name resolves back to
// the address), fail (PTR names exist but none resolves back), permerror
// (no PTR record), temperror (a lookup failed temporarily and nothing
// matched). At most Options.MaxNames PTR names are checked, so a reverse
// zone with hundreds of names cannot make the check expensive.
//
// Shortest use:
//
//	res := iprev.New(resolver, iprev.Options{}).Check(ctx, clientIP)
//	if res.Status == iprev.Pass { fmt.Println("client is", res.Name) }
package iprev

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/mailscore/mailscore/dnsutil"
)

// Status is an iprev result (RFC 8601 section 2.7.3).
type Status string

// Results.
const (
	Pass      Status = "pass"
	Fail      Status = "fail"
	TempError Status = "temperror"
	PermError Status = "permerror"
)

// DefaultMaxNames is how many PTR names are checked by default: the limit
// RFC 7208 section 5.5 puts on the names SPF's ptr mechanism examines.
const DefaultMaxNames = 10

// Options configure a Checker. The zero value checks up to 10 names.
type Options struct {
	// MaxNames bounds the PTR names whose addresses are looked up; further
	// names are ignored (and reported in Result.Ignored).
	MaxNames int
}

// Checker runs iprev checks. It is safe for concurrent use.
type Checker struct {
	r    dnsutil.Resolver
	opts Options
}

// New returns a Checker resolving through r.
func New(r dnsutil.Resolver, opts Options) *Checker {
	if opts.MaxNames <= 0 {
		opts.MaxNames = DefaultMaxNames
	}
	return &Checker{r: r, opts: opts}
}

// Result is the outcome of one check.
type Result struct {
	Status Status
	IP     netip.Addr
	// Name is the PTR name that resolved back to IP (Pass only), lower-case
	// without the trailing dot.
	Name string
	// Names are the PTR names checked, and Ignored how many more there were.
	Names   []string
	Ignored int
	// Reason explains the result in a sentence.
	Reason string
	// Err is set for TempError (wrapping the dnsutil error, so
	// dnsutil.IsTemporary works) and PermError.
	Err error
}

// ErrNoPTR is the error of a PermError result: the address has no PTR record.
var ErrNoPTR = errors.New("iprev: no PTR record for the address")

// ErrNoAddress is returned for a zero or invalid client address.
var ErrNoAddress = errors.New("iprev: no client address")

// Check checks ip (RFC 8601 section 3).
func (c *Checker) Check(ctx context.Context, ip netip.Addr) Result {
	ip = ip.Unmap()
	res := Result{IP: ip}
	if !ip.IsValid() {
		res.Status, res.Err, res.Reason = PermError, ErrNoAddress, "no client address to check"
		return res
	}
	ptrs, err := dnsutil.LookupPTR(ctx, c.r, ip)
	switch {
	case dnsutil.IsNotFound(err):
		res.Status, res.Err = PermError, fmt.Errorf("%w: %w", ErrNoPTR, err)
		res.Reason = fmt.Sprintf("%s has no reverse DNS (PTR) name", ip)
		return res
	case err != nil:
		res.Status, res.Err = TempError, fmt.Errorf("iprev: PTR lookup for %s: %w", ip, err)
		res.Reason = fmt.Sprintf("the reverse DNS lookup of %s failed temporarily", ip)
		return res
	}
	for _, p := range ptrs {
		n := strings.TrimSuffix(strings.ToLower(p), ".")
		if n == "" || slices.Contains(res.Names, n) {
			continue
		}
		if len(res.Names) == c.opts.MaxNames {
			res.Ignored++
			continue
		}
		res.Names = append(res.Names, n)
	}
	qtype := dns.TypeA
	if ip.Is6() {
		qtype = dns.TypeAAAA
	}
	type answer struct {
		match bool
		err   error
	}
	answers := make([]answer, len(res.Names))
	check := func(i int) {
		addrs, err := dnsutil.LookupAddrs(ctx, c.r, res.Names[i], qtype)
		if err != nil {
			if !dnsutil.IsNotFound(err) && !errors.Is(err, dnsutil.ErrInvalidName) {
				answers[i].err = err
			}
			return
		}
		for _, a := range addrs {
			if a.Unmap() == ip {
				answers[i].match = true
				return
			}
		}
	}
	if len(res.Names) == 1 {
		check(0) // the common case: no goroutine
	} else {
		var wg sync.WaitGroup
		for i := range res.Names {
			wg.Go(func() { check(i) })
		}
		wg.Wait()
	}
	var tempErr error
	for i, a := range answers {
		if a.match {
			res.Status, res.Name = Pass, res.Names[i]
			res.Reason = ip.String() + " is " + res.Name + " (forward-confirmed reverse DNS)"
			return res
		}
		if a.err != nil && tempErr == nil {
			tempErr = a.err
		}
	}
	if tempErr != nil {
		res.Status, res.Err = TempError, fmt.Errorf("iprev: forward lookup: %w", tempErr)
		res.Reason = fmt.Sprintf("the forward lookup of a PTR name of %s failed temporarily, and no other name confirmed it", ip)
		return res
	}
	res.Status = Fail
	res.Reason = fmt.Sprintf("none of the PTR names of %s (%s) resolves back to it", ip, strings.Join(res.Names, ", "))
	if res.Ignored > 0 {
		res.Reason += fmt.Sprintf("; %d more names were not checked", res.Ignored)
	}
	return res
}
