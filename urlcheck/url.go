package urlcheck

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// URL is one link, normalized the way a browser would read it (the WHATWG
// URL Standard, https://url.spec.whatwg.org/, "host parsing" and the IPv4
// parser), with what was unusual about it in Flags.
type URL struct {
	// Scheme is lower-case: "http", "https", "ftp", "ws", "wss" or "mailto".
	Scheme string
	// User is the userinfo before "@" in a web URL (as written), or the
	// local part of a mailto address; "" if none.
	User string
	// Host is the host in ASCII (A-label) form, lower-case, without a
	// trailing dot; an address host is in canonical form (IPv6 without
	// brackets).
	Host string
	// Port is the port when it is not the scheme's default; "" otherwise.
	Port string
	// Rest is the path, query and fragment as written ("" when absent).
	Rest string
	// IP is the host's address when the host is an IP address.
	IP netip.Addr
	// Domain is the registered domain of the host (one label more than its
	// public suffix) counting the ICANN and the private sections of the
	// Public Suffix List: "foo.pages.dev" stays "foo.pages.dev", one tenant
	// of a hosting platform. "" for addresses, public suffixes and single
	// labels.
	Domain string
	// ICANNDomain is the registered domain counting only the ICANN section
	// of the list ("pages.dev"): where the DNS zone cut, and so the NS
	// records, are.
	ICANNDomain string
	// Flags say what was unusual.
	Flags Flag
}

// Flag marks something unusual about a URL.
type Flag uint32

// Flags set by Normalize.
const (
	// FlagNumericHost: the host is an IP address.
	FlagNumericHost Flag = 1 << iota
	// FlagObfuscatedIP: the address was written in another form than
	// dotted-decimal IPv4 or canonical IPv6: a single decimal number, hex
	// or octal parts, fewer than four parts, leading zeros, or an
	// IPv4-mapped IPv6 address. Browsers accept all of these.
	FlagObfuscatedIP
	// FlagUserinfo: a user[:password]@ came before the host.
	FlagUserinfo
	// FlagDeceptiveUserinfo: the userinfo looks like a host name, the trick
	// https://bank.example@evil.example/ that shows one name and goes to
	// another.
	FlagDeceptiveUserinfo
	// FlagPercentHost: the host was percent-encoded.
	FlagPercentHost
	// FlagIDN: the host has internationalized (xn--) labels.
	FlagIDN
	// FlagMappedHost: the host was written with characters that IDNA maps
	// to plain ASCII (full-width letters, ideographic full stops).
	FlagMappedHost
	// FlagPort: the URL names a port other than the scheme's default.
	FlagPort
	// FlagOddSlashes: backslashes, or not exactly two slashes, after the
	// scheme ("http:/\host", "http:host"); browsers accept them.
	FlagOddSlashes
	// FlagBare: found without a scheme ("www.example.com", "example.com").
	FlagBare
	// FlagTrailingDot: the host ended in a dot.
	FlagTrailingDot
)

var flagNames = [...]string{
	"numeric-host", "obfuscated-ip", "userinfo", "deceptive-userinfo",
	"percent-host", "idn", "mapped-host", "port", "odd-slashes", "bare", "trailing-dot",
}

// String lists the flags set, comma-separated.
func (f Flag) String() string {
	var b strings.Builder
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(n)
		}
	}
	return b.String()
}

// Has reports whether every flag in f is set.
func (u *URL) Has(f Flag) bool { return u.Flags&f == f }

// String returns the normalized URL: scheme, host, non-default port and
// the rest as written. Userinfo is left out (it is never sent anywhere);
// a mailto URL is "mailto:user@host".
func (u *URL) String() string {
	if u.Scheme == "mailto" {
		return "mailto:" + u.User + "@" + u.Host
	}
	var b strings.Builder
	b.Grow(len(u.Scheme) + 3 + len(u.Host) + 2 + len(u.Port) + 1 + len(u.Rest) + 1)
	b.WriteString(u.Scheme)
	b.WriteString("://")
	b.WriteString(u.HostPort())
	if u.Rest == "" || (u.Rest[0] != '/' && u.Rest[0] != '\\') {
		b.WriteByte('/')
	}
	b.WriteString(u.Rest)
	return b.String()
}

// HostPort returns the host, in brackets when it is an IPv6 address, and
// the port when it is not the default.
func (u *URL) HostPort() string {
	h := u.Host
	if u.IP.Is6() {
		h = "[" + h + "]"
	}
	if u.Port != "" {
		return h + ":" + u.Port
	}
	return h
}

// DisplayHost returns the host as a person would read it: internationalized
// labels in Unicode (U-labels).
func (u *URL) DisplayHost() string {
	if u.Flags&FlagIDN == 0 {
		return u.Host
	}
	return displayName(u.Host)
}

// displayName converts xn-- labels to Unicode; labels that do not decode
// are kept as written.
func displayName(h string) string {
	s, err := idnaProfile.ToUnicode(h)
	if err != nil {
		return h
	}
	return s
}

// idnaProfile is UTS #46 processing as the WHATWG URL Standard's "domain to
// ASCII" asks for (non-transitional, CheckBidi and CheckJoiners on,
// CheckHyphens and UseSTD3ASCIIRules off). It is configuration that never
// changes; nothing writes to it.
var idnaProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.CheckHyphens(false),
	idna.CheckJoiners(true),
	idna.BidiRule(),
	idna.StrictDomainName(false),
)

// Errors from Normalize. Each error returned matches exactly one of them
// with errors.Is.
var (
	ErrScheme  = errors.New("urlcheck: not a web or mail URL")
	ErrNoHost  = errors.New("urlcheck: no host")
	ErrBadHost = errors.New("urlcheck: invalid host")
	ErrBadPort = errors.New("urlcheck: invalid port")
	ErrTooLong = errors.New("urlcheck: URL too long")
)

// MaxURLLength is the longest URL Normalize accepts, in bytes.
const MaxURLLength = 8192

type errKind uint8

const (
	errNone errKind = iota
	errScheme
	errNoHost
	errBadHost
	errBadPort
	errTooLong
)

func (e errKind) err() error {
	switch e {
	case errScheme:
		return ErrScheme
	case errNoHost:
		return ErrNoHost
	case errBadHost:
		return ErrBadHost
	case errBadPort:
		return ErrBadPort
	case errTooLong:
		return ErrTooLong
	}
	return nil
}

// Normalize parses an absolute web (http, https, ftp, ws, wss) or mailto
// URL as a browser would and returns it normalized: the host lower-case
// and in A-label form (IDNA, UTS #46), percent-encoding in the host
// decoded, numeric hosts in any form browsers accept turned into the
// address they mean, the scheme's default port dropped, and the
// registered domain found. A string starting "www." is read as an http URL
// (flagged FlagBare). Anything else (relative references, javascript:,
// data:, cid:) is an error matching ErrScheme or ErrNoHost.
func Normalize(raw string) (URL, error) {
	u, e := parseWith(raw, true, nil)
	if e != errNone {
		if len(raw) > 64 {
			raw = raw[:64] + "..."
		}
		return URL{}, fmt.Errorf("%w: %q", e.err(), raw)
	}
	return u, nil
}

// specialPort returns the default port of a WHATWG "special" scheme that
// has a network host (file is left out), and whether scheme is one.
func specialPort(scheme string) (port string, ok bool) {
	switch scheme {
	case "http", "ws":
		return "80", true
	case "https", "wss":
		return "443", true
	case "ftp":
		return "21", true
	}
	return "", false
}

// trimC0 removes leading and trailing C0 controls and spaces (WHATWG URL
// parsing, step 1).
func trimC0(s string) string {
	i, j := 0, len(s)
	for i < j && s[i] <= ' ' {
		i++
	}
	for j > i && s[j-1] <= ' ' {
		j--
	}
	return s[i:j]
}

// stripTabNewline removes ASCII tab, LF and CR anywhere (WHATWG URL
// parsing, step 3). It allocates only when there is one.
func stripTabNewline(s string) string {
	if strings.IndexByte(s, '\t') < 0 && strings.IndexByte(s, '\n') < 0 && strings.IndexByte(s, '\r') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '\t' && c != '\n' && c != '\r' {
			b = append(b, c)
		}
	}
	return string(b)
}

// schemeEnd returns the index of the colon that ends a scheme at the start
// of s (ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), RFC 3986 section 3.1),
// or -1.
func schemeEnd(s string) int {
	for i := 0; i < len(s) && i < 32; i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return i
		default:
			return -1
		}
	}
	return -1
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// parse is Normalize without error allocation. bare allows "www." without
// a scheme.
func parse(raw string, bare bool) (URL, errKind) { return parseWith(raw, bare, nil) }

// parseWith is parse with a cache of registered domains (nil for none).
func parseWith(raw string, bare bool, cache *hostCache) (URL, errKind) {
	s := trimC0(raw)
	if len(s) > MaxURLLength {
		return URL{}, errTooLong
	}
	s = stripTabNewline(s)
	var u URL
	i := schemeEnd(s)
	var rest string
	if i < 0 {
		switch {
		case strings.HasPrefix(s, "//") || strings.HasPrefix(s, `\\`):
			// Scheme-relative: a mail has no page scheme to inherit.
			u.Scheme = "https"
			rest = s
		case bare && len(s) > 4 && strings.EqualFold(s[:4], "www."):
			u.Scheme = "http"
			u.Flags |= FlagBare
			return parseAuthority(u, s, true, cache)
		default:
			return URL{}, errNoHost
		}
	} else {
		u.Scheme = lowerASCII(s[:i])
		rest = s[i+1:]
	}
	if u.Scheme == "mailto" {
		return parseMailto(u, rest, cache)
	}
	if _, ok := specialPort(u.Scheme); !ok {
		return URL{}, errScheme
	}
	// WHATWG "special authority ignore slashes state": any run of slashes
	// and backslashes comes before the authority.
	n, odd := 0, false
	for n < len(rest) && (rest[n] == '/' || rest[n] == '\\') {
		if rest[n] == '\\' {
			odd = true
		}
		n++
	}
	if n != 2 || odd {
		u.Flags |= FlagOddSlashes
	}
	return parseAuthority(u, rest[n:], false, cache)
}

// parseAuthority reads [userinfo@]host[:port] and keeps what follows as
// Rest. The authority ends at "/", "\", "?" or "#" (WHATWG authority state
// for special schemes).
func parseAuthority(u URL, s string, bare bool, cache *hostCache) (URL, errKind) {
	// One pass finds the end of the authority and its last "@" and ":".
	end, at, colon := len(s), -1, -1
	for k := 0; k < len(s); k++ {
		switch s[k] {
		case '/', '\\', '?', '#':
			end = k
		case '@':
			at, colon = k, -1
			continue
		case ':':
			colon = k
			continue
		default:
			continue
		}
		break
	}
	auth := s[:end]
	u.Rest = s[end:]
	if len(u.Rest) > 0 && bare && u.Rest[0] == '\\' {
		return URL{}, errBadHost
	}
	if at >= 0 {
		colon -= at + 1
		u.User = auth[:at]
		auth = auth[at+1:]
		u.Flags |= FlagUserinfo
		if looksLikeHost(u.User) {
			u.Flags |= FlagDeceptiveUserinfo
		}
	}
	host, port := auth, ""
	if strings.HasPrefix(auth, "[") {
		c := strings.IndexByte(auth, ']')
		if c < 0 {
			return URL{}, errBadHost
		}
		host = auth[:c+1]
		after := auth[c+1:]
		if after != "" {
			if after[0] != ':' {
				return URL{}, errBadHost
			}
			port = after[1:]
		}
	} else if colon >= 0 {
		host, port = auth[:colon], auth[colon+1:]
	}
	if host == "" {
		return URL{}, errNoHost
	}
	var e errKind
	if u.Port, e = normPort(port, u.Scheme); e != errNone {
		return URL{}, e
	}
	if u.Port != "" {
		u.Flags |= FlagPort
	}
	if e = u.setHost(host, cache); e != errNone {
		return URL{}, e
	}
	return u, errNone
}

// normPort validates a port and drops it when it is the scheme's default.
func normPort(p, scheme string) (string, errKind) {
	if p == "" {
		return "", errNone
	}
	v := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return "", errBadPort
		}
		v = v*10 + int(c-'0')
		if v > 65535 {
			return "", errBadPort
		}
	}
	def, _ := specialPort(scheme)
	s := p
	if len(p) > 1 && p[0] == '0' {
		s = strconv.Itoa(v)
	}
	if s == def {
		return "", errNone
	}
	return s, errNone
}

// looksLikeHost reports whether a userinfo reads like a host name: the
// part before any ":" has a dot between letters or digits
// ("www.bank.example", "bank.example").
func looksLikeHost(user string) bool {
	if c := strings.IndexByte(user, ':'); c >= 0 {
		user = user[:c]
	}
	if strings.IndexByte(user, '%') >= 0 {
		if d, ok := percentDecode(user); ok {
			user = d
		}
	}
	dot := strings.IndexByte(user, '.')
	if dot <= 0 || dot == len(user)-1 {
		return false
	}
	for i := 0; i < len(user); i++ {
		c := user[i] | 0x20
		if !(c >= 'a' && c <= 'z' || user[i] >= '0' && user[i] <= '9' || user[i] == '.' || user[i] == '-') && user[i] < 0x80 {
			return false
		}
	}
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// percentDecode decodes %XX escapes; a malformed escape fails.
func percentDecode(s string) (string, bool) {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		h, ok1 := unhex(s[i+1])
		l, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", false
		}
		b = append(b, h<<4|l)
		i += 2
	}
	return string(b), true
}

// setHost parses a host the way the WHATWG host parser does: IPv6 in
// brackets, percent-decoding, IDNA (UTS #46) for non-ASCII and xn--
// labels, then the IPv4 parser when the last label is a number.
func (u *URL) setHost(h string, cache *hostCache) errKind {
	if strings.HasPrefix(h, "[") {
		a, err := netip.ParseAddr(h[1 : len(h)-1])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return errBadHost
		}
		u.IP = a
		u.Host = a.String()
		u.Flags |= FlagNumericHost
		if a.Is4In6() {
			u.Flags |= FlagObfuscatedIP
		}
		return errNone
	}
	if fastHost(h) {
		u.Host = h
		if cache != nil {
			u.Domain, u.ICANNDomain = cache.get(h)
		} else {
			u.Domain, u.ICANNDomain = registeredDomains(h)
		}
		return errNone
	}
	if strings.IndexByte(h, '%') >= 0 {
		d, ok := percentDecode(h)
		if !ok {
			return errBadHost
		}
		h = d
		u.Flags |= FlagPercentHost
	}
	ascii, upper := true, false
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 0x80:
			ascii = false
		case c >= 'A' && c <= 'Z':
			upper = true
		}
	}
	if !ascii {
		a, err := idnaProfile.ToASCII(h)
		if err != nil {
			return errBadHost
		}
		if !strings.Contains(a, "xn--") {
			u.Flags |= FlagMappedHost
		}
		h = a
	} else if upper {
		h = strings.ToLower(h)
	}
	if strings.HasSuffix(h, ".") {
		h = h[:len(h)-1]
		u.Flags |= FlagTrailingDot
	}
	if h == "" || len(h) > 253 {
		return errBadHost
	}
	if endsInNumber(h) {
		a, ok := parseIPv4(h)
		if !ok {
			return errBadHost
		}
		u.IP = a
		u.Host = a.String()
		u.Flags |= FlagNumericHost
		if u.Host != h {
			u.Flags |= FlagObfuscatedIP
		}
		return errNone
	}
	if !validASCIIHost(h) {
		return errBadHost
	}
	if strings.Contains(h, "xn--") {
		// An xn-- label must decode (WHATWG: domain to ASCII fails otherwise).
		if _, err := idnaProfile.ToUnicode(h); err != nil {
			return errBadHost
		}
		u.Flags |= FlagIDN
	}
	u.Host = h
	if cache != nil {
		u.Domain, u.ICANNDomain = cache.get(h)
	} else {
		u.Domain, u.ICANNDomain = registeredDomains(h)
	}
	return errNone
}

// fastHost reports, in one pass, the common case that needs no further
// work: a valid lower-case ASCII name, no escapes, no xn-- label, no
// trailing dot, a last label that cannot be a number.
func fastHost(h string) bool {
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	label, start := 0, 0
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c == '-', c == '_':
			label++
			if c == '-' && label == 4 && h[i-1] == '-' && h[i-2] == 'n' && h[i-3] == 'x' {
				return false // an xn-- label
			}
		case c >= '0' && c <= '9':
			label++
		case c == '.':
			if label == 0 {
				return false
			}
			label, start = 0, i+1
		default:
			return false
		}
		if label > 63 {
			return false
		}
	}
	if label == 0 {
		return false // trailing dot
	}
	return h[start] < '0' || h[start] > '9'
}

// validASCIIHost accepts letters, digits, "-" and "_" in labels of 1 to 63
// octets separated by single dots.
func validASCIIHost(h string) bool {
	label := 0
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			label++
			if label > 63 {
				return false
			}
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		default:
			return false
		}
	}
	return label > 0
}

// endsInNumber is the WHATWG "ends in a number checker": the last label is
// all digits or parses as an IPv4 number ("0x1f").
func endsInNumber(h string) bool {
	last := h[strings.LastIndexByte(h, '.')+1:]
	if last == "" {
		return false
	}
	digits := true
	for i := 0; i < len(last); i++ {
		if last[i] < '0' || last[i] > '9' {
			digits = false
			break
		}
	}
	if digits {
		return true
	}
	_, ok := parseIPv4Number(last)
	return ok
}

// parseIPv4Number parses one part of an IPv4 host: "0x" or "0X" starts
// hex, a leading "0" octal, otherwise decimal (WHATWG IPv4 number parser).
// Values above 2^32-1 fail.
func parseIPv4Number(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	base := uint64(10)
	switch {
	case len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'):
		base, s = 16, s[2:]
	case len(s) >= 2 && s[0] == '0':
		base, s = 8, s[1:]
	}
	if s == "" {
		return 0, true
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		d, ok := unhex(s[i])
		if !ok || uint64(d) >= base {
			return 0, false
		}
		v = v*base + uint64(d)
		if v > 1<<32-1 {
			return 0, false
		}
	}
	return v, true
}

// parseIPv4 is the WHATWG IPv4 parser: one to four parts, each decimal,
// octal or hex; the last part fills the remaining bytes ("1.2.3" is
// 1.2.0.3, "3232235777" is 192.168.1.1).
func parseIPv4(h string) (netip.Addr, bool) {
	var nums [4]uint64
	n := 0
	for part := range strings.SplitSeq(h, ".") {
		if n == 4 {
			return netip.Addr{}, false
		}
		v, ok := parseIPv4Number(part)
		if !ok {
			return netip.Addr{}, false
		}
		nums[n] = v
		n++
	}
	for i := 0; i < n-1; i++ {
		if nums[i] > 255 {
			return netip.Addr{}, false
		}
	}
	last := nums[n-1]
	if last >= 1<<(8*(5-n)) {
		return netip.Addr{}, false
	}
	v := last
	for i := 0; i < n-1; i++ {
		v += nums[i] << (8 * (3 - i))
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// registeredDomains returns the registered domain counting both sections
// of the Public Suffix List, and the one counting only the ICANN section.
func registeredDomains(h string) (full, icann string) {
	ps, isICANN := publicsuffix.PublicSuffix(h)
	full = plusOne(h, ps)
	if full == "" {
		return "", ""
	}
	if isICANN {
		return full, full
	}
	// A private-section suffix ("pages.dev"), or the default "*" rule for
	// an unlisted TLD: find the longest ICANN suffix inside it.
	p := ps
	for {
		dot := strings.IndexByte(p, '.')
		if dot < 0 {
			break // the default rule: the last label
		}
		p = p[dot+1:]
		if s, ok := publicsuffix.PublicSuffix(p); ok {
			p = s
			break
		}
	}
	return full, plusOne(h, p)
}

// plusOne returns the label before suffix in h, with suffix, or "" when h
// is the suffix itself.
func plusOne(h, suffix string) string {
	if len(h) <= len(suffix) {
		return ""
	}
	i := len(h) - len(suffix) - 1
	if h[i] != '.' {
		return ""
	}
	return h[strings.LastIndexByte(h[:i], '.')+1:]
}

// knownTLD reports whether the last label of host is a top-level domain
// in the ICANN section of the Public Suffix List.
func knownTLD(host string) bool {
	tld := host[strings.LastIndexByte(host, '.')+1:]
	if tld == "" {
		return false
	}
	_, icann := publicsuffix.PublicSuffix(tld)
	return icann
}

// parseMailto reads the first address of a mailto URL (RFC 6068 section 2).
func parseMailto(u URL, s string, cache *hostCache) (URL, errKind) {
	if q := strings.IndexAny(s, "?#"); q >= 0 {
		s = s[:q]
	}
	if c := strings.IndexByte(s, ','); c >= 0 {
		s = s[:c]
	}
	if strings.IndexByte(s, '%') >= 0 {
		d, ok := percentDecode(s)
		if !ok {
			return URL{}, errBadHost
		}
		s = d
	}
	s = trimC0(s)
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return URL{}, errNoHost
	}
	u.User = s[:at]
	host := strings.TrimSuffix(strings.TrimPrefix(s[at+1:], "["), "]")
	if e := u.setHost(host, cache); e != errNone {
		return URL{}, e
	}
	return u, errNone
}
