package mailscore

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/unicode"
)

// Errors reported by DecodeHeaderValue and the MIME walk. The decoded text
// is still returned as far as it could be decoded.
var (
	// ErrUnknownCharset: a charset label that no decoder knows. The bytes
	// are kept as UTF-8 where valid and replaced with U+FFFD elsewhere.
	ErrUnknownCharset = errors.New("unknown charset")
	// ErrBadEncodedWord: an RFC 2047 encoded-word that does not decode
	// (bad base64, bad Q encoding, missing parts). It is kept as written.
	ErrBadEncodedWord = errors.New("malformed encoded-word")
	// ErrHeaderValueTooLong: a value longer than MaxHeaderValueLength; it
	// is returned unchanged (with invalid UTF-8 replaced).
	ErrHeaderValueTooLong = errors.New("header value too long to decode")
)

// MaxHeaderValueLength bounds the input DecodeHeaderValue decodes.
const MaxHeaderValueLength = 1 << 20

// maxHeaderErrors bounds how many distinct problems one value reports.
const maxHeaderErrors = 8

// DecodeHeaderValue decodes the RFC 2047 encoded-words in an unstructured
// header value (Subject, a display name, a filename written the
// non-standard way) to UTF-8, converting from any charset that
// golang.org/x/net/html/charset knows.
//
// It implements RFC 2047 section 2 (encoded-word syntax, leniently: the
// 75-character limit is not enforced), section 4 (the "B" and "Q"
// encodings, case-insensitively), section 6.2 (white space between adjacent
// encoded-words is ignored) and RFC 2231 section 5 (a language suffix
// "charset*lang" is dropped). Adjacent encoded-words in the same charset
// are joined before conversion, so a multi-byte character split across two
// words decodes whole. Raw 8-bit text outside encoded-words is kept if it is
// UTF-8 (RFC 6532) and otherwise replaced with U+FFFD.
//
// Problems do not stop decoding: a word that does not decode is kept as
// written and the returned error (matching ErrBadEncodedWord or
// ErrUnknownCharset) says what was wrong. It never panics.
func DecodeHeaderValue(s string) (string, error) {
	if len(s) > MaxHeaderValueLength {
		return strings.ToValidUTF8(s, "\uFFFD"), fmt.Errorf("mailscore: %w: %d bytes, limit %d", ErrHeaderValueTooLong, len(s), MaxHeaderValueLength)
	}
	if !strings.Contains(s, "=?") {
		if utf8.ValidString(s) {
			return s, nil
		}
		return strings.ToValidUTF8(s, "\uFFFD"), nil
	}
	d := headerDecoder{}
	d.out.Grow(len(s))
	i := 0
	lastWasWord := false // the previous token was an encoded-word
	pendingSpace := ""   // white space after an encoded-word, dropped if another follows
	for i < len(s) {
		j := strings.Index(s[i:], "=?")
		if j < 0 {
			d.flush()
			d.text(pendingSpace + s[i:])
			pendingSpace = ""
			break
		}
		j += i
		between := s[i:j]
		w, end, ok := parseEncodedWord(s, j)
		if !ok {
			// Not an encoded-word: keep "=?" as text and go on after it.
			d.flush()
			d.text(pendingSpace + between + "=?")
			pendingSpace = ""
			lastWasWord = false
			i = j + 2
			continue
		}
		if lastWasWord && isLinearSpace(between) {
			// RFC 2047 section 6.2: white space between adjacent
			// encoded-words is not displayed.
		} else {
			d.flush()
			d.text(pendingSpace + between)
		}
		pendingSpace = ""
		d.word(w, s[j:end])
		lastWasWord = true
		i = end
		// Hold back white space that follows, in case another word comes.
		k := i
		for k < len(s) && isSpaceByte(s[k]) {
			k++
		}
		if k > i {
			pendingSpace = s[i:k]
			i = k
		}
	}
	d.flush()
	if pendingSpace != "" {
		d.text(pendingSpace)
	}
	return d.out.String(), errors.Join(d.errs...)
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func isLinearSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isSpaceByte(s[i]) {
			return false
		}
	}
	return true
}

// encodedWord is a parsed RFC 2047 encoded-word.
type encodedWord struct {
	charset string // lower-case, language suffix removed
	enc     byte   // 'b' or 'q'
	text    string // the encoded-text
}

// parseEncodedWord parses "=?charset?enc?text?=" at s[i:] (RFC 2047 section 2).
func parseEncodedWord(s string, i int) (encodedWord, int, bool) {
	var w encodedWord
	p := i + 2
	q := strings.IndexByte(s[p:], '?')
	if q <= 0 || q > 64 {
		return w, 0, false
	}
	cs := s[p : p+q]
	if strings.ContainsAny(cs, " \t\r\n=") {
		return w, 0, false
	}
	if k := strings.IndexByte(cs, '*'); k >= 0 { // RFC 2231 section 5: charset*language
		cs = cs[:k]
	}
	p += q + 1
	if p+2 > len(s) || s[p+1] != '?' {
		return w, 0, false
	}
	switch s[p] {
	case 'b', 'B':
		w.enc = 'b'
	case 'q', 'Q':
		w.enc = 'q'
	default:
		return w, 0, false
	}
	p += 2
	e := strings.Index(s[p:], "?=")
	if e < 0 {
		return w, 0, false
	}
	text := s[p : p+e]
	if strings.ContainsAny(text, " \t\r\n") {
		return w, 0, false
	}
	w.charset = strings.ToLower(cs)
	w.text = text
	return w, p + e + 2, true
}

// headerDecoder accumulates decoded output; consecutive encoded-words in
// one charset are buffered and converted together.
type headerDecoder struct {
	out     strings.Builder
	pending []byte
	pendCS  string
	errs    []error
}

func (d *headerDecoder) fail(err error) {
	if len(d.errs) < maxHeaderErrors {
		d.errs = append(d.errs, err)
	}
}

func (d *headerDecoder) text(s string) {
	if utf8.ValidString(s) {
		d.out.WriteString(s)
		return
	}
	d.out.WriteString(strings.ToValidUTF8(s, "\uFFFD"))
}

func (d *headerDecoder) word(w encodedWord, raw string) {
	var b []byte
	var err error
	if w.enc == 'b' {
		b, err = decodeBWord(w.text)
	} else {
		b, err = decodeQWord(w.text)
	}
	if err != nil {
		d.flush()
		d.fail(fmt.Errorf("mailscore: %w %q: %v", ErrBadEncodedWord, truncate(raw, 80), err))
		d.text(raw)
		return
	}
	if d.pendCS != w.charset {
		d.flush()
		d.pendCS = w.charset
	}
	d.pending = append(d.pending, b...)
}

func (d *headerDecoder) flush() {
	if d.pendCS == "" && len(d.pending) == 0 {
		return
	}
	s, err := decodeCharset(d.pendCS, d.pending)
	if err != nil {
		d.fail(err)
	}
	d.out.WriteString(s)
	d.pending = d.pending[:0]
	d.pendCS = ""
}

// decodeBWord decodes the "B" encoding (RFC 2047 section 4.1), accepting
// missing padding.
func decodeBWord(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	return base64.RawStdEncoding.DecodeString(s)
}

// decodeQWord decodes the "Q" encoding (RFC 2047 section 4.2): "_" is a
// space and "=XX" a byte in hexadecimal.
func decodeQWord(s string) ([]byte, error) {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '_':
			b = append(b, ' ')
		case '=':
			if i+2 >= len(s) {
				return nil, errors.New("truncated =XX escape")
			}
			h, ok1 := unhex(s[i+1])
			l, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("bad escape %q", s[i:i+3])
			}
			b = append(b, h<<4|l)
			i += 2
		default:
			b = append(b, c)
		}
	}
	return b, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// decodeCharset converts b from the charset named by label to UTF-8. The
// labels are those of the WHATWG Encoding Standard, which
// golang.org/x/net/html/charset implements: latin-1 and us-ascii decode as
// windows-1252 (their superset in practice), gb2312 as GBK, and so on.
// UTF-8 and US-ASCII text that is valid UTF-8 is returned as is. Invalid
// sequences become U+FFFD. An unknown label decodes as UTF-8 (with
// replacement) and returns an error matching ErrUnknownCharset.
func decodeCharset(label string, b []byte) (string, error) {
	label = strings.ToLower(strings.Trim(label, " \t\"'"))
	switch label {
	case "", "utf-8", "utf8", "us-ascii", "ascii", "7bit", "8bit":
		if utf8.Valid(b) {
			return string(b), nil
		}
		if label == "utf-8" || label == "utf8" {
			return strings.ToValidUTF8(string(b), "\uFFFD"), nil
		}
		// Undeclared or "us-ascii" 8-bit text: windows-1252 is the usual
		// truth (and the WHATWG meaning of "us-ascii").
		label = "windows-1252"
	}
	enc, _ := charset.Lookup(label)
	if enc == nil {
		return strings.ToValidUTF8(string(b), "\uFFFD"), fmt.Errorf("mailscore: %w %q", ErrUnknownCharset, truncate(label, 40))
	}
	dec := enc.NewDecoder()
	if strings.HasPrefix(label, "utf-16") || strings.HasPrefix(label, "utf16") || label == "unicode" {
		// A byte order mark overrides the label's byte order (RFC 2781
		// section 3.2) and is not part of the text.
		dec = &encoding.Decoder{Transformer: unicode.BOMOverride(dec.Transformer)}
	}
	out, err := dec.Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD"), fmt.Errorf("mailscore: decoding %s: %w", label, err)
	}
	if !utf8.Valid(out) {
		return strings.ToValidUTF8(string(out), "\uFFFD"), nil
	}
	return string(out), nil
}
