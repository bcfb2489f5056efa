package arc

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/auth/authres"
	"github.com/mailscore/mailscore/auth/dkim"
)

// DefaultSignedHeaders returns the header fields an ARC-Message-Signature
// signs by default when present: dkim.DefaultSignedHeaders() and the
// DKIM-Signature fields already on the message.
func DefaultSignedHeaders() []string {
	return append(dkim.DefaultSignedHeaders(), "DKIM-Signature")
}

// SealOptions configure a Sealer.
type SealOptions struct {
	// Domain is d= of the ARC-Message-Signature and the ARC-Seal.
	// Required.
	Domain string
	// Selector is s=. Required.
	Selector string
	// Key is the private key: *rsa.PrivateKey (rsa-sha256, 1024 to 8192
	// bits, RFC 8301) or ed25519.PrivateKey (ed25519-sha256, RFC 8463),
	// or another crypto.Signer whose Public() is one of those.
	Key crypto.Signer
	// Headers are the fields the ARC-Message-Signature signs when
	// present, in this order; From is always signed. nil means
	// DefaultSignedHeaders. Authentication-Results and the ARC fields
	// cannot be signed (RFC 8617 section 4.1.2).
	Headers []string
	// Oversign are the fields signed once more than they occur, so that
	// adding one breaks the signature (RFC 6376 section 8.15). nil means
	// dkim.DefaultOversignedHeaders(); an empty non-nil slice turns it off.
	Oversign []string
	// HeaderCanonicalization and BodyCanonicalization are the AMS c=;
	// both default to relaxed. (The ARC-Seal is always relaxed, RFC 8617
	// section 4.1.3.)
	HeaderCanonicalization dkim.Canonicalization
	BodyCanonicalization   dkim.Canonicalization
	// Now is the clock for t=; nil means time.Now.
	Now func() time.Time
	// NoTimestamp leaves t= out.
	NoTimestamp bool
}

// Sealer adds ARC Sets to messages (RFC 8617 section 5.1). It is safe for
// concurrent use.
type Sealer struct {
	opts     SealOptions
	alg      string
	headers  []string
	oversign []string
	now      func() time.Time
}

// NewSealer checks opts and returns a Sealer.
func NewSealer(opts SealOptions) (*Sealer, error) {
	s := &Sealer{opts: opts, now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	s.opts.Domain = strings.ToLower(strings.TrimSuffix(opts.Domain, "."))
	if err := dkim.CheckDomainName(s.opts.Domain); err != nil {
		return nil, fmt.Errorf("arc: Domain: %w", err)
	}
	if err := dkim.CheckDomainName(opts.Selector); err != nil {
		return nil, fmt.Errorf("arc: Selector: %w", err)
	}
	if opts.Key == nil {
		return nil, errors.New("arc: SealOptions.Key is required")
	}
	switch pub := opts.Key.Public().(type) {
	case *rsa.PublicKey:
		if bits := pub.N.BitLen(); bits < dkim.MinRSABits || bits > dkim.MaxRSABits {
			return nil, fmt.Errorf("arc: %d-bit RSA key: RFC 8301 needs %d to %d bits", bits, dkim.MinRSABits, dkim.MaxRSABits)
		}
		s.alg = "rsa-sha256"
	case ed25519.PublicKey:
		s.alg = "ed25519-sha256"
	default:
		return nil, fmt.Errorf("arc: unsupported key type %T (want RSA or Ed25519)", pub)
	}
	for _, c := range []*dkim.Canonicalization{&s.opts.HeaderCanonicalization, &s.opts.BodyCanonicalization} {
		switch *c {
		case "":
			*c = dkim.Relaxed
		case dkim.Simple, dkim.Relaxed:
		default:
			return nil, fmt.Errorf("arc: unknown canonicalization %q", string(*c))
		}
	}
	headers := opts.Headers
	if headers == nil {
		headers = DefaultSignedHeaders()
	}
	for _, h := range headers {
		if err := signable(h); err != nil {
			return nil, err
		}
		if !containsFold(s.headers, h) {
			s.headers = append(s.headers, strings.ToLower(h))
		}
	}
	if !containsFold(s.headers, "From") {
		s.headers = append(s.headers, "from")
	}
	over := opts.Oversign
	if over == nil {
		over = dkim.DefaultOversignedHeaders()
	}
	for _, h := range over {
		if err := signable(h); err != nil {
			return nil, err
		}
		if !containsFold(s.oversign, h) {
			s.oversign = append(s.oversign, strings.ToLower(h))
		}
	}
	return s, nil
}

// signable refuses field names an AMS must not sign (RFC 8617 section
// 4.1.2).
func signable(h string) error {
	if !isFieldName(h) {
		return fmt.Errorf("arc: bad header field name %q", h)
	}
	if kindOf(h) != kindNone || strings.EqualFold(h, authres.FieldName) {
		return fmt.Errorf("arc: %s cannot be signed by an ARC-Message-Signature (RFC 8617 section 4.1.2)", h)
	}
	return nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// Seal returns the next ARC Set for msg (RFC 8617 section 5.1): the
// ARC-Seal, ARC-Message-Signature and ARC-Authentication-Results header
// fields, in that order, to prepend to the message, each ending in CRLF
// (LF when the message's header uses bare LF).
//
// chain is the Validator's result for msg (nil only for a message without
// ARC header fields): it gives the new seal's cv=. results are this
// host's Authentication-Results for the message (RFC 8617 section 4.1.1:
// all of them, the arc= result included), which become the AAR.
//
// Errors: ErrNoSeal when the newest ARC-Seal already says cv=fail (RFC 8617
// section 5.1 step 1: the message is passed on without a new set),
// ErrChainUnknown for a temperror chain, ErrChainMismatch when chain does
// not fit msg, ErrTooManySets when the message already has MaxInstance
// sets.
func (s *Sealer) Seal(msg *mailscore.Message, chain *Result, results authres.Header) (string, error) {
	return s.SealPayload(msg, chain, results.String())
}

// SealPayload is Seal with the AAR payload given as text: an
// Authentication-Results value ("authserv-id; method=result ..."), as
// MergeAuthResults or authres.Header.String return it.
func (s *Sealer) SealPayload(msg *mailscore.Message, chain *Result, payload string) (string, error) {
	payload, err := cleanPayload(payload)
	if err != nil {
		return "", err
	}
	fields := msg.Header.Fields()
	if !msg.Header.Has("From") {
		return "", errors.New("arc: message has no From header field")
	}
	ex := existingSets(fields)
	inst := ex.max + 1
	if ex.lastCV == StatusFail {
		return "", ErrNoSeal
	}
	if inst > MaxInstance {
		return "", &Error{Kind: ErrTooManySets, Instance: ex.max}
	}
	cv, err := sealCV(ex, chain)
	if err != nil {
		return "", err
	}

	// ARC-Authentication-Results (RFC 8617 section 4.1.1).
	aar := foldText(FieldAAR+": i="+strconv.Itoa(inst)+"; ", payload)

	// ARC-Message-Signature (section 4.1.2): a DKIM signature without v=,
	// with i= the instance, over the message as it leaves.
	sc := &scratch{h: sha256.New()}
	sc.bh.Reset(sc.h, s.opts.BodyCanonicalization, -1)
	_, _ = sc.bh.Write(msg.Body())
	bh := sc.bh.Sum(nil)
	names := s.signedNames(fields)
	var ts string
	if !s.opts.NoTimestamp {
		ts = strconv.FormatInt(s.now().Unix(), 10)
	}
	tail := []string{
		"bh=" + b64(bh),
		"c=" + string(s.opts.HeaderCanonicalization) + "/" + string(s.opts.BodyCanonicalization),
		"d=" + s.opts.Domain,
		"h=" + strings.Join(names, ":"),
		"i=" + strconv.Itoa(inst),
		"s=" + s.opts.Selector,
	}
	if ts != "" {
		tail = append(tail, "t="+ts)
	}
	amsHead, amsTail := layoutSigned(FieldAMS, s.alg, tail)
	sc.hh.Reset(sc.h)
	sc.hh.WriteSelected(fields, strings.Join(names, ":"), s.opts.HeaderCanonicalization, -1)
	bpos := len(amsHead) - len(FieldAMS) - 1
	sc.hh.WriteSignature([]byte(amsHead+amsTail), bpos, bpos, s.opts.HeaderCanonicalization)
	sig, _, err := dkim.SignDigest(s.opts.Key, sc.hh.Sum(nil))
	if err != nil {
		return "", fmt.Errorf("arc: signing: %w", err)
	}
	ams := amsHead + foldBase64(b64(sig)) + amsTail

	// ARC-Seal (section 4.1.3), over the ARC Sets 1..inst (section
	// 5.1.1), or over the new set alone when the chain failed (section
	// 5.1.2).
	tail = []string{"cv=" + string(cv), "d=" + s.opts.Domain, "i=" + strconv.Itoa(inst), "s=" + s.opts.Selector}
	if ts != "" {
		tail = append(tail, "t="+ts)
	}
	asHead, asTail := layoutSigned(FieldSeal, s.alg, tail)
	sc.hh.Reset(sc.h)
	if cv != StatusFail {
		for i := 1; i <= ex.max; i++ {
			for _, idx := range []int{ex.slots[i].aar, ex.slots[i].ams, ex.slots[i].seal} {
				if idx == 0 {
					return "", fmt.Errorf("%w: ARC Set i=%d is incomplete, yet the chain did not fail", ErrChainMismatch, i)
				}
				sc.hh.WriteField(fields[idx-1].Raw, dkim.Relaxed)
			}
		}
	}
	sc.hh.WriteField([]byte(aar), dkim.Relaxed)
	sc.hh.WriteField([]byte(ams), dkim.Relaxed)
	bpos = len(asHead) - len(FieldSeal) - 1
	sc.hh.WriteSignature([]byte(asHead+asTail), bpos, bpos, dkim.Relaxed)
	sig, _, err = dkim.SignDigest(s.opts.Key, sc.hh.Sum(nil))
	if err != nil {
		return "", fmt.Errorf("arc: signing: %w", err)
	}
	as := asHead + foldBase64(b64(sig)) + asTail

	out := as + "\r\n" + ams + "\r\n" + aar + "\r\n"
	if msg.BareLF() {
		out = strings.ReplaceAll(out, "\r\n", "\n")
	}
	return out, nil
}

// sealCV chooses the cv= of the new seal (RFC 8617 sections 4.4 and 5.1).
func sealCV(ex existing, chain *Result) (Status, error) {
	if ex.fields == 0 {
		if chain != nil && chain.Status != StatusNone && chain.Status != "" {
			return "", fmt.Errorf("%w: cv=%s for a message without ARC header fields", ErrChainMismatch, chain.Status)
		}
		return StatusNone, nil
	}
	if chain == nil {
		return "", fmt.Errorf("%w: the message has ARC header fields and no validation result was given", ErrChainMismatch)
	}
	switch chain.Status {
	case StatusPass:
		if chain.Instance != ex.max {
			return "", fmt.Errorf("%w: a result for %d ARC Sets, the message has %d", ErrChainMismatch, chain.Instance, ex.max)
		}
		return StatusPass, nil
	case StatusFail:
		return StatusFail, nil
	case StatusTempError:
		return "", fmt.Errorf("%w: %w", ErrChainUnknown, chain.Err)
	}
	return "", fmt.Errorf("%w: cv=%s for a message with ARC header fields", ErrChainMismatch, chain.Status)
}

// existing describes the ARC header fields already on a message, as far
// as they parse.
type existing struct {
	fields int
	max    int
	lastCV Status // cv= of the seal with the highest instance
	slots  []slot
}

func existingSets(fields []mailscore.Field) existing {
	ex := existing{slots: make([]slot, MaxInstance+1)}
	for idx := range fields {
		k := kindOf(fields[idx].Name)
		if k == kindNone {
			continue
		}
		ex.fields++
		var inst int
		var err error
		var ts tagSet
		if k == kindAAR {
			inst, _, err = parseAAR(fields[idx].RawValue())
		} else {
			ts, err = parseTagged(fields[idx].RawValue())
			inst = ts.instance
		}
		if err != nil {
			continue // a malformed field: the chain fails; its sets cannot be signed over
		}
		s := &ex.slots[inst]
		switch k {
		case kindAAR:
			s.aar = idx + 1
		case kindAMS:
			s.ams = idx + 1
		case kindSeal:
			s.seal = idx + 1
			s.cv, _ = parseCV(&ts)
		}
		ex.max = max(ex.max, inst)
	}
	if ex.max > 0 {
		ex.lastCV = ex.slots[ex.max].cv
	}
	return ex
}

// signedNames lists the AMS h=: every instance of the signed fields, one
// more of those oversigned.
func (s *Sealer) signedNames(fields []mailscore.Field) []string {
	count := func(name string) int {
		n := 0
		for i := range fields {
			if strings.EqualFold(fields[i].Name, name) {
				n++
			}
		}
		return n
	}
	var names []string
	add := func(name string, n int) {
		for range n {
			names = append(names, name)
		}
	}
	for _, h := range s.headers {
		n := count(h)
		if containsFold(s.oversign, h) {
			n++
		}
		add(h, n)
	}
	for _, h := range s.oversign {
		if !containsFold(s.headers, h) {
			add(h, count(h)+1)
		}
	}
	return names
}

// cleanPayload checks an AAR payload: an Authentication-Results value that
// parses, without line breaks other than folding. It returns it unfolded
// and trimmed.
func cleanPayload(p string) (string, error) {
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\r' && i+1 < len(p) && p[i+1] == '\n':
		case c == '\n':
			if i+1 >= len(p) || (p[i+1] != ' ' && p[i+1] != '\t') {
				return "", errors.New("arc: the Authentication-Results payload has a line break that is not folding")
			}
		case c == '\r', c < ' ' && c != '\t', c == 0x7f:
			return "", fmt.Errorf("arc: the Authentication-Results payload has control character 0x%02x", c)
		}
	}
	p = squashWSP(p)
	if _, err := authres.Parse(p); err != nil {
		return "", fmt.Errorf("arc: the Authentication-Results payload: %w", err)
	}
	if len(p) > MaxFieldSize-64 {
		return "", fmt.Errorf("arc: the Authentication-Results payload of %d bytes is too long", len(p))
	}
	return p, nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// foldWidth is where lines are folded (RFC 5322 section 2.1.1 asks for at
// most 78 characters).
const foldWidth = 76

// layoutSigned lays out an AMS or AS: "Name: a=alg;" then b= on its own
// lines, then the other tags, folded. It returns the text up to and
// including "b=" and the text after the b= value, so that the field with
// an empty b= (for signing) and the signed field differ only in the b=
// value, whatever its length. The tags are in alphabetical order.
func layoutSigned(name, alg string, tail []string) (head, rest string) {
	head = name + ": a=" + alg + ";\r\n\tb="
	var b strings.Builder
	b.WriteString(";")
	col := foldWidth // force a fold before the first tag
	for i, t := range tail {
		if i > 0 {
			b.WriteByte(';')
			col++
		}
		if col+1+len(t) > foldWidth {
			b.WriteString("\r\n\t")
			col = 1
		} else {
			b.WriteByte(' ')
			col++
		}
		if len(t) > foldWidth && strings.HasPrefix(t, "h=") {
			// A long h= list folds after its colons (RFC 6376 section
			// 3.5 allows FWS around them).
			for j, item := range strings.Split(t, ":") {
				if j > 0 {
					b.WriteByte(':')
					col++
					if col+len(item) > foldWidth {
						b.WriteString("\r\n\t")
						col = 1
					}
				}
				b.WriteString(item)
				col += len(item)
			}
			continue
		}
		b.WriteString(t)
		col += len(t)
	}
	return head, b.String()
}

// foldBase64 returns a b= value for a line of its own. It is folded (RFC
// 6376 section 2.10 allows FWS anywhere in it) only where the line would
// pass RFC 5322's limit of 998 characters, that is, for keys over 5000
// bits: a fold inside b= becomes a space in the relaxed form the next
// ARC-Seal signs, and unfolded values are what other sealers (and the
// ValiMail suite) write.
func foldBase64(v string) string {
	const width = 990
	var b strings.Builder
	for len(v) > width {
		b.WriteString(v[:width])
		b.WriteString("\r\n\t")
		v = v[width:]
	}
	b.WriteString(v)
	return b.String()
}

// foldText writes prefix then text, folding at the spaces of text that are
// outside quoted strings and comments when a line grows past foldWidth. A
// fold replaces a space, so the relaxed canonical form is unchanged.
func foldText(prefix, text string) string {
	var b strings.Builder
	b.Grow(len(prefix) + len(text) + 16)
	b.WriteString(prefix)
	col := len(prefix)
	for i, w := range splitTopLevel(text, ' ') {
		if i > 0 {
			if w != "" && col+1+len(w) > foldWidth {
				b.WriteString("\r\n\t")
				col = 1
			} else {
				b.WriteByte(' ')
				col++
			}
		}
		b.WriteString(w)
		col += len(w)
	}
	return b.String()
}

// MergeAuthResults returns the combined authres-payload of every
// Authentication-Results field of msg whose authserv-id is authservID
// (compared case-insensitively): RFC 8617 section 4.1.1 asks for all of an
// ADMD's results in its one AAR, however many fields carry them. The
// result is "authservID; resinfo; resinfo ...", each resinfo as written
// (comments included); false when no field matches.
func MergeAuthResults(msg *mailscore.Message, authservID string) (string, bool) {
	var parts []string
	found := false
	for _, f := range msg.Header.Fields() {
		if !strings.EqualFold(f.Name, authres.FieldName) {
			continue
		}
		items := splitTopLevel(unfold(f.RawValue()), ';')
		if len(items) == 0 {
			continue
		}
		id := strings.Trim(items[0], " \t")
		if j := strings.IndexAny(id, " \t("); j >= 0 {
			id = id[:j] // an authres-version or a comment follows
		}
		if !strings.EqualFold(strings.Trim(id, `"`), authservID) {
			continue
		}
		found = true
		for _, it := range items[1:] {
			if it = strings.Trim(it, " \t"); it != "" && !strings.EqualFold(it, "none") {
				parts = append(parts, it)
			}
		}
	}
	if !found {
		return "", false
	}
	if len(parts) == 0 {
		return authservID + "; none", true
	}
	return authservID + "; " + strings.Join(parts, "; "), true
}

// splitTopLevel splits s at sep outside quoted strings and comments.
func splitTopLevel(s string, sep byte) []string {
	var out []string
	quoted, depth, start := false, 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && (quoted || depth > 0):
			i++
		case c == '"' && depth == 0:
			quoted = !quoted
		case c == '(' && !quoted:
			depth++
		case c == ')' && !quoted && depth > 0:
			depth--
		case c == sep && !quoted && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
