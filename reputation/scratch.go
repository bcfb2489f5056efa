package reputation

import (
	"net/netip"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/mailscore/mailscore"
)

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

// tailMemo remembers the last reason tail written after a key (see
// appendKnown): its span in text and the evidence it was written from.
type tailMemo struct {
	set, known bool
	spam, ham  float64
	seen       float32
	first      uint32
	start, end int
}

// prefixMemo remembers the last prefix written to text and its span.
type prefixMemo struct {
	set        bool
	p          netip.Prefix
	start, end int
}

type pendingKey struct {
	kind string
	s, e int // value span in text
}

// scratch is the per-call working memory, pooled so that a check
// allocates only its results.
type scratch struct {
	keys   [maxKeys]Key
	ups    [maxKeys]Update
	ev     [maxKeys]Evidence
	est    [maxKeys]est // the estimate of ev (run)
	doms   [maxDomainsLimit]domInfo
	orgs   [maxDomainsLimit]string
	cos    [maxCoDomains * (maxCoDomains - 1) / 2]coInfo
	nk     int
	nd     int
	no     int
	nco    int
	text   []byte
	tail   tailMemo
	prefix prefixMemo
	sigs   []pendingSig
	kv     []pendingKey
}

func (c *Checker) getScratch() *scratch {
	s := c.pool.Get().(*scratch)
	s.nk, s.nd, s.no, s.nco = 0, 0, 0, 0
	s.text, s.sigs, s.kv = s.text[:0], s.sigs[:0], s.kv[:0]
	s.tail.set, s.prefix.set = false, false
	return s
}

func (c *Checker) putScratch(s *scratch) {
	// Drop references to domain strings (field by field: no bulk write
	// barrier while the GC marks).
	for i := range s.nk {
		s.keys[i].Domain = ""
	}
	for i := range s.nd {
		s.doms[i].name, s.doms[i].org = "", ""
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
	if d, ok := normValidDomain(d); ok {
		s.addNormDomain(d, limit)
	}
}

// addNormDomain is addDomain for a normalised, valid name.
func (s *scratch) addNormDomain(d string, limit int) {
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

// addNormOrg records an organizational domain given by the auth check,
// normalised and valid.
func (s *scratch) addNormOrg(d string) {
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
	// A domain is often its own organizational domain: the same value
	// twice in a row is normalised once.
	var raw, d string
	var ok, have bool
	for i := range sigs {
		for _, k := range sigs[i].Keys {
			if k.Kind != mailscore.KeyAuthDomain && k.Kind != mailscore.KeyOrgDomain {
				continue
			}
			if !have || k.Value != raw {
				raw, have = k.Value, true
				d, ok = normValidDomain(raw)
			}
			switch {
			case !ok:
			case k.Kind == mailscore.KeyAuthDomain:
				s.addNormDomain(d, limit)
			default:
				s.addNormOrg(d)
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
		// k == s.keys[i], kind first: most keys differ there.
		if x := &s.keys[i]; x.Kind == k.Kind && x.Domain == k.Domain && x.Prefix == k.Prefix {
			return i
		}
	}
	s.keys[s.nk] = k
	s.nk++
	return s.nk - 1
}

// plan fills the keys for ip (may be invalid) and the recorded domains,
// and with co the co-domain keys. It returns the number of IP levels and
// the index of the network level (-1 without an address).
func (s *scratch) plan(ip netip.Addr, co bool) (nIP, netIdx int) {
	var network netip.Prefix
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
	return nIP, netIdx
}
