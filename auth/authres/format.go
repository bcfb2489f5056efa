package authres

import (
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

// keyword keeps the characters a keyword may have (letters, digits, '-',
// '_'); an empty result becomes "x".
func keyword(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if isKeywordChar(s[i]) {
			b.WriteByte(s[i])
		}
	}
	if b.Len() == 0 {
		return "x"
	}
	return b.String()
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
func quote(b *strings.Builder, s string) {
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
func pvalue(b *strings.Builder, s string) {
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
func comment(b *strings.Builder, s string) {
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

// parts returns the pieces of the field value between which a line may be
// folded: the authserv-id (with version), then per resinfo its method and
// result, reason, each property and the comment. sep[i] tells whether a
// ';' precedes piece i.
func (h *Header) parts() (pieces []string, startsResinfo []bool) {
	var b strings.Builder
	quote(&b, h.AuthServID)
	if h.Version > 0 {
		b.WriteByte(' ')
		b.WriteString(strconv.Itoa(h.Version))
	}
	pieces = append(pieces, b.String())
	startsResinfo = append(startsResinfo, false)
	if len(h.Results) == 0 {
		pieces = append(pieces, "none")
		startsResinfo = append(startsResinfo, true)
		return
	}
	for _, r := range h.Results {
		b.Reset()
		b.WriteString(keyword(r.Method))
		if r.MethodVersion != "" {
			b.WriteByte('/')
			b.WriteString(keyword(r.MethodVersion))
		}
		b.WriteByte('=')
		b.WriteString(keyword(r.Value))
		pieces = append(pieces, b.String())
		startsResinfo = append(startsResinfo, true)
		if r.Reason != "" {
			b.Reset()
			b.WriteString("reason=")
			quote(&b, r.Reason)
			pieces = append(pieces, b.String())
			startsResinfo = append(startsResinfo, false)
		}
		for _, p := range r.Props {
			b.Reset()
			b.WriteString(keyword(p.Type))
			b.WriteByte('.')
			b.WriteString(keyword(p.Name))
			b.WriteByte('=')
			pvalue(&b, p.Value)
			pieces = append(pieces, b.String())
			startsResinfo = append(startsResinfo, false)
		}
		if c := strings.TrimSpace(clean(r.Comment)); c != "" {
			b.Reset()
			comment(&b, c)
			pieces = append(pieces, b.String())
			startsResinfo = append(startsResinfo, false)
		}
	}
	return
}

// String returns the field value on one line, without the field name and
// without a line break:
//
//	mx.example.org; spf=pass smtp.mailfrom=bob@example.com; dkim=pass header.d=example.com
func (h *Header) String() string {
	pieces, starts := h.parts()
	var b strings.Builder
	for i, p := range pieces {
		if i > 0 {
			if starts[i] {
				b.WriteByte(';')
			}
			b.WriteByte(' ')
		}
		b.WriteString(p)
	}
	return b.String()
}

// Field returns the whole header field, "Authentication-Results: ..."
// ending in CRLF, folded (RFC 5322 section 2.2.3) so that each resinfo
// starts a continuation line and lines stay near 78 characters where the
// pieces allow. Every line break is CRLF followed by a tab.
func (h *Header) Field() string {
	pieces, starts := h.parts()
	var b strings.Builder
	b.WriteString(FieldName)
	b.WriteString(": ")
	line := len(FieldName) + 2
	for i, p := range pieces {
		if i > 0 {
			if starts[i] {
				b.WriteByte(';')
				line++
			}
			if starts[i] || line+1+len(p) > 78 {
				b.WriteString("\r\n\t")
				line = 1
			} else {
				b.WriteByte(' ')
				line++
			}
		}
		b.WriteString(p)
		line += len(p)
	}
	b.WriteString("\r\n")
	return b.String()
}
