package mailscore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
)

// Envelope is the SMTP envelope of a message (RFC 5321): what the client
// said before the message data, and where it connected from.
type Envelope struct {
	// ClientIP is the address of the SMTP client. The zero Addr means unknown
	// (checks that need it report themselves incomplete rather than guess).
	ClientIP netip.Addr
	// HELO is the name the client gave in HELO or EHLO (RFC 5321 section 4.1.1.1).
	HELO string
	// MailFrom is the reverse-path of MAIL FROM without angle brackets; the
	// empty string is the null reverse-path "<>" used by bounces.
	MailFrom string
	// RcptTo holds the forward-paths of RCPT TO, without angle brackets.
	RcptTo []string
}

// Limits bound what NewMessage accepts. A zero field means the default
// shown next to it; a negative field means no limit. Exceeding a limit is an
// error matching ErrLimit and the specific sentinel, never a truncation.
type Limits struct {
	MaxSize       int // whole message in bytes; default 50 MiB
	MaxHeaderSize int // header section in bytes; default 256 KiB
	MaxFields     int // header fields; default 1000
	MaxLineLength int // any line, header or body, excluding its line break; default 64 KiB

	// MIME decoding limits (see Message.MIME). Hitting one stops decoding
	// with a defect in MIME.Defects, never an error or a panic.
	MaxMIMEDepth   int // nesting of multiparts and message/rfc822; default 16
	MaxParts       int // MIME entities (leaves and containers); default 256
	MaxDecodedSize int // total bytes of transfer-decoded part bodies; default 64 MiB
}

// Default limits, applied where a Limits field is zero.
const (
	DefaultMaxSize       = 50 << 20
	DefaultMaxHeaderSize = 256 << 10
	DefaultMaxFields     = 1000
	DefaultMaxLineLength = 64 << 10

	DefaultMaxMIMEDepth   = 16
	DefaultMaxParts       = 256
	DefaultMaxDecodedSize = 64 << 20
)

func limitOr(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return int(^uint(0) >> 1)
	}
	return v
}

func (l Limits) resolved() Limits {
	return Limits{
		MaxSize:       limitOr(l.MaxSize, DefaultMaxSize),
		MaxHeaderSize: limitOr(l.MaxHeaderSize, DefaultMaxHeaderSize),
		MaxFields:     limitOr(l.MaxFields, DefaultMaxFields),
		MaxLineLength: limitOr(l.MaxLineLength, DefaultMaxLineLength),

		MaxMIMEDepth:   limitOr(l.MaxMIMEDepth, DefaultMaxMIMEDepth),
		MaxParts:       limitOr(l.MaxParts, DefaultMaxParts),
		MaxDecodedSize: limitOr(l.MaxDecodedSize, DefaultMaxDecodedSize),
	}
}

// Errors returned by NewMessage and ReadMessage. Every limit error matches
// ErrLimit as well as its own sentinel.
var (
	ErrLimit           = errors.New("message limit exceeded")
	ErrMessageTooLarge = errors.New("message too large")
	ErrHeaderTooLarge  = errors.New("header section too large")
	ErrTooManyFields   = errors.New("too many header fields")
	ErrLineTooLong     = errors.New("line too long")
	ErrEmptyMessage    = errors.New("empty message")
)

// LimitError reports which limit a message exceeded and where.
type LimitError struct {
	Kind   error // one of ErrMessageTooLarge, ErrHeaderTooLarge, ErrTooManyFields, ErrLineTooLong
	Limit  int   // the limit in force
	Offset int   // byte offset at which the limit was crossed
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("mailscore: %v: limit %d exceeded at byte %d", e.Kind, e.Limit, e.Offset)
}

// Unwrap lets errors.Is match both ErrLimit and the specific kind.
func (e *LimitError) Unwrap() []error { return []error{ErrLimit, e.Kind} }

// Defect is something malformed that NewMessage tolerated. Content checks
// report defects as signals; parsing goes on as far as the input allows.
type Defect string

// Defects NewMessage records.
const (
	DefectNoBlankLine     Defect = "header section ended by a line that is not a header field"
	DefectLeadingFold     Defect = "first header line is a continuation line"
	DefectBareLF          Defect = "lines end in bare LF instead of CRLF"
	DefectMixedLineEnding Defect = "lines end in a mix of CRLF and bare LF"
	DefectNoHeader        Defect = "message has no header fields"
)

// Field is one header field as it appears in the message.
type Field struct {
	// Name is the field name as written (case preserved, no colon).
	Name string
	// Raw is the whole field: name, colon, value with its folding, and the
	// line break that ends it, exactly as in the input (RFC 6376 needs these
	// bytes). It aliases the message's raw bytes and must not be modified.
	Raw []byte
	// rawValue is everything after the colon up to the final line break.
	rawValue string
}

// RawValue returns the value after the colon exactly as written, folding
// included, without the final line break.
func (f Field) RawValue() string { return f.rawValue }

// Value returns the value unfolded (RFC 5322 section 2.2.3: a line break
// followed by white space is removed) with surrounding white space trimmed.
// It allocates only when the field is folded.
func (f Field) Value() string {
	v := f.rawValue
	if strings.IndexByte(v, '\n') < 0 {
		return strings.Trim(v, " \t\r")
	}
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' && i+1 < len(v) && v[i+1] == '\n' {
			continue
		}
		if c == '\n' {
			continue
		}
		b.WriteByte(c)
	}
	return strings.Trim(b.String(), " \t\r")
}

// Header is a parsed header section: the fields in order, with repeated
// fields kept as separate entries.
type Header struct {
	fields []Field
}

// Fields returns every field in message order. The slice is shared and must
// not be modified.
func (h *Header) Fields() []Field { return h.fields }

// Len returns the number of fields.
func (h *Header) Len() int { return len(h.fields) }

// Get returns the unfolded value of the first field named name (compared
// case-insensitively), or "" if there is none.
func (h *Header) Get(name string) string {
	for i := range h.fields {
		if strings.EqualFold(h.fields[i].Name, name) {
			return h.fields[i].Value()
		}
	}
	return ""
}

// Has reports whether at least one field is named name.
func (h *Header) Has(name string) bool { return h.Count(name) > 0 }

// Count returns how many fields are named name.
func (h *Header) Count(name string) int {
	n := 0
	for i := range h.fields {
		if strings.EqualFold(h.fields[i].Name, name) {
			n++
		}
	}
	return n
}

// Values returns the unfolded values of every field named name, in order.
func (h *Header) Values(name string) []string {
	var out []string
	for i := range h.fields {
		if strings.EqualFold(h.fields[i].Name, name) {
			out = append(out, h.fields[i].Value())
		}
	}
	return out
}

// FieldsNamed returns every field named name, in order.
func (h *Header) FieldsNamed(name string) []Field {
	var out []Field
	for i := range h.fields {
		if strings.EqualFold(h.fields[i].Name, name) {
			out = append(out, h.fields[i])
		}
	}
	return out
}

// Message is one inbound message: its envelope and its RFC 5322 bytes, with
// the header section parsed once. A Message is immutable after NewMessage and
// safe for concurrent use by many checks.
type Message struct {
	Envelope Envelope
	Header   Header

	raw        []byte
	headerEnd  int // end of the last header field, line break included
	bodyStart  int // first byte of the body
	defects    []Defect
	bareLF     bool
	headerText string // one string copy of the header section; names and values slice it

	// The MIME structure, decoded on first use by MIME() under the limits
	// the message was created with.
	limits   Limits
	mimeOnce sync.Once
	mime     *MIME
}

// NewMessage parses raw as an RFC 5322 message. Lines may end in CRLF or bare
// LF (or a mix); folded and repeated fields are kept. raw is not copied and
// must not be modified while the Message is in use. A zero Limits applies the
// defaults.
func NewMessage(env Envelope, raw []byte, lim Limits) (*Message, error) {
	l := lim.resolved()
	if len(raw) == 0 {
		return nil, ErrEmptyMessage
	}
	if len(raw) > l.MaxSize {
		return nil, &LimitError{Kind: ErrMessageTooLarge, Limit: l.MaxSize, Offset: l.MaxSize}
	}
	m := &Message{Envelope: env, raw: raw, limits: l}
	if err := m.parseHeader(l); err != nil {
		return nil, err
	}
	if err := checkLines(raw, m.bodyStart, l.MaxLineLength); err != nil {
		return nil, err
	}
	return m, nil
}

// ReadMessage reads a message from r, refusing one larger than the limit
// instead of truncating it, and parses it with NewMessage.
func ReadMessage(env Envelope, r io.Reader, lim Limits) (*Message, error) {
	l := lim.resolved()
	max := int64(l.MaxSize)
	if max < 1<<62 {
		max++
	}
	raw, err := io.ReadAll(io.LimitReader(r, max))
	if err != nil {
		return nil, fmt.Errorf("mailscore: reading message: %w", err)
	}
	if len(raw) > l.MaxSize {
		return nil, &LimitError{Kind: ErrMessageTooLarge, Limit: l.MaxSize, Offset: l.MaxSize}
	}
	return NewMessage(env, raw, lim)
}

// Raw returns the whole message as given. It must not be modified.
func (m *Message) Raw() []byte { return m.raw }

// HeaderBytes returns the header section without the blank line that ends it.
func (m *Message) HeaderBytes() []byte { return m.raw[:m.headerEnd] }

// Body returns the body: everything after the blank line that ends the
// header section (empty if there is none).
func (m *Message) Body() []byte { return m.raw[m.bodyStart:] }

// BodyOffset returns the offset of the body in Raw().
func (m *Message) BodyOffset() int { return m.bodyStart }

// Defects returns what was malformed but tolerated, in the order found.
func (m *Message) Defects() []Defect { return m.defects }

// BareLF reports whether the header section uses bare LF line endings.
// RFC 5322 requires CRLF; many tools store mail with LF, and DKIM
// canonicalization treats such a line break as CRLF.
func (m *Message) BareLF() bool { return m.bareLF }

func (m *Message) addDefect(d Defect) {
	for _, x := range m.defects {
		if x == d {
			return
		}
	}
	m.defects = append(m.defects, d)
}

// lineEnd returns the index just past the line break of the line starting at
// i, and the length of the line without its break.
func lineEnd(b []byte, i int) (next, length int, lf, crlf bool) {
	j := bytes.IndexByte(b[i:], '\n')
	if j < 0 {
		return len(b), len(b) - i, false, false
	}
	n := j
	if j > 0 && b[i+j-1] == '\r' {
		n--
		crlf = true
	} else {
		lf = true
	}
	return i + j + 1, n, lf, crlf
}

// isFieldName reports whether b is a valid field name: printable US-ASCII
// except colon (RFC 5322 section 2.2).
func isFieldName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

// parseHeader finds the fields of the header section (RFC 5322 section 2.2).
func (m *Message) parseHeader(l Limits) error {
	raw := m.raw
	// First pass: find the end of the header section and count fields, so
	// the fields slice is allocated once.
	end, body := -1, len(raw)
	nfields := 0
	sawLF, sawCRLF := false, false
	for i := 0; i < len(raw); {
		next, n, lf, crlf := lineEnd(raw, i)
		sawLF = sawLF || lf
		sawCRLF = sawCRLF || crlf
		if n > l.MaxLineLength {
			return &LimitError{Kind: ErrLineTooLong, Limit: l.MaxLineLength, Offset: i + l.MaxLineLength}
		}
		if n == 0 {
			end, body = i, next
			break
		}
		c := raw[i]
		if c == ' ' || c == '\t' {
			if nfields == 0 {
				m.addDefect(DefectLeadingFold)
				end, body = i, i
				break
			}
		} else {
			colon := bytes.IndexByte(raw[i:i+n], ':')
			if colon < 0 || !isFieldName(bytes.TrimRight(raw[i:i+colon], " \t")) {
				if nfields == 0 {
					m.addDefect(DefectNoHeader)
				} else {
					m.addDefect(DefectNoBlankLine)
				}
				end, body = i, i
				break
			}
			nfields++
			if nfields > l.MaxFields {
				return &LimitError{Kind: ErrTooManyFields, Limit: l.MaxFields, Offset: i}
			}
		}
		if next > l.MaxHeaderSize {
			return &LimitError{Kind: ErrHeaderTooLarge, Limit: l.MaxHeaderSize, Offset: l.MaxHeaderSize}
		}
		i = next
	}
	if end < 0 { // header runs to the end of the input
		end, body = len(raw), len(raw)
	}
	if nfields == 0 {
		m.addDefect(DefectNoHeader)
	}
	switch {
	case sawLF && sawCRLF:
		m.addDefect(DefectMixedLineEnding)
		m.bareLF = true
	case sawLF:
		m.addDefect(DefectBareLF)
		m.bareLF = true
	}
	m.headerEnd, m.bodyStart = end, body

	// Second pass: cut the fields. Names and values are substrings of one
	// copy of the header section, so parsing allocates the same few times
	// whatever the size of the body.
	m.headerText = string(raw[:end])
	m.Header.fields = make([]Field, 0, nfields)
	h := m.headerText
	for i := 0; i < end; {
		start := i
		next, n, _, _ := lineEnd(raw[:end], i)
		colon := strings.IndexByte(h[i:i+n], ':')
		name := strings.TrimRight(h[i:i+colon], " \t")
		valStart := i + colon + 1
		valEnd := i + n
		i = next
		for i < end && (raw[i] == ' ' || raw[i] == '\t') {
			next, n, _, _ = lineEnd(raw[:end], i)
			valEnd = i + n
			i = next
		}
		m.Header.fields = append(m.Header.fields, Field{
			Name:     name,
			Raw:      raw[start:i:i],
			rawValue: h[valStart:valEnd],
		})
	}
	return nil
}

// checkLines enforces the line-length limit on the body.
func checkLines(raw []byte, from, max int) error {
	if len(raw)-from <= max {
		return nil
	}
	for i := from; i < len(raw); {
		j := bytes.IndexByte(raw[i:], '\n')
		if j < 0 {
			j = len(raw) - i
		}
		n := j
		if n > 0 && i+n < len(raw) && raw[i+n-1] == '\r' {
			n--
		}
		if n > max {
			return &LimitError{Kind: ErrLineTooLong, Limit: max, Offset: i + max}
		}
		i += j + 1
	}
	return nil
}
