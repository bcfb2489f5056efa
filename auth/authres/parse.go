package authres

import (
	"strconv"
	"strings"
)

type parser struct {
	s        string
	i        int
	comments []string // comments met since the last reset
}

func (p *parser) fail(msg string) error { return &SyntaxError{Offset: p.i, Msg: msg} }

// cfws skips folding white space and comments (RFC 5322 section 3.2.2),
// keeping the comments' text.
func (p *parser) cfws() error {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		case '(':
			if err := p.comment(); err != nil {
				return err
			}
		default:
			return nil
		}
	}
	return nil
}

// comment reads one comment, nested comments included, unescaping
// quoted-pairs.
func (p *parser) comment() error {
	var b strings.Builder
	depth := 0
	for {
		if p.i >= len(p.s) {
			return p.fail("unterminated comment")
		}
		c := p.s[p.i]
		p.i++
		switch c {
		case '\\':
			if p.i < len(p.s) {
				b.WriteByte(p.s[p.i])
				p.i++
			}
			continue
		case '(':
			if depth++; depth > maxDepth {
				return p.fail("comments nested too deeply")
			}
			if depth == 1 {
				continue
			}
		case ')':
			if depth--; depth == 0 {
				p.comments = append(p.comments, strings.TrimSpace(b.String()))
				return nil
			}
		}
		b.WriteByte(c)
	}
}

// keyword reads a method, result, ptype or property name.
func (p *parser) keyword(what string) (string, error) {
	start := p.i
	for p.i < len(p.s) && isKeywordChar(p.s[p.i]) {
		p.i++
	}
	if p.i == start {
		return "", p.fail("expected " + what)
	}
	return p.s[start:p.i], nil
}

// quoted reads a quoted-string, resolving quoted-pairs.
func (p *parser) quoted() (string, error) {
	p.i++ // the opening quote
	var b strings.Builder
	for {
		if p.i >= len(p.s) {
			return "", p.fail("unterminated quoted string")
		}
		c := p.s[p.i]
		p.i++
		switch c {
		case '"':
			return b.String(), nil
		case '\\':
			if p.i < len(p.s) {
				b.WriteByte(p.s[p.i])
				p.i++
			}
		case '\r', '\n':
			// folding inside a quoted string: the line break is removed
		default:
			b.WriteByte(c)
		}
	}
}

// value reads an RFC 2045 value: a token or a quoted-string.
func (p *parser) value(what string) (string, error) {
	if p.i < len(p.s) && p.s[p.i] == '"' {
		return p.quoted()
	}
	start := p.i
	for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
		p.i++
	}
	if p.i == start {
		return "", p.fail("expected " + what)
	}
	return p.s[start:p.i], nil
}

// pvalue reads a property value: a quoted-string (optionally followed by
// "@" domain), or a run of characters up to white space, ';' or a comment.
// The run is more lenient than RFC 8601's grammar, so that values such as
// unquoted IPv6 addresses or base64 prefixes, which verifiers write, parse.
func (p *parser) pvalue() (string, error) {
	var b strings.Builder
	if p.i < len(p.s) && p.s[p.i] == '"' {
		q, err := p.quoted()
		if err != nil {
			return "", err
		}
		b.WriteString(q)
		if p.i >= len(p.s) || p.s[p.i] != '@' {
			return b.String(), nil
		}
	}
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c <= ' ' || c == ';' || c == '(' || c == ')' || c == '"' || c == 0x7f {
			break
		}
		p.i++
	}
	b.WriteString(p.s[start:p.i])
	if b.Len() == 0 {
		return "", p.fail("expected a property value")
	}
	return b.String(), nil
}

func (p *parser) peek(c byte) bool { return p.i < len(p.s) && p.s[p.i] == c }

// Parse parses an Authentication-Results field value (without the field
// name; folding allowed), following RFC 8601 section 2.2. Comments are
// collected into Result.Comment. Every error matches ErrSyntax.
func Parse(value string) (*Header, error) {
	if len(value) > MaxLength {
		return nil, &SyntaxError{Offset: MaxLength, Msg: "field longer than the limit"}
	}
	p := &parser{s: value}
	h := &Header{}
	if err := p.cfws(); err != nil {
		return nil, err
	}
	id, err := p.value("authserv-id")
	if err != nil {
		return nil, err
	}
	h.AuthServID = id
	if err := p.cfws(); err != nil {
		return nil, err
	}
	// authres-version = 1*DIGIT
	if start := p.i; p.i < len(p.s) && '0' <= p.s[p.i] && p.s[p.i] <= '9' {
		for p.i < len(p.s) && '0' <= p.s[p.i] && p.s[p.i] <= '9' {
			p.i++
		}
		v, err := strconv.Atoi(p.s[start:p.i])
		if err != nil || v > 1<<20 {
			return nil, p.fail("bad version")
		}
		h.Version = v
		if err := p.cfws(); err != nil {
			return nil, err
		}
	}
	if !p.peek(';') {
		return nil, p.fail("expected ';' after the authserv-id")
	}
	first := true
	for p.peek(';') {
		p.i++
		p.comments = nil
		if err := p.cfws(); err != nil {
			return nil, err
		}
		if p.i == len(p.s) {
			break // a trailing ';'
		}
		m, err := p.keyword("a method")
		if err != nil {
			return nil, err
		}
		if err := p.cfws(); err != nil {
			return nil, err
		}
		if first && strings.EqualFold(m, "none") && (p.i == len(p.s) || p.peek(';')) {
			// no-result (section 2.2)
			if err := p.cfws(); err != nil {
				return nil, err
			}
			if p.i != len(p.s) {
				return nil, p.fail("text after \"none\"")
			}
			return h, nil
		}
		first = false
		r := Result{Method: m}
		if p.peek('/') {
			p.i++
			if err := p.cfws(); err != nil {
				return nil, err
			}
			if r.MethodVersion, err = p.keyword("a method version"); err != nil {
				return nil, err
			}
			if err := p.cfws(); err != nil {
				return nil, err
			}
		}
		if !p.peek('=') {
			return nil, p.fail("expected '=' after the method")
		}
		p.i++
		if err := p.cfws(); err != nil {
			return nil, err
		}
		if r.Value, err = p.keyword("a result"); err != nil {
			return nil, err
		}
		for {
			if err := p.cfws(); err != nil {
				return nil, err
			}
			if p.i == len(p.s) || p.peek(';') {
				break
			}
			name, err := p.keyword("reason or a property")
			if err != nil {
				return nil, err
			}
			if err := p.cfws(); err != nil {
				return nil, err
			}
			if strings.EqualFold(name, "reason") && p.peek('=') {
				if r.Reason != "" || len(r.Props) > 0 {
					return nil, p.fail("reason must come once, before the properties")
				}
				p.i++
				if err := p.cfws(); err != nil {
					return nil, err
				}
				if r.Reason, err = p.value("a reason"); err != nil {
					return nil, err
				}
				continue
			}
			if !p.peek('.') {
				return nil, p.fail("expected '.' in ptype.property")
			}
			p.i++
			if err := p.cfws(); err != nil {
				return nil, err
			}
			prop, err := p.keyword("a property")
			if err != nil {
				return nil, err
			}
			if err := p.cfws(); err != nil {
				return nil, err
			}
			if !p.peek('=') {
				return nil, p.fail("expected '=' after the property")
			}
			p.i++
			if err := p.cfws(); err != nil {
				return nil, err
			}
			v, err := p.pvalue()
			if err != nil {
				return nil, err
			}
			if len(r.Props) == MaxProperties {
				return nil, p.fail("too many properties")
			}
			r.Props = append(r.Props, Property{Type: name, Name: prop, Value: v})
		}
		r.Comment = strings.Join(nonEmpty(p.comments), " ")
		if len(h.Results) == MaxResults {
			return nil, p.fail("too many results")
		}
		h.Results = append(h.Results, r)
	}
	if p.i != len(p.s) {
		return nil, p.fail("unexpected text")
	}
	return h, nil
}

func nonEmpty(ss []string) []string {
	out := ss[:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
