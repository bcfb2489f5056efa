package authres

import (
	"bytes"
	"strconv"
	"strings"
)

// clean replaces what must never reach a header line: control characters
// (CR, LF, NUL, TAB...), DEL and bytes outside ASCII. TAB becomes a space,
// the rest '?'.
func clean(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c >= 0x7f {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case c == '\t':
			b[i] = ' '
		case c < ' ' || c >= 0x7f:
			b[i] = '?'
		}
	}
	return string(b)
}

// keyword writes s keeping the characters a keyword may have (letters,
// digits, '-', '_'); if none is left it writes "x".
func keyword(b *bytes.Buffer, s string) {
	n := 0
	for i := 0; i < len(s); i++ {
		if isKeywordChar(s[i]) {
			b.WriteByte(s[i])
			n++
		}
	}
	if n == 0 {
		b.WriteByte('x')
	}
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// quote writes s as an RFC 2045 value: a token as is, anything else as a
// quoted-string with '"' and '\' escaped (RFC 5322 section 3.2.4).
func quote(b *bytes.Buffer, s string) {
	s = clean(s)
	if isToken(s) {
		b.WriteString(s)
		return
	}
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}

// pvalue writes a property value: unquoted when it is a token or a
// token-like local part "@" domain (RFC 8601 section 2.2 pvalue), quoted
// otherwise.
func pvalue(b *bytes.Buffer, s string) {
	s = clean(s)
	if at := strings.IndexByte(s, '@'); at >= 0 && at == strings.LastIndexByte(s, '@') && at < len(s)-1 {
		if (at == 0 || isToken(s[:at])) && isToken(s[at+1:]) {
			b.WriteString(s)
			return
		}
	}
	quote(b, s)
}

// comment writes s as an RFC 5322 comment with '(', ')' and '\' escaped.
func comment(b *bytes.Buffer, s string) {
	s = clean(s)
	b.WriteByte('(')
	for i := 0; i < len(s); i++ {
		if s[i] == '(' || s[i] == ')' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte(')')
}

// pieces calls emit with each piece of the field value between which a
// line may be folded: the authserv-id (with version), then per resinfo its
// method and result, reason, each property and the comment. resinfo tells
// whether a ';' precedes the piece. The piece is only valid during the call.
func (h *Header) pieces(emit func(piece []byte, resinfo bool)) {
	var b bytes.Buffer
	b.Grow(128)
	quote(&b, h.AuthServID)
	if h.Version > 0 {
		b.WriteByte(' ')
		b.WriteString(strconv.Itoa(h.Version))
	}
	emit(b.Bytes(), false)
	if len(h.Results) == 0 {
		emit([]byte("none"), true)
		return
	}
	for _, r := range h.Results {
		b.Reset()
		keyword(&b, r.Method)
		if r.MethodVersion != "" {
			b.WriteByte('/')
			keyword(&b, r.MethodVersion)
		}
		b.WriteByte('=')
		keyword(&b, r.Value)
		emit(b.Bytes(), true)
		if r.Reason != "" {
			b.Reset()
			b.WriteString("reason=")
			quote(&b, r.Reason)
			emit(b.Bytes(), false)
		}
		for _, p := range r.Props {
			b.Reset()
			keyword(&b, p.Type)
			b.WriteByte('.')
			keyword(&b, p.Name)
			b.WriteByte('=')
			pvalue(&b, p.Value)
			emit(b.Bytes(), false)
		}
		if c := strings.TrimSpace(clean(r.Comment)); c != "" {
			b.Reset()
			comment(&b, c)
			emit(b.Bytes(), false)
		}
	}
}

// String returns the field value on one line, without the field name and
// without a line break:
//
//	mx.example.org; spf=pass smtp.mailfrom=bob@example.com; dkim=pass header.d=example.com
func (h *Header) String() string {
	var b strings.Builder
	b.Grow(64 + 80*len(h.Results))
	first := true
	h.pieces(func(p []byte, resinfo bool) {
		if !first {
			if resinfo {
				b.WriteByte(';')
			}
			b.WriteByte(' ')
		}
		first = false
		b.Write(p)
	})
	return b.String()
}

// Field returns the whole header field, "Authentication-Results: ..."
// ending in CRLF, folded (RFC 5322 section 2.2.3) so that each resinfo
// starts a continuation line and lines stay near 78 characters where the
// pieces allow. Every line break is CRLF followed by a tab.
func (h *Header) Field() string {
	var b strings.Builder
	b.Grow(96 + 90*len(h.Results))
	b.WriteString(FieldName)
	b.WriteString(": ")
	line := len(FieldName) + 2
	first := true
	h.pieces(func(p []byte, resinfo bool) {
		if !first {
			if resinfo {
				b.WriteByte(';')
				line++
			}
			if resinfo || line+1+len(p) > 78 {
				b.WriteString("\r\n\t")
				line = 1
			} else {
				b.WriteByte(' ')
				line++
			}
		}
		first = false
		b.Write(p)
		line += len(p)
	})
	b.WriteString("\r\n")
	return b.String()
}
