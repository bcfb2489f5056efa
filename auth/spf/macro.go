package spf

import (
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/mailscore/mailscore/dnsutil"
)

// maxExpansion bounds the length of one macro expansion, so a record that
// repeats %{s} thousands of times cannot make the checker build megabytes.
const maxExpansion = 8192

var errExpansionTooLong = errors.New("spf: macro expansion too long")

// expand expands a macro-string (RFC 7208 section 7) for the current
// <domain>. exp allows the explanation-only letters c, r and t. A string
// without "%" is returned as it is, without allocating.
func (e *evaluator) expand(s, domain string, exp bool) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		return s, nil
	}
	b := make([]byte, 0, len(s)+32)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+1 >= len(s) {
			return "", &SyntaxError{Term: s, Msg: "\"%\" at the end (section 7.1)"}
		}
		i++
		switch s[i] {
		case '%':
			b = append(b, '%')
			continue
		case '_':
			b = append(b, ' ')
			continue
		case '-':
			b = append(b, "%20"...)
			continue
		case '{':
		default:
			return "", &SyntaxError{Term: s, Msg: "\"%\" followed by " + quoteByte(s[i]) + " (section 7.1)"}
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", &SyntaxError{Term: s, Msg: "unterminated macro"}
		}
		m, msg := parseMacro(s[i+1:i+end], exp)
		if msg != "" {
			return "", &SyntaxError{Term: s, Msg: msg}
		}
		i += end
		b = appendMacro(b, e.macroValue(m.letter, domain), m)
		if len(b) > maxExpansion {
			return "", errExpansionTooLong
		}
	}
	return string(b), nil
}

// macroValue returns the value of a macro letter (RFC 7208 section 7.3).
func (e *evaluator) macroValue(letter byte, domain string) string {
	switch letter {
	case 's':
		return e.sender
	case 'l':
		return e.local
	case 'o':
		return e.senderDomain
	case 'd':
		return domain
	case 'i':
		return dottedIP(e.ip)
	case 'p':
		return e.validatedName(domain)
	case 'v':
		if e.ip.Is4() {
			return "in-addr"
		}
		return "ip6"
	case 'h':
		return e.helo
	case 'c':
		return e.ip.String()
	case 'r':
		return e.c.opts.Receiver
	case 't':
		return strconv.FormatInt(e.c.opts.Now().Unix(), 10)
	}
	return ""
}

// dottedIP is the %{i} value: dotted quad for IPv4, dot-separated nibbles
// for IPv6 (RFC 7208 section 7.3).
func dottedIP(ip netip.Addr) string {
	if ip.Is4() {
		return ip.String()
	}
	a := ip.As16()
	b := make([]byte, 0, 63)
	for i, x := range a {
		if i > 0 {
			b = append(b, '.')
		}
		b = append(b, hexLower[x>>4], '.', hexLower[x&15])
	}
	return string(b)
}

const hexLower = "0123456789abcdef"

// appendMacro appends value transformed by m: split on the delimiters
// (default "."), optionally reversed, the rightmost m.digits parts kept,
// joined with "." and URL-escaped for an upper-case letter (section 7.3).
func appendMacro(b []byte, value string, m macro) []byte {
	if m.digits == 0 && !m.reverse && (m.delims == "" || m.delims == ".") {
		return appendEscaped(b, value, m.upper)
	}
	delims := m.delims
	if delims == "" {
		delims = "."
	}
	var buf [48]string
	parts := buf[:0]
	start := 0
	for i := 0; i < len(value); i++ {
		if strings.IndexByte(delims, value[i]) >= 0 {
			parts = append(parts, value[start:i])
			start = i + 1
		}
	}
	parts = append(parts, value[start:])
	if m.reverse {
		slices.Reverse(parts)
	}
	if m.digits > 0 && m.digits < len(parts) {
		parts = parts[len(parts)-m.digits:]
	}
	for i, p := range parts {
		if i > 0 {
			b = append(b, '.')
		}
		b = appendEscaped(b, p, m.upper)
	}
	return b
}

// appendEscaped appends s, URL-escaping every character outside RFC
// 3986's unreserved set when escape is set (RFC 7208 section 7.3).
func appendEscaped(b []byte, s string, escape bool) []byte {
	if !escape {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlpha(c) || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~' {
			b = append(b, c)
		} else {
			b = append(b, '%', hexUpper[c>>4], hexUpper[c&15])
		}
	}
	return b
}

// maxPTRNames is the number of PTR names looked at by the ptr mechanism
// and the %{p} macro (RFC 7208 section 4.6.4).
const maxPTRNames = 10

// validatedName is the %{p} macro: a validated domain name of the client
// (RFC 7208 sections 5.5 and 7.3), preferring <domain> itself, then a
// subdomain of it, then any other. "unknown" when there is none or DNS
// fails. Its lookups have their own limit of 10 names and do not count
// against the lookup limit (the term that uses the macro has been
// counted).
func (e *evaluator) validatedName(domain string) string {
	if e.pDone && e.pDomain == domain {
		return e.pValue
	}
	e.pDone, e.pDomain, e.pValue = true, domain, "unknown"
	names := e.ptrNames()
	if len(names) == 0 {
		return e.pValue
	}
	domain = lower(trimDot(domain))
	rank := func(n string) int {
		switch {
		case n == domain:
			return 0
		case hasSuffixDomain(n, domain):
			return 1
		}
		return 2
	}
	slices.SortStableFunc(names, func(a, b string) int { return rank(a) - rank(b) })
	for _, n := range names {
		if e.validates(n) {
			e.pValue = n
			break
		}
	}
	return e.pValue
}

// ptrNames returns the first 10 names the client's address points back
// to, lower-case, raw, without trailing dots; nil on any error.
func (e *evaluator) ptrNames() []string {
	a, err := e.resolve(dnsutil.ReverseName(e.ip), dns.TypePTR)
	if err != nil {
		return nil
	}
	var names []string
	for _, rr := range a.Records {
		if p, ok := rr.(*dns.PTR); ok && len(names) < maxPTRNames {
			names = append(names, lower(dnsutil.Unescape(trimDot(p.Ptr))))
		}
	}
	return names
}

// validates reports whether name has an address record equal to the
// client's address. DNS errors count as no.
func (e *evaluator) validates(name string) bool {
	q, ok := queryName(name)
	if !ok {
		return false
	}
	a, err := e.resolve(q, e.addrType())
	if err != nil {
		return false
	}
	for _, rr := range a.Records {
		if addr, ok := rrAddr(rr); ok && addr == e.ip {
			return true
		}
	}
	return false
}

// addrType is the address record type matching the client's family.
func (e *evaluator) addrType() uint16 {
	if e.ip.Is4() {
		return dns.TypeA
	}
	return dns.TypeAAAA
}

// rrAddr returns the address of an A or AAAA record.
func rrAddr(rr dns.RR) (netip.Addr, bool) {
	switch v := rr.(type) {
	case *dns.A:
		if ip4 := v.A.To4(); ip4 != nil {
			return netip.AddrFrom4([4]byte(ip4)), true
		}
	case *dns.AAAA:
		if len(v.AAAA) == 16 {
			return netip.AddrFrom16([16]byte(v.AAAA)), true
		}
	}
	return netip.Addr{}, false
}
