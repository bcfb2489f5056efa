package content

import (
	"bytes"

	"golang.org/x/net/html"
)

// htmlLexer splits an HTML document into tokens exactly as the Tokenizer
// of golang.org/x/net/html does (same token types, same Raw bytes, same
// Text), without its costs: x/net's Tokenizer reads byte by byte through
// an io.Reader, allocates a buffer and a map per document and clones every
// attribute name into a string to spot duplicates. This lexer scans one
// reused in-memory buffer, skips text with bytes.IndexByte and allocates
// nothing except when a text token holds a character reference or a NUL
// byte, or a tag holds more than a few dozen attributes.
//
// It follows the tokenization states of the WHATWG HTML standard (section
// 13.2.5) as x/net implements them, x/net's simplifications included:
// CDATA sections are bogus comments (x/net's default, AllowCDATA false);
// doctypes and bogus comments run to the first '>'; text after <script>,
// <style>, <title>, <textarea>, <iframe>, <noembed>, <noframes>,
// <noscript>, <xmp> and <plaintext> is raw up to the matching end tag
// (section 13.2.5.2-13.2.5.8, the script data escape states included); a
// tag cut off by the end of the input ends the token stream.
// TestHTMLLexerMatchesXNet and FuzzHTMLLexer check it token for token
// against x/net.
type htmlLexer struct {
	buf        []byte // the document (a private copy: Text rewrites newlines in place)
	pos        int    // where the next token starts
	start, end int    // raw bytes of the current token
	data       span   // a text token's text, a tag's name, a comment's text
	tt         html.TokenType
	rawTag     rawKind // set by a start tag whose content is raw text
	textIsRaw  bool    // the text token's character references are not decoded
	convertNUL bool    // the text token's NUL bytes become U+FFFD
	attrs      []attrSpan
	seen       map[string]struct{} // duplicate attribute names in very long tags
	text       []byte              // decoded text when it differs from the raw bytes
}

type span struct{ start, end int }

// attrSpan is where one attribute of the current start tag lies.
type attrSpan struct {
	key  span
	vend int // end of the value
}

// rawKind names the elements whose content is read as raw text (or RCDATA:
// title, textarea) up to the matching end tag.
type rawKind uint8

const (
	rawNone rawKind = iota
	rawScript
	rawStyle
	rawTextarea
	rawTitle
	rawIframe
	rawNoembed
	rawNoframes
	rawNoscript
	rawPlaintext
	rawXmp
)

var rawNames = [...]string{"", "script", "style", "textarea", "title", "iframe", "noembed", "noframes", "noscript", "plaintext", "xmp"}

// maxLinearAttrs is how many attributes one tag may have before duplicate
// names are found with a map instead of by comparing every pair.
const maxLinearAttrs = 32

// reset starts lexing src, reusing the lexer's buffers.
func (z *htmlLexer) reset(src string) {
	*z = htmlLexer{buf: append(z.buf[:0], src...), attrs: z.attrs[:0], text: z.text[:0], seen: z.seen}
}

func isTagSpace(c byte) bool { return htmlSpace[c] }

// tagNameEnd marks the bytes that end a tag name: white space, '/', '>'.
var tagNameEnd = [256]bool{' ': true, '\t': true, '\n': true, '\r': true, '\f': true, '/': true, '>': true}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// Raw returns the unmodified bytes of the current token. They are valid
// until the next call to Next.
func (z *htmlLexer) Raw() []byte { return z.buf[z.start:z.end] }

// Next scans the next token and returns its type; html.ErrorToken at the
// end of the input (and from then on).
func (z *htmlLexer) Next() html.TokenType {
	z.start, z.end = z.pos, z.pos
	z.data = span{z.pos, z.pos}
	if kind := z.rawTag; kind != rawNone {
		z.rawTag = rawNone
		var end int
		switch kind {
		case rawPlaintext:
			end = len(z.buf)
		case rawScript:
			end = z.scriptEnd(z.pos)
		default:
			end = z.rawTextEnd(z.pos, rawNames[kind])
		}
		if end > z.pos {
			z.textIsRaw = kind != rawTextarea && kind != rawTitle
			z.convertNUL = true
			return z.emit(html.TextToken, end, span{z.pos, end})
		}
	}
	z.textIsRaw, z.convertNUL = false, false
	buf := z.buf
	for i := z.pos; ; {
		j := bytes.IndexByte(buf[i:], '<')
		if j < 0 || i+j+1 >= len(buf) {
			// No markup follows: the rest is text (a '<' at the very end
			// included).
			return z.textToEnd()
		}
		lt := i + j
		c := buf[lt+1]
		if !isASCIILetter(c) && c != '/' && c != '!' && c != '?' {
			i = lt + 1 // the '<' is text; c is looked at again
			continue
		}
		if lt > z.pos { // the text before the markup comes first
			return z.emit(html.TextToken, lt, span{z.pos, lt})
		}
		switch {
		case isASCIILetter(c):
			return z.startTag(lt)
		case c == '/':
			if lt+2 >= len(buf) { // "</" at the end is text
				return z.textToEnd()
			}
			switch c2 := buf[lt+2]; {
			case c2 == '>': // "</>" is dropped: an empty comment
				return z.emit(html.CommentToken, lt+3, span{lt, lt})
			case isASCIILetter(c2):
				end, ok := z.tag(lt+2, false)
				if !ok {
					return z.stop()
				}
				return z.emit(html.EndTagToken, end, z.data)
			default: // a bogus comment from the character after "</"
				return z.untilCloseAngle(lt + 2)
			}
		case c == '!':
			return z.markupDeclaration(lt + 2)
		default: // "<?": a bogus comment from the '?'
			return z.untilCloseAngle(lt + 1)
		}
	}
}

// emit makes buf[pos:end] the current token.
func (z *htmlLexer) emit(tt html.TokenType, end int, data span) html.TokenType {
	z.start, z.end, z.pos, z.tt, z.data = z.pos, end, end, tt, data
	return tt
}

// textToEnd returns the rest of the input as a text token, or the end.
func (z *htmlLexer) textToEnd() html.TokenType {
	if z.pos >= len(z.buf) {
		return z.stop()
	}
	return z.emit(html.TextToken, len(z.buf), span{z.pos, len(z.buf)})
}

// stop ends the token stream (the input ended, possibly inside a tag,
// which is then dropped; Raw still shows it, as x/net's does).
func (z *htmlLexer) stop() html.TokenType {
	z.start, z.end, z.pos = z.pos, len(z.buf), len(z.buf)
	z.data = span{len(z.buf), len(z.buf)}
	z.tt = html.ErrorToken
	return z.tt
}

// untilCloseAngle makes a comment token of everything up to the first '>'
// at or after from, or to the end of the input.
func (z *htmlLexer) untilCloseAngle(from int) html.TokenType {
	if k := bytes.IndexByte(z.buf[from:], '>'); k >= 0 {
		return z.emit(html.CommentToken, from+k+1, span{from, from + k})
	}
	return z.emit(html.CommentToken, len(z.buf), span{from, len(z.buf)})
}

// markupDeclaration reads what follows "<!" (p is just after it): a
// comment, a doctype, or a bogus comment up to the next '>'.
func (z *htmlLexer) markupDeclaration(p int) html.TokenType {
	buf := z.buf
	if p+2 > len(buf) { // fewer than two more bytes: a bogus comment
		return z.untilCloseAngle(p)
	}
	if buf[p] == '-' && buf[p+1] == '-' {
		return z.comment(p + 2)
	}
	const doctype = "doctype"
	if p+len(doctype) <= len(buf) && asciiEqualFold(buf[p:p+len(doctype)], doctype) {
		q := p + len(doctype)
		for q < len(buf) && isTagSpace(buf[q]) {
			q++
		}
		z.untilCloseAngle(q)
		z.tt = html.DoctypeToken
		return z.tt
	}
	return z.untilCloseAngle(p)
}

// comment reads a comment whose text starts at p (just after "<!--"). It
// ends at "-->" or "--!>", or at once in "<!-->" and "<!--->"; an
// unclosed comment runs to the end of the input, its text without the
// dashes (and "!") that began a closing sequence.
func (z *htmlLexer) comment(p int) html.TokenType {
	buf := z.buf
	dashes, beginning := 0, true
	for q := p; q < len(buf); q++ {
		switch buf[q] {
		case '-':
			dashes++
			continue
		case '>':
			if dashes >= 2 || beginning {
				return z.emit(html.CommentToken, q+1, span{p, max(p, q+1-len("-->"))})
			}
		case '!':
			if dashes >= 2 {
				q++
				if q >= len(buf) {
					break
				}
				if buf[q] == '>' {
					return z.emit(html.CommentToken, q+1, span{p, max(p, q+1-len("--!>"))})
				}
				if buf[q] == '-' {
					dashes, beginning = 1, false
					continue
				}
			}
		}
		dashes, beginning = 0, false
	}
	end := len(buf)
	switch rest := buf[p:]; {
	case bytes.HasSuffix(rest, []byte("--!")):
		end -= 3
	case bytes.HasSuffix(rest, []byte("--")):
		end -= 2
	case bytes.HasSuffix(rest, []byte("-")):
		end--
	}
	return z.emit(html.CommentToken, len(buf), span{p, max(p, end)})
}

func asciiEqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// startTag reads a start tag whose '<' is at lt.
func (z *htmlLexer) startTag(lt int) html.TokenType {
	end, ok := z.tag(lt+1, true)
	if !ok {
		return z.stop()
	}
	z.rawTag = rawKindOf(z.buf[z.data.start:z.data.end])
	tt := html.StartTagToken
	// Self-closing ("<br/>") when the byte before '>' is a '/' that is not
	// the last byte of the last kept attribute's value: "<p a=/>" is a
	// start tag whose attribute a is "/".
	if z.buf[end-2] == '/' {
		if last, ok := z.lastKeptAttr(); !ok || end-2 != last.vend-1 {
			tt = html.SelfClosingTagToken
		}
	}
	return z.emit(tt, end, z.data)
}

// rawKindOf returns the raw-text kind of a tag name, case-insensitively.
func rawKindOf(name []byte) rawKind {
	if len(name) < 3 || len(name) > len("plaintext") {
		return rawNone
	}
	switch name[0] | 0x20 {
	case 'i', 'n', 'p', 's', 't', 'x':
	default:
		return rawNone
	}
	for k := rawScript; k <= rawXmp; k++ {
		if asciiEqualFold(name, rawNames[k]) {
			return k
		}
	}
	return rawNone
}

// tag reads a tag whose name starts at p (a letter) up to its closing '>',
// setting z.data to the name and, for a start tag (keep), z.attrs to its
// attributes. It returns the end of the tag; ok is false when the input
// ends first. Attribute syntax as in sections 13.2.5.32-13.2.5.39: a name
// runs to white space, '/', '>' or a '=' that is not its first byte; a
// value is quoted, or runs to white space or '>'.
func (z *htmlLexer) tag(p int, keep bool) (end int, ok bool) {
	buf := z.buf
	n := len(buf)
	z.attrs = z.attrs[:0]
	q := p + 1
	for ; ; q++ {
		if q >= n {
			return 0, false
		}
		if tagNameEnd[buf[q]] {
			break
		}
	}
	z.data = span{p, q}
	if isTagSpace(buf[q]) {
		q++
	}
	for {
		for q < n && isTagSpace(buf[q]) {
			q++
		}
		if q >= n {
			return 0, false
		}
		if buf[q] == '>' {
			return q + 1, true
		}
		// Attribute name.
		ks := q
		for ; ; q++ {
			if q >= n {
				return 0, false
			}
			c := buf[q]
			if c == '=' && q == ks {
				continue
			}
			if c == '=' || tagNameEnd[c] {
				break
			}
		}
		key := span{ks, q}
		// Attribute value: the value is empty unless "=" follows.
		vend := q
		for q < n && isTagSpace(buf[q]) {
			q++
		}
		if q >= n {
			return 0, false
		}
		switch c := buf[q]; c {
		case '/':
			q++
		case '=':
			q++
			for q < n && isTagSpace(buf[q]) {
				q++
			}
			if q >= n {
				return 0, false
			}
			switch quote := buf[q]; quote {
			case '>':
			case '"', '\'':
				k := bytes.IndexByte(buf[q+1:], quote)
				if k < 0 {
					return 0, false
				}
				vend = q + 1 + k
				q = vend + 1
			default:
				for q++; ; q++ {
					if q >= n {
						return 0, false
					}
					if c := buf[q]; isTagSpace(c) {
						vend = q
						q++
						break
					} else if c == '>' {
						vend = q
						break
					}
				}
			}
		}
		if keep {
			z.attrs = append(z.attrs, attrSpan{key: key, vend: vend})
		}
	}
}

// lastKeptAttr returns the last attribute of the current start tag whose
// name is not empty and not a repeat of an earlier one (names compared
// ASCII-case-insensitively): a repeated attribute is ignored (section
// 13.2.5.33).
func (z *htmlLexer) lastKeptAttr() (attrSpan, bool) {
	var last attrSpan
	found := false
	if len(z.attrs) > maxLinearAttrs {
		if z.seen == nil {
			z.seen = make(map[string]struct{})
		}
		clear(z.seen)
	}
	var lk []byte
	for i, a := range z.attrs {
		key := z.buf[a.key.start:a.key.end]
		if len(key) == 0 {
			continue
		}
		if len(z.attrs) > maxLinearAttrs {
			lk = append(lk[:0], key...)
			for k, c := range lk {
				if 'A' <= c && c <= 'Z' {
					lk[k] = c + 'a' - 'A'
				}
			}
			if _, dup := z.seen[string(lk)]; dup {
				continue
			}
			z.seen[string(lk)] = struct{}{}
		} else if z.repeated(i) {
			continue
		}
		last, found = a, true
	}
	return last, found
}

// repeated reports whether attribute i's name appeared earlier in the tag.
func (z *htmlLexer) repeated(i int) bool {
	key := z.buf[z.attrs[i].key.start:z.attrs[i].key.end]
	for _, b := range z.attrs[:i] {
		if asciiFoldEqual(z.buf[b.key.start:b.key.end], key) {
			return true
		}
	}
	return false
}

// asciiFoldEqual compares a and b folding only ASCII letters (as
// html.Tokenizer lower-cases attribute names).
func asciiFoldEqual(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// matchEndTag matches the rest of an end tag "</name" followed by white
// space, '/' or '>', with p just after "</". It returns whether it
// matched; if not, next is where reading resumes (the first byte that did
// not match), and eof reports that the input ended first.
func (z *htmlLexer) matchEndTag(p int, name string) (matched bool, next int, eof bool) {
	buf := z.buf
	for i := 0; i < len(name); i++ {
		if p+i >= len(buf) {
			return false, 0, true
		}
		if c := buf[p+i]; c != name[i] && c != name[i]-('a'-'A') {
			return false, p + i, false
		}
	}
	q := p + len(name)
	if q >= len(buf) {
		return false, 0, true
	}
	switch buf[q] {
	case ' ', '\n', '\r', '\t', '\f', '/', '>':
		return true, 0, false
	}
	return false, q, false
}

// rawTextEnd returns where the raw text (or RCDATA) starting at p ends: at
// the '<' of "</name" followed by white space, '/' or '>', or at the end.
func (z *htmlLexer) rawTextEnd(p int, name string) int {
	buf := z.buf
	for q := p; ; {
		j := bytes.IndexByte(buf[q:], '<')
		if j < 0 {
			return len(buf)
		}
		lt := q + j
		if lt+1 >= len(buf) {
			return len(buf)
		}
		if buf[lt+1] != '/' {
			q = lt + 1
			continue
		}
		matched, next, eof := z.matchEndTag(lt+2, name)
		switch {
		case matched:
			return lt
		case eof:
			return len(buf)
		}
		q = next
	}
}

// Script data states (section 13.2.5.4 and 13.2.5.15-13.2.5.31).
const (
	sdData = iota
	sdLessThan
	sdEscapeStart
	sdEscapeStartDash
	sdEscaped
	sdEscapedDash
	sdEscapedDashDash
	sdEscapedLessThan
	sdDoubleEscaped
	sdDoubleEscapedDash
	sdDoubleEscapedDashDash
	sdDoubleEscapedLessThan
)

// scriptEnd returns where the script data starting at p ends: at the '<'
// of its "</script" end tag, or at the end of the input. Inside "<!--",
// a "<script" opens a double-escaped section that the first "</script"
// closes, as browsers (and x/net) read it.
func (z *htmlLexer) scriptEnd(p int) int {
	buf := z.buf
	n := len(buf)
	state := sdData
	for q := p; q < n; {
		c := buf[q]
		q++
		switch state {
		case sdData:
			if c == '<' {
				state = sdLessThan
			} else if k := bytes.IndexByte(buf[q:], '<'); k >= 0 {
				q += k
			} else {
				return n
			}
		case sdLessThan:
			switch c {
			case '/':
				matched, next, eof := z.matchEndTag(q, "script")
				switch {
				case matched:
					return q - 2
				case eof:
					return n
				}
				q, state = next, sdData
			case '!':
				state = sdEscapeStart
			default:
				q, state = q-1, sdData
			}
		case sdEscapeStart, sdEscapeStartDash:
			switch {
			case c != '-':
				q, state = q-1, sdData
			case state == sdEscapeStart:
				state = sdEscapeStartDash
			default:
				state = sdEscapedDashDash
			}
		case sdEscaped, sdEscapedDash, sdEscapedDashDash:
			switch c {
			case '-':
				state = min(state+1, sdEscapedDashDash)
			case '<':
				state = sdEscapedLessThan
			case '>':
				if state == sdEscapedDashDash {
					state = sdData
				} else {
					state = sdEscaped
				}
			default:
				state = sdEscaped
			}
		case sdEscapedLessThan:
			switch {
			case c == '/':
				matched, next, eof := z.matchEndTag(q, "script")
				switch {
				case matched:
					return q - 2
				case eof:
					return n
				}
				q, state = next, sdEscaped
			case isASCIILetter(c):
				// Double escape start: "<script" followed by white
				// space, '/' or '>'.
				q--
				const name = "script"
				i := 0
				for ; i < len(name); i++ {
					if q+i >= n {
						return n
					}
					if b := buf[q+i]; b != name[i] && b != name[i]-('a'-'A') {
						break
					}
				}
				if i < len(name) {
					q, state = q+i, sdEscaped
					break
				}
				q += len(name)
				if q >= n {
					return n
				}
				if isTagSpace(buf[q]) || buf[q] == '/' || buf[q] == '>' {
					q, state = q+1, sdDoubleEscaped
				} else {
					state = sdEscaped
				}
			default:
				q, state = q-1, sdData
			}
		case sdDoubleEscaped, sdDoubleEscapedDash, sdDoubleEscapedDashDash:
			switch c {
			case '-':
				state = min(state+1, sdDoubleEscapedDashDash)
			case '<':
				state = sdDoubleEscapedLessThan
			case '>':
				if state == sdDoubleEscapedDashDash {
					state = sdData
				} else {
					state = sdDoubleEscaped
				}
			default:
				state = sdDoubleEscaped
			}
		case sdDoubleEscapedLessThan:
			if c != '/' {
				q, state = q-1, sdDoubleEscaped
				break
			}
			matched, next, eof := z.matchEndTag(q, "script")
			switch {
			case matched: // "</script" and its delimiter end the double escape
				q, state = q+len("script")+1, sdEscaped
			case eof:
				return n
			default:
				q, state = next, sdDoubleEscaped
			}
		}
	}
	return n
}

// Text returns the text of a text, comment or doctype token as x/net's
// Tokenizer.Text does: newlines normalized to "\n" (section 13.2.3.5),
// NUL bytes of raw text and comments replaced by U+FFFD, and character
// references decoded except in raw text. It may rewrite the token's bytes
// in the buffer, so it is called once per token, and the result is valid
// until the next call to Next.
func (z *htmlLexer) Text() []byte {
	switch z.tt {
	case html.TextToken, html.CommentToken, html.DoctypeToken:
	default:
		return nil
	}
	s := convertNewlines(z.buf[z.data.start:z.data.end])
	z.data = span{z.end, z.end}
	if (z.convertNUL || z.tt == html.CommentToken) && bytes.IndexByte(s, 0) >= 0 {
		s = bytes.ReplaceAll(s, []byte{0}, []byte("\ufffd"))
	}
	if !z.textIsRaw && bytes.IndexByte(s, '&') >= 0 {
		z.text = append(z.text[:0], html.UnescapeString(string(s))...)
		s = z.text
	}
	return s
}

// convertNewlines rewrites "\r\n" and "\r" in s to "\n" in place and
// returns the possibly shorter result.
func convertNewlines(s []byte) []byte {
	i := bytes.IndexByte(s, '\r')
	if i < 0 {
		return s
	}
	w := i
	for r := i; r < len(s); r++ {
		c := s[r]
		if c == '\r' {
			c = '\n'
			if r+1 < len(s) && s[r+1] == '\n' {
				r++
			}
		}
		s[w] = c
		w++
	}
	return s[:w]
}
