package dkim

import (
	"bufio"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/mailscore/mailscore"
)

// Canonicalization is a DKIM canonicalization algorithm (RFC 6376 section
// 3.4).
type Canonicalization string

// Canonicalization algorithms.
const (
	Simple  Canonicalization = "simple"
	Relaxed Canonicalization = "relaxed"
)

// DefaultSignedHeaders are the header fields a Signer signs when present
// (RFC 6376 section 5.4.1's list, plus MIME and list fields).
func DefaultSignedHeaders() []string {
	return []string{
		"From", "Sender", "Reply-To", "Subject", "Date", "Message-ID", "To", "Cc",
		"MIME-Version", "Content-Type", "Content-Transfer-Encoding", "Content-ID", "Content-Description",
		"Resent-Date", "Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc", "Resent-Message-ID",
		"In-Reply-To", "References",
		"List-Id", "List-Help", "List-Unsubscribe", "List-Unsubscribe-Post", "List-Subscribe", "List-Post",
		"List-Owner", "List-Archive",
	}
}

// DefaultOversignedHeaders are the header fields a Signer signs once more
// than they occur, so that adding another instance (or adding one where
// there was none) breaks the signature (RFC 6376 section 8.15).
func DefaultOversignedHeaders() []string {
	return []string{
		"From", "Sender", "Reply-To", "Subject", "Date", "Message-ID", "To", "Cc",
		"MIME-Version", "Content-Type", "Content-Transfer-Encoding",
	}
}

// SignOptions configure a Signer.
type SignOptions struct {
	// Domain is the signing domain d=. Required.
	Domain string
	// Selector is s=. Required.
	Selector string
	// Key is the private key: *rsa.PrivateKey (rsa-sha256, at least 1024
	// bits, RFC 8301) or ed25519.PrivateKey (ed25519-sha256, RFC 8463).
	// Other crypto.Signers whose Public() is *rsa.PublicKey or
	// ed25519.PublicKey work too (an HSM, say).
	Key crypto.Signer
	// Identity is i=, optional: "@" + Domain by default; its domain must
	// be Domain or a subdomain.
	Identity string
	// HeaderCanonicalization and BodyCanonicalization default to Relaxed.
	HeaderCanonicalization Canonicalization
	BodyCanonicalization   Canonicalization
	// Headers are the fields signed when present, in addition to From
	// (always signed). nil means DefaultSignedHeaders.
	Headers []string
	// Oversign are the fields signed once more than they occur. nil means
	// DefaultOversignedHeaders; an empty non-nil slice turns it off.
	Oversign []string
	// BodyLength adds l= with the length of the canonicalized body.
	// Anyone can then append to the body without breaking the signature
	// (RFC 6376 section 8.2); use only where that is wanted.
	BodyLength bool
	// Expiration, if positive, adds x= that far after t=.
	Expiration time.Duration
	// Now is the clock for t=; nil means time.Now.
	Now func() time.Time
	// NoTimestamp leaves t= out.
	NoTimestamp bool
}

// Signer signs messages with one key. It is safe for concurrent use.
type Signer struct {
	opts     SignOptions
	alg      algorithm
	algName  string
	canon    string
	identity string // i= encoded, "" for none
	headers  []string
	oversign []string
	now      func() time.Time
}

// NewSigner checks opts and returns a Signer.
func NewSigner(opts SignOptions) (*Signer, error) {
	s := &Signer{opts: opts, now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	opts.Domain = strings.ToLower(strings.TrimSuffix(opts.Domain, "."))
	s.opts.Domain = opts.Domain
	if err := checkDomainName(opts.Domain); err != nil {
		return nil, fmt.Errorf("dkim: Domain %q: %v", opts.Domain, err)
	}
	if err := checkDomainName(opts.Selector); err != nil {
		return nil, fmt.Errorf("dkim: Selector %q: %v", opts.Selector, err)
	}
	if opts.Key == nil {
		return nil, errors.New("dkim: SignOptions.Key is required")
	}
	switch pub := opts.Key.Public().(type) {
	case *rsa.PublicKey:
		if bits := pub.N.BitLen(); bits < MinRSABits || bits > MaxRSABits {
			return nil, fmt.Errorf("dkim: %d-bit RSA key: RFC 8301 needs %d to %d bits", bits, MinRSABits, MaxRSABits)
		}
		s.alg, s.algName = algRSASHA256, "rsa-sha256"
	case ed25519.PublicKey:
		s.alg, s.algName = algEd25519SHA256, "ed25519-sha256"
	default:
		return nil, fmt.Errorf("dkim: unsupported key type %T (want RSA or Ed25519)", pub)
	}
	hc, bc := opts.HeaderCanonicalization, opts.BodyCanonicalization
	for _, c := range []*Canonicalization{&hc, &bc} {
		switch *c {
		case "":
			*c = Relaxed
		case Simple, Relaxed:
		default:
			return nil, fmt.Errorf("dkim: unknown canonicalization %q", string(*c))
		}
	}
	s.opts.HeaderCanonicalization, s.opts.BodyCanonicalization = hc, bc
	s.canon = string(hc) + "/" + string(bc)
	if opts.Identity != "" {
		at := strings.LastIndexByte(opts.Identity, '@')
		if at < 0 || !domainWithin(opts.Identity[at+1:], opts.Domain) {
			return nil, fmt.Errorf("dkim: Identity %q is not an address at %s or a subdomain", opts.Identity, opts.Domain)
		}
		s.identity = encodeQP(opts.Identity)
	}
	headers := opts.Headers
	if headers == nil {
		headers = DefaultSignedHeaders()
	}
	s.headers = []string{"From"}
	for _, h := range headers {
		if !isFieldName(h) {
			return nil, fmt.Errorf("dkim: Headers: bad field name %q", h)
		}
		if strings.EqualFold(h, "DKIM-Signature") {
			continue // a signature never signs itself (RFC 6376 section 5.4)
		}
		if !containsFold(s.headers, h) {
			s.headers = append(s.headers, h)
		}
	}
	over := opts.Oversign
	if over == nil {
		over = DefaultOversignedHeaders()
	}
	for _, h := range over {
		if !isFieldName(h) {
			return nil, fmt.Errorf("dkim: Oversign: bad field name %q", h)
		}
		if !containsFold(s.oversign, h) {
			s.oversign = append(s.oversign, h)
		}
	}
	if opts.Expiration < 0 {
		return nil, errors.New("dkim: negative Expiration")
	}
	return s, nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// Sign reads a message and returns the DKIM-Signature header field to
// prepend to it: "DKIM-Signature: v=1; ...", folded, ending with a line
// break (CRLF, or LF when the message's header uses bare LF). The body is
// hashed as it streams.
func (s *Signer) Sign(r io.Reader) (string, error) {
	br := bufio.NewReaderSize(r, 32<<10)
	hdr, err := readHeader(br, nil, mailscore.DefaultMaxHeaderSize)
	if err != nil {
		return "", err
	}
	msg, err := mailscore.NewMessage(mailscore.Envelope{}, hdr, mailscore.Limits{MaxSize: -1})
	if err != nil {
		return "", err
	}
	var hb hashBuf
	hb.h = sha256.New()
	var bc bodyCanon
	bc.reset(&hb, s.opts.BodyCanonicalization == Relaxed, -1)
	bc.Write(msg.Body())
	if _, err := br.WriteTo(&bc); err != nil {
		return "", fmt.Errorf("dkim: reading message: %w", err)
	}
	return s.sign(msg, &hb, &bc)
}

// SignMessage is Sign for a parsed message.
func (s *Signer) SignMessage(msg *mailscore.Message) (string, error) {
	var hb hashBuf
	hb.h = sha256.New()
	var bc bodyCanon
	bc.reset(&hb, s.opts.BodyCanonicalization == Relaxed, -1)
	bc.Write(msg.Body())
	return s.sign(msg, &hb, &bc)
}

// sign builds and signs the field, given the body canonicalizer fed with
// the whole body.
func (s *Signer) sign(msg *mailscore.Message, hb *hashBuf, bc *bodyCanon) (string, error) {
	fields := msg.Header.Fields()
	if countFields(fields, "From") == 0 {
		return "", errors.New("dkim: message has no From header field")
	}
	bc.finish()
	var bh [sha256.Size]byte
	hb.h.Sum(bh[:0])

	// h=: every instance of the signed fields, and one more of those
	// oversigned (RFC 6376 section 8.15).
	var names []string
	add := func(name string, n int) {
		for range n {
			names = append(names, strings.ToLower(name))
		}
	}
	for _, h := range s.headers {
		n := countFields(fields, h)
		if containsFold(s.oversign, h) {
			n++
		}
		add(h, n)
	}
	for _, h := range s.oversign {
		if !containsFold(s.headers, h) {
			add(h, countFields(fields, h)+1)
		}
	}

	f := newFolder()
	f.tag("v", "1")
	f.tag("a", s.algName)
	f.tag("c", s.canon)
	f.tag("d", s.opts.Domain)
	f.tag("s", s.opts.Selector)
	if !s.opts.NoTimestamp {
		now := s.now().Unix()
		f.tag("t", strconv.FormatInt(now, 10))
		if s.opts.Expiration > 0 {
			f.tag("x", strconv.FormatInt(now+int64((s.opts.Expiration+time.Second-1)/time.Second), 10))
		}
	} else if s.opts.Expiration > 0 {
		f.tag("x", strconv.FormatInt(s.now().Add(s.opts.Expiration).Unix(), 10))
	}
	if s.identity != "" {
		f.tag("i", s.identity)
	}
	if s.opts.BodyLength {
		f.tag("l", strconv.FormatInt(bc.total, 10))
	}
	f.list("h", names)
	f.base64("bh", base64.StdEncoding.EncodeToString(bh[:]))
	f.space()
	f.b.WriteString("b=")
	unsigned := f.b.String() // the field with an empty b= (RFC 6376 section 3.7)

	var w hashBuf
	w.h = sha256.New()
	hashSignedFields(&w, fields, strings.Join(names, ":"), s.opts.HeaderCanonicalization == Relaxed, -1, nil)
	if s.opts.HeaderCanonicalization == Relaxed {
		writeRelaxedHeader(&w, "DKIM-Signature", []byte(unsigned[len("DKIM-Signature:"):]), false)
	} else {
		writeSimpleHeader(&w, []byte(unsigned), false)
	}
	w.flush()
	digest := w.h.Sum(nil)
	var opts crypto.SignerOpts = crypto.SHA256
	if s.alg == algEd25519SHA256 {
		opts = crypto.Hash(0) // PureEdDSA over the SHA-256 digest (RFC 8463 section 3)
	}
	sig, err := s.opts.Key.Sign(rand.Reader, digest, opts)
	if err != nil {
		return "", fmt.Errorf("dkim: signing: %w", err)
	}
	f.base64Value(base64.StdEncoding.EncodeToString(sig))
	f.b.WriteString("\r\n")
	out := f.b.String()
	if msg.BareLF() {
		out = strings.ReplaceAll(out, "\r\n", "\n")
	}
	return out, nil
}

// folder writes a DKIM-Signature field folded at about 78 columns (RFC
// 5322 section 2.1.1), with CRLF TAB as folding white space.
type folder struct {
	b   strings.Builder
	col int
}

const foldWidth = 76

func newFolder() *folder {
	f := &folder{}
	f.b.WriteString("DKIM-Signature:")
	f.col = len("DKIM-Signature:")
	return f
}

// space writes a separator: a space, or a fold when the line is full.
func (f *folder) spaceFor(n int) {
	if f.col+1+n > foldWidth {
		f.b.WriteString("\r\n\t")
		f.col = 1
		return
	}
	f.b.WriteByte(' ')
	f.col++
}

func (f *folder) space() { f.spaceFor(2) }

func (f *folder) write(s string) {
	f.b.WriteString(s)
	f.col += len(s)
}

// tag writes " name=value;".
func (f *folder) tag(name, value string) {
	f.spaceFor(len(name) + 1 + len(value) + 1)
	f.write(name + "=" + value + ";")
}

// list writes " name=a:b:c;", folding after a colon when needed.
func (f *folder) list(name string, items []string) {
	f.spaceFor(len(name) + 1 + len(items[0]) + 1)
	f.write(name + "=")
	for i, it := range items {
		if i > 0 {
			f.write(":")
			if f.col+len(it)+1 > foldWidth {
				f.b.WriteString("\r\n\t")
				f.col = 1
			}
		}
		f.write(it)
	}
	f.write(";")
}

// base64 writes " name=value;" with the base64 value folded as needed
// (RFC 6376 section 2.10 allows FWS anywhere in it).
func (f *folder) base64(name, value string) {
	f.space()
	f.write(name + "=")
	f.base64Value(value)
	f.write(";")
}

func (f *folder) base64Value(v string) {
	for len(v) > 0 {
		room := foldWidth - f.col
		if room <= 8 {
			f.b.WriteString("\r\n\t")
			f.col = 1
			continue
		}
		n := min(room, len(v))
		f.write(v[:n])
		v = v[n:]
	}
}

// encodeQP encodes an identity as dkim-quoted-printable (RFC 6376 section
// 2.11): octets outside %x21-3A / %x3C / %x3E-7E become =XX.
func encodeQP(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x21 && c <= 0x7e && c != ';' && c != '=' {
			b.WriteByte(c)
			continue
		}
		const hex = "0123456789ABCDEF"
		b.WriteByte('=')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}
