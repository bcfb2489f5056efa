package urlcheck

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/dnsutil"
)

// maxReasonItems is how many items a signal's reason names.
const maxReasonItems = 3

// listConfidence is the confidence of a blocklist's listing: a list's
// word, not proof.
const listConfidence = 0.9

// agg collects the hits of one symbol into one signal.
type agg struct {
	sym         string
	head        string
	value, conf float64
	items       []string
	more        int
	keys        []mailscore.Key
}

type listEntry struct {
	done chan struct{}
	res  []dnsutil.Result
}

// run is the work on one message.
type run struct {
	c       *Checker
	links   []Link
	senders []senderDomain

	aggs  map[string]*agg
	order []string

	mu   sync.Mutex
	errs []error

	// DNS stage, guarded by mu while it runs.
	domains     []string     // URL registered domains queried, in link order
	addrs       []netip.Addr // URL addresses queried
	zones       []string     // zones whose NS records are looked up
	dl          map[string]*listEntry
	il          map[netip.Addr]*listEntry
	nsOf        map[string][]string // zone -> nameserver hosts
	nsErr       map[string]error
	nsSeen      map[string]bool
	nsDomain    map[string]string       // nameserver host -> its registered domain
	nsAddrs     map[string][]netip.Addr // nameserver host -> addresses
	listUsed    int
	listSkipped int
	nsUsed      int
	nsSkipped   int
	wg          sync.WaitGroup
	sem         chan struct{}
}

func newRun(c *Checker, x Extraction, senders []senderDomain) *run {
	r := &run{c: c, senders: senders, aggs: map[string]*agg{}}
	for _, l := range x.Links {
		if c.skip[l.Domain] || c.skip[l.ICANNDomain] || c.skip[l.Host] {
			continue
		}
		r.links = append(r.links, l)
	}
	return r
}

// hit records one finding for sym.
func (r *run) hit(sym, head string, value, conf float64, item string, keys ...mailscore.Key) {
	a := r.aggs[sym]
	if a == nil {
		a = &agg{sym: sym, head: head}
		r.aggs[sym] = a
		r.order = append(r.order, sym)
	}
	if value*conf > a.value*a.conf || a.items == nil && a.more == 0 {
		a.value, a.conf = value, conf
	}
	if item != "" && !slices.Contains(a.items, item) {
		if len(a.items) < maxReasonItems {
			a.items = append(a.items, item)
		} else {
			a.more++
		}
	}
	for _, k := range keys {
		if !slices.Contains(a.keys, k) {
			a.keys = append(a.keys, k)
		}
	}
}

func (r *run) fail(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

func (r *run) signals() []mailscore.Signal {
	out := make([]mailscore.Signal, 0, len(r.order))
	for _, sym := range r.order {
		a := r.aggs[sym]
		reason := a.head
		if len(a.items) > 0 {
			reason += ": " + strings.Join(a.items, "; ")
		}
		if a.more > 0 {
			reason += fmt.Sprintf("; and %d more", a.more)
		}
		out = append(out, mailscore.Signal{
			Check: CheckName, Symbol: sym, Value: a.value, Confidence: a.conf,
			Reason: reason, Keys: a.keys,
		})
	}
	return out
}

func (r *run) err() error {
	if len(r.errs) == 0 {
		return nil
	}
	return &incompleteError{n: len(r.errs), first: r.errs[0], all: errors.Join(r.errs...)}
}

func urlKey(d string) mailscore.Key { return mailscore.Key{Kind: mailscore.KeyURLDomain, Value: d} }
func nsKey(h string) mailscore.Key  { return mailscore.Key{Kind: mailscore.KeyNameserver, Value: h} }

// clickable reports origins a reader follows by clicking.
func clickable(o Origin) bool {
	switch o {
	case OriginHref, OriginAction, OriginRefresh, OriginText, OriginRedirect, OriginLanding, OriginWWW:
		return true
	}
	return false
}

func (r *run) isShortener(l *Link) bool {
	return r.c.shorteners[l.Domain] || r.c.shorteners[l.ICANNDomain] || r.c.shorteners[l.Host]
}

func shorten(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// static flags what the links show by themselves.
func (r *run) static() {
	for i := range r.links {
		r.staticLink(&r.links[i])
	}
}

func (r *run) staticLink(l *Link) {
	var keys []mailscore.Key
	if l.Domain != "" {
		keys = []mailscore.Key{urlKey(l.Domain)}
	}
	if la, ok := protectedLookalike(&l.URL, r.c.protected); ok {
		v := map[string]float64{"confusable": 1, "embedded": 0.8, "other-suffix": 0.6}[la.Kind]
		item := fmt.Sprintf("%s (%s) imitates %s", l.DisplayHost(), la.Kind, la.Protected)
		r.hit(SymLookalike, "links to domains that imitate protected names", v, 1, item, keys...)
	}
	if la, ok := scriptLookalike(&l.URL); ok {
		v, what := 1.0, "mixes scripts"
		if la.Kind == "whole-script" {
			v, what = 0.8, "is spelled in non-Latin letters that pass for Latin"
		}
		item := fmt.Sprintf("%s (%s): label %q %s", l.DisplayHost(), l.Host, la.Label, what)
		r.hit(SymMixedScript, "links to internationalized names built to look like others", v, 1, item, keys...)
	}
	if l.Scheme == "mailto" {
		return
	}
	if l.Has(FlagNumericHost) {
		v, item := 0.5, shorten(l.String())
		if l.Has(FlagObfuscatedIP) {
			v = 1
			item += " (an obfuscated way of writing " + l.Host + ")"
		}
		r.hit(SymNumericHost, "links to IP addresses instead of names", v, 1, item)
	}
	if l.Has(FlagUserinfo) {
		v, item := 0.3, fmt.Sprintf("%q before %s", l.User, l.Host)
		if l.Has(FlagDeceptiveUserinfo) {
			v = 1
			item = fmt.Sprintf("shows %q but goes to %s", l.User, l.HostPort())
		}
		r.hit(SymUserinfo, "links with a user name before the host", v, 1, item, keys...)
	}
	if clickable(l.Origin) && r.isShortener(l) {
		r.hit(SymShortener, "links through URL shorteners, which hide where they go", 1, 1, shorten(l.String()), keys...)
	}
	if l.Carries && clickable(l.Origin) {
		r.hit(SymRedirector, "links that carry another URL (redirectors)", 1, 1, l.Host, keys...)
	}
}

// ---- DNS: blocklists and nameservers ----

func (r *run) take(used *int, n, limit int) bool {
	if *used+n > limit {
		return false
	}
	*used += n
	return true
}

func (r *run) acquire(ctx context.Context) bool {
	select {
	case r.sem <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (r *run) release() { <-r.sem }

// dns runs the list queries and nameserver lookups of the message, then
// turns their results into signals.
func (r *run) dns(ctx context.Context) {
	o := &r.c.opts
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	r.dl = map[string]*listEntry{}
	r.il = map[netip.Addr]*listEntry{}
	r.nsOf = map[string][]string{}
	r.nsErr = map[string]error{}
	r.nsSeen = map[string]bool{}
	r.nsDomain = map[string]string{}
	r.nsAddrs = map[string][]netip.Addr{}
	r.sem = make(chan struct{}, o.Concurrency)
	urlZones := 0
	for i := range r.links {
		l := &r.links[i]
		if l.IP.IsValid() {
			if a := l.IP.Unmap(); len(r.addrs) < o.MaxDomains && !slices.Contains(r.addrs, a) && l.Scheme != "mailto" {
				r.addrs = append(r.addrs, a)
			}
			continue
		}
		if l.Domain != "" && len(r.domains) < o.MaxDomains && !slices.Contains(r.domains, l.Domain) {
			r.domains = append(r.domains, l.Domain)
		}
		if l.ICANNDomain != "" && urlZones < o.MaxDomains && !slices.Contains(r.zones, l.ICANNDomain) {
			r.zones = append(r.zones, l.ICANNDomain)
			urlZones++
		}
	}
	for _, s := range r.senders {
		if !slices.Contains(r.zones, s.zone) && !r.c.skip[s.zone] {
			r.zones = append(r.zones, s.zone)
		}
	}
	if len(r.c.uriLists) > 0 {
		for _, d := range r.domains {
			r.wg.Go(func() { r.domainLists(ctx, d) })
		}
	}
	if len(r.c.ipLists) > 0 {
		for _, a := range r.addrs {
			r.wg.Go(func() { r.ipListResults(ctx, a) })
		}
	}
	if !o.DisableNameservers {
		for _, z := range r.zones {
			r.wg.Go(func() { r.nameservers(ctx, z) })
		}
	}
	r.wg.Wait()
	r.dnsSignals()
}

// domainLists queries the URI lists for a domain once per message.
func (r *run) domainLists(ctx context.Context, d string) []dnsutil.Result {
	return listsOnce(ctx, r, r.dl, d, r.c.uriLists, d, r.c.dnsbl.LookupDomain)
}

// ipListResults queries the IP lists for an address once per message.
func (r *run) ipListResults(ctx context.Context, a netip.Addr) []dnsutil.Result {
	return listsOnce(ctx, r, r.il, a, r.c.ipLists, a.String(), r.c.dnsbl.LookupIP)
}

// listsOnce asks lists about key at most once per message: concurrent
// askers wait for the first one's answer, and the message's list-query
// budget is charged once.
func listsOnce[K comparable](ctx context.Context, r *run, seen map[K]*listEntry, key K, lists []dnsutil.Blocklist, item string,
	lookup func(context.Context, K) []dnsutil.Result) []dnsutil.Result {
	r.mu.Lock()
	if e, ok := seen[key]; ok {
		r.mu.Unlock()
		<-e.done
		return e.res
	}
	e := &listEntry{done: make(chan struct{})}
	seen[key] = e
	if !r.take(&r.listUsed, len(lists), r.c.opts.MaxListQueries) {
		r.listSkipped++
		r.mu.Unlock()
		close(e.done)
		return nil
	}
	r.mu.Unlock()
	if r.acquire(ctx) {
		e.res = lookup(ctx, key)
		r.release()
	} else {
		e.res = r.cancelled(lists, item, ctx.Err())
	}
	close(e.done)
	return e.res
}

// cancelled returns unknown results for lists not asked before the
// deadline.
func (r *run) cancelled(lists []dnsutil.Blocklist, item string, err error) []dnsutil.Result {
	out := make([]dnsutil.Result, len(lists))
	for i, l := range lists {
		out[i] = dnsutil.Result{List: l.Name, Zone: l.Zone, Item: item, Err: err}
	}
	return out
}

// nameservers looks up the NS records of a zone, then checks each new
// nameserver: its domain against the URI lists, its addresses against the
// IP lists.
func (r *run) nameservers(ctx context.Context, zone string) {
	o := &r.c.opts
	r.mu.Lock()
	ok := r.take(&r.nsUsed, 1, o.MaxNSLookups)
	if !ok {
		r.nsSkipped++
	}
	r.mu.Unlock()
	if !ok || !r.acquire(ctx) {
		if ok {
			r.setNSErr(zone, ctx.Err())
		}
		return
	}
	hosts, err := dnsutil.LookupNS(ctx, r.c.r, zone)
	r.release()
	if err != nil {
		if !dnsutil.IsNotFound(err) {
			r.setNSErr(zone, err)
		}
		return
	}
	var clean []string
	for _, h := range hosts {
		h = strings.TrimSuffix(h, ".")
		if validASCIIHost(h) && !slices.Contains(clean, h) && len(clean) < 8 {
			clean = append(clean, h)
		}
	}
	slices.Sort(clean)
	r.mu.Lock()
	r.nsOf[zone] = clean
	var fresh []string
	for _, h := range clean {
		if !r.nsSeen[h] && len(r.nsSeen) < o.MaxNameservers {
			r.nsSeen[h] = true
			fresh = append(fresh, h)
		}
	}
	r.mu.Unlock()
	for _, h := range fresh {
		if len(r.c.uriLists) > 0 {
			if nd, _ := registeredDomains(h); nd != "" {
				r.mu.Lock()
				r.nsDomain[h] = nd
				r.mu.Unlock()
				r.wg.Go(func() { r.domainLists(ctx, nd) })
			}
		}
		if len(r.c.ipLists) > 0 {
			r.wg.Go(func() { r.nsAddresses(ctx, h) })
		}
	}
}

func (r *run) setNSErr(zone string, err error) {
	r.mu.Lock()
	r.nsErr[zone] = err
	r.errs = append(r.errs, fmt.Errorf("nameservers of %s: %w", zone, err))
	r.mu.Unlock()
}

// nsAddresses looks up a nameserver's addresses and checks them.
func (r *run) nsAddresses(ctx context.Context, h string) {
	r.mu.Lock()
	ok := r.take(&r.nsUsed, 1, r.c.opts.MaxNSLookups)
	if !ok {
		r.nsSkipped++
	}
	r.mu.Unlock()
	if !ok {
		return
	}
	if !r.acquire(ctx) {
		r.fail(fmt.Errorf("addresses of nameserver %s: %w", h, ctx.Err()))
		return
	}
	addrs, err := dnsutil.LookupIP(ctx, r.c.r, h)
	r.release()
	if err != nil && dnsutil.IsTemporary(err) {
		r.fail(fmt.Errorf("addresses of nameserver %s: %w", h, err))
	}
	var kept []netip.Addr
	for _, a := range addrs {
		if a = a.Unmap(); !slices.Contains(kept, a) && len(kept) < 4 {
			kept = append(kept, a)
		}
	}
	r.mu.Lock()
	r.nsAddrs[h] = kept
	r.mu.Unlock()
	for _, a := range kept {
		r.ipListResults(ctx, a)
	}
}

func codeItem(item string, res dnsutil.Result, c dnsutil.Code) string {
	m := c.Meaning
	if m == "" {
		m = "listed by " + res.List
	}
	return item + " (" + m + ")"
}

// unknown records a list that could not answer.
func (r *run) unknown(res dnsutil.Result, what string) {
	r.hit(SymListUnknown, "blocklists that could not answer (unknown, not evidence)", 0, 0,
		fmt.Sprintf("%s about %s %s: %v", res.List, what, res.Item, res.Err))
	r.errs = append(r.errs, fmt.Errorf("%s about %s: %w", res.List, res.Item, res.Err))
}

// dnsSignals turns the DNS stage's results into signals, in a stable order.
func (r *run) dnsSignals() {
	for _, d := range r.domains {
		e := r.dl[d]
		if e == nil {
			continue
		}
		for _, res := range e.res {
			if res.Err != nil {
				r.unknown(res, "domain")
				continue
			}
			if !res.Listed {
				continue
			}
			list := r.listByName(res.List, r.c.uriLists)
			for _, c := range res.Codes {
				r.hit(ListSymbol(list, c), "linked domains listed by "+res.List, c.Value, listConfidence,
					codeItem(d, res, c), urlKey(d))
			}
		}
	}
	for _, a := range r.addrs {
		e := r.il[a]
		if e == nil {
			continue
		}
		for _, res := range e.res {
			if res.Err != nil {
				r.unknown(res, "address")
				continue
			}
			for _, c := range res.Codes {
				r.hit(SymIPListed, "links to listed IP addresses", c.Value, listConfidence, codeItem(a.String(), res, c))
			}
		}
	}
	reported := map[string]bool{}
	unknownND := map[string]bool{}
	unknownNA := map[string]bool{}
	for _, z := range r.zones {
		for _, h := range r.nsOf[z] {
			if reported[h] {
				continue
			}
			if nd := r.nsDomain[h]; nd != "" && nd != z {
				if e := r.dl[nd]; e != nil {
					reported[h] = true
					for _, res := range e.res {
						if res.Err != nil {
							if !slices.Contains(r.domains, nd) && !unknownND[nd+"\x00"+res.List] {
								unknownND[nd+"\x00"+res.List] = true
								r.unknown(res, "nameserver domain")
							}
							continue
						}
						for _, c := range res.Codes {
							item := fmt.Sprintf("%s, nameserver of %s: its domain %s", h, z, codeItem(nd, res, c))
							r.hit(SymNSListed, "nameservers whose domain is on a blocklist", c.Value, listConfidence, item, nsKey(h))
						}
					}
				}
			}
			for _, a := range r.nsAddrs[h] {
				e := r.il[a]
				if e == nil {
					continue
				}
				for _, res := range e.res {
					if res.Err != nil {
						if !slices.Contains(r.addrs, a) && !unknownNA[a.String()+"\x00"+res.List] {
							unknownNA[a.String()+"\x00"+res.List] = true
							r.unknown(res, "nameserver address")
						}
						continue
					}
					for _, c := range res.Codes {
						item := fmt.Sprintf("%s, nameserver of %s: address %s", h, z, codeItem(a.String(), res, c))
						r.hit(SymNSIPListed, "nameservers whose address is on a blocklist", c.Value, listConfidence, item, nsKey(h))
					}
				}
			}
		}
	}
	if r.listSkipped > 0 {
		r.c.log.Debug("urlcheck: list query budget used up", "skipped", r.listSkipped, "budget", r.c.opts.MaxListQueries)
	}
	if r.nsSkipped > 0 {
		r.c.log.Debug("urlcheck: nameserver lookup budget used up", "skipped", r.nsSkipped, "budget", r.c.opts.MaxNSLookups)
	}
}

func (r *run) listByName(name string, lists []dnsutil.Blocklist) dnsutil.Blocklist {
	for _, l := range lists {
		if l.Name == name {
			return l
		}
	}
	return dnsutil.Blocklist{Name: name, Zone: name}
}

// ---- learned reputation ----

func pct(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) }

func num(f float64) string {
	if f == math.Trunc(f) && f < 1e9 {
		return fmt.Sprintf("%.0f", f)
	}
	return fmt.Sprintf("%.2g", f)
}

func evidence(e Estimate) string {
	return fmt.Sprintf("%s spam and %s ham reports, estimated spam rate %s against %s for all feedback",
		num(e.Spam), num(e.Ham), pct(e.Rate), pct(e.BaseRate))
}

// reputation emits what feedback taught about the URL domains and the
// nameservers. Both signals are emitted whenever there is something to
// learn on, with confidence 0 when nothing is known, because their keys
// are what Learn counts.
func (r *run) reputation() {
	var doms []string
	for i := range r.links {
		if d := r.links[i].Domain; d != "" && !slices.Contains(doms, d) && len(doms) < r.c.opts.MaxDomains {
			doms = append(doms, d)
		}
	}
	if len(doms) > 0 {
		keys := make([]mailscore.Key, len(doms))
		var best Estimate
		known := 0
		for i, d := range doms {
			keys[i] = urlKey(d)
			e := r.c.rep.estimate(tableURL, d)
			if e.Confidence > 0 {
				known++
			}
			if e.Value*e.Confidence > best.Value*best.Confidence {
				best = e
			}
		}
		sig := &agg{sym: SymDomainReputation, keys: keys}
		switch {
		case best.Value*best.Confidence > 0:
			sig.value, sig.conf = best.Value, best.Confidence
			sig.head = fmt.Sprintf("linked domain %s: %s", best.Name, evidence(best))
		case known > 0:
			sig.head = fmt.Sprintf("feedback about the %d linked domains it knows does not point to spam", known)
		default:
			sig.head = "too little feedback about the linked domains to judge (unknown): " + listNames(doms)
		}
		r.aggs[sig.sym] = sig
		r.order = append(r.order, sig.sym)
	}
	r.nsReputation()
}

func listNames(names []string) string {
	if len(names) <= maxReasonItems {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:maxReasonItems], ", ") + fmt.Sprintf(" and %d more", len(names)-maxReasonItems)
}

// nsEstimate returns the stronger of what is known about a nameserver host
// and about its registered domain.
func (r *run) nsEstimate(h string) (Estimate, string) {
	e := r.c.rep.estimate(tableNS, h)
	what := "nameserver " + h
	if d, _ := registeredDomains(h); d != "" && d != h {
		de := r.c.rep.estimate(tableNSDomain, d)
		if math.Abs(de.Value*de.Confidence) > math.Abs(e.Value*e.Confidence) {
			return de, fmt.Sprintf("nameserver %s (nameserver domain %s)", h, d)
		}
	}
	return e, what
}

func (r *run) nsReputation() {
	if len(r.nsOf) == 0 {
		return
	}
	authZone := map[string]bool{}
	for _, s := range r.senders {
		if s.auth {
			authZone[s.zone] = true
		}
	}
	isURLZone := map[string]bool{}
	for i := range r.links {
		isURLZone[r.links[i].ICANNDomain] = true
	}
	var keys []mailscore.Key
	var spam, ham Estimate
	var spamWhat, hamWhat string
	known := 0
	for _, z := range r.zones {
		for _, h := range r.nsOf[z] {
			k := nsKey(h)
			if slices.Contains(keys, k) {
				continue
			}
			keys = append(keys, k)
			e, what := r.nsEstimate(h)
			if e.Confidence > 0 {
				known++
			}
			role := "a linked domain"
			if !isURLZone[z] {
				role = "the sender's domain"
			}
			what += " (serving " + z + ", " + role + ")"
			c := e.Value * e.Confidence
			if c > spam.Value*spam.Confidence {
				spam, spamWhat = e, what
			}
			// Good standing counts only for the nameservers of domains
			// that authenticated: anyone can link to a reputable site.
			if c < ham.Value*ham.Confidence && authZone[z] {
				ham, hamWhat = e, what
			}
		}
	}
	if len(keys) == 0 {
		return
	}
	sig := &agg{sym: SymNSReputation, keys: keys}
	switch {
	case spam.Value*spam.Confidence > 0:
		sig.value, sig.conf = spam.Value, spam.Confidence
		sig.head = spamWhat + ": " + evidence(spam)
	case ham.Value*ham.Confidence < 0:
		sig.value, sig.conf = ham.Value, ham.Confidence
		sig.head = hamWhat + ": " + evidence(ham)
	case known > 0:
		sig.head = fmt.Sprintf("feedback about the %d nameservers it knows (of %d) is neutral", known, len(keys))
	default:
		names := make([]string, len(keys))
		for i, k := range keys {
			names[i] = k.Value
		}
		sig.head = "too little feedback about the nameservers to judge (unknown): " + listNames(names)
	}
	r.aggs[sig.sym] = sig
	r.order = append(r.order, sig.sym)
}

// ---- landing pages ----

// isTimeout reports a request that ran out of time.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

// follow follows the message's most telling links (shorteners and
// redirectors first, then clickable links in priority order) and adds
// where they land to the links checked.
func (r *run) follow(ctx context.Context) {
	f := r.c.opts.Follower
	var picks []int
	pick := func(want func(*Link) bool) {
		for i := range r.links {
			l := &r.links[i]
			if len(picks) >= r.c.opts.MaxFollow {
				return
			}
			if (l.Scheme == "http" || l.Scheme == "https") && clickable(l.Origin) && want(l) && !slices.Contains(picks, i) {
				picks = append(picks, i)
			}
		}
	}
	pick(r.isShortener)
	pick(func(l *Link) bool { return l.Carries })
	pick(func(*Link) bool { return true })
	if len(picks) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, f.opts.MessageTimeout)
	defer cancel()
	type result struct {
		land *Landing
		err  error
	}
	results := make([]result, len(picks))
	var wg sync.WaitGroup
	for j, i := range picks {
		start := r.links[i].String()
		wg.Go(func() {
			land, err := f.Follow(ctx, start)
			results[j] = result{land, err}
		})
	}
	wg.Wait()
	for j, i := range picks {
		start := r.links[i].String()
		res := results[j]
		switch {
		case res.err != nil && isTimeout(res.err):
			r.errs = append(r.errs, fmt.Errorf("following %s: %w", shorten(start), res.err))
		case res.err != nil:
			r.c.log.Debug("urlcheck: link not followed", "url", start, "err", res.err)
		}
		if res.land == nil || len(res.land.Hops) == 0 {
			continue
		}
		r.landing(start, res.land)
	}
}

// landing turns where one link landed into signals and a new link.
func (r *run) landing(start string, land *Landing) {
	doms := land.Domains()
	var keys []mailscore.Key
	for _, d := range doms {
		if _, err := netip.ParseAddr(d); err != nil {
			keys = append(keys, urlKey(d))
		}
	}
	redirects := 0
	for _, h := range land.Hops {
		if isRedirect(h.Status) {
			redirects++
		}
	}
	switch {
	case land.HopLimit:
		r.hit(SymRedirectChain, "followed links that bounce through several domains", 1, 1,
			fmt.Sprintf("%s did not land after %d redirects (%s)", shorten(start), redirects, strings.Join(doms, " -> ")), keys...)
	case len(doms) >= 3:
		v := 0.5
		if len(doms) >= 4 {
			v = 1
		}
		r.hit(SymRedirectChain, "followed links that bounce through several domains", v, 1,
			fmt.Sprintf("%s goes through %s", shorten(start), strings.Join(doms, " -> ")), keys...)
	}
	fin := land.Final
	finKeys := []mailscore.Key{}
	if fin.Domain != "" {
		finKeys = append(finKeys, urlKey(fin.Domain))
	}
	if land.Executable != "" {
		r.hit(SymLandingExecutable, "followed links that download programs", 1, 1,
			fmt.Sprintf("%s lands on %s: %s", shorten(start), shorten(fin.String()), land.Executable), finKeys...)
	}
	if land.LoginForm && !r.senderZone(fin.ICANNDomain) {
		r.hit(SymLandingLogin, "followed links that land on a page asking for a password", 1, 1,
			fmt.Sprintf("%s lands on %s", shorten(start), shorten(fin.String())), finKeys...)
	}
	if fin.Host == "" || land.Stopped != "" {
		return
	}
	for i := range r.links {
		if r.links[i].Host == fin.Host && r.links[i].Rest == fin.Rest {
			return
		}
	}
	if r.c.skip[fin.Domain] || r.c.skip[fin.ICANNDomain] {
		return
	}
	l := Link{URL: fin, Origin: OriginLanding, Via: start}
	r.links = append(r.links, l)
	r.staticLink(&r.links[len(r.links)-1])
}

// senderZone reports a registered domain that authenticated as the sender.
func (r *run) senderZone(zone string) bool {
	for _, s := range r.senders {
		if s.auth && s.zone == zone {
			return true
		}
	}
	return false
}
