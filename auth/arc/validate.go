package arc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
	"time"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/auth/authres"
	"github.com/mailscore/mailscore/auth/dkim"
	"github.com/mailscore/mailscore/dnsutil"
)

// Options configure a Validator. Only Resolver is required; the zero value
// of every other field means the default given.
type Options struct {
	// Resolver fetches the keys (TXT at selector._domainkey.domain).
	// Required.
	Resolver dnsutil.Resolver
	// Now is the clock for t= and x=; nil means time.Now.
	Now func() time.Time
	// ClockSkew is how far in the future t= may be, and how far past x=
	// an ARC-Message-Signature still counts; default 5 minutes
	// (dkim.DefaultClockSkew), negative for none. Old signatures are never
	// refused for their age: only x= expires an AMS.
	ClockSkew time.Duration
	// MinRSABits is the smallest RSA key accepted; keys under 1024 bits
	// always fail (RFC 8301). Default 1024.
	MinRSABits int
	// MaxSets is the longest chain validated, from 1 to MaxInstance
	// (50); a longer chain fails with ErrTooManySets. Default
	// DefaultMaxSets (10): real chains have a few sets, and each set costs
	// two signature checks and a hash over all older sets.
	MaxSets int
	// SkipOldestPass leaves the older ARC-Message-Signatures unchecked, so
	// Result.OldestPass stays 0 (RFC 8617 section 5.2 step 6 is optional):
	// one body hash and signature check per set less.
	SkipOldestPass bool
	// KeyCacheSize is how many parsed keys are kept, by record text;
	// default 1024, negative to disable.
	KeyCacheSize int
}

// Validator validates Authenticated Received Chains (RFC 8617 section
// 5.2). It is safe for concurrent use; create one and share it, so its key
// cache is shared too.
type Validator struct {
	opts    Options
	keys    *dkim.Verifier
	now     func() time.Time
	skew    time.Duration
	minRSA  int
	maxSets int
	scratch sync.Pool // *scratch
}

// NewValidator returns a Validator. It fails when opts.Resolver is nil or
// an option is out of range.
func NewValidator(opts Options) (*Validator, error) {
	if opts.Resolver == nil {
		return nil, errors.New("arc: Options.Resolver is required")
	}
	if opts.MaxSets < 0 || opts.MaxSets > MaxInstance {
		return nil, fmt.Errorf("arc: MaxSets %d is outside 0..%d", opts.MaxSets, MaxInstance)
	}
	if opts.MinRSABits > dkim.MaxRSABits {
		return nil, fmt.Errorf("arc: MinRSABits %d exceeds the largest key accepted (%d)", opts.MinRSABits, dkim.MaxRSABits)
	}
	keys, err := dkim.NewVerifier(dkim.Options{Resolver: opts.Resolver, KeyCacheSize: opts.KeyCacheSize})
	if err != nil {
		return nil, fmt.Errorf("arc: %w", err)
	}
	v := &Validator{opts: opts, keys: keys, now: opts.Now, skew: opts.ClockSkew,
		minRSA: max(opts.MinRSABits, dkim.MinRSABits), maxSets: opts.MaxSets}
	if v.now == nil {
		v.now = time.Now
	}
	switch {
	case v.skew == 0:
		v.skew = dkim.DefaultClockSkew
	case v.skew < 0:
		v.skew = 0
	}
	if v.maxSets == 0 {
		v.maxSets = DefaultMaxSets
	}
	v.scratch.New = func() any { return &scratch{h: sha256.New()} }
	return v, nil
}

// Validate is the shortest use: it validates the chain of msg with a
// Validator with default options. A program validating many messages
// should keep one Validator, for its key cache.
func Validate(ctx context.Context, resolver dnsutil.Resolver, msg *mailscore.Message) (*Result, error) {
	v, err := NewValidator(Options{Resolver: resolver})
	if err != nil {
		return nil, err
	}
	return v.Validate(ctx, msg), nil
}

// Present reports whether msg has any ARC header field.
func Present(msg *mailscore.Message) bool {
	for _, f := range msg.Header.Fields() {
		if kindOf(f.Name) != kindNone {
			return true
		}
	}
	return false
}

// scratch is the pooled working memory of one validation.
type scratch struct {
	hh  dkim.HeaderHasher
	bh  dkim.BodyHasher
	h   hash.Hash
	sum [sha256.Size]byte
}

// slot holds the header fields of one instance while the chain is put
// together: field indexes plus one (0: none).
type slot struct {
	aar, ams, seal int
	payload        string
	amsTags        tagSet
	sealTags       tagSet
	cv             Status
}

// chain is the state of one validation.
type chain struct {
	v      *Validator
	msg    *mailscore.Message
	fields []mailscore.Field
	slots  []slot // by instance; slots[0] unused
	res    *Result
	now    time.Time
	ams    []*amsSig    // by instance; nil when not parsed or malformed
	seals  []*sigCommon // by instance
	keys   []keyJob
}

type keyJob struct {
	selector, domain string
	key              *dkim.PublicKey
	err              error
}

func (c *chain) fail(kind error, inst int, field string, err error) *Result {
	c.res.Status = StatusFail
	c.res.Err = &Error{Kind: kind, Instance: inst, Field: field, Err: err}
	c.res.Failed = inst
	c.res.Sets = nil
	return c.res
}

// Validate validates the Authenticated Received Chain of msg (RFC 8617
// section 5.2) and returns the result: none without ARC header fields,
// else pass, fail or temperror, with every ARC Set and what became of its
// signatures. It never returns nil.
func (v *Validator) Validate(ctx context.Context, msg *mailscore.Message) *Result {
	c := &chain{v: v, msg: msg, fields: msg.Header.Fields(), res: &Result{Status: StatusNone}, now: v.now()}
	if r := c.collect(); r != nil {
		return r // no ARC, or a chain that fails its structure
	}
	c.parseSignatures()
	c.fetchKeys(ctx)
	sc := v.scratch.Get().(*scratch)
	defer v.scratch.Put(sc)
	c.checkMessageSignatures(sc)
	c.checkSeals(sc)
	return c.decide()
}

// collect gathers the ARC header fields by instance and checks the
// structure of the chain (RFC 8617 section 5.2 steps 1 to 3). It returns
// a result when the chain fails here; c.res.Instance is 0 without ARC.
func (c *chain) collect() *Result {
	n := 0
	maxInst := 0
	for idx := range c.fields {
		f := &c.fields[idx]
		k := kindOf(f.Name)
		if k == kindNone {
			continue
		}
		if c.slots == nil {
			c.slots = make([]slot, MaxInstance+1)
		}
		// At most 3 x MaxInstance fields get this far: the next one is a
		// duplicate or malformed, and fails the chain.
		n++
		var inst int
		var err error
		var ts tagSet
		var payload string
		switch k {
		case kindAAR:
			inst, payload, err = parseAAR(f.RawValue())
		default:
			ts, err = parseTagged(f.RawValue())
			inst = ts.instance
		}
		if err != nil {
			return c.fail(ErrStructure, 0, k.String(), prefixed(fmt.Sprintf("header field %d: ", idx+1), err))
		}
		s := &c.slots[inst]
		var dst *int
		switch k {
		case kindAAR:
			dst = &s.aar
			s.payload = payload
		case kindAMS:
			dst = &s.ams
			s.amsTags = ts
		case kindSeal:
			dst = &s.seal
			s.sealTags = ts
			cv, err := parseCV(&ts)
			if err != nil {
				return c.fail(ErrStructure, inst, k.String(), err)
			}
			s.cv = cv
		}
		if *dst != 0 {
			return c.fail(ErrStructure, inst, k.String(), errors.New("two fields with this instance"))
		}
		*dst = idx + 1
		maxInst = max(maxInst, inst)
	}
	if n == 0 {
		return c.res
	}
	c.res.Instance = maxInst
	N := maxInst
	c.slots = c.slots[:N+1]
	// Step 1: the number of sets (MaxInstance is enforced by the
	// instance syntax).
	if N > c.v.maxSets {
		return c.fail(ErrTooManySets, N, "", fmt.Errorf("a chain of %d ARC Sets exceeds the limit of %d", N, c.v.maxSets))
	}
	// Step 2: a chain that an intermediary already found broken.
	if s := &c.slots[N]; s.seal != 0 && s.cv == StatusFail {
		return c.fail(ErrChainEnded, N, FieldSeal, nil)
	}
	// Step 3: each set complete, instances 1..N without gaps (duplicates
	// were refused above), cv=none at i=1 and cv=pass above.
	for i := 1; i <= N; i++ {
		s := &c.slots[i]
		switch {
		case s.aar == 0:
			return c.fail(ErrStructure, i, FieldAAR, errors.New("missing"))
		case s.ams == 0:
			return c.fail(ErrStructure, i, FieldAMS, errors.New("missing"))
		case s.seal == 0:
			return c.fail(ErrStructure, i, FieldSeal, errors.New("missing"))
		case i == 1 && s.cv != StatusNone:
			return c.fail(ErrStructure, i, FieldSeal, fmt.Errorf("cv=%s, the first set must have cv=none", s.cv))
		case i > 1 && s.cv != StatusPass:
			return c.fail(ErrStructure, i, FieldSeal, fmt.Errorf("cv=%s, a later set must have cv=pass", s.cv))
		}
	}
	c.res.Sets = make([]Set, N)
	for i := 1; i <= N; i++ {
		set := &c.res.Sets[i-1]
		set.Instance, set.CV = i, c.slots[i].cv
		set.AAR = parsePayload(c.slots[i].payload)
	}
	return nil
}

// parsePayload unfolds and parses an AAR's authres-payload.
func parsePayload(p string) AuthResults {
	p = squashWSP(p)
	ar := AuthResults{Payload: p}
	ar.Header, ar.Err = authres.Parse(p)
	return ar
}

// unfold removes line breaks (RFC 5322 section 2.2.3) and trims white space.
func unfold(s string) string {
	if strings.IndexByte(s, '\n') >= 0 || strings.IndexByte(s, '\r') >= 0 {
		b := make([]byte, 0, len(s))
		for i := 0; i < len(s); i++ {
			if c := s[i]; c != '\r' && c != '\n' {
				b = append(b, c)
			}
		}
		s = string(b)
	}
	return strings.Trim(s, " \t")
}

// squashWSP unfolds s and reduces each run of spaces and tabs outside
// quoted strings to one space: the same text for RFC 8601 and for relaxed
// canonicalization, plainer to read.
func squashWSP(s string) string {
	s = unfold(s)
	var b strings.Builder
	b.Grow(len(s))
	quoted, space := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !quoted && (c == ' ' || c == '\t') {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		switch {
		case c == '\\' && quoted && i+1 < len(s):
			b.WriteByte(c)
			i++
			c = s[i]
		case c == '"':
			quoted = !quoted
		}
		b.WriteByte(c)
	}
	return b.String()
}

// parseSignatures checks the tags of the signatures to validate: the
// newest AMS (and the older ones unless SkipOldestPass) and every seal.
func (c *chain) parseSignatures() {
	N := c.res.Instance
	c.ams = make([]*amsSig, N+1)
	c.seals = make([]*sigCommon, N+1)
	for i := N; i >= 1; i-- {
		set := &c.res.Sets[i-1]
		s := &c.slots[i]
		if i == N || !c.v.opts.SkipOldestPass {
			a, err := parseAMS(&s.amsTags, &set.AMS, c.now, c.v.skew)
			if err != nil {
				set.AMS.Status, set.AMS.Err = StatusFail, err
			} else {
				c.ams[i] = a
				c.needKey(a.selector, a.domain)
			}
		}
		seal, err := parseSeal(&s.sealTags, &set.Seal, c.now, c.v.skew)
		if err != nil {
			set.Seal.Status, set.Seal.Err = StatusFail, err
		} else {
			c.seals[i] = seal
			c.needKey(seal.selector, seal.domain)
		}
	}
}

func (c *chain) needKey(selector, domain string) {
	for _, k := range c.keys {
		if k.domain == domain && strings.EqualFold(k.selector, selector) {
			return
		}
	}
	c.keys = append(c.keys, keyJob{selector: selector, domain: domain})
}

func (c *chain) key(selector, domain string) *keyJob {
	for i := range c.keys {
		if k := &c.keys[i]; k.domain == domain && strings.EqualFold(k.selector, selector) {
			return k
		}
	}
	return nil
}

// fetchKeys fetches the keys, side by side when there are several.
func (c *chain) fetchKeys(ctx context.Context) {
	fetch := func(k *keyJob) { k.key, k.err = c.v.keys.LookupKey(ctx, k.selector, k.domain) }
	if len(c.keys) == 0 {
		return
	}
	var wg sync.WaitGroup
	for i := 1; i < len(c.keys); i++ {
		k := &c.keys[i]
		wg.Go(func() { fetch(k) })
	}
	fetch(&c.keys[0])
	wg.Wait()
}

// useKey returns the key for a signature, or records why there is none.
func (c *chain) useKey(sig *Signature, selector, domain string) *dkim.PublicKey {
	k := c.key(selector, domain)
	if k.err != nil {
		sig.Status, sig.Err = StatusFail, k.err
		if errors.Is(k.err, dkim.ErrKeyUnavailable) {
			sig.Status = StatusTempError
		}
		return nil
	}
	sig.KeyBits = k.key.Bits()
	if k.key.Type() == "rsa" && k.key.Bits() < c.v.minRSA {
		why := "local policy requires"
		if k.key.Bits() < dkim.MinRSABits {
			why = "RFC 8301 requires at least"
		}
		sig.Status, sig.Err = StatusFail, fmt.Errorf("%w: %d-bit RSA key, %s %d", dkim.ErrKeyTooShort, k.key.Bits(), why, c.v.minRSA)
		return nil
	}
	return k.key
}

// checkMessageSignatures validates the AMSs that parsed: the newest
// decides the chain (RFC 8617 section 5.2 step 4); the older ones, from
// the newest down to the first that fails, give the oldest-pass (steps 5
// and 6).
func (c *chain) checkMessageSignatures(sc *scratch) {
	N := c.res.Instance
	type bodyJob struct {
		canon dkim.Canonicalization
		limit int64
		sum   []byte
		len   int64
	}
	var jobs []bodyJob
	jobOf := func(a *amsSig) int {
		limit := int64(-1)
		if a.hasL {
			limit = a.l
		}
		for j := range jobs {
			if jobs[j].canon == a.bodyCanon && jobs[j].limit == limit {
				return j
			}
		}
		jobs = append(jobs, bodyJob{canon: a.bodyCanon, limit: limit})
		return len(jobs) - 1
	}
	keys := make([]*dkim.PublicKey, N+1)
	for i := N; i >= 1; i-- {
		if a := c.ams[i]; a != nil {
			if keys[i] = c.useKey(&c.res.Sets[i-1].AMS, a.selector, a.domain); keys[i] != nil {
				jobOf(a)
			}
		}
	}
	body := c.msg.Body()
	for j := range jobs {
		sc.bh.Reset(sc.h, jobs[j].canon, jobs[j].limit)
		_, _ = sc.bh.Write(body)
		jobs[j].sum = sc.bh.Sum(nil)
		jobs[j].len = sc.bh.Len()
	}
	for i := N; i >= 1; i-- {
		a, key := c.ams[i], keys[i]
		if a == nil || key == nil {
			continue
		}
		sig := &c.res.Sets[i-1].AMS
		job := &jobs[jobOf(a)]
		switch {
		case a.hasL && job.len < a.l:
			sig.Status, sig.Err = StatusFail, fmt.Errorf("%w: canonical body of %d octets is shorter than l=%d", dkim.ErrBodyHashMismatch, job.len, a.l)
			continue
		case !bytes.Equal(job.sum, a.bh):
			sig.Status, sig.Err = StatusFail, dkim.ErrBodyHashMismatch
			continue
		}
		self := c.slots[i].ams - 1
		sc.hh.Reset(sc.h)
		sc.hh.WriteSelected(c.fields, a.h, a.headerCanon, self)
		sc.hh.WriteSignature(c.fields[self].Raw, a.bStart, a.bEnd, a.headerCanon)
		if err := key.Verify(a.alg, sc.hh.Sum(sc.sum[:0]), a.b); err != nil {
			sig.Status, sig.Err = StatusFail, err
			continue
		}
		sig.Status = StatusPass
	}
}

// checkSeals validates every AS, the newest first (RFC 8617 section 5.2
// step 7). AS(i) signs the ARC Sets 1 to i, each in the order AAR, AMS, AS,
// with relaxed header canonicalization and its own b= empty (section
// 5.1.1).
func (c *chain) checkSeals(sc *scratch) {
	for i := c.res.Instance; i >= 1; i-- {
		seal := c.seals[i]
		if seal == nil {
			continue
		}
		sig := &c.res.Sets[i-1].Seal
		key := c.useKey(sig, seal.selector, seal.domain)
		if key == nil {
			continue
		}
		sc.hh.Reset(sc.h)
		for j := 1; j <= i; j++ {
			s := &c.slots[j]
			sc.hh.WriteField(c.fields[s.aar-1].Raw, dkim.Relaxed)
			sc.hh.WriteField(c.fields[s.ams-1].Raw, dkim.Relaxed)
			if j < i {
				sc.hh.WriteField(c.fields[s.seal-1].Raw, dkim.Relaxed)
			}
		}
		sc.hh.WriteSignature(c.fields[c.slots[i].seal-1].Raw, seal.bStart, seal.bEnd, dkim.Relaxed)
		if err := key.Verify(seal.alg, sc.hh.Sum(sc.sum[:0]), seal.b); err != nil {
			sig.Status, sig.Err = StatusFail, err
			continue
		}
		sig.Status = StatusPass
	}
}

// decide sets the chain's status from its signatures, in the order of RFC
// 8617 section 5.2: the newest AMS (step 4), then the seals, newest first
// (step 7). A definite failure anywhere beats a temporary one; a temporary
// one leaves the chain unknown.
func (c *chain) decide() *Result {
	N := c.res.Instance
	newest := &c.res.Sets[N-1]
	var temp *Error
	switch newest.AMS.Status {
	case StatusFail:
		return c.failSig(ErrMessageSignature, N, FieldAMS, newest.AMS.Err)
	case StatusTempError:
		temp = &Error{Kind: ErrMessageSignature, Instance: N, Field: FieldAMS, Err: newest.AMS.Err}
	}
	for i := N; i >= 1; i-- {
		seal := &c.res.Sets[i-1].Seal
		switch seal.Status {
		case StatusFail:
			return c.failSig(ErrSeal, i, FieldSeal, seal.Err)
		case StatusTempError:
			if temp == nil {
				temp = &Error{Kind: ErrSeal, Instance: i, Field: FieldSeal, Err: seal.Err}
			}
		}
	}
	if temp != nil {
		c.res.Status, c.res.Err, c.res.Failed = StatusTempError, temp, temp.Instance
		return c.res
	}
	c.res.Status = StatusPass
	if !c.v.opts.SkipOldestPass {
		for i := N - 1; i >= 1; i-- {
			if c.res.Sets[i-1].AMS.Status != StatusPass {
				c.res.OldestPass = i + 1
				break
			}
		}
	}
	return c.res
}

// failSig fails the chain because of one signature, keeping the sets so
// that the caller can see every signature's outcome.
func (c *chain) failSig(kind error, inst int, field string, err error) *Result {
	c.res.Status = StatusFail
	c.res.Err = &Error{Kind: kind, Instance: inst, Field: field, Err: err}
	c.res.Failed = inst
	return c.res
}
