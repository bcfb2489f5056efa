package reputation

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"sync"
	"time"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/dnsutil"
)

// Name is the check's name.
const Name = "reputation"

// Symbols the Checker emits besides the DNS list ones (see DNSList).
const (
	SymIPReputation     = "IP_REPUTATION"     // the client address, backing off to wider prefixes
	SymDomainReputation = "DOMAIN_REPUTATION" // the authenticated domain, backing off to its organizational domain
	SymTenantReputation = "TENANT_REPUTATION" // the (network, authenticated domain) pair
	SymIPShared         = "IP_SHARED"         // informational: how many authenticated domains share the network
	SymVolumeSpike      = "VOLUME_SPIKE"      // a sudden rise in volume against the sender's own baseline
)

// Default weights of the Checker's symbols (points at Value 1, Confidence 1).
const (
	DefaultIPWeight     = 4.0
	DefaultDomainWeight = 4.0
	DefaultTenantWeight = 5.0
	DefaultSpikeWeight  = 2.0
)

// Default estimator and volume parameters (see Options).
const (
	DefaultPriorStrength    = 2.0
	DefaultMaxHalfWidth     = 0.25
	DefaultTrapWeight       = 2.0
	DefaultVerdictWeight    = 0.1
	DefaultSpikeRatio       = 10.0
	DefaultSpikeMinMessages = 20.0
	DefaultSpikeMinAge      = 3 * 24 * time.Hour
	DefaultMaxDomains       = 8
)

// Options configure a Checker. The zero value is useful: an in-memory
// store, the real clock, the default estimator, and no DNS lists.
type Options struct {
	// Store keeps the evidence; nil means NewMemStore(MemStoreOptions{}).
	Store Store
	// Now is the clock; nil means time.Now. Tests inject one.
	Now func() time.Time
	// HalfLife and VolumeHalfLife set how fast evidence fades (see Decay):
	// default 30 days and one hour.
	HalfLife, VolumeHalfLife time.Duration
	// PriorStrength is the weight, in messages, of the neutral prior
	// Beta(s/2, s/2); default 2 (a uniform prior).
	PriorStrength float64
	// MaxHalfWidth is "enough evidence": a key is known when the 95%
	// credible interval of its spam probability is at most this wide on
	// each side (1.96 posterior standard deviations); default 0.25, which
	// is +/-5 points on the -10..+10 score.
	MaxHalfWidth float64
	// Source weights: how much one report counts. UserWeight defaults to
	// 1, TrapWeight to 2, VerdictWeight to 0.1 (the engine's own verdicts
	// count little, so the filter cannot feed on itself). A negative
	// weight ignores that source.
	UserWeight, TrapWeight, VerdictWeight float64
	// ReadOnly stops Check from counting the messages it sees (volume,
	// first seen, tenants); Learn still learns.
	ReadOnly bool
	// VOLUME_SPIKE: the short-term rate must be at least SpikeRatio times
	// the long-term one (default 10), over at least SpikeMinMessages
	// recent messages (default 20), for a sender first seen at least
	// SpikeMinAge ago (default 3 days; younger senders have no baseline).
	SpikeRatio       float64
	SpikeMinMessages float64
	SpikeMinAge      time.Duration
	// MaxDomains bounds the authenticated domains looked at per message;
	// default 8.
	MaxDomains int
	// Lists are the DNS lists to query (none by default). They need
	// Resolver. DNSBL configures their health checks; its Now defaults to
	// the Checker's clock.
	Lists    []DNSList
	Resolver dnsutil.Resolver
	DNSBL    dnsutil.DNSBLOptions
}

// Checker is the reputation check: IP, prefix, domain and tenant
// reputation from learned evidence, volume spikes, and DNS lists. It
// implements mailscore.Check, Dependent (it runs after "auth"),
// SymbolProvider and Learner. It is safe for concurrent use.
type Checker struct {
	store      Store
	mem        *MemStore // store, when it is a MemStore: its calls for keys known to be valid
	now        func() time.Time
	decay      Decay
	m          model
	readOnly   bool
	spikeRatio float64
	spikeMin   float64
	spikeAge   time.Duration
	spikeAgeS  float64 // spikeAge in seconds
	// The half-lives in seconds.
	halfLifeS, volumeHalfLifeS float64
	maxDomains                 int
	hlText                     string // the half-life in words, "30 days"
	hlAdj                      string // as an adjective, "30-day"
	dnsbl                      *dnsutil.DNSBL
	lists                      map[string]*listInfo // by list name
	symbols                    []mailscore.Symbol
	pool                       sync.Pool
}

// ErrNoClientIP is returned (wrapped) by Check when the message has no
// client address: IP reputation is then unknown, not bad.
var ErrNoClientIP = errors.New("reputation: the client IP address is unknown")

func orDefault(v, def float64) float64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// New returns a Checker.
func New(opts Options) (*Checker, error) {
	c := &Checker{
		store:      opts.Store,
		now:        opts.Now,
		decay:      Decay{HalfLife: opts.HalfLife, VolumeHalfLife: opts.VolumeHalfLife}.resolved(),
		readOnly:   opts.ReadOnly,
		spikeRatio: opts.SpikeRatio,
		spikeMin:   opts.SpikeMinMessages,
		spikeAge:   opts.SpikeMinAge,
		maxDomains: opts.MaxDomains,
	}
	if c.store == nil {
		c.store = NewMemStore(MemStoreOptions{})
	}
	c.mem, _ = c.store.(*MemStore)
	if c.now == nil {
		c.now = time.Now
	}
	prior := orDefault(opts.PriorStrength, DefaultPriorStrength)
	hw := orDefault(opts.MaxHalfWidth, DefaultMaxHalfWidth)
	if prior <= 0 || hw <= 0 || hw >= 0.5 {
		return nil, fmt.Errorf("reputation: PriorStrength must be > 0 and MaxHalfWidth in (0, 0.5)")
	}
	c.m = model{
		a0:       prior / 2,
		sdMax:    hw / z95,
		wUser:    orDefault(opts.UserWeight, 1),
		wTrap:    orDefault(opts.TrapWeight, DefaultTrapWeight),
		wVerdict: orDefault(opts.VerdictWeight, DefaultVerdictWeight),
	}
	if c.spikeRatio <= 1 {
		c.spikeRatio = DefaultSpikeRatio
	}
	if c.spikeMin <= 0 {
		c.spikeMin = DefaultSpikeMinMessages
	}
	if c.spikeAge <= 0 {
		c.spikeAge = DefaultSpikeMinAge
	}
	c.spikeAgeS = c.spikeAge.Seconds()
	c.halfLifeS, c.volumeHalfLifeS = c.decay.HalfLife.Seconds(), c.decay.VolumeHalfLife.Seconds()
	if c.maxDomains <= 0 {
		c.maxDomains = DefaultMaxDomains
	}
	c.maxDomains = min(c.maxDomains, maxDomainsLimit)
	c.hlText = string(appendDuration(nil, c.decay.HalfLife))
	c.hlAdj = durationAdjective(c.hlText)
	c.symbols = []mailscore.Symbol{
		{Name: SymIPReputation, Weight: DefaultIPWeight, Signed: true,
			Description: "learned reputation of the client address or its prefix (unknown until there is enough evidence)"},
		{Name: SymDomainReputation, Weight: DefaultDomainWeight, Signed: true,
			Description: "learned reputation of the authenticated domain or its organizational domain"},
		{Name: SymTenantReputation, Weight: DefaultTenantWeight, Signed: true,
			Description: "learned reputation of this authenticated domain on this network (one tenant of shared infrastructure)"},
		{Name: SymIPShared, Weight: 0,
			Description: "the network carries mail for several authenticated domains; its IP evidence is discounted (informational)"},
		{Name: SymVolumeSpike, Weight: DefaultSpikeWeight,
			Description: "a sudden rise in volume against the sender's own baseline (kept apart from reputation)"},
	}
	if len(opts.Lists) > 0 {
		if opts.Resolver == nil {
			return nil, errors.New("reputation: DNS lists need a Resolver")
		}
		c.lists = map[string]*listInfo{}
		bl := make([]dnsutil.Blocklist, 0, len(opts.Lists))
		syms := map[string]bool{}
		for _, s := range c.symbols {
			syms[s.Name] = true
		}
		for _, dl := range opts.Lists {
			if dl.List.Kind != dnsutil.IPList {
				return nil, fmt.Errorf("reputation: list %q is not an IP list", dl.List.Name)
			}
			li, err := prepareList(dl)
			if err != nil {
				return nil, err
			}
			if _, dup := c.lists[li.name]; dup {
				return nil, fmt.Errorf("reputation: list %q given twice", li.name)
			}
			for _, s := range li.symbols {
				if syms[s.Name] {
					return nil, fmt.Errorf("reputation: list %q: symbol %s is taken (set DNSList.Tag)", li.name, s.Name)
				}
				syms[s.Name] = true
			}
			c.lists[li.name] = li
			c.symbols = append(c.symbols, li.symbols...)
			bl = append(bl, dl.List)
		}
		dopts := opts.DNSBL
		if dopts.Now == nil {
			dopts.Now = c.now
		}
		var err error
		if c.dnsbl, err = dnsutil.NewDNSBL(opts.Resolver, dopts, bl...); err != nil {
			return nil, fmt.Errorf("reputation: %w", err)
		}
		// dnsutil names an unnamed list after its zone.
		for i, l := range c.dnsbl.Lists() {
			if li := c.lists[opts.Lists[i].List.Name]; li != nil && l.Name != li.name {
				delete(c.lists, li.name)
				li.name = l.Name
				c.lists[l.Name] = li
			}
		}
	}
	c.pool.New = func() any { return new(scratch) }
	return c, nil
}

// Name implements mailscore.Check.
func (c *Checker) Name() string { return Name }

// After implements mailscore.Dependent: reputation reads the domains that
// authenticated from the "auth" check's signals.
func (c *Checker) After() []string { return []string{"auth"} }

// Symbols implements mailscore.SymbolProvider.
func (c *Checker) Symbols() []mailscore.Symbol { return c.symbols }

// Store returns the checker's store.
func (c *Checker) Store() Store { return c.store }

// DNSBL returns the DNS list client (for its Health), or nil without lists.
func (c *Checker) DNSBL() *dnsutil.DNSBL { return c.dnsbl }

// Check implements mailscore.Check. It reads the authenticated and
// organizational domains from the keys of prior (the "auth" check's
// signals); without them only IP reputation and DNS lists are used.
func (c *Checker) Check(ctx context.Context, msg *mailscore.Message, prior []mailscore.Signal) ([]mailscore.Signal, error) {
	if msg == nil {
		return nil, errors.New("reputation: nil message")
	}
	s := c.getScratch()
	defer c.putScratch(s)
	s.collect(prior, c.maxDomains)
	return c.run(ctx, s, msg.Envelope.ClientIP.Unmap())
}

// CheckIP checks a client address and the domains that authenticated for
// its message (the d= of each DKIM signature that verified, RFC 6376
// section 3.5; the MAIL FROM domain when SPF passed, RFC 7208 section
// 2.4), for use without an engine. Organizational domains come from the
// public suffix list (as in RFC 7489 section 3.2).
func (c *Checker) CheckIP(ctx context.Context, ip netip.Addr, authDomains ...string) ([]mailscore.Signal, error) {
	s := c.getScratch()
	defer c.putScratch(s)
	for _, d := range authDomains {
		s.addDomain(d, c.maxDomains)
	}
	return c.run(ctx, s, ip.Unmap())
}

// KeysFor returns every key reputation keeps for a message from ip (may be
// the zero Addr) whose authDomains authenticated: the IP levels, the
// domains, their organizational domains and the pairs. Use it with Reset
// or Estimate.
func (c *Checker) KeysFor(ip netip.Addr, authDomains ...string) []Key {
	s := c.getScratch()
	defer c.putScratch(s)
	for _, d := range authDomains {
		s.addDomain(d, c.maxDomains)
	}
	s.plan(ip.Unmap(), false)
	return append([]Key(nil), s.keys[:s.nk]...)
}

// Estimate returns the reputation of one key now.
func (c *Checker) Estimate(ctx context.Context, k Key) (Estimate, error) {
	s := c.getScratch()
	defer c.putScratch(s)
	s.keys[0], s.nk = k, 1
	if err := c.store.Get(ctx, c.now(), c.decay, s.keys[:1], s.ev[:1]); err != nil {
		return Estimate{Key: k, State: Failed}, fmt.Errorf("reputation: store: %w", err)
	}
	return c.m.estimate(&s.ev[0]).toEstimate(k, &s.ev[0]), nil
}

// Reset forgets everything learned about keys: their reputation returns
// to neutral (unknown) and is rebuilt from new evidence, e.g. after a
// compromised account was cleaned up.
func (c *Checker) Reset(ctx context.Context, keys ...Key) error {
	for _, k := range keys {
		if err := k.Validate(); err != nil {
			return err
		}
	}
	if err := c.store.Delete(ctx, keys); err != nil {
		return fmt.Errorf("reputation: store: %w", err)
	}
	return nil
}

// run checks ip and the domains recorded in s.
func (c *Checker) run(ctx context.Context, s *scratch, ip netip.Addr) ([]mailscore.Signal, error) {
	now := c.now()
	t := unixSeconds(now)
	var dnsDone chan []dnsutil.Result
	if c.dnsbl != nil && ip.IsValid() {
		// The lists are asked while the store is read.
		dnsDone = make(chan []dnsutil.Result, 1)
		go func() { dnsDone <- c.dnsbl.LookupIP(ctx, ip) }()
	}
	var errs []error
	nIP, netIdx := s.plan(ip, true)
	keys := s.keys[:s.nk]

	var storeErr error
	if len(keys) > 0 {
		// The keys are valid: plan builds them from validated domains and
		// masked prefixes.
		switch {
		case c.mem != nil && c.readOnly:
			c.mem.getValid(t, c.decay, keys, s.ev[:len(keys)])
		case c.mem != nil:
			c.mem.addValid(t, c.decay, keys, Evidence{Seen: 1, Recent: 1}, s.ev[:len(keys)])
		case c.readOnly:
			storeErr = c.store.Get(ctx, now, c.decay, keys, s.ev[:len(keys)])
		default:
			for i, k := range keys {
				s.ups[i] = Update{Key: k, Delta: Evidence{Seen: 1, Recent: 1}}
			}
			storeErr = c.store.Update(ctx, now, c.decay, s.ups[:len(keys)], s.ev[:len(keys)])
		}
	}
	if storeErr != nil {
		errs = append(errs, fmt.Errorf("reputation: store: %w", storeErr))
	}

	// Sharing. A network's Tenants is its decayed count of distinct
	// senders, by authenticated domain. A message counts as one sender
	// however many domains it authenticated (a tenant's DKIM d= and its
	// ESP's bounce domain are one tenant): when its least recently credited
	// pair has faded by 5% or more, every pair of the message is topped up
	// to 1 and the network gains that largest shortfall. A domain's Tenants
	// counts the distinct domains seen authenticating together with it, the
	// same way, through the co-domain keys.
	tenants := 0.0
	if storeErr == nil {
		nu := 0
		if netIdx >= 0 {
			tenants = float64(s.ev[netIdx].Tenants)
			var add float32
			for i := range s.nd {
				add = max(add, 1-s.ev[s.doms[i].pk].Tenants)
			}
			if add >= 0.05 {
				tenants += float64(add)
				for i := range s.nd {
					pk := s.doms[i].pk
					if x := 1 - s.ev[pk].Tenants; x > 0 {
						s.ups[nu] = Update{Key: keys[pk], Delta: Evidence{Tenants: x}}
						nu++
					}
				}
				s.ups[nu] = Update{Key: keys[netIdx], Delta: Evidence{Tenants: add}}
				nu++
			}
		}
		var grow [maxCoDomains]float32
		for _, co := range s.cos[:s.nco] {
			if x := 1 - s.ev[co.k].Tenants; x >= 0.05 {
				grow[co.i] += x
				grow[co.j] += x
				s.ups[nu] = Update{Key: keys[co.k], Delta: Evidence{Tenants: x}}
				nu++
			}
		}
		minShared := math.Inf(1)
		for i := range s.nd {
			d := &s.doms[i]
			d.shared = float64(s.ev[d.dk].Tenants)
			if i < maxCoDomains && grow[i] > 0 {
				d.shared += float64(grow[i])
				s.ups[nu] = Update{Key: keys[d.dk], Delta: Evidence{Tenants: grow[i]}}
				nu++
			}
			minShared = min(minShared, max(1, d.shared))
		}
		// The least shared domain of the message is its sender and counts
		// in full; a domain shared more widely counts at minShared/shared.
		for i := range s.nd {
			s.doms[i].share = minShared / max(1, s.doms[i].shared)
		}
		if nu > 0 && !c.readOnly {
			// Best effort: a failure here shows on the next read. Two
			// checks racing on a new pair may both credit it: D can run
			// over by the number of such races, never under.
			_ = c.store.Update(ctx, now, c.decay, s.ups[:nu], nil)
		}
	}
	if storeErr == nil {
		for i := range keys {
			c.m.estimateInto(&s.ev[i], &s.est[i])
		}
	}
	// The share of IP-level evidence that applies to this sender.
	share := 1.0
	if s.nd > 0 && tenants > 1 {
		share = 1 / tenants
	}

	switch {
	case !ip.IsValid():
		p := s.begin(SymIPReputation, 0, 0)
		s.text = append(s.text, "client IP address unknown - IP reputation not used (neutral)"...)
		s.end(p)
		errs = append(errs, ErrNoClientIP)
	case storeErr != nil:
		p := s.begin(SymIPReputation, 0, 0)
		s.text = ip.AppendTo(s.text)
		s.text = append(s.text, ": reputation store failed - unknown (neutral), not held against the sender"...)
		s.end(p)
		s.key(p, mailscore.KeyIP, func(b []byte) []byte { return ip.AppendTo(b) })
	default:
		c.ipSignal(s, ip, nIP, netIdx, share, tenants, t)
	}
	if s.nd > 0 {
		if storeErr != nil {
			for _, sym := range [...]string{SymDomainReputation, SymTenantReputation} {
				if sym == SymTenantReputation && netIdx < 0 {
					break // no pair without an address
				}
				p := s.begin(sym, 0, 0)
				s.text = append(s.text, s.doms[0].name...)
				s.text = append(s.text, ": reputation store failed - unknown (neutral), not held against the sender"...)
				s.end(p)
				s.key(p, mailscore.KeyAuthDomain, func(b []byte) []byte { return append(b, s.doms[0].name...) })
			}
		} else {
			c.domainSignal(s, t)
			if netIdx >= 0 {
				c.tenantSignal(s, t)
			}
		}
	}
	if storeErr == nil {
		c.spikeSignal(s, ip, nIP, share, t)
	}
	if dnsDone != nil {
		errs = append(errs, c.listSignals(s, ip, <-dnsDone)...)
	}
	return s.finish(), errors.Join(errs...)
}

// feedbackDelta is the evidence one report adds.
func feedbackDelta(l mailscore.Label, src mailscore.Source) (Evidence, error) {
	var d Evidence
	switch {
	case l == mailscore.Ham && src == mailscore.SourceUser:
		d.HamUser = 1
	case l == mailscore.Ham && src == mailscore.SourceVerdict:
		d.HamVerdict = 1
	case l == mailscore.Ham && src == mailscore.SourceTrap:
		return d, errors.New("reputation: learn: a spam trap cannot report ham")
	case l == mailscore.Spam && src == mailscore.SourceUser:
		d.SpamUser = 1
	case l == mailscore.Spam && src == mailscore.SourceTrap:
		d.SpamTrap = 1
	case l == mailscore.Spam && src == mailscore.SourceVerdict:
		d.SpamVerdict = 1
	case l != mailscore.Ham && l != mailscore.Spam:
		return d, fmt.Errorf("reputation: learn: label must be spam or ham, got %v", l)
	default:
		return d, fmt.Errorf("reputation: learn: unknown feedback source %v", src)
	}
	return d, nil
}

// Learn implements mailscore.Learner: the label counts, by its source's
// weight, on every key of the message: the client address and its wider
// prefixes, each authenticated domain and its organizational domain, and
// each (network, domain) pair. The client address comes from msg (or, when
// msg is nil, from an "ip" key of the signals); the domains from the
// auth-domain and org-domain keys of fb.Signals.
func (c *Checker) Learn(ctx context.Context, msg *mailscore.Message, fb mailscore.Feedback) error {
	delta, err := feedbackDelta(fb.Label, fb.Source)
	if err != nil {
		return err
	}
	var ip netip.Addr
	if msg != nil {
		ip = msg.Envelope.ClientIP.Unmap()
	}
	if !ip.IsValid() {
		for i := range fb.Signals {
			for _, k := range fb.Signals[i].Keys {
				if k.Kind == mailscore.KeyIP && !ip.IsValid() {
					ip, _ = netip.ParseAddr(k.Value)
				}
			}
		}
		ip = ip.Unmap()
	}
	s := c.getScratch()
	defer c.putScratch(s)
	s.collect(fb.Signals, c.maxDomains)
	return c.learn(ctx, s, ip, delta)
}

// LearnIP is Learn without an engine: a message from ip, whose
// authDomains authenticated, was labelled spam or ham by src.
func (c *Checker) LearnIP(ctx context.Context, ip netip.Addr, authDomains []string, label mailscore.Label, src mailscore.Source) error {
	delta, err := feedbackDelta(label, src)
	if err != nil {
		return err
	}
	s := c.getScratch()
	defer c.putScratch(s)
	for _, d := range authDomains {
		s.addDomain(d, c.maxDomains)
	}
	return c.learn(ctx, s, ip.Unmap(), delta)
}

func (c *Checker) learn(ctx context.Context, s *scratch, ip netip.Addr, delta Evidence) error {
	s.plan(ip, false)
	if s.nk == 0 {
		return nil // nothing to learn on: no address, no authenticated domain
	}
	if c.mem != nil {
		// The keys are valid (see run).
		c.mem.addValid(unixSeconds(c.now()), c.decay, s.keys[:s.nk], delta, nil)
		return nil
	}
	for i := range s.nk {
		s.ups[i] = Update{Key: s.keys[i], Delta: delta}
	}
	if err := c.store.Update(ctx, c.now(), c.decay, s.ups[:s.nk], nil); err != nil {
		return fmt.Errorf("reputation: store: %w", err)
	}
	return nil
}
