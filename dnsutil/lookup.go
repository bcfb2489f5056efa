package dnsutil

import (
	"cmp"
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// LookupTXT returns the TXT records at name, one string per record, as the
// octets published: the character-strings of a record are joined without
// anything between them (RFC 7208 section 3.3; RFC 6376 section 3.6.2.2).
func LookupTXT(ctx context.Context, r Resolver, name string) ([]string, error) {
	a, err := r.Lookup(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(a.Records))
	for _, rr := range a.Records {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, TXTString(t))
		}
	}
	return out, nil
}

// TXTString returns a TXT record's character-strings joined, as the octets
// published. github.com/miekg/dns keeps TXT data in presentation form
// (quotes, backslashes and unprintable octets escaped as \X and \DDD,
// RFC 1035 section 5.1); this undoes that.
func TXTString(t *dns.TXT) string {
	switch len(t.Txt) {
	case 0:
		return ""
	case 1:
		return Unescape(t.Txt[0])
	}
	return Unescape(strings.Join(t.Txt, ""))
}

// Unescape decodes the presentation form of a character-string or a domain
// name (RFC 1035 section 5.1: \DDD is the octet DDD, \X is X) back to raw
// octets. A string without a backslash is returned as it is, without
// allocating.
func Unescape(s string) string {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b = append(b, c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			if n := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0'); n <= 255 {
				b = append(b, byte(n))
				i += 3
				continue
			}
		}
		b = append(b, s[i+1])
		i++
	}
	return string(b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// LookupAddrs returns the addresses of type qtype (dns.TypeA or
// dns.TypeAAAA) at name.
func LookupAddrs(ctx context.Context, r Resolver, name string, qtype uint16) ([]netip.Addr, error) {
	a, err := r.Lookup(ctx, name, qtype)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(a.Records))
	for _, rr := range a.Records {
		switch v := rr.(type) {
		case *dns.A:
			if ip, ok := netip.AddrFromSlice(v.A.To4()); ok {
				out = append(out, ip)
			}
		case *dns.AAAA:
			if ip, ok := netip.AddrFromSlice(v.AAAA.To16()); ok {
				out = append(out, ip)
			}
		}
	}
	return out, nil
}

// LookupIP returns the IPv4 and IPv6 addresses of name. When one family
// fails temporarily and the other answers, the addresses found are returned
// with the temporary error, so callers can tell a partial answer from a
// complete one.
func LookupIP(ctx context.Context, r Resolver, name string) ([]netip.Addr, error) {
	v4, err4 := LookupAddrs(ctx, r, name, dns.TypeA)
	v6, err6 := LookupAddrs(ctx, r, name, dns.TypeAAAA)
	addrs := append(v4, v6...)
	switch {
	case err4 == nil && err6 == nil:
		return addrs, nil
	case IsTemporary(err4):
		return addrs, err4
	case IsTemporary(err6):
		return addrs, err6
	case len(addrs) > 0:
		return addrs, nil
	case errors.Is(err4, ErrNXDomain):
		return nil, err4
	}
	return nil, cmp.Or(err6, err4)
}

// MX is a mail exchanger.
type MX struct {
	Host string // absolute, lower-case
	Pref uint16
}

// LookupMX returns the MX records of name sorted by preference.
func LookupMX(ctx context.Context, r Resolver, name string) ([]MX, error) {
	a, err := r.Lookup(ctx, name, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	out := make([]MX, 0, len(a.Records))
	for _, rr := range a.Records {
		if m, ok := rr.(*dns.MX); ok {
			out = append(out, MX{Host: strings.ToLower(m.Mx), Pref: m.Preference})
		}
	}
	slices.SortStableFunc(out, func(a, b MX) int { return cmp.Compare(a.Pref, b.Pref) })
	return out, nil
}

// LookupNS returns the nameserver names of name, lower-case and absolute.
func LookupNS(ctx context.Context, r Resolver, name string) ([]string, error) {
	a, err := r.Lookup(ctx, name, dns.TypeNS)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(a.Records))
	for _, rr := range a.Records {
		if n, ok := rr.(*dns.NS); ok {
			out = append(out, strings.ToLower(n.Ns))
		}
	}
	return out, nil
}

// LookupPTR returns the names an address points back to, lower-case and
// absolute.
func LookupPTR(ctx context.Context, r Resolver, addr netip.Addr) ([]string, error) {
	a, err := r.Lookup(ctx, ReverseName(addr), dns.TypePTR)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(a.Records))
	for _, rr := range a.Records {
		if p, ok := rr.(*dns.PTR); ok {
			out = append(out, strings.ToLower(p.Ptr))
		}
	}
	return out, nil
}

const hexDigits = "0123456789abcdef"

// ReverseName returns the in-addr.arpa (RFC 1035 section 3.5) or ip6.arpa
// (RFC 3596 section 2.5) name of addr. An IPv4-mapped IPv6 address is
// treated as IPv4.
func ReverseName(addr netip.Addr) string {
	if addr.Unmap().Is4() {
		return reverseInto(addr, "in-addr.arpa.", false)
	}
	return reverseInto(addr, "ip6.arpa.", false)
}

// reverseInto builds the reversed-octet (IPv4) or reversed-nibble (IPv6)
// name of addr followed by suffix (and a final dot if dot is set), with one
// allocation for the result.
func reverseInto(addr netip.Addr, suffix string, dot bool) string {
	addr = addr.Unmap()
	var buf [128]byte
	b := buf[:0]
	if addr.Is4() {
		a := addr.As4()
		for i := 3; i >= 0; i-- {
			b = appendUint8(b, a[i])
			b = append(b, '.')
		}
	} else {
		a := addr.As16()
		for i := 15; i >= 0; i-- {
			b = append(b, hexDigits[a[i]&0xf], '.', hexDigits[a[i]>>4], '.')
		}
	}
	b = append(b, suffix...)
	if dot {
		b = append(b, '.')
	}
	return string(b)
}

func appendUint8(b []byte, v byte) []byte {
	if v >= 100 {
		b = append(b, '0'+v/100)
	}
	if v >= 10 {
		b = append(b, '0'+(v/10)%10)
	}
	return append(b, '0'+v%10)
}

// Offline is a Resolver for running without a network: every lookup fails
// at once with an error matching ErrOffline, which IsTemporary reports as
// temporary, so checks record themselves incomplete rather than finding
// evidence.
type Offline struct{}

// Lookup implements Resolver.
func (Offline) Lookup(_ context.Context, name string, qtype uint16) (*Answer, error) {
	return nil, &Error{Name: name, Type: qtype, Kind: ErrOffline}
}
