package arc

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mailscore/mailscore/auth/dkim"
)

// Header field names (RFC 8617 section 4.1).
const (
	FieldAAR  = "ARC-Authentication-Results"
	FieldAMS  = "ARC-Message-Signature"
	FieldSeal = "ARC-Seal"
)

// Limits.
const (
	// MaxInstance is the highest instance number, and so the most ARC
	// Sets a chain can have (RFC 8617 sections 4.2.1 and 5.2 step 1).
	MaxInstance = 50
	// DefaultMaxSets is how many ARC Sets a Validator validates unless
	// Options.MaxSets says otherwise; a longer chain fails.
	DefaultMaxSets = 10
	// MaxFieldSize bounds one ARC header field's value in bytes.
	MaxFieldSize = 16 << 10
	// maxCommentDepth bounds nested comments in an AAR instance prefix.
	maxCommentDepth = 8
)

type fieldKind uint8

const (
	kindNone fieldKind = iota
	kindAAR
	kindAMS
	kindSeal
)

func (k fieldKind) String() string {
	switch k {
	case kindAAR:
		return FieldAAR
	case kindAMS:
		return FieldAMS
	case kindSeal:
		return FieldSeal
	}
	return "not an ARC field"
}

// kindOf tells an ARC header field by its name (field names are
// case-insensitive, RFC 5322 section 1.2.2).
func kindOf(name string) fieldKind {
	switch len(name) {
	case len(FieldAAR):
		if strings.EqualFold(name, FieldAAR) {
			return kindAAR
		}
	case len(FieldAMS):
		if strings.EqualFold(name, FieldAMS) {
			return kindAMS
		}
	case len(FieldSeal):
		if strings.EqualFold(name, FieldSeal) {
			return kindSeal
		}
	}
	return kindNone
}

// parseInstance parses an instance value (RFC 8617 section 4.2.1):
// 1*2DIGIT from 1 to 50.
func parseInstance(s string) (int, error) {
	if len(s) == 0 || len(s) > 2 {
		return 0, fmt.Errorf("instance %q is not 1 or 2 digits", s)
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("instance %q is not a number", s)
		}
		n = n*10 + int(s[i]-'0')
	}
	if n < 1 || n > MaxInstance {
		return 0, fmt.Errorf("instance %d is outside 1..%d", n, MaxInstance)
	}
	return n, nil
}

// skipCFWS skips folding white space and comments (RFC 5322 section
// 3.2.2) from s[i:].
func skipCFWS(s string, i int) (int, error) {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
			i++
		case '(':
			depth := 0
			for {
				if i >= len(s) {
					return i, errors.New("unterminated comment")
				}
				switch s[i] {
				case '\\':
					i++
				case '(':
					if depth++; depth > maxCommentDepth {
						return i, errors.New("comments nested too deeply")
					}
				case ')':
					depth--
				}
				i++
				if depth == 0 {
					break
				}
			}
		default:
			return i, nil
		}
	}
	return i, nil
}

// parseAAR splits an ARC-Authentication-Results value into its instance
// and its authres-payload (RFC 8617 section 4.1.1):
//
//	arc-info = instance [CFWS] ";" authres-payload
//	instance = [CFWS] %s"i" [CFWS] "=" [CFWS] instance-val
//
// The "i" is case-sensitive (RFC 7405 %s).
func parseAAR(value string) (int, string, error) {
	if len(value) > MaxFieldSize {
		return 0, "", fmt.Errorf("%w: field of %d bytes exceeds %d", dkim.ErrLimit, len(value), MaxFieldSize)
	}
	i, err := skipCFWS(value, 0)
	if err != nil {
		return 0, "", err
	}
	if i >= len(value) || value[i] != 'i' {
		return 0, "", errors.New(`the value does not start with "i="`)
	}
	if i, err = skipCFWS(value, i+1); err != nil {
		return 0, "", err
	}
	if i >= len(value) || value[i] != '=' {
		return 0, "", errors.New(`"=" expected after "i"`)
	}
	if i, err = skipCFWS(value, i+1); err != nil {
		return 0, "", err
	}
	start := i
	for i < len(value) && value[i] >= '0' && value[i] <= '9' {
		i++
	}
	inst, err := parseInstance(value[start:i])
	if err != nil {
		return 0, "", err
	}
	if i, err = skipCFWS(value, i); err != nil {
		return 0, "", err
	}
	if i >= len(value) || value[i] != ';' {
		return 0, "", errors.New(`";" expected after the instance`)
	}
	return inst, value[i+1:], nil
}

// tagSet is a parsed ARC-Message-Signature or ARC-Seal value.
type tagSet struct {
	tags     []dkim.Tag
	instance int
}

func (t *tagSet) get(name string) (dkim.Tag, bool) {
	for _, tg := range t.tags {
		if tg.Name == name {
			return tg, true
		}
	}
	return dkim.Tag{}, false
}

// parseTagged parses the tag-list of an AMS or AS and its instance tag
// (RFC 8617 sections 4.1.2, 4.1.3 and 4.2.1).
func parseTagged(value string) (tagSet, error) {
	if len(value) > MaxFieldSize {
		return tagSet{}, fmt.Errorf("%w: field of %d bytes exceeds %d", dkim.ErrLimit, len(value), MaxFieldSize)
	}
	tags, err := dkim.ParseTagList(value)
	if err != nil {
		return tagSet{}, err
	}
	ts := tagSet{tags: tags}
	tg, ok := ts.get("i")
	if !ok {
		return tagSet{}, errors.New("no i= tag")
	}
	if ts.instance, err = parseInstance(tg.Value); err != nil {
		return tagSet{}, fmt.Errorf("i=: %w", err)
	}
	return ts, nil
}

// parseCV parses the cv= tag of an ARC-Seal (RFC 8617 section 4.1.3):
// none, fail or pass. ABNF literals are case-insensitive.
func parseCV(ts *tagSet) (Status, error) {
	tg, ok := ts.get("cv")
	if !ok {
		return "", errors.New("no cv= tag")
	}
	switch {
	case strings.EqualFold(tg.Value, "none"):
		return StatusNone, nil
	case strings.EqualFold(tg.Value, "pass"):
		return StatusPass, nil
	case strings.EqualFold(tg.Value, "fail"):
		return StatusFail, nil
	}
	return "", fmt.Errorf("cv=%q is not none, pass or fail", tg.Value)
}

// sigCommon is what the AMS and the AS share: the DKIM-style signature
// tags (RFC 8617 sections 4.1.2 and 4.1.3).
type sigCommon struct {
	alg          string // lower-case a=
	domain       string // d=, lower-case
	selector     string // s=
	b            []byte
	bStart, bEnd int
	hasT         bool
	t            int64
}

// amsSig is a checked ARC-Message-Signature.
type amsSig struct {
	sigCommon
	headerCanon, bodyCanon dkim.Canonicalization
	h                      string
	bh                     []byte
	hasL                   bool
	l                      int64
}

// parseCommon checks the tags an AMS and an AS share: a=, b=, d=, s=, t=
// (and x= for the AMS). It fills what it finds into out as it goes, so that a
// signature that fails reports its domain and selector.
func parseCommon(ts *tagSet, c *sigCommon, out *Signature, now time.Time, skew time.Duration, x bool) error {
	var a, b, d, s dkim.Tag
	var hasA, hasB, hasD, hasS bool
	for _, tg := range ts.tags {
		switch tg.Name {
		case "a":
			a, hasA = tg, true
		case "b":
			b, hasB = tg, true
		case "d":
			d, hasD = tg, true
		case "s":
			s, hasS = tg, true
		case "t":
			n, ok := parseDecimal(tg.Value, 12)
			if !ok {
				return syntaxErr("t=%q", tg.Value)
			}
			c.hasT, c.t = true, n
			out.Timestamp = time.Unix(n, 0)
		}
	}
	c.alg = strings.ToLower(a.Value)
	c.domain = strings.ToLower(d.Value)
	c.selector = s.Value
	out.Algorithm, out.Domain, out.Selector = c.alg, c.domain, c.selector
	switch {
	case !hasA:
		return syntaxErr("no a= tag")
	case !hasB:
		return syntaxErr("no b= tag")
	case !hasD:
		return syntaxErr("no d= tag")
	case !hasS:
		return syntaxErr("no s= tag")
	}
	switch c.alg {
	case "rsa-sha256", "ed25519-sha256":
	case "rsa-sha1":
		return dkim.ErrSHA1
	default:
		return fmt.Errorf("%w: a=%q", dkim.ErrAlgorithm, a.Value)
	}
	if err := dkim.CheckDomainName(c.domain); err != nil {
		return prefixed("d=: ", err)
	}
	if err := dkim.CheckDomainName(c.selector); err != nil {
		return prefixed("s=: ", err)
	}
	var err error
	if c.b, err = dkim.DecodeBase64(b.Value); err != nil {
		return prefixed("b=: ", err)
	}
	if len(c.b) == 0 {
		return syntaxErr("b= is empty")
	}
	c.bStart, c.bEnd = b.Start, b.End
	if skew < 0 {
		skew = 0
	}
	if c.hasT && time.Unix(c.t, 0).After(now.Add(skew)) {
		return fmt.Errorf("%w: t=%d", dkim.ErrFutureTimestamp, c.t)
	}
	if x {
		if tg, ok := ts.get("x"); ok {
			n, ok := parseDecimal(tg.Value, 12)
			if !ok {
				return syntaxErr("x=%q", tg.Value)
			}
			if c.hasT && n <= c.t {
				return fmt.Errorf("%w: x=%d is not later than t=%d", dkim.ErrExpired, n, c.t)
			}
			if now.After(time.Unix(n, 0).Add(skew)) {
				return fmt.Errorf("%w: x=%d", dkim.ErrExpired, n)
			}
		}
	}
	return nil
}

// parseAMS checks an ARC-Message-Signature (RFC 8617 section 4.1.2): the
// tags of a DKIM-Signature (RFC 6376 section 3.5), except that v= is
// ignored and i= is the instance. ARC-Seal fields must not be signed.
func parseAMS(ts *tagSet, out *Signature, now time.Time, skew time.Duration) (*amsSig, error) {
	s := &amsSig{headerCanon: dkim.Simple, bodyCanon: dkim.Simple}
	if err := parseCommon(ts, &s.sigCommon, out, now, skew, true); err != nil {
		return nil, err
	}
	out.Canonicalization = "simple/simple"
	var hasBH, hasH bool
	for _, tg := range ts.tags {
		switch tg.Name {
		case "bh":
			hasBH = true
			var err error
			if s.bh, err = dkim.DecodeBase64(tg.Value); err != nil {
				return nil, prefixed("bh=: ", err)
			}
			if len(s.bh) != 32 {
				return nil, syntaxErr("bh= is %d bytes, not a SHA-256 hash", len(s.bh))
			}
		case "c":
			hc, bc, slash := strings.Cut(tg.Value, "/")
			var okH, okB bool
			s.headerCanon, okH = canonOf(hc)
			s.bodyCanon, okB = dkim.Simple, true
			if slash {
				s.bodyCanon, okB = canonOf(bc)
			}
			if !okH || !okB {
				return nil, fmt.Errorf("%w: c=%q", dkim.ErrCanonicalization, tg.Value)
			}
			out.Canonicalization = string(s.headerCanon) + "/" + string(s.bodyCanon)
		case "h":
			hasH = true
			s.h = tg.Value
		case "l":
			n, ok := parseDecimal(tg.Value, 76)
			if !ok {
				return nil, syntaxErr("l=%q", tg.Value)
			}
			s.hasL, s.l = true, n
		case "q":
			found := false
			for m := range strings.SplitSeq(tg.Value, ":") {
				found = found || strings.EqualFold(strings.Trim(m, " \t\r\n"), "dns/txt")
			}
			if !found {
				return nil, fmt.Errorf("%w: q=%q", dkim.ErrQueryMethod, tg.Value)
			}
		}
	}
	switch {
	case !hasBH:
		return nil, syntaxErr("no bh= tag")
	case !hasH:
		return nil, syntaxErr("no h= tag")
	}
	if err := checkSignedNames(s.h); err != nil {
		return nil, err
	}
	return s, nil
}

// checkSignedNames checks an AMS h= list: one or more field names
// separated by ":" (RFC 6376 section 3.5), From among them (RFC 6376
// sections 5.4 and 6.1.1, which the AMS inherits), and no ARC-Seal (RFC
// 8617 section 4.1.2: ARC header fields are not for the AMS to sign; the
// seals are what the ARC-Seal protects, see the package documentation).
func checkSignedNames(h string) error {
	if strings.Trim(h, " \t\r\n") == "" {
		return syntaxErr("h= is empty")
	}
	from := false
	n := 0
	for name := range strings.SplitSeq(h, ":") {
		name = strings.Trim(name, " \t\r\n")
		if !isFieldName(name) {
			return syntaxErr("h= has a bad field name %q", name)
		}
		if n++; n > dkim.MaxSignedHeaders {
			return fmt.Errorf("%w: h= has more than %d entries", dkim.ErrLimit, dkim.MaxSignedHeaders)
		}
		from = from || strings.EqualFold(name, "From")
		if strings.EqualFold(name, FieldSeal) {
			return ErrSignsSeal
		}
	}
	if !from {
		return dkim.ErrFromNotSigned
	}
	return nil
}

// parseSeal checks an ARC-Seal (RFC 8617 section 4.1.3): a=, b=, cv=, d=,
// i=, s= and t=; an h= tag is not allowed and makes the seal fail.
func parseSeal(ts *tagSet, out *Signature, now time.Time, skew time.Duration) (*sigCommon, error) {
	s := &sigCommon{}
	if err := parseCommon(ts, s, out, now, skew, false); err != nil {
		return nil, err
	}
	if _, ok := ts.get("h"); ok {
		return nil, ErrSealHasH
	}
	return s, nil
}

func canonOf(s string) (dkim.Canonicalization, bool) {
	switch {
	case strings.EqualFold(s, "simple"):
		return dkim.Simple, true
	case strings.EqualFold(s, "relaxed"):
		return dkim.Relaxed, true
	}
	return "", false
}

// parseDecimal parses 1*DIGIT of at most maxDigits, saturating.
func parseDecimal(s string, maxDigits int) (int64, bool) {
	if s == "" || len(s) > maxDigits {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (1<<63-1-9)/10 {
			n = 1<<63 - 1
			continue
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// tagError is a malformed tag of an ARC field: it matches dkim.ErrSyntax
// (the AMS and AS are DKIM-style tag lists) and prints only its detail.
type tagError struct{ msg string }

func (e *tagError) Error() string { return e.msg }
func (e *tagError) Unwrap() error { return dkim.ErrSyntax }

func syntaxErr(format string, args ...any) error {
	return &tagError{msg: fmt.Sprintf(format, args...)}
}

// prefixedError puts a prefix before an error's text, without the "dkim: "
// its own text may start with, and unwraps to it.
type prefixedError struct {
	prefix string
	err    error
}

func (e *prefixedError) Error() string { return e.prefix + trimPrefix(e.err.Error()) }
func (e *prefixedError) Unwrap() error { return e.err }

func prefixed(prefix string, err error) error { return &prefixedError{prefix: prefix, err: err} }

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
