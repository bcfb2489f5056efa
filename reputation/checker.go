package reputation

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/publicsuffix"

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
	now        func() time.Time
	decay      Decay
	m          model
	readOnly   bool
	spikeRatio float64
	spikeMin   float64
	spikeAge   time.Duration
	maxDomains int
	hlText     string // the half-life in words, "30 days"
	hlAdj      string // as an adjective, "30-day"
	dnsbl      *dnsutil.DNSBL
	lists      map[string]*listInfo // by list name
	symbols    []mailscore.Symbol
	pool       sync.Pool
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

// maxDomainsLimit sizes the scratch arrays.
const maxDomainsLimit = 16

// maxCoDomains bounds the domains whose co-occurrence is counted.
const maxCoDomains = 4

// maxKeys: 4 IP levels; per domain its key, its org's key and a pair; and
// the co-domain keys of the first maxCoDomains domains.
const maxKeys = 4 + 3*maxDomainsLimit + maxCoDomains*(maxCoDomains-1)/2

type domInfo struct {
	name, org  string
	dk, ok, pk int     // key indexes; ok == dk when the domain is its own org; pk < 0 without an IP
	shared     float64 // distinct domains seen authenticating together with it
	share      float64 // the weight of its evidence for this message (see run)
}

type coInfo struct{ i, j, k int } // domains i and j, key k

type pendingSig struct {
	sym         string
	value, conf float64
	rs, re      int // reason span in text
	ks, ke      int // key span in kv
}

type pendingKey struct {
	kind string
	s, e int // value span in text
}

// scratch is the per-call working memory, pooled so that a check
// allocates only its results.
type scratch struct {
	keys [maxKeys]Key
	ups  [maxKeys]Update
	ev   [maxKeys]Evidence
	doms [maxDomainsLimit]domInfo
	orgs [maxDomainsLimit]string
	cos  [maxCoDomains * (maxCoDomains - 1) / 2]coInfo
	nk   int
	nd   int
	no   int
	nco  int
	text []byte
	sigs []pendingSig
	kv   []pendingKey
}

func (c *Checker) getScratch() *scratch {
	s := c.pool.Get().(*scratch)
	s.nk, s.nd, s.no, s.nco = 0, 0, 0, 0
	s.text, s.sigs, s.kv = s.text[:0], s.sigs[:0], s.kv[:0]
	return s
}

func (c *Checker) putScratch(s *scratch) {
	for i := range s.nk {
		s.keys[i] = Key{} // drop references to domain strings
	}
	for i := range s.nd {
		s.doms[i] = domInfo{}
	}
	for i := range s.no {
		s.orgs[i] = ""
	}
	if cap(s.text) > 64<<10 {
		s.text = nil
	}
	c.pool.Put(s)
}

// addDomain records an authenticated domain (deduplicated, bounded).
func (s *scratch) addDomain(d string, limit int) {
	d = normDomain(d)
	if !validDomain(d) {
		return
	}
	for i := range s.nd {
		if s.doms[i].name == d {
			return
		}
	}
	if s.nd < limit {
		s.doms[s.nd] = domInfo{name: d}
		s.nd++
	}
}

// addOrg records an organizational domain given by the auth check.
func (s *scratch) addOrg(d string) {
	d = normDomain(d)
	if !validDomain(d) {
		return
	}
	for i := range s.no {
		if s.orgs[i] == d {
			return
		}
	}
	if s.no < len(s.orgs) {
		s.orgs[s.no] = d
		s.no++
	}
}

// collect reads authenticated and organizational domains from signals.
func (s *scratch) collect(sigs []mailscore.Signal, limit int) {
	for i := range sigs {
		for _, k := range sigs[i].Keys {
			switch k.Kind {
			case mailscore.KeyAuthDomain:
				s.addDomain(k.Value, limit)
			case mailscore.KeyOrgDomain:
				s.addOrg(k.Value)
			}
		}
	}
}

// orgOf returns the organizational domain of d: the longest org domain the
// auth check gave that d is or is under, else the public suffix list's
// registrable domain, else d.
func (s *scratch) orgOf(d string) string {
	best := ""
	for _, o := range s.orgs[:s.no] {
		if len(o) > len(best) && (d == o || (len(d) > len(o) && strings.HasSuffix(d, o) && d[len(d)-len(o)-1] == '.')) {
			best = o
		}
	}
	if best != "" {
		return best
	}
	if o, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil {
		return o
	}
	return d
}

// addKey appends k unless present and returns its index.
func (s *scratch) addKey(k Key) int {
	for i := range s.nk {
		if s.keys[i] == k {
			return i
		}
	}
	s.keys[s.nk] = k
	s.nk++
	return s.nk - 1
}

// plan fills the keys for ip (may be invalid) and the recorded domains,
// and with co the co-domain keys. It returns the number of IP levels and
// the index of the network level.
func (s *scratch) plan(ip netip.Addr, co bool) (nIP, netIdx int, network netip.Prefix) {
	netIdx = -1
	if ip.IsValid() {
		bits, _, n := ipLevels(ip)
		nb := networkBits(ip)
		for l := range n {
			p := netip.PrefixFrom(ip, bits[l]).Masked()
			s.keys[l] = Key{Kind: KindIP, Prefix: p}
			if bits[l] == nb {
				netIdx, network = l, p
			}
		}
		s.nk, nIP = n, n
	}
	for i := range s.nd {
		d := &s.doms[i]
		d.org = s.orgOf(d.name)
		d.dk = s.addKey(Key{Kind: KindDomain, Domain: d.name})
		d.ok = s.addKey(Key{Kind: KindDomain, Domain: d.org})
		d.pk = -1
		if netIdx >= 0 {
			d.pk = s.addKey(Key{Kind: KindPair, Prefix: network, Domain: d.name})
		}
	}
	if co {
		n := min(s.nd, maxCoDomains)
		for i := range n {
			for j := i + 1; j < n; j++ {
				s.cos[s.nco] = coInfo{i: i, j: j, k: s.addKey(CoDomainKey(s.doms[i].name, s.doms[j].name))}
				s.nco++
			}
		}
	}
	return nIP, netIdx, network
}

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
// its message (DKIM d= that verified, the MAIL FROM domain when SPF
// passed), for use without an engine. Organizational domains come from the
// public suffix list.
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
	var ev [1]Evidence
	if err := c.store.Get(ctx, c.now(), c.decay, []Key{k}, ev[:]); err != nil {
		return Estimate{Key: k, State: Failed}, fmt.Errorf("reputation: store: %w", err)
	}
	return c.m.estimate(&ev[0]).toEstimate(k, &ev[0]), nil
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
	nIP, netIdx, network := s.plan(ip, true)
	keys := s.keys[:s.nk]

	var storeErr error
	if len(keys) > 0 {
		if c.readOnly {
			storeErr = c.store.Get(ctx, now, c.decay, keys, s.ev[:len(keys)])
		} else {
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
			// Best effort: a failure here shows on the next read.
			_ = c.store.Update(ctx, now, c.decay, s.ups[:nu], nil)
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
			for _, sym := range []string{SymDomainReputation, SymTenantReputation} {
				p := s.begin(sym, 0, 0)
				s.text = append(s.text, s.doms[0].name...)
				s.text = append(s.text, ": reputation store failed - unknown (neutral), not held against the sender"...)
				s.end(p)
				s.key(p, mailscore.KeyAuthDomain, func(b []byte) []byte { return append(b, s.doms[0].name...) })
			}
		} else {
			c.domainSignal(s, t)
			if netIdx >= 0 {
				c.tenantSignal(s, network, t)
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

// begin starts a signal whose reason is appended to s.text next.
func (s *scratch) begin(sym string, value, conf float64) int {
	s.sigs = append(s.sigs, pendingSig{sym: sym, value: value, conf: conf, rs: len(s.text), ks: len(s.kv), ke: len(s.kv)})
	return len(s.sigs) - 1
}

// end closes the reason of signal p.
func (s *scratch) end(p int) { s.sigs[p].re = len(s.text) }

// key adds a key to signal p (its keys must be added right after it).
func (s *scratch) key(p int, kind string, value func([]byte) []byte) {
	start := len(s.text)
	s.text = value(s.text)
	s.kv = append(s.kv, pendingKey{kind: kind, s: start, e: len(s.text)})
	s.sigs[p].ke = len(s.kv)
}

// finish makes the signals: one string for every reason and key value,
// one slice of keys, one of signals.
func (s *scratch) finish() []mailscore.Signal {
	if len(s.sigs) == 0 {
		return nil
	}
	text := string(s.text)
	keys := make([]mailscore.Key, len(s.kv))
	for i, k := range s.kv {
		keys[i] = mailscore.Key{Kind: k.kind, Value: text[k.s:k.e]}
	}
	out := make([]mailscore.Signal, len(s.sigs))
	for i, p := range s.sigs {
		out[i] = mailscore.Signal{
			Check: Name, Symbol: p.sym, Value: p.value, Confidence: p.conf,
			Reason: text[p.rs:p.re],
		}
		if p.ke > p.ks {
			out[i].Keys = keys[p.ks:p.ke:p.ke]
		}
	}
	return out
}

// appendEvidence appends "N messages in 30 days (S spam, H ham)" and the
// messages seen when there are more.
func (c *Checker) appendEvidence(b []byte, r *est, e *Evidence) []byte {
	b = appendMessages(b, r.spam+r.ham)
	b = append(b, " in "...)
	b = append(b, c.hlText...)
	b = append(b, " ("...)
	b = appendCount(b, r.spam)
	b = append(b, " spam, "...)
	b = appendCount(b, r.ham)
	b = append(b, " ham)"...)
	if seen := float64(e.Seen); seen >= r.spam+r.ham+0.5 {
		b = append(b, ", "...)
		b = appendCount(b, seen)
		b = append(b, " seen"...)
	}
	return b
}

// appendKnown appends "KEY: reputation -8.6 (bad) from EVIDENCE, first seen AGE ago".
func (c *Checker) appendKnown(b []byte, k *Key, r *est, e *Evidence, t uint32) []byte {
	b = k.appendTo(b)
	b = append(b, ": reputation "...)
	b = appendScore(b, r.score)
	b = append(b, " ("...)
	b = append(b, scoreLabel(r.score)...)
	b = append(b, ") from "...)
	b = c.appendEvidence(b, r, e)
	if e.First != 0 && t >= e.First {
		b = append(b, ", first seen "...)
		b = appendDuration(b, time.Duration(t-e.First)*time.Second)
		b = append(b, " ago"...)
	}
	return b
}

// appendUnknown appends "KEY: EVIDENCE - too little evidence to judge (neutral)".
func (c *Checker) appendUnknown(b []byte, k *Key, r *est, e *Evidence) []byte {
	b = k.appendTo(b)
	b = append(b, ": "...)
	b = c.appendEvidence(b, r, e)
	return append(b, " - too little evidence to judge (neutral)"...)
}

// ipSignal emits IP_REPUTATION (and IP_SHARED): the most specific IP
// level with enough evidence answers, at its level weight, times the
// shared-network discount.
func (c *Checker) ipSignal(s *scratch, ip netip.Addr, nIP, netIdx int, share, tenants float64, t uint32) {
	_, weight, _ := ipLevels(ip)
	var rs [4]est
	answer, most := -1, 0
	for l := range nIP {
		rs[l] = c.m.estimate(&s.ev[l])
		if rs[l].known {
			answer = l
			break
		}
		if rs[l].spam+rs[l].ham > rs[most].spam+rs[most].ham {
			most = l
		}
	}
	var p int
	level := most
	if answer >= 0 {
		level = answer
		r := &rs[answer]
		conf := r.confidence * weight[answer] * share
		p = s.begin(SymIPReputation, 2*r.p-1, conf)
		s.text = c.appendKnown(s.text, &s.keys[answer], r, &s.ev[answer], t)
		if answer > 0 {
			s.text = append(s.text, "; "...)
			s.text = ip.AppendTo(s.text)
			s.text = append(s.text, " itself has too little history, so its /"...)
			s.text = appendCount(s.text, float64(s.keys[answer].Prefix.Bits()))
			s.text = append(s.text, " answers at "...)
			s.text = appendFraction(s.text, weight[answer])
			s.text = append(s.text, " weight"...)
		}
		if share < 1 {
			s.text = append(s.text, "; the network is shared by "...)
			s.text = appendCount(s.text, tenants)
			s.text = append(s.text, " authenticated domains, so this counts at "...)
			s.text = appendFraction(s.text, share)
			s.text = append(s.text, " for this sender"...)
		}
	} else {
		p = s.begin(SymIPReputation, 0, 0)
		s.text = c.appendUnknown(s.text, &s.keys[most], &rs[most], &s.ev[most])
	}
	s.end(p)
	s.key(p, mailscore.KeyIP, func(b []byte) []byte { return ip.AppendTo(b) })
	s.key(p, mailscore.KeyPrefix, func(b []byte) []byte { return s.keys[level].Prefix.AppendTo(b) })

	if s.nd > 0 && tenants >= 1.5 && netIdx >= 0 {
		p := s.begin(SymIPShared, 1-share, 1)
		s.text = s.keys[netIdx].Prefix.AppendTo(s.text)
		s.text = append(s.text, " carries mail for "...)
		s.text = appendCount(s.text, tenants)
		s.text = append(s.text, " authenticated domains; its IP reputation counts at "...)
		s.text = appendFraction(s.text, share)
		s.text = append(s.text, " for each of them, whose own domain and tenant reputation count in full"...)
		s.end(p)
		s.key(p, mailscore.KeyPrefix, func(b []byte) []byte { return s.keys[netIdx].Prefix.AppendTo(b) })
	}
}

// candidate is one key's answer, for choosing among several domains.
type candidate struct {
	dom   int // index into s.doms
	key   int // index into s.keys
	r     est
	known bool
	share float64 // the domain's share (domInfo.share)
}

// conf is the confidence the answer is given.
func (x *candidate) conf() float64 { return x.r.confidence * x.share }

// decisive is how much a known answer would move the score.
func (x *candidate) decisive() float64 { return math.Abs((2*x.r.p - 1) * x.conf()) }

// better reports whether x should answer instead of y: known beats
// unknown; among known, the more decisive (then the more spam-ward);
// among unknown, the one with more evidence.
func (x *candidate) better(y *candidate) bool {
	if x.known != y.known {
		return x.known
	}
	if x.known {
		dx, dy := x.decisive(), y.decisive()
		if dx != dy {
			return dx > dy
		}
		return x.r.p > y.r.p
	}
	return x.r.spam+x.r.ham > y.r.spam+y.r.ham
}

// domainSignal emits DOMAIN_REPUTATION: per authenticated domain, the
// domain or else its organizational domain; the most decisive answers.
func (c *Checker) domainSignal(s *scratch, t uint32) {
	var best candidate
	for i := range s.nd {
		d := &s.doms[i]
		x := candidate{dom: i, key: d.dk, r: c.m.estimate(&s.ev[d.dk]), share: d.share}
		x.known = x.r.known
		if !x.known && d.ok != d.dk {
			y := candidate{dom: i, key: d.ok, r: c.m.estimate(&s.ev[d.ok]), share: d.share}
			y.known = y.r.known
			if y.better(&x) {
				x = y
			}
		}
		if i == 0 || x.better(&best) {
			best = x
		}
	}
	d := &s.doms[best.dom]
	var p int
	if best.known {
		p = s.begin(SymDomainReputation, 2*best.r.p-1, best.conf())
		s.text = c.appendKnown(s.text, &s.keys[best.key], &best.r, &s.ev[best.key], t)
		if best.key != d.dk {
			s.text = append(s.text, "; "...)
			s.text = append(s.text, d.name...)
			s.text = append(s.text, " itself has too little history, so its organizational domain answers"...)
		}
		s.text = appendShared(s.text, d)
	} else {
		p = s.begin(SymDomainReputation, 0, 0)
		s.text = c.appendUnknown(s.text, &s.keys[best.key], &best.r, &s.ev[best.key])
	}
	if s.nd > 1 {
		s.text = append(s.text, " ("...)
		s.text = appendCount(s.text, float64(s.nd))
		s.text = append(s.text, " domains authenticated; the most decisive shown)"...)
	}
	s.end(p)
	s.key(p, mailscore.KeyAuthDomain, func(b []byte) []byte { return append(b, d.name...) })
	if d.org != d.name {
		s.key(p, mailscore.KeyOrgDomain, func(b []byte) []byte { return append(b, d.org...) })
	}
}

// appendShared explains a shared domain's discount.
func appendShared(b []byte, d *domInfo) []byte {
	if d.share >= 0.995 {
		return b
	}
	b = append(b, "; "...)
	b = append(b, d.name...)
	b = append(b, " authenticates mail together with "...)
	b = appendCount(b, d.shared)
	b = append(b, " other domains (shared infrastructure), so it counts at "...)
	b = appendFraction(b, d.share)
	b = append(b, " for this sender"...)
	return b
}

// tenantSignal emits TENANT_REPUTATION: the (network, domain) pairs; the
// most decisive answers.
func (c *Checker) tenantSignal(s *scratch, network netip.Prefix, t uint32) {
	var best candidate
	for i := range s.nd {
		d := &s.doms[i]
		x := candidate{dom: i, key: d.pk, r: c.m.estimate(&s.ev[d.pk]), share: d.share}
		x.known = x.r.known
		if i == 0 || x.better(&best) {
			best = x
		}
	}
	var p int
	if best.known {
		p = s.begin(SymTenantReputation, 2*best.r.p-1, best.conf())
		s.text = c.appendKnown(s.text, &s.keys[best.key], &best.r, &s.ev[best.key], t)
		s.text = appendShared(s.text, &s.doms[best.dom])
	} else {
		p = s.begin(SymTenantReputation, 0, 0)
		s.text = c.appendUnknown(s.text, &s.keys[best.key], &best.r, &s.ev[best.key])
	}
	s.end(p)
	k := &s.keys[best.key]
	s.key(p, KeyIPDomain, k.appendTo)
	s.key(p, mailscore.KeyAuthDomain, func(b []byte) []byte { return append(b, k.Domain...) })
}

// spike measures the sender's short-term rate against its own long-term
// rate (see the package documentation). e counts the current message.
func (c *Checker) spike(e *Evidence, t uint32) (ratio, shortRate, longRate, value, conf float64, ok bool) {
	if e.First == 0 || t < e.First {
		return
	}
	age := float64(t - e.First)
	recent := float64(e.Recent)
	if age < c.spikeAge.Seconds() || recent < c.spikeMin {
		return
	}
	H, h := c.decay.HalfLife.Seconds(), c.decay.VolumeHalfLife.Seconds()
	// A rate r held since first seen gives a decayed count of
	// r * (H/ln 2) * (1 - 2^(-age/H)): divide by that window.
	wl := H / math.Ln2 * (1 - math.Exp2(-age/H))
	ws := h / math.Ln2 * (1 - math.Exp2(-age/h))
	shortRate, longRate = recent/ws*3600, float64(e.Seen)/wl*3600
	if longRate <= 0 {
		return
	}
	ratio = shortRate / longRate
	if ratio < c.spikeRatio {
		return
	}
	value = math.Min(1, math.Log10(ratio/c.spikeRatio))
	conf = (1 - c.spikeMin/recent) * math.Min(1, age/(7*24*3600))
	return ratio, shortRate, longRate, value, conf, true
}

// spikeSignal emits VOLUME_SPIKE for the sender address (IPv6: its /64)
// or an authenticated domain, whichever rose most. The address's spike is
// discounted like its reputation when the network is shared.
func (c *Checker) spikeSignal(s *scratch, ip netip.Addr, nIP int, share float64, t uint32) {
	bestKey := -1
	var bRatio, bShort, bLong, bValue, bConf float64
	try := func(k int, discount float64) {
		e := s.ev[k]
		if !c.readOnly {
			e.Seen++
			e.Recent++
			if e.First == 0 {
				e.First = t
			}
		}
		ratio, sr, lr, v, cf, ok := c.spike(&e, t)
		if ok && (bestKey < 0 || v*cf*discount > bValue*bConf) {
			bestKey, bRatio, bShort, bLong, bValue, bConf = k, ratio, sr, lr, v, cf*discount
		}
	}
	if nIP > 0 {
		k := 0 // IPv4: the address
		if s.keys[1].Prefix.Bits() == senderBits(ip) {
			k = 1 // IPv6: its /64
		}
		try(k, share)
	}
	for i := range s.nd {
		try(s.doms[i].dk, 1)
	}
	if bestKey < 0 {
		return
	}
	p := s.begin(SymVolumeSpike, bValue, bConf)
	k := &s.keys[bestKey]
	s.text = k.appendTo(s.text)
	s.text = append(s.text, ": sending "...)
	s.text = appendRate(s.text, bShort)
	s.text = append(s.text, " against its "...)
	s.text = append(s.text, c.hlAdj...)
	s.text = append(s.text, " average of "...)
	s.text = appendRate(s.text, bLong)
	s.text = append(s.text, " ("...)
	s.text = appendCount(s.text, bRatio)
	s.text = append(s.text, "x) - a sudden rise, reported apart from reputation"...)
	if k.Kind == KindIP && share < 1 {
		s.text = append(s.text, "; counted at "...)
		s.text = appendFraction(s.text, share)
		s.text = append(s.text, " as the network is shared"...)
	}
	s.end(p)
	if k.Kind == KindIP {
		s.key(p, mailscore.KeyPrefix, k.Prefix.AppendTo)
	} else {
		s.key(p, mailscore.KeyAuthDomain, func(b []byte) []byte { return append(b, k.Domain...) })
	}
}

// listSignals turns DNS list results into signals; list failures are
// unknown (confidence 0) and returned as errors.
func (c *Checker) listSignals(s *scratch, ip netip.Addr, results []dnsutil.Result) []error {
	var errs []error
	for _, res := range results {
		li := c.lists[res.List]
		if li == nil {
			continue
		}
		if res.Err != nil {
			p := s.begin(li.unknownSym, 0, 0)
			s.text = append(s.text, li.name...)
			s.text = append(s.text, " gave no usable answer for "...)
			s.text = ip.AppendTo(s.text)
			s.text = append(s.text, " - unknown, not held against the sender ("...)
			s.text = append(s.text, res.Err.Error()...)
			s.text = append(s.text, ')')
			s.end(p)
			s.key(p, mailscore.KeyIP, ip.AppendTo)
			errs = append(errs, fmt.Errorf("reputation: %s: %w", li.name, res.Err))
			continue
		}
		if !res.Listed {
			continue
		}
		first := len(s.sigs)
		for _, code := range res.Codes {
			sym := li.syms[string(codeSign(code.Value))+code.Name]
			if sym == "" {
				continue
			}
			v := math.Abs(code.Value) // allowlist symbols carry negative weights
			dup := false
			for j := first; j < len(s.sigs); j++ {
				if s.sigs[j].sym == sym {
					s.sigs[j].value = math.Max(s.sigs[j].value, v)
					dup = true
				}
			}
			if dup {
				continue
			}
			p := s.begin(sym, v, 1)
			s.text = append(s.text, li.name...)
			s.text = append(s.text, " lists "...)
			s.text = ip.AppendTo(s.text)
			s.text = append(s.text, ": "...)
			if code.Meaning != "" {
				s.text = append(s.text, code.Meaning...)
			} else {
				s.text = append(s.text, code.Name...)
			}
			if code.Value == 0 {
				s.text = append(s.text, " - neutral, carries no weight either way"...)
			}
			s.end(p)
			s.key(p, mailscore.KeyIP, ip.AppendTo)
		}
	}
	return errs
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
	for i := range s.nk {
		s.ups[i] = Update{Key: s.keys[i], Delta: delta}
	}
	if err := c.store.Update(ctx, c.now(), c.decay, s.ups[:s.nk], nil); err != nil {
		return fmt.Errorf("reputation: store: %w", err)
	}
	return nil
}
