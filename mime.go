package mailscore

// The MIME walk: a message's body decoded once into its leaf parts.
//
// Standards implemented, and how leniently:
//
//   - RFC 2045 section 5 (Content-Type syntax and parameters; section 5.2:
//     a missing or syntactically invalid Content-Type means text/plain),
//     section 6 (Content-Transfer-Encoding: 7bit, 8bit, binary,
//     quoted-printable per section 6.7, base64 per section 6.8; section 6.4:
//     an unrecognized encoding makes the part application/octet-stream).
//   - RFC 2046 section 5.1 (multipart: boundary delimiters and the close
//     delimiter per section 5.1.1, preamble and epilogue ignored; section
//     5.1.5: in multipart/digest the default type is message/rfc822) and
//     section 5.2.1 (message/rfc822 is walked into as a nested message).
//   - RFC 2047 (encoded-words in filenames written that way; see
//     DecodeHeaderValue) and RFC 2231 sections 3 and 4 (parameter value
//     continuations, charsets and languages).
//   - RFC 2183 (Content-Disposition and its filename parameter).
//
// Broken structure is decoded as far as it goes and recorded as a defect:
// a multipart without a usable boundary is read as one text/plain part, a
// multipart without its close delimiter ends at the end of the message,
// undecodable base64 is decoded around the damage. Depth, part count and
// total decoded size are bounded by the message's Limits; hitting a bound
// stops the walk with a defect and sets MIME.Limited.

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
)

// MIME is a message's MIME structure: its leaf parts, decoded, and what
// was broken. It is shared by every check and must not be modified.
type MIME struct {
	// Parts are the leaf parts in document order (depth-first); a message
	// that is not multipart has one part.
	Parts []Part
	// Defects says what was broken (unterminated multipart, missing
	// boundary, bad base64, a limit hit...), in the order found. Defects of
	// one part are prefixed with "part N: " and also listed in Part.Defects.
	Defects []string
	// Limited reports that a decoding limit (Limits.MaxMIMEDepth, MaxParts
	// or MaxDecodedSize) stopped the walk; Defects says which.
	Limited bool
	// Decoded is the total number of transfer-decoded body bytes.
	Decoded int
}

// Part is one leaf of the MIME tree.
type Part struct {
	// Path is the part's position, numbered as in IMAP (RFC 3501 section
	// 6.4.5): "1", "2.1". The body of a message that is not multipart is "1".
	Path string
	// Depth counts the multiparts and message/rfc822 parts around it.
	Depth int
	// ContentType is the lower-case type/subtype; text/plain when absent or
	// invalid (RFC 2045 section 5.2).
	ContentType string
	// Params are the Content-Type parameters with lower-case names and
	// RFC 2231 continuations and charsets decoded.
	Params map[string]string
	// Charset is the lower-case charset parameter, "" if none.
	Charset string
	// Encoding is the lower-case Content-Transfer-Encoding ("" if none).
	Encoding string
	// Disposition is "inline", "attachment" or "" (RFC 2183).
	Disposition string
	// Filename is the Content-Disposition filename, or else the
	// Content-Type name parameter, decoded (RFC 2231, RFC 2047); "" if none.
	Filename string
	// Body holds the transfer-decoded bytes (base64 and quoted-printable
	// undone), not charset-converted. It may alias the message's bytes and
	// must not be modified.
	Body []byte
	// Text is, for text/* parts, Body converted to UTF-8 (invalid
	// sequences replaced with U+FFFD); "" otherwise.
	Text string
	// SniffedType is the type the bytes show (net/http.DetectContentType
	// plus magic numbers for executables, archives, OLE documents and PDF),
	// for parts that are not text/* or that have a filename or an
	// attachment disposition; "" otherwise.
	SniffedType string
	// Defects says what was wrong with this part.
	Defects []string
}

// IsAttachment reports whether the part is an attachment: disposition
// attachment, or a filename, or a type that is neither text nor a
// multipart.
func (p *Part) IsAttachment() bool {
	return p.Disposition == "attachment" || p.Filename != "" ||
		!strings.HasPrefix(p.ContentType, "text/")
}

// MIME returns the message's MIME structure, decoded on first use and
// shared by all checks (it is safe for concurrent use). Never nil.
func (m *Message) MIME() *MIME {
	m.mimeOnce.Do(func() { m.mime = m.parseMIME() })
	return m.mime
}

// entityHeader holds the MIME fields of one entity, unfolded.
type entityHeader struct {
	ctype  []string // every Content-Type field; the first one counts
	cte    string
	disp   string
	fields int
}

type mimeWalker struct {
	lim      Limits
	out      *MIME
	entities int
	stopped  bool // a part or size limit stopped the walk
	sizeHit  bool
}

func (m *Message) parseMIME() *MIME {
	w := &mimeWalker{lim: m.limits.resolved(), out: &MIME{}}
	var h entityHeader
	for _, f := range m.Header.fields {
		switch {
		case strings.EqualFold(f.Name, "Content-Type"):
			h.ctype = append(h.ctype, f.Value())
		case strings.EqualFold(f.Name, "Content-Transfer-Encoding"):
			if h.cte == "" {
				h.cte = f.Value()
			}
		case strings.EqualFold(f.Name, "Content-Disposition"):
			if h.disp == "" {
				h.disp = f.Value()
			}
		}
	}
	w.entity(&h, m.Body(), "", true, 0, "text/plain")
	return w.out
}

func joinPath(path string, i int) string {
	if path == "" {
		return strconv.Itoa(i)
	}
	return path + "." + strconv.Itoa(i)
}

// defect records a defect of the entity at path (or of the message).
func (w *mimeWalker) defect(path, s string) {
	if len(w.out.Defects) >= maxDefects {
		return
	}
	if path != "" {
		s = "part " + path + ": " + s
	}
	w.out.Defects = append(w.out.Defects, s)
}

// maxDefects bounds the defects recorded for one message.
const maxDefects = 64

func (w *mimeWalker) limit(s string) {
	w.out.Limited = true
	w.defect("", s)
}

// entity walks one MIME entity. path is its number; encapsulated means it
// is the body of a message (the top level or a message/rfc822 part), whose
// single leaf is numbered path.1.
func (w *mimeWalker) entity(h *entityHeader, body []byte, path string, encapsulated bool, depth int, defType string) {
	if w.stopped {
		return
	}
	w.entities++
	if w.entities > w.lim.MaxParts {
		w.stopped = true
		w.limit(fmt.Sprintf("more than %d MIME parts (Limits.MaxParts): the rest of the message was not decoded", w.lim.MaxParts))
		return
	}
	leafPath := path
	if encapsulated || path == "" {
		leafPath = joinPath(path, 1)
	}
	var defects []string
	ct, params := defType, map[string]string(nil)
	if len(h.ctype) > 1 {
		defects = append(defects, fmt.Sprintf("%d Content-Type fields; the first one is used", len(h.ctype)))
	}
	if len(h.ctype) > 0 {
		t, p, ok, pd := parseContentType(h.ctype[0])
		defects = append(defects, pd...)
		if ok {
			ct, params = t, p
		} else {
			defects = append(defects, fmt.Sprintf("invalid Content-Type %q; read as text/plain (RFC 2045 section 5.2)", truncate(h.ctype[0], 60)))
			ct = "text/plain"
		}
	}
	cte := strings.ToLower(strings.TrimSpace(h.cte))

	composite := strings.HasPrefix(ct, "multipart/") || ct == "message/rfc822" || ct == "message/global"
	if composite && depth >= w.lim.MaxMIMEDepth {
		w.out.Limited = true
		defects = append(defects, fmt.Sprintf("MIME nesting deeper than %d (Limits.MaxMIMEDepth): %s part not walked into", w.lim.MaxMIMEDepth, ct))
		w.leaf(h, body, leafPath, depth, "application/octet-stream", params, cte, defects)
		return
	}
	if composite && cte != "" && cte != "7bit" && cte != "8bit" && cte != "binary" {
		// RFC 2045 section 6.4: composite types allow only identity
		// encodings. Decode anyway and walk what comes out.
		defects = append(defects, fmt.Sprintf("%s part has Content-Transfer-Encoding %s, which RFC 2045 section 6.4 forbids", ct, cte))
		dec, ok, dd := w.decodeBody(cte, body)
		defects = append(defects, dd...)
		if !ok {
			w.leaf(h, body, leafPath, depth, "application/octet-stream", params, cte, defects)
			return
		}
		body = dec
	}

	switch {
	case strings.HasPrefix(ct, "multipart/"):
		w.multipart(h, body, path, leafPath, depth, ct, params, cte, defects)
	case ct == "message/rfc822" || ct == "message/global":
		for _, d := range defects {
			w.defect(leafPath, d)
		}
		inner, innerBody, hd := parsePartHeader(body)
		for _, d := range hd {
			w.defect(leafPath, "encapsulated message: "+d)
		}
		p := path
		if p == "" {
			p = leafPath
		}
		w.entity(&inner, innerBody, p, true, depth+1, "text/plain")
	default:
		w.leaf(h, body, leafPath, depth, ct, params, cte, defects)
	}
}

func (w *mimeWalker) multipart(h *entityHeader, body []byte, path, leafPath string, depth int, ct string, params map[string]string, cte string, defects []string) {
	boundary := params["boundary"]
	var parts [][]byte
	closed := false
	if boundary == "" {
		defects = append(defects, ct+" has no boundary parameter; its body is read as text/plain")
	} else {
		if len(boundary) > 70 {
			defects = append(defects, fmt.Sprintf("boundary is %d characters; RFC 2046 section 5.1.1 allows 70", len(boundary)))
		}
		parts, closed = splitMultipart(body, boundary)
		if parts == nil {
			// A second Content-Type field may hold the boundary that is used.
			for _, alt := range h.ctype[min(1, len(h.ctype)):] {
				if _, p2, ok, _ := parseContentType(alt); ok && p2["boundary"] != "" && p2["boundary"] != boundary {
					if ps, cl := splitMultipart(body, p2["boundary"]); ps != nil {
						defects = append(defects, fmt.Sprintf("boundary %q never appears; the boundary of a later Content-Type field is used", truncate(boundary, 40)))
						parts, closed = ps, cl
						break
					}
				}
			}
		}
		if parts == nil {
			defects = append(defects, fmt.Sprintf("%s boundary %q never appears; the body is read as text/plain", ct, truncate(boundary, 40)))
		}
	}
	if parts == nil {
		w.leaf(h, body, leafPath, depth, "text/plain", nil, cte, defects)
		return
	}
	if !closed {
		defects = append(defects, ct+" has no close delimiter (message cut short?); its last part runs to the end")
	}
	if len(parts) == 0 {
		// Only a close delimiter: what came before it is all there is.
		if pre := preamble(body, boundary); len(bytes.TrimSpace(pre)) > 0 {
			defects = append(defects, ct+" has no opening delimiter; the text before its close delimiter is read as its only part")
			parts = [][]byte{pre}
		} else {
			defects = append(defects, ct+" has no body parts")
		}
	}
	for _, d := range defects {
		w.defect(path, d)
	}
	defType := "text/plain"
	if ct == "multipart/digest" {
		defType = "message/rfc822" // RFC 2046 section 5.1.5
	}
	for i, p := range parts {
		if w.stopped {
			return
		}
		ph, pbody, hd := parsePartHeader(p)
		child := joinPath(path, i+1)
		for _, d := range hd {
			w.defect(child, d)
		}
		w.entity(&ph, pbody, child, false, depth+1, defType)
	}
}

// leaf decodes one leaf part and appends it.
func (w *mimeWalker) leaf(h *entityHeader, body []byte, path string, depth int, ct string, params map[string]string, cte string, defects []string) {
	p := Part{Path: path, Depth: depth, ContentType: ct, Params: params, Encoding: cte}
	if params == nil {
		p.Params = map[string]string{}
	}
	p.Charset = strings.ToLower(strings.TrimSpace(p.Params["charset"]))
	if h.disp != "" {
		d, dp, _, dd := parseParams(h.disp, false)
		defects = append(defects, dd...)
		switch d {
		case "inline", "attachment":
			p.Disposition = d
		default:
			if d != "" {
				p.Disposition = "attachment" // RFC 2183 section 2.8: unknown means attachment
				defects = append(defects, fmt.Sprintf("unknown Content-Disposition %q, treated as attachment", truncate(d, 30)))
			}
		}
		p.Filename = dp["filename"]
	}
	if p.Filename == "" {
		p.Filename = p.Params["name"]
	}
	if strings.Contains(p.Filename, "=?") {
		if s, err := DecodeHeaderValue(p.Filename); err == nil {
			p.Filename = s
		} else {
			defects = append(defects, "filename: "+err.Error())
			p.Filename = s
		}
	}

	dec, ok, dd := w.decodeBody(cte, body)
	defects = append(defects, dd...)
	if !ok {
		// RFC 2045 section 6.4: unknown encoding, opaque data.
		p.ContentType = "application/octet-stream"
	}
	p.Body = dec

	if strings.HasPrefix(p.ContentType, "text/") && p.Body != nil {
		label := p.Charset
		if label == "" && p.ContentType == "text/html" && !utf8.Valid(p.Body) {
			_, label, _ = charset.DetermineEncoding(p.Body, "text/html")
		}
		s, err := decodeCharset(label, p.Body)
		if err != nil {
			defects = append(defects, err.Error())
		}
		p.Text = s
	}
	if !strings.HasPrefix(p.ContentType, "text/") || p.Filename != "" || p.Disposition == "attachment" {
		p.SniffedType = SniffType(p.Body)
	}
	p.Defects = defects
	for _, d := range defects {
		w.defect(path, d)
	}
	w.out.Parts = append(w.out.Parts, p)
}

// decodeBody undoes the transfer encoding within the decoded-size budget.
// ok is false for an encoding it does not know (the body is kept raw).
func (w *mimeWalker) decodeBody(cte string, body []byte) (out []byte, ok bool, defects []string) {
	remaining := w.lim.MaxDecodedSize - w.out.Decoded
	if remaining <= 0 {
		if !w.sizeHit {
			w.sizeHit = true
			w.limit(fmt.Sprintf("decoded parts exceed %d bytes (Limits.MaxDecodedSize): later parts were not decoded", w.lim.MaxDecodedSize))
		}
		return nil, true, []string{"not decoded: the decoded-size limit was reached"}
	}
	truncated := false
	ok = true
	switch cte {
	case "", "7bit", "8bit", "binary":
		out = body[:len(body):len(body)]
		if len(out) > remaining {
			out, truncated = out[:remaining:remaining], true
		}
	case "base64":
		var bad int
		out, bad, truncated = decodeBase64(body, remaining)
		if bad > 0 {
			defects = append(defects, fmt.Sprintf("base64 body has %d bytes outside the base64 alphabet (RFC 2045 section 6.8); they were skipped", bad))
		}
	case "quoted-printable":
		var bad int
		out, bad, truncated = decodeQuotedPrintable(body, remaining)
		if bad > 0 {
			defects = append(defects, fmt.Sprintf("quoted-printable body has %d invalid = escapes (RFC 2045 section 6.7); they were kept as written", bad))
		}
	default:
		ok = false
		defects = append(defects, fmt.Sprintf("unknown Content-Transfer-Encoding %q; part treated as application/octet-stream (RFC 2045 section 6.4)", truncate(cte, 30)))
		out = body[:len(body):len(body)]
		if len(out) > remaining {
			out, truncated = out[:remaining:remaining], true
		}
	}
	w.out.Decoded += len(out)
	if truncated {
		w.sizeHit, w.stopped = true, true
		w.limit(fmt.Sprintf("decoded parts exceed %d bytes (Limits.MaxDecodedSize): decoding stopped", w.lim.MaxDecodedSize))
		defects = append(defects, "decoded body cut short at the decoded-size limit")
	}
	return out, ok, defects
}

// splitMultipart cuts body at the boundary delimiters of RFC 2046 section
// 5.1.1: a line that is "--" boundary, optionally followed by "--" (the
// close delimiter) and white space. The line break before a delimiter
// belongs to it. parts is nil when no delimiter appears at all.
func splitMultipart(body []byte, boundary string) (parts [][]byte, closed bool) {
	delim := make([]byte, 0, len(boundary)+2)
	delim = append(append(delim, "--"...), boundary...)
	start := -1 // start of the current part's content
	found := false
	for i := 0; i <= len(body); {
		j := bytes.Index(body[i:], delim)
		if j < 0 {
			break
		}
		j += i
		if j > 0 && body[j-1] != '\n' {
			i = j + 1
			continue
		}
		k := j + len(delim)
		isClose := false
		if k+1 < len(body) && body[k] == '-' && body[k+1] == '-' {
			isClose = true
			k += 2
		}
		// Only transport padding may follow on the line.
		e := k
		for e < len(body) && (body[e] == ' ' || body[e] == '\t' || body[e] == '\r') {
			e++
		}
		if e < len(body) && body[e] != '\n' {
			i = j + 1
			continue
		}
		next := e
		if next < len(body) {
			next++ // the line break
		}
		if found && start >= 0 {
			end := j
			if end > start && body[end-1] == '\n' {
				end--
				if end > start && body[end-1] == '\r' {
					end--
				}
			}
			parts = append(parts, body[start:end:end])
		}
		found = true
		if isClose {
			closed = true
			start = -1
			break
		}
		start = next
		i = next
		if next >= len(body) {
			break
		}
	}
	if !found {
		return nil, false
	}
	if !closed && start >= 0 {
		parts = append(parts, body[start:len(body):len(body)])
	}
	if parts == nil {
		parts = [][]byte{}
	}
	return parts, closed
}

// preamble returns the text before the first delimiter line, without the
// line break that belongs to the delimiter.
func preamble(body []byte, boundary string) []byte {
	delim := "--" + boundary
	for i := 0; i < len(body); {
		j := bytes.Index(body[i:], []byte(delim))
		if j < 0 {
			return body
		}
		j += i
		if j == 0 || body[j-1] == '\n' {
			end := j
			if end > 0 {
				end--
				if end > 0 && body[end-1] == '\r' {
					end--
				}
			}
			return body[:end:end]
		}
		i = j + 1
	}
	return body
}

// parsePartHeader reads the header of a body part (RFC 2046 section 5.1.1:
// header fields, a blank line, the body; a part may have no fields at all)
// and returns its MIME fields and its body.
func parsePartHeader(b []byte) (h entityHeader, body []byte, defects []string) {
	i := 0
	var name string
	var val []byte
	flush := func() {
		if name == "" {
			return
		}
		v := unfold(val)
		switch {
		case strings.EqualFold(name, "Content-Type"):
			h.ctype = append(h.ctype, v)
		case strings.EqualFold(name, "Content-Transfer-Encoding"):
			if h.cte == "" {
				h.cte = v
			}
		case strings.EqualFold(name, "Content-Disposition"):
			if h.disp == "" {
				h.disp = v
			}
		}
		name, val = "", nil
	}
	for i < len(b) {
		next, n, _, _ := lineEnd(b, i)
		if n == 0 || (n == 1 && b[i] == '\r') {
			flush()
			return h, b[next:len(b):len(b)], defects
		}
		line := b[i : i+n]
		if line[0] == ' ' || line[0] == '\t' {
			if name != "" {
				val = append(val, line...)
			}
			i = next
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !isFieldName(bytes.TrimRight(line[:colon], " \t")) {
			flush()
			if h.fields > 0 {
				defects = append(defects, "part header not ended by a blank line")
			} else {
				defects = append(defects, "part has no header and no blank line")
			}
			return h, b[i:len(b):len(b)], defects
		}
		flush()
		h.fields++
		if h.fields > maxPartFields {
			defects = append(defects, fmt.Sprintf("more than %d header fields in a part; the rest is read as body", maxPartFields))
			return h, b[i:len(b):len(b)], defects
		}
		name = string(bytes.TrimRight(line[:colon], " \t"))
		if isMIMEField(name) {
			val = append([]byte(nil), line[colon+1:]...)
		} else {
			name = "-" // a field we do not keep
			val = nil
		}
		i = next
	}
	flush()
	return h, b[len(b):], defects
}

const maxPartFields = 1000

func isMIMEField(name string) bool {
	return strings.EqualFold(name, "Content-Type") ||
		strings.EqualFold(name, "Content-Transfer-Encoding") ||
		strings.EqualFold(name, "Content-Disposition")
}

// unfold removes folding line breaks (RFC 5322 section 2.2.3) and trims.
func unfold(b []byte) string {
	if bytes.IndexByte(b, '\n') < 0 && bytes.IndexByte(b, '\r') < 0 {
		return string(bytes.TrimSpace(b))
	}
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c != '\r' && c != '\n' {
			out = append(out, c)
		}
	}
	return string(bytes.TrimSpace(out))
}

// parseContentType parses a Content-Type value (RFC 2045 section 5.1).
// ok is false when the type/subtype is not valid.
func parseContentType(v string) (ct string, params map[string]string, ok bool, defects []string) {
	ct, params, _, defects = parseParams(v, true)
	slash := strings.IndexByte(ct, '/')
	if slash <= 0 || slash == len(ct)-1 || !isToken(ct[:slash]) || !isToken(ct[slash+1:]) {
		return "", nil, false, defects
	}
	return ct, params, true, defects
}

// isToken reports whether s is an RFC 2045 token: US-ASCII printable
// characters other than space and tspecials.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// maxParams bounds the parameters read from one field.
const maxParams = 64

// maxContinuations bounds RFC 2231 continuation segments of one parameter.
const maxContinuations = 100

type paramSegment struct {
	value   string
	encoded bool
	set     bool
}

// parseParams splits "value; a=b; c*=utf-8'en'x" into the lower-case value
// before the first ";" and the parameters (RFC 2045 section 5.1, RFC 2231).
// It is lenient: white space around "=" is allowed, unquoted values may
// hold tspecials, and a missing ";" between parameters is tolerated with a
// defect. The value is returned raw when ctMode is false (a disposition).
func parseParams(v string, ctMode bool) (value string, params map[string]string, n int, defects []string) {
	semi := indexUnquoted(v, ';')
	rest := ""
	if semi >= 0 {
		value, rest = v[:semi], v[semi+1:]
	} else {
		value = v
	}
	value = strings.ToLower(strings.TrimSpace(value))
	if ctMode {
		// Comments and white space inside type/subtype ("text / plain") are
		// rare; strip surrounding comments only.
		if k := strings.IndexByte(value, '('); k > 0 {
			value = strings.TrimSpace(value[:k])
		}
	}
	params = map[string]string{}
	var ext map[string][]paramSegment
	for rest != "" && n < maxParams {
		rest = strings.TrimLeft(rest, " \t;")
		if rest == "" {
			break
		}
		// attribute
		k := 0
		for k < len(rest) && rest[k] != '=' && rest[k] != ';' {
			k++
		}
		attr := strings.ToLower(strings.TrimSpace(rest[:k]))
		if k == len(rest) || rest[k] == ';' {
			if attr != "" && !strings.HasPrefix(attr, "(") {
				defects = append(defects, fmt.Sprintf("parameter %q has no value", truncate(attr, 30)))
			}
			rest = rest[k:]
			continue
		}
		rest = strings.TrimLeft(rest[k+1:], " \t")
		var val string
		if rest != "" && rest[0] == '"' {
			var closed bool
			val, rest, closed = readQuoted(rest)
			if !closed {
				defects = append(defects, fmt.Sprintf("parameter %q has an unterminated quoted string", truncate(attr, 30)))
			}
		} else {
			e := 0
			for e < len(rest) && rest[e] != ';' && rest[e] != ' ' && rest[e] != '\t' {
				e++
			}
			val, rest = rest[:e], rest[e:]
		}
		// Anything but white space before the next ";" is junk.
		t := strings.TrimLeft(rest, " \t")
		if t != "" && t[0] != ';' && t[0] != '(' {
			defects = append(defects, fmt.Sprintf("missing ';' after parameter %q", truncate(attr, 30)))
		}
		rest = t
		if attr == "" || !isToken(attr) {
			continue
		}
		n++
		if star := strings.IndexByte(attr, '*'); star >= 0 {
			// RFC 2231: name*, name*N, name*N*
			base, suffix := attr[:star], attr[star+1:]
			encoded := strings.HasSuffix(suffix, "*") || suffix == ""
			suffix = strings.TrimSuffix(suffix, "*")
			idx := 0
			if suffix != "" {
				x, err := strconv.Atoi(suffix)
				if err != nil || x < 0 || x >= maxContinuations {
					defects = append(defects, fmt.Sprintf("bad RFC 2231 parameter name %q", truncate(attr, 30)))
					continue
				}
				idx = x
			}
			if ext == nil {
				ext = map[string][]paramSegment{}
			}
			segs := ext[base]
			for len(segs) <= idx {
				segs = append(segs, paramSegment{})
			}
			segs[idx] = paramSegment{value: val, encoded: encoded, set: true}
			ext[base] = segs
			continue
		}
		if _, dup := params[attr]; dup {
			defects = append(defects, fmt.Sprintf("parameter %q appears twice; the first is used", truncate(attr, 30)))
			continue
		}
		params[attr] = val
	}
	for base, segs := range ext {
		if base == "" {
			continue
		}
		s, err := joinRFC2231(segs)
		if err != nil {
			defects = append(defects, fmt.Sprintf("parameter %q: %v", truncate(base, 30), err))
		}
		params[base] = s // the extended form wins over a plain one
	}
	return value, params, n, defects
}

// joinRFC2231 joins continuation segments and decodes the charset'lang'
// prefix and %XX escapes (RFC 2231 sections 3, 4 and 4.1).
func joinRFC2231(segs []paramSegment) (string, error) {
	var raw []byte
	cs := ""
	var err error
	for i, seg := range segs {
		if !seg.set {
			err = fmt.Errorf("continuation %d missing", i)
			break
		}
		v := seg.value
		if seg.encoded {
			if i == 0 {
				if a := strings.IndexByte(v, '\''); a >= 0 {
					if b := strings.IndexByte(v[a+1:], '\''); b >= 0 {
						cs = v[:a]
						v = v[a+1+b+1:]
					}
				}
			}
			raw = appendPercentDecoded(raw, v)
		} else {
			raw = append(raw, v...)
		}
	}
	s, cerr := decodeCharset(cs, raw)
	if err == nil {
		err = cerr
	}
	return s, err
}

func appendPercentDecoded(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			h, ok1 := unhex(s[i+1])
			l, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				dst = append(dst, h<<4|l)
				i += 2
				continue
			}
		}
		dst = append(dst, s[i])
	}
	return dst
}

// readQuoted reads an RFC 5322 quoted-string at the start of s.
func readQuoted(s string) (val, rest string, closed bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:], true
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), "", false
}

// indexUnquoted finds c outside quoted strings.
func indexUnquoted(s string, c byte) int {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if inQuote {
				i++
			}
		case '"':
			inQuote = !inQuote
		case c:
			if !inQuote {
				return i
			}
		}
	}
	return -1
}

var b64Table = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(a); i++ {
		t[a[i]] = byte(i)
	}
	return t
}()

// decodeBase64 decodes a base64 body (RFC 2045 section 6.8) into at most
// max bytes. Line breaks and white space are skipped; other characters
// outside the alphabet are skipped and counted; decoding ends at padding.
func decodeBase64(b []byte, max int) (out []byte, bad int, truncated bool) {
	if n := base64.StdEncoding.DecodedLen(len(b)); n <= max {
		// Fast path: the standard decoder skips CR and LF.
		out = make([]byte, n)
		if k, err := base64.StdEncoding.Decode(out, b); err == nil {
			return out[:k:k], 0, false
		}
		out = out[:0]
	} else {
		out = make([]byte, 0, max)
	}
	var acc uint32
	nb := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		v := b64Table[c]
		if v == 0xff {
			switch c {
			case '\r', '\n', ' ', '\t':
			case '=':
				// Padding ends the data; anything but more padding and
				// white space after it is junk.
				for _, d := range b[i+1:] {
					if d != '=' && d != '\r' && d != '\n' && d != ' ' && d != '\t' {
						bad++
					}
				}
				i = len(b)
			default:
				bad++
			}
			continue
		}
		acc = acc<<6 | uint32(v)
		nb++
		if nb == 4 {
			if len(out)+3 > max {
				return out, bad, true
			}
			out = append(out, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, nb = 0, 0
		}
	}
	switch nb {
	case 1:
		bad++ // a lone sextet carries no whole byte
	case 2:
		if len(out)+1 > max {
			return out, bad, true
		}
		out = append(out, byte(acc>>4))
	case 3:
		if len(out)+2 > max {
			return out, bad, true
		}
		out = append(out, byte(acc>>10), byte(acc>>2))
	}
	return out, bad, false
}

// decodeQuotedPrintable decodes a quoted-printable body (RFC 2045 section
// 6.7) into at most max bytes: "=XX" escapes (lower-case hex accepted),
// soft line breaks, trailing white space on lines removed. An "=" not
// followed by two hex digits is kept as written and counted.
func decodeQuotedPrintable(b []byte, max int) (out []byte, bad int, truncated bool) {
	n := min(len(b), max)
	out = make([]byte, 0, n)
	lineStart := 0 // index in out where trailing white space may start
	for i := 0; i < len(b); i++ {
		if len(out) >= max {
			return out, bad, true
		}
		c := b[i]
		switch c {
		case '=':
			// Soft line break: "=" then optional white space then a line break.
			j := i + 1
			for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
				j++
			}
			if j < len(b) && (b[j] == '\n' || (b[j] == '\r' && j+1 < len(b) && b[j+1] == '\n')) {
				if b[j] == '\r' {
					j++
				}
				i = j
				continue
			}
			if j == len(b) { // "=" at the very end
				i = j
				continue
			}
			if i+2 < len(b) {
				h, ok1 := unhex(b[i+1])
				l, ok2 := unhex(b[i+2])
				if ok1 && ok2 {
					out = append(out, h<<4|l)
					i += 2
					lineStart = len(out) // encoded white space is data
					continue
				}
			}
			bad++
			out = append(out, c)
		case '\n':
			// Rule 3: trailing white space on a line is padding.
			k := len(out)
			if k > lineStart && out[k-1] == '\r' {
				k--
			}
			e := k
			for e > lineStart && (out[e-1] == ' ' || out[e-1] == '\t') {
				e--
			}
			if e < k {
				cr := k < len(out)
				out = out[:e]
				if cr {
					out = append(out, '\r')
				}
			}
			out = append(out, '\n')
			lineStart = len(out)
		default:
			out = append(out, c)
		}
	}
	// The last line ends at the end of the body (the line break before a
	// boundary belongs to the boundary); its trailing white space goes too.
	e := len(out)
	for e > lineStart && (out[e-1] == ' ' || out[e-1] == '\t') {
		e--
	}
	return out[:e], bad, false
}

// SniffType names the type b's bytes show: magic numbers for executables
// (PE, ELF, Mach-O), archives (zip, RAR, 7-Zip, cab, gzip, ISO 9660), OLE
// compound documents (legacy Office files) and PDF, then
// net/http.DetectContentType. The result is a lower-case type/subtype
// without parameters.
func SniffType(b []byte) string {
	switch {
	case len(b) == 0:
		return ""
	case bytes.HasPrefix(b, []byte("MZ")):
		return "application/x-msdownload"
	case bytes.HasPrefix(b, []byte("\x7fELF")):
		return "application/x-elf"
	case bytes.HasPrefix(b, []byte("\xfe\xed\xfa\xce")), bytes.HasPrefix(b, []byte("\xfe\xed\xfa\xcf")),
		bytes.HasPrefix(b, []byte("\xce\xfa\xed\xfe")), bytes.HasPrefix(b, []byte("\xcf\xfa\xed\xfe")):
		return "application/x-mach-binary"
	case bytes.HasPrefix(b, []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")):
		return "application/x-ole-storage"
	case bytes.HasPrefix(b, []byte("PK\x03\x04")), bytes.HasPrefix(b, []byte("PK\x05\x06")):
		return "application/zip"
	case bytes.HasPrefix(b, []byte("%PDF-")):
		return "application/pdf"
	case bytes.HasPrefix(b, []byte("Rar!\x1a\x07")):
		return "application/vnd.rar"
	case bytes.HasPrefix(b, []byte("7z\xbc\xaf\x27\x1c")):
		return "application/x-7z-compressed"
	case bytes.HasPrefix(b, []byte("MSCF\x00\x00\x00\x00")):
		return "application/vnd.ms-cab-compressed"
	case bytes.HasPrefix(b, []byte("\x4c\x00\x00\x00\x01\x14\x02\x00")):
		return "application/x-ms-shortcut"
	case bytes.HasPrefix(b, []byte("{\\rtf")):
		return "application/rtf"
	case len(b) > 0x8006 && string(b[0x8001:0x8006]) == "CD001":
		return "application/x-iso9660-image"
	}
	t := http.DetectContentType(b)
	if k := strings.IndexByte(t, ';'); k >= 0 {
		t = t[:k]
	}
	return strings.ToLower(strings.TrimSpace(t))
}
