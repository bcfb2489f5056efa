package dmarc

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Errors AuthorDomain returns. Each means DMARC cannot be evaluated for the
// message (RFC 9989 section 5.3.1): Evaluate reports them as PermError,
// never as a pass.
var (
	ErrNoFrom          = errors.New("message has no From header field")
	ErrMultipleFrom    = errors.New("message has more than one From header field")
	ErrNoAuthor        = errors.New("the From header field holds no mailbox")
	ErrMultipleAuthors = errors.New("the From header field holds mailboxes in more than one domain")
	ErrFromSyntax      = errors.New("the From header field is malformed")
	ErrBadDomain       = errors.New("domain name is malformed")
	// ErrAddressLiteral: the author address has a domain literal such as
	// [192.0.2.1]; there is no domain to look a policy up for, so DMARC
	// does not apply (Evaluate reports None).
	ErrAddressLiteral = errors.New("the From address has an address literal, not a domain")
)

// Limits of the From parser.
const (
	maxFromLength   = 16 << 10 // bytes of one From field value
	maxCommentDepth = 32       // nesting of RFC 5322 comments
	maxMailboxes    = 256      // mailboxes in one From field
)

// Author describes what AuthorDomain found in the From field.
type Author struct {
	Domain    string // the author domain, A-label form, lower-case, no trailing dot
	Mailboxes int    // how many mailboxes the field lists (all in Domain)
}

// AuthorDomain extracts the RFC5322.From domain from the values of every
// From field of a message (RFC 9989 section 5.3.1). There must be exactly
// one From field (RFC 5322 section 3.6); its mailboxes must all be in one
// domain, which is converted to A-labels (RFC 5890 section 2.3) and
// lower-cased. Several mailboxes in the same domain are allowed, as RFC
// 9989 counts domains, not addresses; Author.Mailboxes reports them.
func AuthorDomain(fromValues []string) (Author, error) {
	switch len(fromValues) {
	case 0:
		return Author{}, ErrNoFrom
	case 1:
	default:
		return Author{}, fmt.Errorf("%w (%d fields)", ErrMultipleFrom, len(fromValues))
	}
	v := fromValues[0]
	if len(v) > maxFromLength {
		return Author{}, fmt.Errorf("%w: longer than %d bytes", ErrFromSyntax, maxFromLength)
	}
	if d, ok := simpleFrom(v); ok {
		return Author{Domain: d, Mailboxes: 1}, nil
	}
	domains, err := parseAddressList(v)
	if err != nil {
		return Author{}, err
	}
	if len(domains) == 0 {
		return Author{}, ErrNoAuthor
	}
	first := domains[0]
	for _, d := range domains[1:] {
		if d != first {
			return Author{}, fmt.Errorf("%w: %s and %s", ErrMultipleAuthors, first, d)
		}
	}
	if strings.HasPrefix(first, "[") {
		return Author{Domain: first, Mailboxes: len(domains)}, fmt.Errorf("%w: %s", ErrAddressLiteral, first)
	}
	return Author{Domain: first, Mailboxes: len(domains)}, nil
}

// simpleFrom handles the common forms "local@domain" and
// "Display Name <local@domain>" without the general parser: only atext,
// dots, white space, one '@' and at most one pair of angle brackets. ok is
// false for anything else, which the general parser then decides.
func simpleFrom(v string) (string, bool) {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case isAtext(c), c == '.', c == '@', c == '<', c == '>', isSpace(c):
		default:
			return "", false
		}
	}
	if strings.Count(v, "@") != 1 {
		return "", false
	}
	var addr string
	switch nlt, ngt := strings.Count(v, "<"), strings.Count(v, ">"); {
	case nlt == 0 && ngt == 0:
		addr = strings.Trim(v, " \t\r\n")
	case nlt == 1 && ngt == 1:
		lt, gt := strings.IndexByte(v, '<'), strings.IndexByte(v, '>')
		if gt < lt || strings.Trim(v[gt+1:], " \t\r\n") != "" {
			return "", false
		}
		addr = v[lt+1 : gt]
	default:
		return "", false
	}
	at := strings.IndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", false
	}
	for i := 0; i < len(addr); i++ {
		if isSpace(addr[i]) || addr[i] == '<' || addr[i] == '>' {
			return "", false
		}
	}
	d, err := NormalizeDomain(addr[at+1:])
	if err != nil {
		return "", false
	}
	return d, true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// token kinds of the address lexer (RFC 5322 section 3.2).
const (
	tokAtom    = iota // 1*atext, UTF-8 allowed (RFC 6532)
	tokQuoted         // quoted-string
	tokLiteral        // domain-literal
	tokSpecial        // one of < > @ , ; : .
)

type token struct {
	kind int
	text string
}

// isAtext reports RFC 5322 atext, extended to UTF-8 by RFC 6532.
func isAtext(c byte) bool {
	if isAlpha(c) || '0' <= c && c <= '9' || c >= 0x80 {
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// lexAddresses splits an unfolded address-list into tokens, dropping
// comments and white space.
func lexAddresses(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(':
			depth := 0
			for ; i < len(s); i++ {
				if s[i] == '\\' {
					i++
					continue
				}
				if s[i] == '(' {
					if depth++; depth > maxCommentDepth {
						return nil, fmt.Errorf("%w: comments nested deeper than %d", ErrFromSyntax, maxCommentDepth)
					}
				} else if s[i] == ')' {
					if depth--; depth == 0 {
						i++
						break
					}
				}
			}
			if depth != 0 {
				return nil, fmt.Errorf("%w: unterminated comment", ErrFromSyntax)
			}
		case c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("%w: unterminated quoted string", ErrFromSyntax)
			}
			toks = append(toks, token{tokQuoted, b.String()})
			i = j + 1
		case c == '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("%w: unterminated domain literal", ErrFromSyntax)
			}
			toks = append(toks, token{tokLiteral, s[i : i+j+1]})
			i += j + 1
		case strings.IndexByte("<>@,;:.", c) >= 0:
			toks = append(toks, token{tokSpecial, s[i : i+1]})
			i++
		case isAtext(c):
			j := i
			for j < len(s) && isAtext(s[j]) {
				j++
			}
			toks = append(toks, token{tokAtom, s[i:j]})
			i = j
		default:
			return nil, fmt.Errorf("%w: unexpected character %q at byte %d", ErrFromSyntax, c, i)
		}
		if len(toks) > 16*maxMailboxes {
			return nil, fmt.Errorf("%w: too many tokens", ErrFromSyntax)
		}
	}
	return toks, nil
}

// parseAddressList returns the domain of every mailbox in an RFC 5322
// address-list (section 3.4), groups included, in order.
func parseAddressList(s string) ([]string, error) {
	toks, err := lexAddresses(s)
	if err != nil {
		return nil, err
	}
	var domains []string
	var cur []token // tokens of the current mailbox outside angle brackets
	inGroup := false
	angle := -1 // index where '<' opened, or -1
	done := false
	finish := func() error {
		if len(cur) == 0 {
			return nil // empty list element (RFC 5322 section 4.4 obs-mbox-list)
		}
		if !done {
			d, err := addrSpecDomain(cur)
			if err != nil {
				return err
			}
			domains = append(domains, d)
		}
		cur, done = cur[:0], false
		if len(domains) > maxMailboxes {
			return fmt.Errorf("%w: more than %d mailboxes", ErrFromSyntax, maxMailboxes)
		}
		return nil
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if angle >= 0 {
			if t.kind == tokSpecial && t.text == ">" {
				spec := toks[angle+1 : i]
				// obs-route: "<@relay1,@relay2:user@example.com>".
				if len(spec) > 0 && spec[0].kind == tokSpecial && spec[0].text == "@" {
					k := 0
					for k < len(spec) && !(spec[k].kind == tokSpecial && spec[k].text == ":") {
						k++
					}
					if k == len(spec) {
						return nil, fmt.Errorf("%w: route without ':' in angle-addr", ErrFromSyntax)
					}
					spec = spec[k+1:]
				}
				d, err := addrSpecDomain(spec)
				if err != nil {
					return nil, err
				}
				domains = append(domains, d)
				angle, done = -1, true
				cur = append(cur[:0], token{tokAtom, "<>"}) // mark the mailbox as seen
			}
			continue
		}
		if t.kind != tokSpecial {
			if done {
				return nil, fmt.Errorf("%w: text after angle-addr", ErrFromSyntax)
			}
			cur = append(cur, t)
			continue
		}
		switch t.text {
		case "<":
			if done {
				return nil, fmt.Errorf("%w: two angle-addrs in one mailbox", ErrFromSyntax)
			}
			angle = i
			cur = cur[:0] // the display name is not needed
		case ">":
			return nil, fmt.Errorf("%w: '>' without '<'", ErrFromSyntax)
		case ",":
			if err := finish(); err != nil {
				return nil, err
			}
		case ":":
			if inGroup || done {
				return nil, fmt.Errorf("%w: unexpected ':'", ErrFromSyntax)
			}
			inGroup, cur = true, cur[:0] // the group's display name
		case ";":
			if !inGroup {
				return nil, fmt.Errorf("%w: ';' outside a group", ErrFromSyntax)
			}
			if err := finish(); err != nil {
				return nil, err
			}
			inGroup = false
		default: // "@" and "." belong to an addr-spec
			if done {
				return nil, fmt.Errorf("%w: text after angle-addr", ErrFromSyntax)
			}
			cur = append(cur, t)
		}
	}
	if angle >= 0 {
		return nil, fmt.Errorf("%w: unterminated angle-addr", ErrFromSyntax)
	}
	if inGroup {
		return nil, fmt.Errorf("%w: group without ';'", ErrFromSyntax)
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return domains, nil
}

// addrSpecDomain returns the normalized domain of an addr-spec given as
// tokens: local-part "@" domain (RFC 5322 section 3.4.1).
func addrSpecDomain(toks []token) (string, error) {
	at := -1
	for i, t := range toks {
		if t.kind == tokSpecial && t.text == "@" {
			if at >= 0 {
				return "", fmt.Errorf("%w: more than one '@' in an address", ErrFromSyntax)
			}
			at = i
		}
	}
	if at < 0 {
		return "", fmt.Errorf("%w: address without '@'", ErrFromSyntax)
	}
	if at == 0 {
		return "", fmt.Errorf("%w: address without local part", ErrFromSyntax)
	}
	dom := toks[at+1:]
	if len(dom) == 1 && dom[0].kind == tokLiteral {
		return dom[0].text, nil
	}
	var b strings.Builder
	for _, t := range dom {
		if t.kind != tokAtom && !(t.kind == tokSpecial && t.text == ".") {
			return "", fmt.Errorf("%w: bad domain in address", ErrFromSyntax)
		}
		b.WriteString(t.text)
	}
	d, err := NormalizeDomain(b.String())
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrFromSyntax, err)
	}
	return d, nil
}

// NormalizeDomain returns a domain name as DMARC compares it: lower-case,
// without a trailing dot, U-labels converted to A-labels (RFC 9989 section
// 5.3.1, RFC 5890 section 2.3). Empty labels and malformed IDNs are
// refused with ErrBadDomain. Overlong labels are kept: such a name cannot
// exist in the DNS, which the lookups then report.
func NormalizeDomain(d string) (string, error) {
	d = strings.TrimSuffix(d, ".")
	if d == "" || d[0] == '.' || d[len(d)-1] == '.' || strings.Contains(d, "..") {
		return "", fmt.Errorf("%w: %q has an empty label", ErrBadDomain, d)
	}
	ascii := true
	upper := false
	for i := 0; i < len(d); i++ {
		c := d[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if 'A' <= c && c <= 'Z' {
			upper = true
		}
		if c <= ' ' || c == 0x7f {
			return "", fmt.Errorf("%w: %q has a control character or space", ErrBadDomain, d)
		}
	}
	if ascii {
		if upper {
			d = strings.ToLower(d)
		}
		return d, nil
	}
	if !utf8.ValidString(d) {
		return "", fmt.Errorf("%w: %q is not valid UTF-8", ErrBadDomain, d)
	}
	a, err := idna.Lookup.ToASCII(d)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %w", ErrBadDomain, d, err)
	}
	// IDNA mapping can delete characters (U+034F, say), leaving nothing
	// or an empty label.
	if a == "" || a[0] == '.' || a[len(a)-1] == '.' || strings.Contains(a, "..") {
		return "", fmt.Errorf("%w: %q maps to the empty or malformed %q", ErrBadDomain, d, a)
	}
	return strings.ToLower(a), nil
}
