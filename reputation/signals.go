package reputation

import (
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/dnsutil"
)

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

// keySpan adds a key to signal p whose value is already in the text, at
// [start, end): the reasons begin with the key they speak of, so most key
// values need not be written twice.
func (s *scratch) keySpan(p int, kind string, start, end int) {
	s.kv = append(s.kv, pendingKey{kind: kind, s: start, e: end})
	s.sigs[p].ke = len(s.kv)
}

// appendPrefix appends p as Prefix.AppendTo does, copying it when it is
// the prefix written last (a network is named in several reasons).
func (s *scratch) appendPrefix(b []byte, p netip.Prefix) []byte {
	m := &s.prefix
	if m.set && m.p == p {
		return append(b, b[m.start:m.end]...)
	}
	start := len(b)
	b = p.AppendTo(b)
	*m = prefixMemo{set: true, p: p, start: start, end: len(b)}
	return b
}

// appendKey appends k as Key.String formats it.
func (s *scratch) appendKey(b []byte, k *Key) []byte {
	switch k.Kind {
	case KindIP:
		return s.appendPrefix(b, k.Prefix)
	case KindPair:
		b = append(b, k.Domain...)
		b = append(b, '@')
		return s.appendPrefix(b, k.Prefix)
	}
	return k.appendTo(b)
}

// finish makes the signals: one string for every reason and key value,
// one slice of keys, one of signals.
func (s *scratch) finish() []mailscore.Signal {
	if len(s.sigs) == 0 {
		return nil
	}
	text := string(s.text)
	// Field by field: the new slices are zero, and whole-struct copies
	// would go through the bulk write barrier while the GC marks.
	keys := make([]mailscore.Key, len(s.kv))
	for i := range s.kv {
		k := &s.kv[i]
		keys[i].Kind = k.kind
		keys[i].Value = text[k.s:k.e]
	}
	out := make([]mailscore.Signal, len(s.sigs))
	for i := range s.sigs {
		p, o := &s.sigs[i], &out[i]
		o.Check, o.Symbol = Name, p.sym
		o.Value, o.Confidence = p.value, p.conf
		o.Reason = text[p.rs:p.re]
		if p.ke > p.ks {
			o.Keys = keys[p.ks:p.ke:p.ke]
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

// appendKnown appends "KEY: reputation -8.6 (bad) from EVIDENCE, first
// seen AGE ago" and returns where KEY ends. b extends s.text.
func (c *Checker) appendKnown(s *scratch, b []byte, k *Key, r *est, e *Evidence, t uint32) ([]byte, int) {
	b = s.appendKey(b, k)
	keyEnd := len(b)
	// A sender's address, domain and pair often hold the same evidence:
	// the same words follow, copied from the last such reason.
	m := &s.tail
	if m.set && m.known && m.spam == r.spam && m.ham == r.ham && m.seen == e.Seen && m.first == e.First {
		return append(b, b[m.start:m.end]...), keyEnd
	}
	start := len(b)
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
	*m = tailMemo{set: true, known: true, spam: r.spam, ham: r.ham, seen: e.Seen, first: e.First, start: start, end: len(b)}
	return b, keyEnd
}

// appendUnknown appends "KEY: EVIDENCE - too little evidence to judge
// (neutral)" and returns where KEY ends. b extends s.text.
func (c *Checker) appendUnknown(s *scratch, b []byte, k *Key, r *est, e *Evidence) ([]byte, int) {
	b = s.appendKey(b, k)
	keyEnd := len(b)
	m := &s.tail
	if m.set && !m.known && m.spam == r.spam && m.ham == r.ham && m.seen == e.Seen {
		return append(b, b[m.start:m.end]...), keyEnd
	}
	start := len(b)
	b = append(b, ": "...)
	b = c.appendEvidence(b, r, e)
	b = append(b, " - too little evidence to judge (neutral)"...)
	*m = tailMemo{set: true, spam: r.spam, ham: r.ham, seen: e.Seen, start: start, end: len(b)}
	return b, keyEnd
}

// ipSignal emits IP_REPUTATION (and IP_SHARED): the most specific IP
// level with enough evidence answers, at its level weight, times the
// shared-network discount.
func (c *Checker) ipSignal(s *scratch, ip netip.Addr, nIP, netIdx int, share, tenants float64, t uint32) {
	_, weight, _ := ipLevels(ip)
	rs := s.est[:nIP]
	answer, most := -1, 0
	for l := range nIP {
		if rs[l].known {
			answer = l
			break
		}
		if rs[l].spam+rs[l].ham > rs[most].spam+rs[most].ham {
			most = l
		}
	}
	var p, keyEnd int
	level := most
	if answer >= 0 {
		level = answer
		r := &rs[answer]
		conf := r.confidence * weight[answer] * share
		p = s.begin(SymIPReputation, 2*r.p-1, conf)
		b := s.text
		b, keyEnd = c.appendKnown(s, b, &s.keys[answer], r, &s.ev[answer], t)
		if answer > 0 {
			b = append(b, "; "...)
			b = ip.AppendTo(b)
			b = append(b, " itself has too little history, so its /"...)
			b = appendInt(b, int64(s.keys[answer].Prefix.Bits()))
			b = append(b, " answers at "...)
			b = appendFraction(b, weight[answer])
			b = append(b, " weight"...)
		}
		if share < 1 {
			b = append(b, "; the network is shared by "...)
			b = appendCount(b, tenants)
			b = append(b, " authenticated domains, so this counts at "...)
			b = appendFraction(b, share)
			b = append(b, " for this sender"...)
		}
		s.text = b
	} else {
		p = s.begin(SymIPReputation, 0, 0)
		s.text, keyEnd = c.appendUnknown(s, s.text, &s.keys[most], &rs[most], &s.ev[most])
	}
	s.end(p)
	// The reason begins with the level's prefix; at the address's own level
	// (and without a zone, which prefixes drop) that is the address and
	// "/32" or "/128".
	rs0 := s.sigs[p].rs
	if level == 0 && ip.Zone() == "" {
		slash := 4 // "/32"
		if ip.Is6() {
			slash = 5 // "/128"
		}
		s.keySpan(p, mailscore.KeyIP, rs0, keyEnd-slash+1)
	} else {
		s.key(p, mailscore.KeyIP, func(b []byte) []byte { return ip.AppendTo(b) })
	}
	s.keySpan(p, mailscore.KeyPrefix, rs0, keyEnd)

	if s.nd > 0 && tenants >= 1.5 && netIdx >= 0 {
		p := s.begin(SymIPShared, 1-share, 1)
		b := s.appendPrefix(s.text, s.keys[netIdx].Prefix)
		keyEnd := len(b)
		b = append(b, " carries mail for "...)
		b = appendCount(b, tenants)
		b = append(b, " authenticated domains; its IP reputation counts at "...)
		b = appendFraction(b, share)
		b = append(b, " for each of them, whose own domain and tenant reputation count in full"...)
		s.text = b
		s.end(p)
		s.keySpan(p, mailscore.KeyPrefix, s.sigs[p].rs, keyEnd)
	}
}

// candidate is one key's answer, for choosing among several domains.
type candidate struct {
	dom   int // index into s.doms
	key   int // index into s.keys
	r     *est
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
		x := candidate{dom: i, key: d.dk, r: &s.est[d.dk], share: d.share}
		x.known = x.r.known
		if !x.known && d.ok != d.dk {
			y := candidate{dom: i, key: d.ok, r: &s.est[d.ok], share: d.share}
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
	var p, keyEnd int
	if best.known {
		p = s.begin(SymDomainReputation, 2*best.r.p-1, best.conf())
		b := s.text
		b, keyEnd = c.appendKnown(s, b, &s.keys[best.key], best.r, &s.ev[best.key], t)
		if best.key != d.dk {
			b = append(b, "; "...)
			b = append(b, d.name...)
			b = append(b, " itself has too little history, so its organizational domain answers"...)
		}
		s.text = appendShared(b, d)
	} else {
		p = s.begin(SymDomainReputation, 0, 0)
		s.text, keyEnd = c.appendUnknown(s, s.text, &s.keys[best.key], best.r, &s.ev[best.key])
	}
	if s.nd > 1 {
		b := append(s.text, " ("...)
		b = appendInt(b, int64(s.nd))
		s.text = append(b, " domains authenticated; the most decisive shown)"...)
	}
	s.end(p)
	// The reason begins with the domain that answered: d or its org.
	if best.key == d.dk {
		s.keySpan(p, mailscore.KeyAuthDomain, s.sigs[p].rs, keyEnd)
	} else {
		s.key(p, mailscore.KeyAuthDomain, func(b []byte) []byte { return append(b, d.name...) })
	}
	if d.org != d.name {
		if best.key == d.ok {
			s.keySpan(p, mailscore.KeyOrgDomain, s.sigs[p].rs, keyEnd)
		} else {
			s.key(p, mailscore.KeyOrgDomain, func(b []byte) []byte { return append(b, d.org...) })
		}
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
func (c *Checker) tenantSignal(s *scratch, t uint32) {
	var best candidate
	for i := range s.nd {
		d := &s.doms[i]
		x := candidate{dom: i, key: d.pk, r: &s.est[d.pk], share: d.share}
		x.known = x.r.known
		if i == 0 || x.better(&best) {
			best = x
		}
	}
	var p, keyEnd int
	if best.known {
		p = s.begin(SymTenantReputation, 2*best.r.p-1, best.conf())
		b := s.text
		b, keyEnd = c.appendKnown(s, b, &s.keys[best.key], best.r, &s.ev[best.key], t)
		s.text = appendShared(b, &s.doms[best.dom])
	} else {
		p = s.begin(SymTenantReputation, 0, 0)
		s.text, keyEnd = c.appendUnknown(s, s.text, &s.keys[best.key], best.r, &s.ev[best.key])
	}
	s.end(p)
	// The reason begins with the pair, "domain@prefix".
	rs := s.sigs[p].rs
	s.keySpan(p, KeyIPDomain, rs, keyEnd)
	s.keySpan(p, mailscore.KeyAuthDomain, rs, rs+len(s.keys[best.key].Domain))
}

// spikeWindow holds the windows of one age (see spike): a message's keys
// were often first seen together.
type spikeWindow struct {
	set         bool
	age, wl, ws float64
}

// windows returns the decayed-count windows for a sender of the given age
// in seconds: a rate r held since first seen gives a decayed count of
// r * (H/ln 2) * (1 - 2^(-age/H)), long (H, the half-life) and short (h,
// the volume half-life).
func (c *Checker) windows(w *spikeWindow, age float64) (wl, ws float64) {
	if w.set && w.age == age {
		return w.wl, w.ws
	}
	H, h := c.halfLifeS, c.volumeHalfLifeS
	wl = H / math.Ln2 * (1 - math.Exp2(-age/H))
	if age/h > 60 {
		// 2^(-age/h) < 2^-60 vanishes next to 1 in float64: the same
		// value without the exponential.
		ws = h / math.Ln2
	} else {
		ws = h / math.Ln2 * (1 - math.Exp2(-age/h))
	}
	*w = spikeWindow{set: true, age: age, wl: wl, ws: ws}
	return wl, ws
}

// spike measures the sender's short-term rate against its own long-term
// rate (see the package documentation). e counts the current message.
func (c *Checker) spike(w *spikeWindow, e *Evidence, t uint32) (ratio, shortRate, longRate, value, conf float64, ok bool) {
	if e.First == 0 || t < e.First {
		return
	}
	age := float64(t - e.First)
	recent := float64(e.Recent)
	if age < c.spikeAgeS || recent < c.spikeMin {
		return
	}
	wl, ws := c.windows(w, age)
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
	var w spikeWindow
	try := func(k int, discount float64) {
		e := s.ev[k]
		if !c.readOnly {
			e.Seen++
			e.Recent++
			if e.First == 0 {
				e.First = t
			}
		}
		ratio, sr, lr, v, cf, ok := c.spike(&w, &e, t)
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
	b := s.appendKey(s.text, k)
	keyEnd := len(b)
	b = append(b, ": sending "...)
	b = appendRate(b, bShort)
	b = append(b, " against its "...)
	b = append(b, c.hlAdj...)
	b = append(b, " average of "...)
	b = appendRate(b, bLong)
	b = append(b, " ("...)
	b = appendCount(b, bRatio)
	b = append(b, "x) - a sudden rise, reported apart from reputation"...)
	if k.Kind == KindIP && share < 1 {
		b = append(b, "; counted at "...)
		b = appendFraction(b, share)
		b = append(b, " as the network is shared"...)
	}
	s.text = b
	s.end(p)
	// The reason begins with the key: a prefix or a domain.
	kind := mailscore.KeyAuthDomain
	if k.Kind == KindIP {
		kind = mailscore.KeyPrefix
	}
	s.keySpan(p, kind, s.sigs[p].rs, keyEnd)
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
