// Package reputation is mailscore's reputation check: what past mail from
// the same address, network, domain and tenant says about a message, with
// how much evidence stands behind it. It never mistakes "unknown" for
// "bad": a sender with little history is neutral and says so, and one
// tenant's spam on a shared IP does not sink the others.
//
// Shortest use, with an engine (the check runs after "auth" and learns on
// the domains that authenticated):
//
//	rep, err := reputation.New(reputation.Options{})
//	engine, err := mailscore.NewEngine(mailscore.EngineOptions{}, authChecker, rep)
//	verdict := engine.Score(ctx, msg)
//	err = engine.Learn(ctx, msg, mailscore.Spam) // a user said "spam"
//
// or alone:
//
//	sigs, err := rep.CheckIP(ctx, ip, "dkim-domain.example")
//	err = rep.LearnIP(ctx, ip, []string{"dkim-domain.example"}, mailscore.Spam, mailscore.SourceUser)
//
// # Evidence
//
// Each key keeps counts, not a score: ham and spam reports by source
// (people, spam traps, the engine's own verdicts), messages seen, and
// when it was first and last seen. Every count decays exponentially:
// x(t) = x(t0) * 2^(-(t-t0)/H), H the half-life (Options.HalfLife,
// default 30 days), so a report 30 days old counts one half and 60 days
// old one quarter; "N messages in 30 days" in a reason is such a decayed
// count. The clock is Options.Now.
//
// # Keys and back-off
//
// An IPv4 client is looked at as its /32, then its /24; an IPv6 client as
// its /128, /64, /48 and /32. The most specific level with enough evidence
// answers, at a level weight: /32 and /128 count in full, and so does an
// IPv6 /64 (one subnet whose hosts pick addresses freely, RFC 8981); an
// IPv4 /24 and an IPv6 /48 count at 1/2, an IPv6 /32 at 1/8, because they
// speak for neighbours, not for the sender. The signal names the level
// that answered (a "prefix" key). Each domain that authenticated (a DKIM
// d= that verified, the MAIL FROM domain when SPF passed, read from the
// "auth" check's auth-domain keys) answers for itself or, with too little
// evidence, through its organizational domain (org-domain keys, or the
// public suffix list). Each (network, domain) pair, the network being the
// IPv4 /24 or IPv6 /48, is one tenant of shared infrastructure.
//
// # Estimator
//
// For each key, let S and H be the effective spam and ham counts: the
// decayed counts weighted by source (a person's report 1, a spam-trap hit
// 2, the engine's own verdict 0.1; Options.UserWeight, TrapWeight,
// VerdictWeight). The spam probability p gets a Beta posterior with a
// prior centred on neutral:
//
//	p ~ Beta(a0 + S, a0 + H),  a0 = PriorStrength/2 = 1 (a uniform prior)
//	mean m = (a0+S) / (2a0+S+H),  sd = sqrt(m(1-m) / (2a0+S+H+1))
//
// The Beta-Bernoulli model is the conjugate, exact posterior of a spam
// rate from labelled counts; exponential forgetting keeps it a Beta (the
// counts are simply smaller), so it updates in O(1), reads directly as
// evidence ("20 messages, 18 spam"), and its width says how much is
// known. A fixed-window ratio would forget abruptly and give no width; a
// learned classifier would need features this package does not have.
//
// The score is on a SenderBase-like scale, Score = 10(1 - 2m), from -10
// (all spam) through 0 (neutral) to +10 (all ham). Its 95% interval is
// Score +/- 19.6 sd (the normal approximation of the Beta interval).
//
// Enough evidence means the interval is narrow: 1.96 sd <= MaxHalfWidth
// (default 0.25, i.e. the score is pinned within +/-5 points). With the
// default prior that takes about 5 one-sided reports (5 spam: Score -7.1)
// and about 13 mixed ones; 3 ham is not enough (1.96 sd = 0.32). Below
// that the key is Unknown: the signal has Value 0 and Confidence 0, and
// its reason says how much evidence there is, e.g.
// "2001:db8:5::/64: 3 messages in 30 days (0 spam, 3 ham) - too little
// evidence to judge (neutral)". When the store fails, the state is an
// error: Confidence 0, a reason that says so, and Check returns the error
// so the engine marks the check incomplete.
//
// A known key's signal has
//
//	Value      = 2m - 1 = -Score/10   (in [-1, 1], positive is spam-ward: Score -10 gives +1)
//	Confidence = (1 - 1.96 sd / MaxHalfWidth) * level weight * shared discount
//
// so confidence is 0 at the edge of "enough evidence" and tends to 1 as
// the interval shrinks: 20 one-sided reports give 0.66, 100 give 0.92, 500
// give 0.98. The contribution to the default score is weight x Value x
// Confidence; IP_REPUTATION and DOMAIN_REPUTATION weigh 4 points,
// TENANT_REPUTATION 5.
//
// # Shared infrastructure
//
// A network (IPv4 /24, IPv6 /48) counts its distinct senders D, decayed
// like everything else: a message whose (network, domain) pairs have not
// been credited lately adds up to 1 to D (a message is one sender however
// many domains it authenticated). For a message with at least one
// authenticated domain, IP-level evidence (and the address's VOLUME_SPIKE)
// is discounted:
//
//	shared discount = 1 / max(1, D)
//
// so one tenant's spam moves another tenant's IP_REPUTATION by at most
// W_IP/D points, and its VOLUME_SPIKE by at most W_SPIKE/D: with 50
// tenants and the default weights, |IP side| <= (4+2)/50 = 0.12 points
// (the acceptance test measures 0.07). The spammer's own pair and domain
// carry its spam in full (TENANT_REPUTATION and DOMAIN_REPUTATION near
// +1). Mail with no authenticated domain cannot be attributed to a tenant
// and gets the IP's evidence in full. IP_SHARED reports D.
//
// Domains can be shared too: an ESP's bounce domain passes SPF for all of
// its customers. Each domain counts T, the distinct domains seen
// authenticating together with it (through co-domain keys), and within one
// message the least shared domain is the sender:
//
//	domain discount = min_i max(1, T_i) / max(1, T_d)
//
// which applies to that domain's DOMAIN_REPUTATION and TENANT_REPUTATION
// (a customer's own DKIM domain counts in full, the bounce domain shared
// by 50 customers at 1/50).
//
// Known limitation: a spammer that authenticates each message with a new
// throwaway domain dilutes the IP evidence the same way; DNS lists,
// VOLUME_SPIKE and content checks are the answer there, and such mail
// has no tenant history of its own to vouch for it.
//
// # Volume
//
// VOLUME_SPIKE is kept apart from reputation. Each sender (the IPv4
// address or IPv6 /64, and each authenticated domain) counts messages
// seen twice: Seen with the half-life H and Recent with
// VolumeHalfLife h (default one hour). A rate r held for a time a gives a
// decayed count of r (H/ln 2)(1 - 2^(-a/H)), so
//
//	short rate = Recent / ((h/ln 2)(1 - 2^(-a/h))),  long rate = Seen / ((H/ln 2)(1 - 2^(-a/H)))
//
// with a the time since first seen. A spike is short/long >= SpikeRatio
// (default 10) over at least SpikeMinMessages recent messages (default 20),
// for senders first seen at least SpikeMinAge ago (default 3 days; younger
// senders have no baseline, so no spike). Value = min(1, log10(ratio /
// SpikeRatio)), Confidence = (1 - SpikeMinMessages/Recent) * min(1, a / 7
// days).
//
// # DNS lists
//
// Options.Lists queries dnsutil's presets (Spamhaus ZEN with per-code
// meanings, SpamCop, Barracuda, Mailspike with a neutral band, DNSWL trust
// levels as negative weights); none is queried unless enabled. Error
// answers (127.255.255.x and the like), timeouts and unhealthy lists are
// unknown: Confidence 0, and an error wrapping the dnsutil error (so
// dnsutil.IsTemporary works). See DNSList for the symbols.
//
// # Storage
//
// A Store keeps the evidence: batch, context-taking get and update calls
// whose writes are "decay, then add" deltas, so a networked store (Redis)
// can implement it. MemStore, the default, is a sharded LRU of 16-byte
// keys and 40-byte entries without pointers (so the garbage collector
// never scans them), about 75 bytes of heap a key with the recency list
// and hash index, with Save/Load and atomic
// SaveFile/LoadFile snapshots (internal/snapshot) that refuse a truncated
// or corrupt file whole.
package reputation
