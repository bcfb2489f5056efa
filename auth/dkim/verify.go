package dkim

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/idna"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/dnsutil"
)

// Limits and defaults of the verifier.
const (
	// DefaultMaxSignatures is how many signatures are evaluated per
	// message unless Options.MaxSignatures says otherwise.
	DefaultMaxSignatures = 5
	// DefaultClockSkew is how far in the future t= may be.
	DefaultClockSkew = 5 * time.Minute
	// MinRSABits is the smallest RSA key RFC 8301 section 3.2 lets a
	// verifier accept.
	MinRSABits = 1024
	// MaxRSABits is the largest RSA key accepted (larger keys only cost
	// CPU: an attacker's tool, not a sender's).
	MaxRSABits = 8192
	// MaxSignatureFieldSize bounds a DKIM-Signature header field in bytes.
	MaxSignatureFieldSize = 16 << 10
	// MaxTags bounds the tags of a signature or key record.
	MaxTags = 64
	// MaxSignedHeaders bounds the entries of h=.
	MaxSignedHeaders = 256
	// MaxKeyRecordSize bounds a key record in bytes.
	MaxKeyRecordSize = 8 << 10
	// DefaultKeyCacheSize is how many parsed keys a Verifier keeps.
	DefaultKeyCacheSize = 1024

	maxSingletons = 32 // Options.SingletonHeaders, From included
)

// DefaultSingletonHeaders returns the default Options.SingletonHeaders,
// the header fields a signature must sign as often as they occur when it
// signs them at all: From, To and Subject.
func DefaultSingletonHeaders() []string {
	return []string{"From", "To", "Subject"}
}

// Options configure a Verifier. Only Resolver is required; the zero value of
// every other field means the default given.
type Options struct {
	// Resolver fetches key records (TXT at selector._domainkey.domain).
	// Required.
	Resolver dnsutil.Resolver
	// Now is the clock for t= and x=; nil means time.Now.
	Now func() time.Time
	// ClockSkew is how far in the future t= may be (the signer's clock
	// may be ahead), and how far past x= a signature still counts;
	// default 5 minutes, negative for none.
	ClockSkew time.Duration
	// MinRSABits is the smallest RSA key that passes. Keys under 1024
	// bits are permerror whatever this says (RFC 8301 section 3.2); keys
	// from 1024 bits up to MinRSABits-1 are policy. Default 1024.
	MinRSABits int
	// MaxSignatures is how many signatures are evaluated, from the top of
	// the header; later ones get neutral with ErrTooManySignatures.
	// Default 5.
	MaxSignatures int
	// SingletonHeaders name header fields that a signature signing them
	// must sign as many times as they occur: a message with two From
	// fields and a signature naming From once fails with
	// ErrHeaderNotSigned, since the unsigned one may be what is shown.
	// From always counts, since h= must include it. nil means
	// DefaultSingletonHeaders (From, To, Subject); an empty non-nil slice
	// means From only.
	SingletonHeaders []string
	// KeyCacheSize is how many parsed keys are kept, by record text, so
	// a cached DNS answer is not parsed again; default 1024, negative to
	// disable.
	KeyCacheSize int
	// Limits bound what Verify reads from an io.Reader (header size,
	// fields, line length, message size); zero means the mailscore
	// defaults.
	Limits mailscore.Limits
}

// Verifier verifies DKIM signatures (RFC 6376, RFC 8301, RFC 8463). It is
// safe for concurrent use; create one and share it, so its key cache is
// shared too.
type Verifier struct {
	opts    Options
	now     func() time.Time
	skew    time.Duration
	minRSA  int
	maxSigs int
	singles []string
	keys    *keyCache
	scratch sync.Pool // *scratch

	// legacy is set only by this package's tests, to run corpora made
	// before RFC 8301 through the rest of the verifier: it accepts
	// rsa-sha1 and RSA keys from 512 bits.
	legacy bool
}

// NewVerifier returns a Verifier. It fails when opts.Resolver is nil or an
// option is out of range.
func NewVerifier(opts Options) (*Verifier, error) {
	if opts.Resolver == nil {
		return nil, errors.New("dkim: Options.Resolver is required")
	}
	v := &Verifier{opts: opts, now: opts.Now, skew: opts.ClockSkew, minRSA: opts.MinRSABits, maxSigs: opts.MaxSignatures}
	if v.now == nil {
		v.now = time.Now
	}
	switch {
	case v.skew == 0:
		v.skew = DefaultClockSkew
	case v.skew < 0:
		v.skew = 0
	}
	if v.minRSA > MaxRSABits {
		return nil, fmt.Errorf("dkim: MinRSABits %d exceeds the largest key accepted (%d)", v.minRSA, MaxRSABits)
	}
	v.minRSA = max(v.minRSA, MinRSABits)
	if v.maxSigs <= 0 {
		v.maxSigs = DefaultMaxSignatures
	}
	singles := opts.SingletonHeaders
	if singles == nil {
		singles = DefaultSingletonHeaders()
	}
	v.singles = []string{"From"}
	if len(singles) >= maxSingletons {
		return nil, fmt.Errorf("dkim: more than %d SingletonHeaders", maxSingletons-1)
	}
	for _, n := range singles {
		if !isFieldName(n) {
			return nil, fmt.Errorf("dkim: SingletonHeaders: bad field name %q", n)
		}
		if !slices.ContainsFunc(v.singles, func(s string) bool { return strings.EqualFold(s, n) }) {
			v.singles = append(v.singles, n)
		}
	}
	var err error
	if v.keys, err = newKeyCache(opts.KeyCacheSize); err != nil {
		return nil, err
	}
	v.scratch.New = func() any { return &scratch{} }
	return v, nil
}

// scratch is the working memory of one verification, pooled.
type scratch struct {
	st   verification
	jobs []bodyJob
	br   *bufio.Reader // for Verify
	hdr  []byte        // the header read by Verify
	h    hash.Hash
	hb   hashBuf
	bc   bodyCanon
	sum  [sha256.Size]byte
	used [8]uint64 // fields already selected for the header hash
	sigs [DefaultMaxSignatures]sigState
}

// sigState is one signature under verification.
type sigState struct {
	res    *Result
	field  int // index of its header field
	sig    signature
	key    *publicKey
	live   bool // still being checked
	body   int  // its body hash job
	b      []byte
	bh     []byte
	bBuf   [MaxRSABits / 8]byte
	bhBuf  [64]byte
	policy bool // passed with a key shorter than MinRSABits
}

// bodyJob computes one body hash: one canonicalization and l= limit.
type bodyJob struct {
	sha1    bool // legacy mode's rsa-sha1
	relaxed bool
	limit   int64
	bc      *bodyCanon
	hb      *hashBuf
	sum     []byte
	sumBuf  [sha256.Size]byte
}

// verification is the state of verifying one message.
type verification struct {
	v       *Verifier
	sc      *scratch
	fields  []mailscore.Field
	results []Result
	sigs    []sigState
	jobs    []bodyJob
}

func (st *verification) fail(s *sigState, status Status, err error) {
	s.live = false
	s.res.Status, s.res.Err = status, err
}

// start parses the signatures of a header and fetches their keys. It
// returns nil for a message without signatures.
//
// sc is the scratch memory to use; it is released by check, or here when
// there is nothing to verify.
func (v *Verifier) start(ctx context.Context, sc *scratch, fields []mailscore.Field) *verification {
	n := 0
	for i := range fields {
		if isSignatureField(fields[i].Name) {
			n++
		}
	}
	st := &sc.st
	*st = verification{v: v, sc: sc, fields: fields, jobs: sc.jobs[:0]}
	if n == 0 {
		st.release()
		return nil
	}
	st.results = make([]Result, n)
	live := min(n, v.maxSigs)
	if live <= len(sc.sigs) {
		st.sigs = sc.sigs[:live]
	} else {
		st.sigs = make([]sigState, live)
	}
	now := v.now()
	k := 0
	for i := range fields {
		if !isSignatureField(fields[i].Name) {
			continue
		}
		r := &st.results[k]
		r.Index = i
		if k >= live {
			// Beyond the cap: report what it claims, verify nothing.
			var sig signature
			_ = parseSignature(fields[i].RawValue(), &sig, r, now, v.skew, v.legacy, nil)
			r.Status, r.Err = StatusNeutral, errorf(ErrTooManySignatures, "signature %d of %d, at most %d are verified", k+1, n, v.maxSigs)
			k++
			continue
		}
		s := &st.sigs[k]
		*s = sigState{res: r, field: i, live: true}
		if err := parseSignature(fields[i].RawValue(), &s.sig, r, now, v.skew, v.legacy, v.singles); err != nil {
			st.fail(s, StatusPermError, err)
		} else if err := s.decode(); err != nil {
			st.fail(s, StatusPermError, err)
		}
		k++
	}
	st.fetchKeys(ctx)
	return st
}

func isSignatureField(name string) bool {
	return len(name) == len("DKIM-Signature") && strings.EqualFold(name, "DKIM-Signature")
}

// decode decodes b= and bh=.
func (s *sigState) decode() error {
	var err error
	if s.b, err = decodeBase64(s.bBuf[:], s.sig.b); err != nil || len(s.b) == 0 {
		if err == nil {
			return newError(ErrSyntax, "b=: empty signature")
		}
		return errorf(ErrSyntax, "b=: %v", err)
	}
	if s.bh, err = decodeBase64(s.bhBuf[:], s.sig.bh); err != nil {
		return errorf(ErrSyntax, "bh=: %v", err)
	}
	return nil
}

// fetchKeys looks up the keys of the live signatures, in parallel when
// there are several, and checks them against their signatures.
func (st *verification) fetchKeys(ctx context.Context) {
	var todo []*sigState
	var one *sigState
	for i := range st.sigs {
		if s := &st.sigs[i]; s.live {
			if one == nil {
				one = s
			} else {
				todo = append(todo, s)
			}
		}
	}
	if one == nil {
		return
	}
	if len(todo) == 0 {
		st.fetchKey(ctx, one)
		return
	}
	var wg sync.WaitGroup
	for _, s := range todo {
		wg.Go(func() { st.fetchKey(ctx, s) })
	}
	st.fetchKey(ctx, one)
	wg.Wait()
}

// fetchKey obtains and checks the key of one signature (RFC 6376 section
// 6.1.2).
func (st *verification) fetchKey(ctx context.Context, s *sigState) {
	v := st.v
	key, err := v.lookupKey(ctx, s.sig.selector, s.sig.domain)
	if err != nil {
		if errors.Is(err, ErrKeyUnavailable) {
			st.fail(s, StatusTempError, err)
		} else {
			st.fail(s, StatusPermError, err)
		}
		return
	}
	if key.err != nil {
		st.fail(s, StatusPermError, key.err)
		return
	}
	r := s.res
	r.KeyBits, r.Testing = key.bits, key.testing
	minBits := MinRSABits
	if v.legacy {
		minBits = 512
	}
	switch {
	case (s.sig.alg == algRSASHA256 || s.sig.alg == algRSASHA1) && key.typ != keyRSA,
		s.sig.alg == algEd25519SHA256 && key.typ != keyEd25519:
		st.fail(s, StatusPermError, errorf(ErrKeyUnsuitable, "%s signature, %s key", r.Algorithm, key.typ))
	case s.sig.alg == algRSASHA1 && !key.sha1:
		st.fail(s, StatusPermError, newError(ErrKeyUnsuitable, "key h= does not allow sha1"))
	case s.sig.alg != algRSASHA1 && !key.sha256:
		st.fail(s, StatusPermError, newError(ErrKeyUnsuitable, "key h= does not allow sha256"))
	case !key.email:
		st.fail(s, StatusPermError, newError(ErrKeyUnsuitable, "key s= does not allow email"))
	case key.strict && r.Identity != "" && !strings.EqualFold(r.Identity[strings.LastIndexByte(r.Identity, '@')+1:], s.sig.domain):
		st.fail(s, StatusPermError, errorf(ErrIdentityMismatch, "key has t=s and i=%s is not in d=%s exactly", r.Identity, s.sig.domain))
	case key.typ == keyRSA && key.bits < minBits:
		st.fail(s, StatusPermError, errorf(ErrKeyTooShort, "%d-bit RSA key, RFC 8301 requires at least %d", key.bits, MinRSABits))
	default:
		s.key = key
		s.policy = key.typ == keyRSA && key.bits < v.minRSA && !v.legacy
	}
}

func (t keyType) String() string {
	switch t {
	case keyRSA:
		return "rsa"
	case keyEd25519:
		return "ed25519"
	}
	return "unknown"
}

// lookupKey fetches and parses the key record at selector._domainkey.domain
// (RFC 6376 section 3.6.2). Errors match ErrKeyNotFound or
// ErrKeyUnavailable (and the dnsutil error); a record that does not parse
// is returned with its err set.
func (v *Verifier) lookupKey(ctx context.Context, selector, domain string) (*publicKey, error) {
	name, err := keyName(selector, domain)
	if err != nil {
		return nil, errorf(ErrKeyNotFound, "%v", err)
	}
	txts, err := dnsutil.LookupTXT(ctx, v.opts.Resolver, name)
	if err != nil {
		if dnsutil.IsTemporary(err) {
			return nil, errorf(ErrKeyUnavailable, "%w", err)
		}
		return nil, errorf(ErrKeyNotFound, "%w", err)
	}
	if len(txts) == 0 {
		return nil, errorf(ErrKeyNotFound, "no TXT record at %s", name)
	}
	// Several records: use the first that is a usable key (RFC 6376
	// section 6.1.2 leaves the choice to the verifier).
	var first *publicKey
	for _, t := range txts[:min(len(txts), 8)] {
		k := v.keys.get(t)
		if k.err == nil {
			return k, nil
		}
		if first == nil {
			first = k
		}
	}
	return first, nil
}

// keyName returns the absolute, lower-case DNS name of a key:
// selector._domainkey.domain. (RFC 6376 section 3.6.2.1), with U-labels
// converted to A-labels (RFC 8616 section 4).
func keyName(selector, domain string) (string, error) {
	if !isASCII(selector) || !isASCII(domain) {
		var err error
		if selector, err = idna.Lookup.ToASCII(selector); err != nil {
			return "", fmt.Errorf("s=%s: %v", selector, err)
		}
		if domain, err = idna.Lookup.ToASCII(domain); err != nil {
			return "", fmt.Errorf("d=%s: %v", domain, err)
		}
	}
	const infix = "._domainkey."
	n := len(selector) + len(infix) + len(domain) + 1
	if n > 254 {
		return "", fmt.Errorf("key name %s%s%s is too long", selector, infix, domain)
	}
	var b strings.Builder
	b.Grow(n)
	for i := 0; i < len(selector); i++ {
		b.WriteByte(lower(selector[i]))
	}
	b.WriteString(infix)
	for i := 0; i < len(domain); i++ {
		b.WriteByte(lower(domain[i]))
	}
	b.WriteByte('.')
	return b.String(), nil
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// plan sets up the body hashes the live signatures need, one per distinct
// canonicalization and l=.
func (st *verification) plan() {
	for i := range st.sigs {
		s := &st.sigs[i]
		if !s.live {
			continue
		}
		limit := int64(-1)
		if s.sig.hasL {
			limit = s.sig.l
		}
		sha1 := s.sig.alg == algRSASHA1
		j := slices.IndexFunc(st.jobs, func(b bodyJob) bool {
			return b.relaxed == s.sig.relaxedBody && b.limit == limit && b.sha1 == sha1
		})
		if j < 0 {
			j = len(st.jobs)
			var job bodyJob
			job.relaxed, job.limit, job.sha1 = s.sig.relaxedBody, limit, sha1
			switch {
			case sha1:
				job.hb, job.bc = &hashBuf{h: legacySHA1()}, &bodyCanon{}
			case j == 0:
				if st.sc.h == nil {
					st.sc.h = sha256.New()
				}
				st.sc.h.Reset()
				st.sc.hb.h, st.sc.hb.n = st.sc.h, 0
				job.hb, job.bc = &st.sc.hb, &st.sc.bc
			default:
				job.hb, job.bc = &hashBuf{h: sha256.New()}, &bodyCanon{}
			}
			job.bc.reset(job.hb, job.relaxed, limit)
			st.jobs = append(st.jobs, job)
		}
		s.body = j
	}
}

// Write feeds body octets to every body hash.
func (st *verification) Write(p []byte) (int, error) {
	for i := range st.jobs {
		st.jobs[i].bc.Write(p)
	}
	return len(p), nil
}

// check finishes the body hashes and checks every live signature (RFC 6376
// section 6.1.3), then releases the scratch memory.
func (st *verification) check(ctx context.Context) []Result {
	for i := range st.jobs {
		j := &st.jobs[i]
		j.bc.finish()
		j.sum = j.hb.h.Sum(j.sumBuf[:0])
	}
	sc := st.sc
	for i := range st.sigs {
		s := &st.sigs[i]
		if !s.live {
			continue
		}
		job := &st.jobs[s.body]
		r := s.res
		if s.sig.hasL {
			r.BodyLength.Canonical = job.bc.total
			if job.bc.total < s.sig.l {
				st.fail(s, StatusFail, errorf(ErrBodyHashMismatch, "canonical body of %d octets is shorter than l=%d", job.bc.total, s.sig.l))
				continue
			}
		}
		if !bytes.Equal(job.sum, s.bh) {
			st.fail(s, StatusFail, newError(ErrBodyHashMismatch, ""))
			continue
		}
		// Header hash, reusing the first body hash's state (its sum is
		// taken).
		hashAlg, hh := crypto.SHA256, sc.h
		if s.sig.alg == algRSASHA1 {
			hashAlg, hh = crypto.SHA1, legacySHA1()
		}
		hh.Reset()
		sc.hb.h, sc.hb.n = hh, 0
		st.hashHeader(s, &sc.hb)
		sc.hb.flush()
		digest := hh.Sum(sc.sum[:0])
		var ok bool
		switch s.key.typ {
		case keyRSA:
			ok = rsa.VerifyPKCS1v15(s.key.rsa, hashAlg, digest, s.b) == nil
		case keyEd25519:
			ok = ed25519.Verify(s.key.ed, digest, s.b)
		}
		if !ok {
			st.fail(s, StatusFail, newError(ErrSignatureMismatch, ""))
			continue
		}
		if name, bad := st.v.undersigned(st.fields, &s.sig); bad {
			st.fail(s, StatusFail, errorf(ErrHeaderNotSigned, "%d %s fields, h= signs %d", countFields(st.fields, name), name, countNames(s.sig.h, name)))
			continue
		}
		if s.policy {
			st.fail(s, StatusPolicy, errorf(ErrKeyTooShort, "%d-bit RSA key, local policy requires %d", s.key.bits, st.v.minRSA))
			continue
		}
		r.Status = StatusPass
		s.live = false
	}
	results := st.results
	st.release()
	return results
}

// legacySHA1 returns a SHA-1 hash, for the tests' legacy mode only.
func legacySHA1() hash.Hash { return sha1.New() }

// release returns the scratch memory to the pool, keeping its buffers.
func (st *verification) release() {
	sc := st.sc
	if sc == nil {
		return
	}
	for i := range sc.sigs {
		sc.sigs[i].res, sc.sigs[i].key = nil, nil
	}
	if cap(st.jobs) > 0 {
		clear(st.jobs[:cap(st.jobs)])
		sc.jobs = st.jobs[:0]
	}
	sc.hb.h = nil
	sc.bc = bodyCanon{}
	if sc.br != nil {
		sc.br.Reset(nil)
	}
	if cap(sc.hdr) > 64<<10 {
		sc.hdr = nil // do not keep a huge header's buffer
	}
	v := st.v
	sc.st = verification{} // st is &sc.st
	v.scratch.Put(sc)
}

// hashHeader hashes the header fields h= names, then the signature field
// itself with b= empty and no final line break (RFC 6376 section 3.7).
func (st *verification) hashHeader(s *sigState, w *hashBuf) {
	fields := st.fields
	relaxed := s.sig.relaxedHeader
	hashSignedFields(w, fields, s.sig.h, relaxed, s.field, st.sc.used[:])
	f := &fields[s.field]
	off := bytes.IndexByte(f.Raw, ':') + 1
	head, tail := f.Raw[:off+s.sig.bStart], f.Raw[off+s.sig.bEnd:]
	if relaxed {
		writeRelaxedName(w, f.Name)
		rv := relaxedValue{w: w}
		rv.write(head[off:])
		rv.write(tail)
	} else {
		writeSimpleHeader(w, head, false)
		writeSimpleHeader(w, tail, false)
	}
}

// hashSignedFields hashes the header fields h names, each instance taken
// from the bottom up (RFC 6376 section 5.4.2); a name with no instance left
// contributes nothing (section 5.4). The field at index self (the signature
// being verified; -1 for none) is never selected. used is scratch space.
func hashSignedFields(w *hashBuf, fields []mailscore.Field, h string, relaxed bool, self int, used []uint64) {
	if n := (len(fields) + 63) / 64; n > len(used) {
		used = make([]uint64, n)
	} else {
		used = used[:n]
		clear(used)
	}
	if self >= 0 {
		used[self/64] |= 1 << (self % 64)
	}
	for h != "" {
		var name string
		name, h = nextItem(h)
		for j := len(fields) - 1; j >= 0; j-- {
			if used[j/64]&(1<<(j%64)) != 0 {
				continue
			}
			f := &fields[j]
			if len(f.Name) != len(name) || !strings.EqualFold(f.Name, name) {
				continue
			}
			used[j/64] |= 1 << (j % 64)
			if relaxed {
				writeRelaxedHeader(w, f.Name, f.Raw[bytes.IndexByte(f.Raw, ':')+1:], true)
			} else {
				writeSimpleHeader(w, f.Raw, true)
			}
			break
		}
	}
}

// undersigned reports the first of the singleton header fields that h=
// signs but fewer times than the message has it.
func (v *Verifier) undersigned(fields []mailscore.Field, sig *signature) (string, bool) {
	var present [maxSingletons]int
	for j := range fields {
		f := fields[j].Name
		for i, name := range v.singles {
			if sig.signed[i] > 0 && len(f) == len(name) && strings.EqualFold(f, name) {
				present[i]++
			}
		}
	}
	for i, name := range v.singles {
		if present[i] > int(sig.signed[i]) && sig.signed[i] > 0 {
			return name, true
		}
	}
	return "", false
}

func countNames(h, name string) int {
	n := 0
	for h != "" {
		var e string
		e, h = nextItem(h)
		if len(e) == len(name) && strings.EqualFold(e, name) {
			n++
		}
	}
	return n
}

func countFields(fields []mailscore.Field, name string) int {
	n := 0
	for i := range fields {
		if len(fields[i].Name) == len(name) && strings.EqualFold(fields[i].Name, name) {
			n++
		}
	}
	return n
}

// VerifyMessage verifies every DKIM-Signature of a parsed message, in header
// order, one Result each; none when the message is unsigned.
func (v *Verifier) VerifyMessage(ctx context.Context, msg *mailscore.Message) []Result {
	st := v.start(ctx, v.scratch.Get().(*scratch), msg.Header.Fields())
	if st == nil {
		return nil
	}
	st.plan()
	if len(st.jobs) > 0 {
		st.Write(msg.Body())
	}
	return st.check(ctx)
}

// Verify reads a message (RFC 5322, CRLF or bare LF line endings) and
// verifies every DKIM-Signature in it, in header order. The body is hashed
// as it streams and never held in memory. The error is non-nil only when
// the message could not be read or exceeds Options.Limits; a message without
// signatures gives no results and no error (RFC 8601 "none").
func (v *Verifier) Verify(ctx context.Context, r io.Reader) ([]Result, error) {
	maxSize := limitOr(v.opts.Limits.MaxSize, mailscore.DefaultMaxSize)
	maxHeader := limitOr(v.opts.Limits.MaxHeaderSize, mailscore.DefaultMaxHeaderSize)
	sc := v.scratch.Get().(*scratch)
	if sc.br == nil {
		sc.br = bufio.NewReaderSize(r, 4096)
	} else {
		sc.br.Reset(r)
	}
	hdr, err := readHeader(sc.br, sc.hdr[:0], maxHeader)
	sc.hdr = hdr
	var msg *mailscore.Message
	if err == nil {
		msg, err = mailscore.NewMessage(mailscore.Envelope{}, hdr, v.opts.Limits)
	}
	if err != nil {
		sc.st.sc, sc.st.v = sc, v
		sc.st.release()
		return nil, err
	}
	st := v.start(ctx, sc, msg.Header.Fields())
	if st == nil {
		return nil, nil
	}
	st.plan()
	if len(st.jobs) > 0 {
		body := limitWriter{w: st, n: int64(len(hdr)), max: int64(maxSize)}
		_, _ = body.Write(msg.Body()) // body octets read with the header, if any
		if _, err := sc.br.WriteTo(&body); err != nil {
			st.release()
			if body.err != nil {
				return nil, body.err
			}
			return nil, fmt.Errorf("dkim: reading message: %w", err)
		}
	}
	return st.check(ctx), nil
}

// limitWriter passes writes on until max octets in all have been seen.
type limitWriter struct {
	w      io.Writer
	n, max int64
	err    error
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n += int64(len(p)); l.n > l.max {
		l.err = &mailscore.LimitError{Kind: mailscore.ErrMessageTooLarge, Limit: int(l.max), Offset: int(l.max)}
		return 0, l.err
	}
	return l.w.Write(p)
}

func limitOr(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return int(^uint(0) >> 1)
	}
	return v
}

// readHeader reads the header section and the blank line after it (or
// everything, if there is none) into hdr, refusing more than max octets.
func readHeader(br *bufio.Reader, hdr []byte, max int) ([]byte, error) {
	for {
		line, err := br.ReadSlice('\n')
		if len(hdr)+len(line) > max {
			return hdr, &mailscore.LimitError{Kind: mailscore.ErrHeaderTooLarge, Limit: max, Offset: max}
		}
		if hdr == nil {
			hdr = make([]byte, 0, 4096)
		}
		hdr = append(hdr, line...)
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			return hdr, nil
		case err != nil:
			return hdr, fmt.Errorf("dkim: reading message: %w", err)
		}
		if n := len(line); n == 1 || n == 2 && line[0] == '\r' {
			// A blank line, unless it is the tail of a long line.
			if n == len(hdr) || hdr[len(hdr)-n-1] == '\n' {
				return hdr, nil
			}
		}
	}
}

// Verify is the shortest use: it verifies the message read from r with a
// Verifier with default options using resolver. A program verifying many
// messages should keep one Verifier, for its key cache.
func Verify(ctx context.Context, resolver dnsutil.Resolver, r io.Reader) ([]Result, error) {
	v, err := NewVerifier(Options{Resolver: resolver})
	if err != nil {
		return nil, err
	}
	return v.Verify(ctx, r)
}
