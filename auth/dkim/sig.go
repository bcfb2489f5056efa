package dkim

import (
	"fmt"
	"strings"
	"time"
)

// algorithm is a signing algorithm this package knows (RFC 6376 section
// 3.3, RFC 8463).
type algorithm uint8

const (
	algUnknown algorithm = iota
	algRSASHA256
	algEd25519SHA256
	algRSASHA1 // refused (RFC 8301), except by the tests' legacy mode
)

// Canonicalization values for Result.Canonicalization.
const (
	canonSimpleSimple   = "simple/simple"
	canonSimpleRelaxed  = "simple/relaxed"
	canonRelaxedSimple  = "relaxed/simple"
	canonRelaxedRelaxed = "relaxed/relaxed"
)

// signature is a parsed DKIM-Signature field value (RFC 6376 section 3.5).
// Its strings are substrings of the field value.
type signature struct {
	alg           algorithm
	relaxedHeader bool
	relaxedBody   bool
	domain        string // d=, lower-case
	selector      string // s=
	h             string // h= as written
	b, bh         string // b= and bh= as written
	bStart, bEnd  int    // the b= value region in the field value, for deletion
	hasL          bool
	l             int64
	// signed counts how often h= names each of the verifier's singleton
	// header fields (Options.SingletonHeaders), counted while h= is
	// parsed anyway.
	signed [maxSingletons]uint16
}

// parseSignature parses and checks the value of a DKIM-Signature field
// (everything after the colon) as RFC 6376 sections 3.5 and 6.1.1 require,
// filling r with what it finds as it goes, so that even a signature that
// fails to parse reports its domain and selector when it has them. now is
// the verification time; skew the allowed clock difference.
//
// allowSHA1 is the tests' legacy mode: it lets rsa-sha1 through, to compare
// the rest of the verification with pre-RFC 8301 verifiers.
//
// singles are the header field names whose signed instances are counted
// in sig.signed.
func parseSignature(value string, sig *signature, r *Result, now time.Time, skew time.Duration, allowSHA1 bool, singles []string) error {
	if len(value) > MaxSignatureFieldSize {
		return errorf(ErrSyntax, "%w: field of %d bytes exceeds %d", ErrLimit, len(value), MaxSignatureFieldSize)
	}
	var v, a, c, d, h, i, l, q, s, t, x string
	var hasV, hasA, hasB, hasBH, hasC, hasD, hasH, hasI, hasL, hasQ, hasS, hasT, hasX bool
	sc := newTagScanner(value)
	for tg, ok := sc.next(); ok; tg, ok = sc.next() {
		switch tg.name {
		case "v":
			v, hasV = tg.value, true
		case "a":
			a, hasA = tg.value, true
		case "b":
			sig.b, hasB = tg.value, true
			sig.bStart, sig.bEnd = tg.start, tg.end
		case "bh":
			sig.bh, hasBH = tg.value, true
		case "c":
			c, hasC = tg.value, true
		case "d":
			d, hasD = tg.value, true
		case "h":
			h, hasH = tg.value, true
		case "i":
			i, hasI = tg.value, true
		case "l":
			l, hasL = tg.value, true
		case "q":
			q, hasQ = tg.value, true
		case "s":
			s, hasS = tg.value, true
		case "t":
			t, hasT = tg.value, true
		case "x":
			x, hasX = tg.value, true
		}
		// z= and unknown tags are ignored (RFC 6376 section 3.2).
	}

	// Fill in what can be reported even when a check below fails.
	sig.domain = strings.ToLower(d)
	sig.selector = s
	sig.h = h
	r.Domain, r.Selector, r.h, r.b = sig.domain, s, h, sig.b
	r.Algorithm = strings.ToLower(a)
	if hasT {
		if n, ok := parseDecimal(t, 12); ok {
			r.Timestamp = time.Unix(n, 0)
		}
	}
	if hasX {
		if n, ok := parseDecimal(x, 12); ok {
			r.Expiration = time.Unix(n, 0)
		}
	}
	if sc.err != nil {
		if errorsIsLimit(sc.err) {
			return errorf(ErrSyntax, "%w", sc.err)
		}
		return errorf(ErrSyntax, "%v", sc.err)
	}

	// RFC 6376 section 6.1.1: version, then required tags.
	// (The tests' legacy mode also takes the drafts before RFC 4871:
	// no v= or v=0.5, and q=dns.)
	switch {
	case !hasV && !allowSHA1:
		return newError(ErrSyntax, "missing v= tag")
	case hasV && v != "1" && !(allowSHA1 && v == "0.5"):
		return errorf(ErrVersion, "v=%s", v)
	}
	switch {
	case !hasA:
		return newError(ErrSyntax, "missing a= tag")
	case !hasB:
		return newError(ErrSyntax, "missing b= tag")
	case !hasBH:
		return newError(ErrSyntax, "missing bh= tag")
	case !hasD:
		return newError(ErrSyntax, "missing d= tag")
	case !hasH:
		return newError(ErrSyntax, "missing h= tag")
	case !hasS:
		return newError(ErrSyntax, "missing s= tag")
	}

	// a= (section 3.3; RFC 8301 section 3.1; RFC 8463 section 3). ABNF
	// literals are case-insensitive.
	switch r.Algorithm {
	case "rsa-sha256":
		sig.alg = algRSASHA256
	case "ed25519-sha256":
		sig.alg = algEd25519SHA256
	case "rsa-sha1":
		sig.alg = algRSASHA1
		if !allowSHA1 {
			return newError(ErrSHA1, "")
		}
	default:
		return errorf(ErrAlgorithm, "a=%s", a)
	}

	// c= (section 3.4): header[/body], default simple/simple.
	r.Canonicalization = canonSimpleSimple
	if hasC {
		hc, bc, slash := strings.Cut(c, "/")
		var okH, okB bool
		sig.relaxedHeader, okH = parseCanon(hc)
		sig.relaxedBody, okB = false, true
		if slash {
			sig.relaxedBody, okB = parseCanon(bc)
		}
		if !okH || !okB {
			return errorf(ErrCanonicalization, "c=%s", c)
		}
		switch {
		case sig.relaxedHeader && sig.relaxedBody:
			r.Canonicalization = canonRelaxedRelaxed
		case sig.relaxedHeader:
			r.Canonicalization = canonRelaxedSimple
		case sig.relaxedBody:
			r.Canonicalization = canonSimpleRelaxed
		}
	}

	// q= (section 3.5): a list of methods; unknown ones are ignored, and
	// dns/txt must be among them.
	if hasQ {
		found := false
		for rest := q; rest != "" && !found; {
			var m string
			m, rest = nextItem(rest)
			found = strings.EqualFold(m, "dns/txt") || allowSHA1 && m == "dns"
		}
		if !found {
			return errorf(ErrQueryMethod, "q=%s", q)
		}
	}

	if err := checkDomainName(sig.domain); err != nil {
		return errorf(ErrSyntax, "d=%s: %v", d, err)
	}
	if err := checkDomainName(s); err != nil {
		return errorf(ErrSyntax, "s=%s: %v", s, err)
	}

	// i= (section 3.5): dkim-quoted-printable [local-part] "@" domain, the
	// domain being d= or a subdomain of it.
	if hasI {
		id, err := decodeQP(i)
		if err != nil {
			return errorf(ErrSyntax, "i=%s: %v", i, err)
		}
		r.Identity = id
		at := strings.LastIndexByte(id, '@')
		if at < 0 {
			return errorf(ErrSyntax, "i=%s: no \"@\"", i)
		}
		if !domainWithin(id[at+1:], sig.domain) {
			return errorf(ErrIdentityMismatch, "i=%s, d=%s", id, d)
		}
	}

	// h= (section 3.5; 6.1.1: From must be signed).
	n, from := 0, false
	for rest := h; ; {
		var name string
		name, rest = nextItem(rest)
		if !isFieldName(name) {
			return errorf(ErrSyntax, "h=: bad field name %q", name)
		}
		if n++; n > MaxSignedHeaders {
			return errorf(ErrSyntax, "%w: h= has more than %d entries", ErrLimit, MaxSignedHeaders)
		}
		from = from || len(name) == 4 && strings.EqualFold(name, "From")
		for i, single := range singles {
			if len(name) == len(single) && strings.EqualFold(name, single) {
				sig.signed[i]++
			}
		}
		if rest == "" {
			break
		}
	}
	if !from {
		return newError(ErrFromNotSigned, "")
	}

	// l= (section 3.5): 1*76DIGIT.
	if hasL {
		n, ok := parseDecimal(l, 76)
		if !ok {
			return errorf(ErrSyntax, "l=%s", l)
		}
		sig.hasL, sig.l = true, n
		r.BodyLength = BodyLength{Limited: true, Signed: n}
	}

	// t= and x= (section 3.5): 1*12DIGIT; x= later than t=.
	var ts, xs int64
	if hasT {
		var ok bool
		if ts, ok = parseDecimal(t, 12); !ok {
			return errorf(ErrSyntax, "t=%s", t)
		}
	}
	if hasX {
		var ok bool
		if xs, ok = parseDecimal(x, 12); !ok {
			return errorf(ErrSyntax, "x=%s", x)
		}
		if hasT && xs <= ts {
			return errorf(ErrExpired, "x=%d is not later than t=%d", xs, ts)
		}
	}
	if skew < 0 {
		skew = 0
	}
	if hasX && now.After(time.Unix(xs, 0).Add(skew)) {
		return errorf(ErrExpired, "x=%d (%s)", xs, time.Unix(xs, 0).UTC().Format(time.RFC3339))
	}
	if hasT && time.Unix(ts, 0).After(now.Add(skew)) {
		return errorf(ErrFutureTimestamp, "t=%d (%s)", ts, time.Unix(ts, 0).UTC().Format(time.RFC3339))
	}
	return nil
}

func errorsIsLimit(err error) bool {
	for e := err; e != nil; {
		if e == ErrLimit {
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}

func parseCanon(s string) (relaxed, ok bool) {
	switch {
	case strings.EqualFold(s, "simple"):
		return false, true
	case strings.EqualFold(s, "relaxed"):
		return true, true
	}
	return false, false
}

// checkDomainName checks a d= or s= value: dot-separated labels of
// letters, digits, "-" and "_" (or UTF-8, RFC 8616), each 1 to 63 octets,
// 253 octets in all.
func checkDomainName(s string) error {
	if s == "" {
		return fmt.Errorf("empty")
	}
	if len(s) > 253 {
		return fmt.Errorf("longer than 253 octets")
	}
	label := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if label == 0 {
				return fmt.Errorf("empty label")
			}
			label = 0
			continue
		case isAlpha(c) || isDigit(c) || c == '-' || c == '_' || c >= 0x80:
		default:
			return fmt.Errorf("invalid character %q", c)
		}
		if label++; label > 63 {
			return fmt.Errorf("label longer than 63 octets")
		}
	}
	if label == 0 {
		return fmt.Errorf("empty label")
	}
	return nil
}

// domainWithin reports whether sub is domain or a subdomain of it, ignoring
// case.
func domainWithin(sub, domain string) bool {
	if len(sub) == len(domain) {
		return strings.EqualFold(sub, domain)
	}
	return len(sub) > len(domain) && sub[len(sub)-len(domain)-1] == '.' &&
		strings.EqualFold(sub[len(sub)-len(domain):], domain)
}

// isFieldName reports whether s is an RFC 5322 field name: printable
// US-ASCII except ":".
func isFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

// decodeQP decodes dkim-quoted-printable (RFC 6376 section 2.11): "=XX"
// hex escapes; FWS is ignored. It allocates only when there is something to
// decode.
func decodeQP(s string) (string, error) {
	if strings.IndexByte(s, '=') < 0 && !strings.ContainsAny(s, " \t\r\n") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isWSPOrCRLF(c):
		case c == '=':
			if i+2 >= len(s) {
				return "", fmt.Errorf("truncated =XX escape")
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return "", fmt.Errorf("bad =XX escape")
			}
			b.WriteByte(hi<<4 | lo)
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
