package dkim

import (
	"strings"
	"time"
)

// Result is the outcome of one DKIM-Signature header field.
type Result struct {
	// Status is the RFC 8601 result word.
	Status Status
	// Err says why the signature did not pass; nil on pass. It matches one
	// of the Err* sentinels with errors.Is.
	Err error

	// Domain is the signing domain d=, lower-cased ("" if the field was
	// too malformed to tell).
	Domain string
	// Selector is s= as written.
	Selector string
	// Identity is the agent or user identifier i=, quoted-printable
	// decoded, or "" when the signature has none (its default is then
	// "@" + Domain, RFC 6376 section 3.5).
	Identity string
	// Algorithm is a= as written, lower-cased: "rsa-sha256",
	// "ed25519-sha256", "rsa-sha1"...
	Algorithm string
	// Canonicalization is c= normalised to "header/body", e.g.
	// "relaxed/simple".
	Canonicalization string
	// KeyBits is the size of the public key: the RSA modulus in bits, 256
	// for Ed25519; 0 when no key was obtained.
	KeyBits int
	// Testing is set when the key record has t=y: the domain is testing
	// DKIM, and RFC 6376 section 3.6.1 says such mail must not be treated
	// differently from unsigned mail, whatever Status says.
	Testing bool
	// Timestamp is t= and Expiration x=; zero when absent.
	Timestamp, Expiration time.Time
	// BodyLength describes the l= tag: how much of the body is signed.
	BodyLength BodyLength

	// Index is the position of the signature's field among the message's
	// header fields (0 = first).
	Index int

	h string // h= as written (for SignedHeaders)
	b string // b= as written (for the header.b prefix)
}

// BodyLength reports the body length limit of a signature (RFC 6376
// section 3.5, "l="). Content beyond the signed length can be anything an
// intermediary or attacker appended (section 8.2); a signal may penalise
// it.
type BodyLength struct {
	// Limited is true when the signature has an l= tag.
	Limited bool
	// Signed is the value of l=: how many bytes of canonicalized body the
	// signature covers.
	Signed int64
	// Canonical is the length of the whole canonicalized body, when it was
	// computed (a signature that got as far as the body hash).
	Canonical int64
}

// Unsigned returns how many canonicalized body bytes follow the signed
// length (0 without l= or when the body is no longer than l=).
func (b BodyLength) Unsigned() int64 {
	if !b.Limited || b.Canonical <= b.Signed {
		return 0
	}
	return b.Canonical - b.Signed
}

// SignedHeaders returns the h= list: the names of the header fields the
// signature covers, in the order signed, as written.
func (r *Result) SignedHeaders() []string {
	if r.h == "" {
		return nil
	}
	parts := strings.Split(r.h, ":")
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimFunc(p, isFWS); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// SignaturePrefix returns the first 8 characters of the b= value, white
// space removed: the "header.b" property of RFC 6008, which tells several
// signatures from the same domain apart.
func (r *Result) SignaturePrefix() string {
	var buf [8]byte
	n := 0
	for i := 0; i < len(r.b) && n < len(buf); i++ {
		if c := r.b[i]; !isWSPOrCRLF(c) {
			buf[n] = c
			n++
		}
	}
	return string(buf[:n])
}

// Property is one property of an Authentication-Results method result
// (RFC 8601 section 2.3): Type "header" and Name "d" print as header.d.
type Property struct {
	Type  string
	Name  string
	Value string
}

// Properties returns the Authentication-Results properties of the result
// (RFC 6376 section 7.2, RFC 6008, RFC 8601): header.d, header.i (when i=
// is present), header.s, header.a and header.b. Properties a malformed
// signature did not provide are left out.
func (r *Result) Properties() []Property {
	ps := make([]Property, 0, 5)
	if r.Domain != "" {
		ps = append(ps, Property{"header", "d", r.Domain})
	}
	if r.Identity != "" {
		ps = append(ps, Property{"header", "i", r.Identity})
	}
	if r.Selector != "" {
		ps = append(ps, Property{"header", "s", r.Selector})
	}
	if r.Algorithm != "" {
		ps = append(ps, Property{"header", "a", r.Algorithm})
	}
	if p := r.SignaturePrefix(); p != "" {
		ps = append(ps, Property{"header", "b", p})
	}
	return ps
}

// Reason returns a short reason for a result other than pass, for the
// reason= of an Authentication-Results header field; "" on pass.
func (r *Result) Reason() string {
	if r.Err == nil {
		return ""
	}
	return strings.TrimPrefix(r.Err.Error(), "dkim: ")
}

// AuthResValue returns the method result for an Authentication-Results
// header field (RFC 8601 section 2.2), without the "dkim=":
//
//	pass header.d=example.com header.s=sel header.a=rsa-sha256 header.b=AbCdEfGh
//	fail reason="body hash did not verify" header.d=example.com ...
//
// Values that are not RFC 2045 tokens (or, for header.i, an address or
// domain) are quoted.
func (r *Result) AuthResValue() string {
	var b strings.Builder
	b.WriteString(string(r.Status))
	if reason := r.Reason(); reason != "" {
		b.WriteString(" reason=")
		writeQuoted(&b, reason)
	}
	for _, p := range r.Properties() {
		b.WriteByte(' ')
		b.WriteString(p.Type)
		b.WriteByte('.')
		b.WriteString(p.Name)
		b.WriteByte('=')
		if isToken(p.Value) || (p.Name == "i" && isAddrValue(p.Value)) {
			b.WriteString(p.Value)
		} else {
			writeQuoted(&b, p.Value)
		}
	}
	return b.String()
}

// isToken reports whether s is an RFC 2045 token: printable US-ASCII
// without SPACE, CTLs and tspecials.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// isAddrValue reports whether s can be written unquoted as the
// [local-part] "@" domain form RFC 8601 section 2.2 allows for pvalue.
func isAddrValue(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return false
	}
	local, dom := s[:at], s[at+1:]
	if dom == "" || !isToken(strings.ReplaceAll(dom, ".", "x")) {
		return false
	}
	if local == "" {
		return true
	}
	for _, atom := range strings.Split(local, ".") {
		if atom == "" || !isAtext(atom) {
			return false
		}
	}
	return true
}

// isAtext reports whether s is made of RFC 5322 atext.
func isAtext(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// writeQuoted writes s as an RFC 5322 quoted-string.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\r' || c == '\n':
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
