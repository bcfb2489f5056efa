package dkim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"hash"
	"strings"

	"github.com/mailscore/mailscore"
)

// The building blocks below are the parts of DKIM that other DKIM-style
// signatures reuse: ARC's ARC-Message-Signature and ARC-Seal (RFC 8617
// sections 4.1.2 and 4.1.3) are tag lists signed with DKIM's
// canonicalization and keys. The Verifier and Signer are built from the
// same code.

// Tag is one tag-spec of a tag-list (RFC 6376 section 3.2).
type Tag struct {
	// Name is the tag name (case-sensitive).
	Name string
	// Value is the tag value without the folding white space around it.
	Value string
	// Start and End delimit the whole value region in the parsed text,
	// from just after "=" to just before the ";" or the end, white space
	// included: removing it empties the tag, as signing and verifying do
	// with b= (RFC 6376 section 3.7).
	Start, End int
}

// ParseTagList parses a tag-list strictly by RFC 6376 section 3.2: tag
// names are case-sensitive and may not repeat, every tag-spec has a name
// and "=", only the last tag-spec may be followed by a lone ";", and values
// hold no control characters other than folding white space. At most
// MaxTags tags are read. Errors match ErrSyntax (and ErrLimit for the tag
// limit).
//
// The Verifier itself is more lenient with DKIM-Signature and key records
// (it skips empty tag-specs, which some key records in the wild have).
func ParseTagList(s string) ([]Tag, error) {
	sc := newTagScanner(s)
	sc.strict = true
	var tags []Tag
	for tg, ok := sc.next(); ok; tg, ok = sc.next() {
		if tags == nil {
			tags = make([]Tag, 0, 12)
		}
		tags = append(tags, Tag{Name: tg.name, Value: tg.value, Start: tg.start, End: tg.end})
	}
	if sc.err != nil {
		e := &detailError{kind: ErrSyntax, detail: "tag-list: " + sc.err.Error()}
		if errorsIsLimit(sc.err) {
			e.extra = ErrLimit
		}
		return nil, e
	}
	return tags, nil
}

// detailError is an error of the building blocks: it matches kind (and
// extra) and prints only its detail, since what was parsed need not be a
// DKIM-Signature.
type detailError struct {
	kind, extra error
	detail      string
}

func (e *detailError) Error() string { return "dkim: " + e.detail }

func (e *detailError) Unwrap() []error {
	if e.extra == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.extra}
}

// DecodeBase64 decodes a base64 tag value such as b=, bh= or p= (RFC 6376
// section 2.10): folding white space anywhere in it is ignored, and the
// padding may be left out. Values longer than a MaxRSABits signature are
// refused. Errors match ErrSyntax.
func DecodeBase64(s string) ([]byte, error) {
	out, err := decodeBase64(make([]byte, min(MaxRSABits/8+128, len(s)*3/4+3)), s)
	if err != nil {
		return nil, &detailError{kind: ErrSyntax, detail: err.Error()}
	}
	return out, nil
}

// CheckDomainName checks the syntax of a d= or s= value: dot-separated
// labels of letters, digits, "-" and "_" (or UTF-8, RFC 8616), each 1 to
// 63 octets, 253 octets in all.
func CheckDomainName(s string) error {
	if err := checkDomainName(s); err != nil {
		return &detailError{kind: ErrSyntax, detail: fmt.Sprintf("%q: %v", s, err)}
	}
	return nil
}

// canonRelaxed maps a Canonicalization to the relaxed flag; anything but
// Relaxed is simple.
func canonRelaxed(c Canonicalization) bool { return c == Relaxed }

// HeaderHasher feeds canonicalized header fields (RFC 6376 sections 3.4.1
// and 3.4.2) to a hash, batching small writes. Reset it with a hash before
// use; it can be reused for any number of hashes. It is not safe for
// concurrent use.
type HeaderHasher struct {
	hb   hashBuf
	used [8]uint64
}

// Reset starts a new hash with h (which it resets).
func (w *HeaderHasher) Reset(h hash.Hash) {
	h.Reset()
	w.hb.h, w.hb.n = h, 0
}

// WriteField writes one header field, given as written (name, colon,
// value with its folding, and optionally the line break that ends it),
// canonicalized with c and ended with CRLF.
func (w *HeaderHasher) WriteField(raw []byte, c Canonicalization) {
	if canonRelaxed(c) {
		colon := bytes.IndexByte(raw, ':')
		if colon < 0 {
			colon = len(raw)
		}
		name := string(bytes.TrimRight(raw[:colon], " \t"))
		value := raw[min(colon+1, len(raw)):]
		writeRelaxedHeader(&w.hb, name, value, true)
		return
	}
	writeSimpleHeader(&w.hb, raw, true)
}

// WriteSelected writes the header fields a signature's h= list names,
// each instance taken from the bottom of the header up (RFC 6376 section
// 5.4.2); a name with no instance left contributes nothing (section 5.4).
// The field at index self (the signature itself; -1 for none) is never
// selected.
func (w *HeaderHasher) WriteSelected(fields []mailscore.Field, h string, c Canonicalization, self int) {
	hashSignedFields(&w.hb, fields, h, canonRelaxed(c), self, w.used[:])
}

// WriteSignature writes a signature header field (given as written) with
// the value region [start, end) deleted, and without a final line break
// (RFC 6376 section 3.7). start and end are offsets into the field's value
// after the colon, as Tag.Start and Tag.End give them for the b= tag when
// that value is parsed with ParseTagList.
func (w *HeaderHasher) WriteSignature(raw []byte, start, end int, c Canonicalization) {
	colon := bytes.IndexByte(raw, ':')
	if colon < 0 || start < 0 || end < start || colon+1+end > len(raw) {
		// Not a field with that region: hash what there is, which
		// cannot match a signature.
		w.WriteField(raw, c)
		return
	}
	off := colon + 1
	head, tail := raw[:off+start], raw[off+end:]
	if canonRelaxed(c) {
		writeRelaxedName(&w.hb, string(bytes.TrimRight(raw[:colon], " \t")))
		rv := relaxedValue{w: &w.hb}
		rv.write(head[off:])
		rv.write(tail)
		return
	}
	writeSimpleHeader(&w.hb, head, false)
	writeSimpleHeader(&w.hb, tail, false)
}

// Sum writes out what is buffered and appends the hash to b.
func (w *HeaderHasher) Sum(b []byte) []byte {
	w.hb.flush()
	return w.hb.h.Sum(b)
}

// BodyHasher canonicalizes a message body as it is written to it (RFC 6376
// sections 3.4.3 and 3.4.4; bare LF line breaks count as CRLF) and hashes
// the first limit octets of the result. Reset it before use; it can be
// reused. It is not safe for concurrent use.
type BodyHasher struct {
	hb hashBuf
	bc bodyCanon
}

// Reset starts a new body hash with h (which it resets), canonicalization
// c and l= limit (negative: the whole body).
func (b *BodyHasher) Reset(h hash.Hash, c Canonicalization, limit int64) {
	h.Reset()
	b.hb.h, b.hb.n = h, 0
	b.bc.reset(&b.hb, canonRelaxed(c), limit)
}

// Write feeds body octets; it never fails.
func (b *BodyHasher) Write(p []byte) (int, error) { return b.bc.Write(p) }

// Sum ends the body and appends its hash to dst. Write must not be called
// after it (until Reset).
func (b *BodyHasher) Sum(dst []byte) []byte {
	b.bc.finish()
	return b.hb.h.Sum(dst)
}

// Len returns the length of the canonical body produced so far (all of
// it after Sum), whatever the limit.
func (b *BodyHasher) Len() int64 { return b.bc.total }

// PublicKey is a parsed DKIM key record (RFC 6376 section 3.6.1, RFC 8463
// section 4.2). Keys are shared through the Verifier's cache: treat them
// as read-only.
type PublicKey struct {
	k *publicKey
}

// LookupKey fetches the key record at selector._domainkey.domain through
// the Verifier's resolver and parses it, using the Verifier's cache of
// parsed keys (RFC 6376 sections 3.6.2 and 6.1.2). Of several TXT records
// the first usable key is taken. Errors match ErrKeyNotFound (no record,
// permanent) or ErrKeyUnavailable (a temporary DNS failure; the dnsutil
// error is wrapped, so dnsutil.IsTemporary is true), or, for a record that
// is there but unusable, ErrKeySyntax, ErrKeyRevoked or ErrKeyUnsuitable.
func (v *Verifier) LookupKey(ctx context.Context, selector, domain string) (*PublicKey, error) {
	k, err := v.lookupKey(ctx, selector, domain)
	if err != nil {
		return nil, err
	}
	if k.err != nil {
		return nil, k.err
	}
	return &PublicKey{k: k}, nil
}

// Type returns the key type k=: "rsa" or "ed25519".
func (k *PublicKey) Type() string { return k.k.typ.String() }

// Bits returns the key size: the RSA modulus in bits, 256 for Ed25519.
func (k *PublicKey) Bits() int { return k.k.bits }

// Testing reports whether the record has t=y (the domain is testing DKIM).
func (k *PublicKey) Testing() bool { return k.k.testing }

// Verify checks a signature made with algorithm ("rsa-sha256" or
// "ed25519-sha256", case-insensitive) over a SHA-256 digest. Errors match
// ErrKeyUnsuitable (the key's k=, h= or s= do not allow the algorithm or
// email), ErrKeyTooShort (an RSA key under 1024 bits, RFC 8301), ErrAlgorithm
// (another algorithm; rsa-sha1 matches ErrSHA1 too) or ErrSignatureMismatch.
func (k *PublicKey) Verify(algorithm string, digest, sig []byte) error {
	pk := k.k
	var want keyType
	switch strings.ToLower(algorithm) {
	case "rsa-sha256":
		want = keyRSA
	case "ed25519-sha256":
		want = keyEd25519
	case "rsa-sha1":
		return newError(ErrSHA1, "")
	default:
		return errorf(ErrAlgorithm, "a=%s", algorithm)
	}
	switch {
	case pk.typ != want:
		return errorf(ErrKeyUnsuitable, "%s signature, %s key", strings.ToLower(algorithm), pk.typ)
	case !pk.sha256:
		return newError(ErrKeyUnsuitable, "key h= does not allow sha256")
	case !pk.email:
		return newError(ErrKeyUnsuitable, "key s= does not allow email")
	case pk.typ == keyRSA && pk.bits < MinRSABits:
		return errorf(ErrKeyTooShort, "%d-bit RSA key, RFC 8301 requires at least %d", pk.bits, MinRSABits)
	}
	var ok bool
	switch pk.typ {
	case keyRSA:
		ok = rsa.VerifyPKCS1v15(pk.rsa, crypto.SHA256, digest, sig) == nil
	case keyEd25519:
		ok = ed25519.Verify(pk.ed, digest, sig)
	}
	if !ok {
		return newError(ErrSignatureMismatch, "")
	}
	return nil
}

// SignDigest signs a SHA-256 digest with key as a DKIM signer does:
// RSASSA-PKCS1-v1_5 for an RSA key (rsa-sha256), PureEdDSA over the digest
// for an Ed25519 key (ed25519-sha256, RFC 8463 section 3). It returns the
// signature and the a= name of the algorithm. RSA keys must have 1024 to
// MaxRSABits bits (RFC 8301).
func SignDigest(key crypto.Signer, digest []byte) (sig []byte, algorithm string, err error) {
	var opts crypto.SignerOpts
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		if bits := pub.N.BitLen(); bits < MinRSABits || bits > MaxRSABits {
			return nil, "", errorf(ErrKeyTooShort, "%d-bit RSA key: RFC 8301 needs %d to %d bits", bits, MinRSABits, MaxRSABits)
		}
		opts, algorithm = crypto.SHA256, "rsa-sha256"
	case ed25519.PublicKey:
		opts, algorithm = crypto.Hash(0), "ed25519-sha256"
	default:
		return nil, "", errors.New("dkim: unsupported key type (want RSA or Ed25519)")
	}
	sig, err = key.Sign(rand.Reader, digest, opts)
	if err != nil {
		return nil, "", err
	}
	return sig, algorithm, nil
}
