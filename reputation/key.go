package reputation

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// KeyKind says what a Key names.
type KeyKind uint8

// Key kinds.
const (
	// KindIP is an address prefix: a single address (/32, /128) or one of
	// the wider levels reputation backs off to (/24; /64, /48, /32).
	KindIP KeyKind = iota + 1
	// KindDomain is a domain: an authenticated domain or an organizational
	// domain (the same entity, so they share keys).
	KindDomain
	// KindPair is one tenant on shared infrastructure: an IP network (IPv4
	// /24, IPv6 /48; at most /48 for IPv6) together with a domain that
	// authenticated from it.
	KindPair
	// KindCoDomain is two domains that authenticated the same message. It
	// carries no reputation, only presence: it counts how many distinct
	// domains share a domain (an ESP's bounce domain is shared by all of its
	// customers). Domain holds both names, ordered, separated by a space.
	KindCoDomain
)

func (k KeyKind) String() string {
	switch k {
	case KindIP:
		return "ip"
	case KindDomain:
		return "domain"
	case KindPair:
		return "pair"
	case KindCoDomain:
		return "co-domain"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// KeyIPDomain is the mailscore.Key kind of the (IP network, authenticated
// domain) pair keys on TENANT_REPUTATION signals. Its value reads
// "domain@prefix", e.g. "tenant.example@192.0.2.0/24".
const KeyIPDomain = "ip-domain"

// Key names one thing reputation is kept for. Build keys with IPKey,
// AddrKey, DomainKey and PairKey, which normalise them; a Store may refuse
// a Key that is not normalised.
type Key struct {
	Kind   KeyKind
	Prefix netip.Prefix // KindIP and KindPair: masked, IPv4 for IPv4 addresses
	Domain string       // KindDomain and KindPair: lower-case, no trailing dot
}

// ErrInvalidKey is matched by the errors for keys a Store cannot hold.
var ErrInvalidKey = errors.New("reputation: invalid key")

// maxDomainLen is the longest domain name (RFC 1035 section 2.3.4).
const maxDomainLen = 253

// normPrefix unmaps IPv4-mapped IPv6 prefixes and masks the address.
func normPrefix(p netip.Prefix) netip.Prefix {
	a := p.Addr()
	if a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked()
}

// normDomain lower-cases d and strips one trailing dot. It allocates only
// when d has upper-case letters.
func normDomain(d string) string {
	d = strings.TrimSuffix(d, ".")
	for i := 0; i < len(d); i++ {
		if c := d[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(d)
		}
	}
	return d
}

// normValidDomain is normDomain and validDomain together: one pass over
// a name that is already lower-case (the usual case).
func normValidDomain(name string) (string, bool) {
	slow := func() (string, bool) {
		d := normDomain(name)
		return d, validDomain(d)
	}
	d := strings.TrimSuffix(name, ".")
	if d == "" || len(d) > maxDomainLen || d[0] == '.' || d[len(d)-1] == '.' {
		return slow()
	}
	for i := 0; i < len(d); i++ {
		if k := domainByte[d[i]]; k != 0 && (k != 3 || d[i-1] == '.') {
			return slow() // not allowed, upper-case, or an empty label
		}
	}
	return d, true
}

// domainByte classifies the octets of a domain name for normValidDomain:
// 0 fine, 1 never allowed (spaces, controls), 2 upper-case, 3 the dot.
const domainByte = "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

// validDomain reports whether d can be a key: non-empty, at most 253
// octets, no spaces, controls or empty labels.
func validDomain(d string) bool {
	if d == "" || len(d) > maxDomainLen || d[0] == '.' || d[len(d)-1] == '.' {
		return false
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		if c <= ' ' || c == 0x7f || (c == '.' && i > 0 && d[i-1] == '.') || ('A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// IPKey returns the key of an address prefix.
func IPKey(p netip.Prefix) Key { return Key{Kind: KindIP, Prefix: normPrefix(p)} }

// AddrKey returns the key of one address (/32 or /128).
func AddrKey(a netip.Addr) Key {
	a = a.Unmap()
	return Key{Kind: KindIP, Prefix: netip.PrefixFrom(a, a.BitLen())}
}

// DomainKey returns the key of a domain, lower-cased without a trailing dot.
func DomainKey(domain string) Key { return Key{Kind: KindDomain, Domain: normDomain(domain)} }

// PairKey returns the key of a domain sending from a network.
func PairKey(network netip.Prefix, domain string) Key {
	return Key{Kind: KindPair, Prefix: normPrefix(network), Domain: normDomain(domain)}
}

// CoDomainKey returns the key of two domains authenticating one message.
func CoDomainKey(a, b string) Key {
	a, b = normDomain(a), normDomain(b)
	if b < a {
		a, b = b, a
	}
	return Key{Kind: KindCoDomain, Domain: a + " " + b}
}

// Validate reports whether the key is well formed and normalised.
func (k Key) Validate() error {
	switch k.Kind {
	case KindIP, KindPair:
		p := k.Prefix
		if !p.IsValid() || p.Addr().Zone() != "" || p.Addr().Is4In6() || p != p.Masked() {
			return fmt.Errorf("%w: prefix %v is not a masked, unmapped prefix", ErrInvalidKey, p)
		}
		if k.Kind == KindIP {
			if k.Domain != "" {
				return fmt.Errorf("%w: IP key with a domain", ErrInvalidKey)
			}
			return nil
		}
		if p.Addr().Is6() && p.Bits() > v6Network {
			return fmt.Errorf("%w: pair prefix %v is longer than /%d", ErrInvalidKey, p, v6Network)
		}
	case KindDomain:
		if k.Prefix.IsValid() {
			return fmt.Errorf("%w: domain key with a prefix", ErrInvalidKey)
		}
	case KindCoDomain:
		a, b, ok := strings.Cut(k.Domain, " ")
		if k.Prefix.IsValid() || !ok || !validDomain(a) || !validDomain(b) || b <= a {
			return fmt.Errorf("%w: co-domain key %q", ErrInvalidKey, k.Domain)
		}
		return nil
	default:
		return fmt.Errorf("%w: unknown kind %d", ErrInvalidKey, uint8(k.Kind))
	}
	if !validDomain(k.Domain) {
		return fmt.Errorf("%w: domain %q", ErrInvalidKey, k.Domain)
	}
	return nil
}

// String formats the key: "192.0.2.0/24", "example.com", or
// "tenant.example@192.0.2.0/24" for a pair.
func (k Key) String() string {
	switch k.Kind {
	case KindIP:
		return k.Prefix.String()
	case KindDomain:
		return k.Domain
	case KindPair:
		return k.Domain + "@" + k.Prefix.String()
	case KindCoDomain:
		return strings.Replace(k.Domain, " ", "+", 1)
	}
	return fmt.Sprintf("%v:%v:%s", k.Kind, k.Prefix, k.Domain)
}

// appendTo appends the key as String formats it.
func (k Key) appendTo(b []byte) []byte {
	switch k.Kind {
	case KindIP:
		return k.Prefix.AppendTo(b)
	case KindDomain:
		return append(b, k.Domain...)
	case KindCoDomain:
		return append(b, k.String()...)
	}
	b = append(b, k.Domain...)
	b = append(b, '@')
	return k.Prefix.AppendTo(b)
}
