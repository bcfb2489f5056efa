package spf

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// maxDomainLen is the longest domain name in text form without the final
// dot (RFC 1035 section 2.3.4 as RFC 7208 section 7.3 counts it).
const maxDomainLen = 253

// isLabelSpecial reports bytes that must be escaped with a backslash in a
// domain name's presentation form (as github.com/miekg/dns writes them).
func isLabelSpecial(c byte) bool {
	switch c {
	case '.', ' ', '\'', '@', ';', '(', ')', '"', '\\':
		return true
	}
	return false
}

// queryName turns a domain given as raw octets, labels separated by dots,
// into an absolute name in presentation form for the resolver. It reports
// false when the name cannot be queried: an empty label, a label over 63
// octets or a name over 253 octets (RFC 1035 section 2.3.4). Names made of
// letters, digits, hyphens, underscores and dots (nearly all) cost one
// allocation for the final dot, or none when it is already there.
func queryName(d string) (string, bool) {
	abs := d
	d = strings.TrimSuffix(d, ".")
	if d == "" || len(d) > maxDomainLen {
		return "", false
	}
	plain := true
	label := 0
	for i := 0; i < len(d); i++ {
		c := d[i]
		if c == '.' {
			if label == 0 {
				return "", false
			}
			label = 0
			continue
		}
		if label++; label > 63 {
			return "", false
		}
		if c <= ' ' || c > '~' || isLabelSpecial(c) {
			plain = false
		}
	}
	if plain {
		if len(abs) > len(d) {
			return abs, true
		}
		return d + ".", true
	}
	var b strings.Builder
	b.Grow(len(d) + 16)
	for i := 0; i < len(d); i++ {
		c := d[i]
		switch {
		case c == '.':
			b.WriteByte('.')
		case isLabelSpecial(c):
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			b.WriteByte('\\')
			b.WriteByte('0' + c/100)
			b.WriteByte('0' + c/10%10)
			b.WriteByte('0' + c%10)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('.')
	return b.String(), true
}

// trimDot removes one trailing dot.
func trimDot(s string) string {
	if strings.HasSuffix(s, ".") {
		return s[:len(s)-1]
	}
	return s
}

// lower returns s in lower case, allocating only when s has upper-case
// letters.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// checkDomain normalizes the <domain> of check_host() and reports whether
// it is well formed (RFC 7208 section 4.3): a multi-label name with labels
// of 1 to 63 octets, at most 253 octets, not an address literal.
// Internationalized names are converted to A-labels (RFC 5890 section 2.3).
func checkDomain(d string) (string, bool) {
	d = trimDot(d)
	for i := 0; i < len(d); i++ {
		if d[i] >= 0x80 {
			if !utf8.ValidString(d) {
				return d, false
			}
			a, err := idna.Lookup.ToASCII(d)
			if err != nil {
				return d, false
			}
			d = a
			break
		}
	}
	d = lower(d)
	if d == "" || len(d) > maxDomainLen || d[0] == '[' || strings.IndexByte(d, '.') < 0 {
		return d, false
	}
	label := 0
	for i := 0; i < len(d); i++ {
		c := d[i]
		if c <= ' ' || c > '~' {
			return d, false
		}
		if c == '.' {
			if label == 0 {
				return d, false
			}
			label = 0
			continue
		}
		if label++; label > 63 {
			return d, false
		}
	}
	return d, true
}

// truncateDomain applies RFC 7208 section 7.3's rule to an expanded
// domain-spec: if it is longer than 253 characters, labels are removed from
// the left until it fits.
func truncateDomain(d string) string {
	for len(trimDot(d)) > maxDomainLen {
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return d
		}
		d = d[i+1:]
	}
	return d
}

// hasSuffixDomain reports whether name is domain or a subdomain of it;
// both are lower-case without trailing dots.
func hasSuffixDomain(name, domain string) bool {
	return name == domain || (len(name) > len(domain) && strings.HasSuffix(name, domain) && name[len(name)-len(domain)-1] == '.')
}
