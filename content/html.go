package content

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/publicsuffix"
)

// Limits of the HTML walk, so hostile markup costs bounded work.
const (
	maxHTMLStack     = 256     // open elements tracked
	maxHTMLTokens    = 200_000 // tokens read from one document
	maxVisibleText   = 1 << 20 // visible text kept for the classifier
	maxAnchorText    = 256     // anchor text kept to compare with its href
	maxHTMLLinks     = 512     // link hosts kept
	maxHTMLTags      = 64      // distinct tag names kept
	maxMismatchNotes = 3
)

// htmlStats is what one or more HTML parts showed.
type htmlStats struct {
	docs           int
	visibleChars   int // non-space characters a reader sees
	hiddenChars    int // non-space characters hidden by style or colour
	hiddenTrick    int // of which hidden by colour, tiny font or transparency (not display:none)
	hiddenSample   string
	hiddenHow      string // how the largest hidden run was hidden
	images         int
	remoteImages   int
	inlineImages   int
	imageArea      int // declared width x height, summed
	trackingPixels int
	forms          int
	passwordFields int
	scripts        int // script elements, event handlers, javascript: URLs, embedded objects
	externalCSS    int
	mismatches     int
	mismatchNotes  []string // "text shows paypal.com, link goes to evil.example"
	linkHosts      []string // hosts of http(s) links and images
	tags           []string // distinct tag names, for the classifier
	truncated      bool     // a limit stopped the walk
}

// rgb is a colour; -1 means unknown.
type rgb int32

const noColor rgb = -1

type elem struct {
	a      atom.Atom
	hidden bool
	how    string
	fg, bg rgb
}

// htmlWalker analyses one document from its tokens (those of
// golang.org/x/net/html's Tokenizer, produced by htmlLexer; no tree is
// built, to stay fast). Nesting is tracked on a bounded stack of open
// elements. A walker is reused from document to document.
type htmlWalker struct {
	st     *htmlStats
	text   *[]byte // visible text is appended here, words separated by spaces
	stack  []elem
	anchor []byte // visible text inside the current <a>
	inA    bool
	href   []byte
	skip   int // depth inside head, title, script, style, template...
	hidRun int
	hidHow string
	hidBuf []byte
	// The tag memo (see tagInfo), emptied for each document.
	memo     []memoEntry
	memoKeys []byte
	memoOff  bool // tests compare the walk without the memo and the last-host cache
	// The scheme and authority of the last URL whose host was taken, and
	// where in it the host lies.
	lastAuth []byte
	lastHost span
}

// isVoid reports whether an element never has content (so it is never
// pushed on the stack).
func isVoid(a atom.Atom) bool {
	switch a {
	case atom.Area, atom.Base, atom.Br, atom.Col, atom.Embed, atom.Hr, atom.Img, atom.Input,
		atom.Link, atom.Meta, atom.Param, atom.Source, atom.Track, atom.Wbr:
		return true
	}
	return false
}

// analyzeHTML walks src, adding what it finds to st and the visible text to
// text.
func analyzeHTML(src string, st *htmlStats, text *[]byte) {
	var w htmlWalker
	var z htmlLexer
	w.analyze(&z, src, st, text)
}

// begin prepares the walker for a document, keeping its buffers.
func (w *htmlWalker) begin(st *htmlStats, text *[]byte) {
	st.docs++
	clear(w.memo)
	*w = htmlWalker{st: st, text: text, stack: w.stack[:0], anchor: w.anchor[:0], href: w.href[:0], hidBuf: w.hidBuf[:0],
		memo: w.memo, memoKeys: w.memoKeys[:0], memoOff: w.memoOff, lastAuth: w.lastAuth[:0]}
	// The text colour is unknown until markup sets it (style sheets may set
	// it where this walk cannot see); the background is white by default.
	if w.stack == nil {
		w.stack = make([]elem, 0, 32)
	}
	w.stack = append(w.stack, elem{fg: noColor, bg: 0xffffff})
}

// analyze walks src with the lexer z (whose tokens are x/net's; see
// htmlLexer). The walker and the lexer keep their buffers for the next
// document.
func (w *htmlWalker) analyze(z *htmlLexer, src string, st *htmlStats, text *[]byte) {
	w.begin(st, text)
	z.reset(src)
	for n := 0; ; n++ {
		if n >= maxHTMLTokens {
			st.truncated = true
			break
		}
		switch tt := z.Next(); tt {
		case html.ErrorToken:
			w.endHidden()
			return
		case html.TextToken:
			w.textToken(z.Text())
		case html.StartTagToken, html.SelfClosingTagToken:
			w.startTag(z.Raw(), tt == html.SelfClosingTagToken)
		case html.EndTagToken:
			w.endTagRaw(z.Raw())
		}
	}
	w.endHidden()
}

// endTagRaw closes the element named in a raw end tag.
func (w *htmlWalker) endTagRaw(raw []byte) {
	var nb [24]byte
	name, _ := tagName(raw, &nb)
	w.endTag(atom.Lookup(name))
}

func (w *htmlWalker) top() *elem { return &w.stack[len(w.stack)-1] }

// attrs holds the attributes the analysis looks at. The byte slices alias
// the tokenizer's buffer and are valid until its next call.
type attrs struct {
	style, color, bgcolor, text, width, height, src, href, typ, rel []byte
	hidden, handler                                                 bool
}

// tagName returns the lower-case name of the raw tag ("<P class=x>" or
// "</p>") in buf, and the index where its attributes start.
func tagName(raw []byte, buf *[24]byte) (name []byte, rest int) {
	i := 1
	if i < len(raw) && raw[i] == '/' {
		i++
	}
	j := i
	for j < len(raw) && !isHTMLSpace(raw[j]) && raw[j] != '/' && raw[j] != '>' {
		j++
	}
	n := raw[i:j]
	if len(n) > len(buf) {
		return bytes.ToLower(n), j
	}
	for k, c := range n {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[k] = c
	}
	return buf[:len(n)], j
}

// htmlSpace marks HTML's ASCII white space (section 2.3 of the HTML
// standard).
var htmlSpace = [256]bool{' ': true, '\t': true, '\n': true, '\r': true, '\f': true}

func isHTMLSpace(c byte) bool { return htmlSpace[c] }

// Bytes that end an attribute name (besides a '/' after its first byte)
// and an unquoted attribute value in readAttrs.
var (
	attrNameEnd  = [256]bool{' ': true, '\t': true, '\n': true, '\r': true, '\f': true, '=': true, '>': true}
	attrValueEnd = [256]bool{' ': true, '\t': true, '\n': true, '\r': true, '\f': true, '>': true}
)

// readAttrs reads the attributes of a raw start tag into a (the lexer has
// already found the tag). The values kept are unescaped if they hold
// character references.
func readAttrs(raw []byte, i int, a *attrs) {
	for i < len(raw) {
		for i < len(raw) && (isHTMLSpace(raw[i]) || raw[i] == '/') {
			i++
		}
		if i >= len(raw) || raw[i] == '>' {
			break
		}
		ks := i
		for i < len(raw) && !attrNameEnd[raw[i]] && !(raw[i] == '/' && i > ks) {
			i++
		}
		if i == ks { // a stray character: skip it
			i++
			continue
		}
		key := raw[ks:i]
		for i < len(raw) && isHTMLSpace(raw[i]) {
			i++
		}
		var val []byte
		if i < len(raw) && raw[i] == '=' {
			i++
			for i < len(raw) && isHTMLSpace(raw[i]) {
				i++
			}
			if i < len(raw) && (raw[i] == '"' || raw[i] == '\'') {
				q := raw[i]
				i++
				vs := i
				if k := bytes.IndexByte(raw[i:], q); k >= 0 {
					i += k
				} else {
					i = len(raw)
				}
				val = raw[vs:i]
				if i < len(raw) {
					i++
				}
			} else {
				vs := i
				for i < len(raw) && !attrValueEnd[raw[i]] {
					i++
				}
				val = raw[vs:i]
			}
		}
		a.set(key, val)
	}
}

// unescapeAttr decodes the character references of an attribute value
// (section 13.2.5.72).
func unescapeAttr(val []byte) []byte {
	if bytes.IndexByte(val, '&') >= 0 {
		return []byte(html.UnescapeString(string(val)))
	}
	return val
}

func (a *attrs) set(key, val []byte) {
	if len(key) > 12 {
		if len(key) > 2 && key[0]|0x20 == 'o' && key[1]|0x20 == 'n' {
			a.handler = true
		}
		return
	}
	var lk [12]byte
	for i, c := range key {
		lk[i] = lowerASCII[c]
	}
	switch string(lk[:len(key)]) {
	case "style":
		a.style = unescapeAttr(val)
	case "color":
		a.color = unescapeAttr(val)
	case "bgcolor":
		a.bgcolor = unescapeAttr(val)
	case "text":
		a.text = unescapeAttr(val)
	case "width":
		a.width = unescapeAttr(val)
	case "height":
		a.height = unescapeAttr(val)
	case "src":
		a.src = unescapeAttr(val)
	case "href":
		a.href = unescapeAttr(val)
	case "type":
		a.typ = unescapeAttr(val)
	case "rel":
		a.rel = unescapeAttr(val)
	case "hidden":
		a.hidden = true
	default:
		if len(key) > 2 && lk[0] == 'o' && lk[1] == 'n' {
			a.handler = true
		}
	}
}

func (w *htmlWalker) noteTag(name []byte, a atom.Atom) {
	if len(w.st.tags) >= maxHTMLTags || len(name) == 0 {
		return
	}
	for _, t := range w.st.tags {
		if t == string(name) {
			return
		}
	}
	if a != 0 { // a known name: its atom's string, without allocating
		w.st.tags = append(w.st.tags, a.String())
		return
	}
	w.st.tags = append(w.st.tags, string(name))
}

// startTag opens the element of a raw start tag.
func (w *htmlWalker) startTag(raw []byte, selfClosing bool) {
	slot := memoSlot(raw)
	if ti, ok := w.memoGet(slot, raw); ok {
		w.open(ti, nil, selfClosing)
		return
	}
	var nb [24]byte
	name, rest := tagName(raw, &nb)
	a := atom.Lookup(name)
	w.noteTag(name, a)
	var at attrs
	readAttrs(raw, rest, &at)
	ti := tagInfo{a: a, bg: parseColorBytes(at.bgcolor), fontFg: noColor, bodyFg: noColor,
		hiddenAttr: at.hidden, handler: at.handler, style: parseStyle(at.style)}
	if c := parseColorBytes(at.color); a == atom.Font {
		ti.fontFg = c
	}
	if a == atom.Body {
		ti.bodyFg = parseColorBytes(at.text)
	}
	if len(at.href) == 0 && !special(a) {
		w.memoPut(slot, raw, &ti)
	}
	w.open(&ti, &at, selfClosing)
}

// tagInfo is what a start tag's bytes alone say: the element and what its
// attributes set. A start tag's raw bytes always give the same tagInfo, so
// tags repeated in a document (as <td style="..."> and <font ...> are in
// mail) are parsed once; opening the element still depends on the open
// elements and runs every time.
type tagInfo struct {
	a                  atom.Atom
	bg, fontFg, bodyFg rgb // from bgcolor, and color on <font>, text on <body>
	hiddenAttr         bool
	handler            bool // an on* event handler attribute
	style              styleInfo
}

// special reports whether opening an element of this kind needs more of
// its attributes than tagInfo keeps (links, images, forms, active content).
func special(a atom.Atom) bool {
	switch a {
	case atom.Script, atom.Iframe, atom.Object, atom.Embed, atom.Applet, atom.Frame,
		atom.Form, atom.Input, atom.Link, atom.Img, atom.A:
		return true
	}
	return false
}

// The tag memo: a direct-mapped table of tagInfo by raw start tag, per
// document, its keys copied into one reused buffer.
const (
	memoSlots    = 64
	maxMemoTag   = 256     // longer tags are not remembered
	maxMemoBytes = 8 << 10 // key bytes remembered per document
)

type memoEntry struct {
	off, n int // the key is memoKeys[off:off+n]; n == 0 if the slot is empty
	info   tagInfo
}

// memoSlot hashes a raw tag's length and first, middle and last bytes.
func memoSlot(raw []byte) int {
	n := len(raw)
	h := uint64(n)
	if n >= 8 {
		h ^= binary.LittleEndian.Uint64(raw)
		h = mix64(h ^ binary.LittleEndian.Uint64(raw[n/2-4:]))
		h ^= binary.LittleEndian.Uint64(raw[n-8:])
	} else {
		for _, c := range raw {
			h = h<<8 | uint64(c)
		}
	}
	return int(mix64(h) % memoSlots)
}

func (w *htmlWalker) memoGet(slot int, raw []byte) (*tagInfo, bool) {
	if w.memo == nil {
		return nil, false
	}
	e := &w.memo[slot]
	if e.n != len(raw) || !bytes.Equal(w.memoKeys[e.off:e.off+e.n], raw) {
		return nil, false
	}
	return &e.info, true
}

func (w *htmlWalker) memoPut(slot int, raw []byte, ti *tagInfo) {
	if w.memoOff || len(raw) > maxMemoTag || len(w.memoKeys)+len(raw) > maxMemoBytes {
		return
	}
	if w.memo == nil {
		w.memo = make([]memoEntry, memoSlots)
	}
	w.memo[slot] = memoEntry{off: len(w.memoKeys), n: len(raw), info: *ti}
	w.memoKeys = append(w.memoKeys, raw...)
}

// open opens the element a start tag describes. at is nil when ti came
// from the memo (never for special elements or tags with an href).
func (w *htmlWalker) open(ti *tagInfo, at *attrs, selfClosing bool) {
	a := ti.a
	w.implyEnd(a)
	parent := w.top()
	e := elem{a: a, hidden: parent.hidden, how: parent.how, fg: parent.fg, bg: parent.bg}
	if ti.bg != noColor {
		e.bg = ti.bg
	}
	if ti.fontFg != noColor {
		e.fg = ti.fontFg
	}
	if ti.bodyFg != noColor {
		e.fg = ti.bodyFg
	}
	if ti.hiddenAttr && !e.hidden {
		e.hidden, e.how = true, "the hidden attribute"
	}
	st := &ti.style
	if st.fg != noColor {
		e.fg = st.fg
	}
	if st.bg != noColor {
		e.bg = st.bg
	}
	if !e.hidden && st.hidden != "" {
		e.hidden, e.how = true, st.hidden
	}
	if ti.handler {
		w.st.scripts++
	}
	if at != nil {
		href := bytes.TrimSpace(at.href)
		if hasPrefixFoldBytes(href, "javascript:") {
			w.st.scripts++
		}
		switch a {
		case atom.Script, atom.Iframe, atom.Object, atom.Embed, atom.Applet, atom.Frame:
			w.st.scripts++
		case atom.Form:
			w.st.forms++
		case atom.Input:
			if bytes.EqualFold(at.typ, []byte("password")) {
				w.st.passwordFields++
			}
		case atom.Link:
			if containsFold(at.rel, "stylesheet") && isRemoteBytes(href) {
				w.st.externalCSS++
			}
		case atom.Img:
			w.image(at, e.hidden || st.hidden != "")
		case atom.A:
			w.endAnchor()
			w.inA = true
			w.href = w.href[:0]
			if isRemoteBytes(href) {
				w.href = append(w.href, at.href...)
				w.addHostBytes(at.href)
			}
			w.anchor = w.anchor[:0]
		}
	}

	if selfClosing || isVoid(a) {
		return
	}
	if len(w.stack) >= maxHTMLStack {
		w.st.truncated = true
		return
	}
	if skipped(a) {
		w.skip++
	}
	w.stack = append(w.stack, e)
}

// skipped reports whether an element's text is not shown in the body.
func skipped(a atom.Atom) bool {
	switch a {
	case atom.Head, atom.Title, atom.Script, atom.Style, atom.Template, atom.Noscript, atom.Textarea, atom.Select, atom.Object:
		return true
	}
	return false
}

// implyEnd closes the elements a browser closes implicitly when a starts
// (the common cases of the HTML parsing algorithm's implied end tags): an
// open paragraph before a block, a list item before the next, a cell or row
// before the next. Without it, tag soup would nest every unclosed <p>, and
// one hidden paragraph would hide all that follow.
func (w *htmlWalker) implyEnd(a atom.Atom) {
	switch a {
	case atom.P, atom.Div, atom.Table, atom.Ul, atom.Ol, atom.Dl, atom.H1, atom.H2, atom.H3, atom.H4,
		atom.H5, atom.H6, atom.Pre, atom.Form, atom.Blockquote, atom.Center, atom.Section, atom.Article,
		atom.Header, atom.Footer, atom.Nav, atom.Aside, atom.Main, atom.Address, atom.Fieldset, atom.Figure:
		if w.top().a == atom.P {
			w.pop(len(w.stack) - 1)
		}
	case atom.Li:
		w.popTo(atom.Li, atom.Ul, atom.Ol)
	case atom.Dt, atom.Dd:
		if t := w.top().a; t == atom.Dt || t == atom.Dd {
			w.pop(len(w.stack) - 1)
		}
	case atom.Tr:
		w.popTo(atom.Tr, atom.Table, atom.Table)
	case atom.Td, atom.Th:
		if i := w.find(atom.Td, atom.Tr); i > 0 {
			w.pop(i)
		} else if i := w.find(atom.Th, atom.Tr); i > 0 {
			w.pop(i)
		}
	case atom.Option:
		if w.top().a == atom.Option {
			w.pop(len(w.stack) - 1)
		}
	}
}

// find returns the index of the innermost open a, looking no further out
// than the innermost stop; 0 if none.
func (w *htmlWalker) find(a, stop atom.Atom) int {
	for i := len(w.stack) - 1; i > 0; i-- {
		switch w.stack[i].a {
		case a:
			return i
		case stop:
			return 0
		}
	}
	return 0
}

// popTo closes the innermost open a unless one of the stops is nearer.
func (w *htmlWalker) popTo(a, stop1, stop2 atom.Atom) {
	for i := len(w.stack) - 1; i > 0; i-- {
		switch w.stack[i].a {
		case a:
			w.pop(i)
			return
		case stop1, stop2:
			return
		}
	}
}

// pop closes the elements from index i up.
func (w *htmlWalker) pop(i int) {
	for j := len(w.stack) - 1; j >= i; j-- {
		if skipped(w.stack[j].a) && w.skip > 0 {
			w.skip--
		}
	}
	w.stack = w.stack[:i]
}

func (w *htmlWalker) endTag(a atom.Atom) {
	if a == atom.A {
		w.endAnchor()
	}
	// Pop to the matching open element, if it is open.
	for i := len(w.stack) - 1; i > 0; i-- {
		if w.stack[i].a == a {
			w.pop(i)
			return
		}
	}
}

func (w *htmlWalker) image(at *attrs, hidden bool) {
	w.st.images++
	src := bytes.TrimSpace(at.src)
	remote := isRemoteBytes(src)
	switch {
	case remote:
		w.st.remoteImages++
		w.addHostBytes(src)
	case hasPrefixFoldBytes(src, "cid:"), hasPrefixFoldBytes(src, "data:"):
		w.st.inlineImages++
	}
	wd, ht := parseSize(at.width), parseSize(at.height)
	if sw, sh := styleSize(at.style); sw >= 0 || sh >= 0 {
		if sw >= 0 {
			wd = sw
		}
		if sh >= 0 {
			ht = sh
		}
	}
	if wd > 0 && ht > 0 {
		w.st.imageArea += min(wd*ht, 1<<24)
	}
	if remote && (hidden || (wd >= 0 && wd <= 2 && ht >= 0 && ht <= 2)) {
		w.st.trackingPixels++
	}
}

func (w *htmlWalker) textToken(t []byte) {
	if w.skip > 0 {
		if w.top().a == atom.Style && bytes.Contains(t, []byte("@import")) {
			w.st.externalCSS++
		}
		return
	}
	n := countVisible(t)
	if n == 0 {
		return
	}
	e := w.top()
	// Colour is checked here, not inherited as hidden: a nested element
	// may set a background that makes the text readable again.
	hidden, how := e.hidden, e.how
	if !hidden && e.fg != noColor && sameColor(e.fg, e.bg) {
		hidden, how = true, "text coloured like its background"
	}
	if hidden {
		w.st.hiddenChars += n
		if trick(how) {
			w.st.hiddenTrick += n
		}
		if w.hidRun == 0 {
			w.hidHow = how
			w.hidBuf = w.hidBuf[:0]
		}
		w.hidRun += n
		if len(w.hidBuf) < 120 {
			w.hidBuf = appendCollapsed(w.hidBuf, t, 120)
		}
		return
	}
	w.endHidden()
	w.st.visibleChars += n
	if len(*w.text) < maxVisibleText {
		*w.text = appendCollapsed(*w.text, t, maxVisibleText)
	}
	if w.inA && len(w.anchor) < maxAnchorText {
		w.anchor = appendCollapsed(w.anchor, t, maxAnchorText)
	}
}

// trick reports whether text was hidden in a way that keeps it in the
// layout (colour, size, transparency): a trick, where display:none is also
// how legitimate mail hides a preview line.
func trick(how string) bool {
	return how == "text coloured like its background" || strings.HasPrefix(how, "a font size") || strings.HasPrefix(how, "opacity")
}

// endHidden closes a run of hidden text, keeping a sample of the largest.
func (w *htmlWalker) endHidden() {
	if w.hidRun == 0 {
		return
	}
	if w.st.hiddenSample == "" || w.hidRun > 40 {
		w.st.hiddenSample = strings.TrimSpace(string(w.hidBuf))
		w.st.hiddenHow = w.hidHow
	}
	w.hidRun = 0
}

// endAnchor compares the text of a closed link with its target: text
// that shows a domain must lead to that domain.
func (w *htmlWalker) endAnchor() {
	if !w.inA {
		return
	}
	w.inA = false
	if len(w.href) == 0 || bytes.IndexByte(w.anchor, '.') < 0 {
		return
	}
	shown := domainShown(w.anchor)
	if shown == "" {
		return
	}
	target := hostOf(string(w.href))
	if target == "" {
		return
	}
	if registered(shown) == registered(target) {
		return
	}
	w.st.mismatches++
	if len(w.st.mismatchNotes) < maxMismatchNotes {
		w.st.mismatchNotes = append(w.st.mismatchNotes, "text shows "+shown+" but the link goes to "+target)
	}
}

// addHostBytes records the host of an http(s) URL once.
func (w *htmlWalker) addHostBytes(u []byte) {
	if len(w.st.linkHosts) >= maxHTMLLinks {
		return
	}
	u = bytes.TrimSpace(u)
	var hb []byte
	if n := len(w.lastAuth); n > 0 && len(u) >= n && bytes.Equal(u[:n], w.lastAuth) && (len(u) == n || isURLDelim(u[n])) {
		// The scheme and authority of the last URL: the same host.
		hb = u[w.lastHost.start:w.lastHost.end]
	} else {
		var authStart, authEnd int
		hb, authStart, authEnd = hostIn(u)
		if authEnd > authStart && !w.memoOff {
			w.lastAuth = append(w.lastAuth[:0], u[:authEnd]...)
			start := cap(u) - cap(hb) // hb is u[start:start+len(hb)]
			w.lastHost = span{start, start + len(hb)}
		}
	}
	if len(hb) == 0 || len(hb) > 253 {
		return
	}
	for _, x := range w.st.linkHosts {
		if x == string(hb) {
			return
		}
	}
	w.st.linkHosts = append(w.st.linkHosts, strings.ToLower(string(hb)))
}

// hostBytes returns the host part of an http(s) or scheme-relative URL
// (case preserved, userinfo and port dropped), nil otherwise.
func hostBytes(u []byte) []byte {
	host, _, _ := hostIn(bytes.TrimSpace(u))
	return host
}

// hostIn returns the host part of the trimmed http(s) or scheme-relative
// URL u and where its authority lies, u[authStart:authEnd] (authEnd is -1
// if u is not such a URL). The host depends on nothing after the
// authority, so a URL with the same bytes up to authEnd followed by a
// delimiter (or nothing) has the same host when the authority is not
// empty.
func hostIn(u []byte) (host []byte, authStart, authEnd int) {
	switch {
	case hasPrefixFoldBytes(u, "http://"):
		authStart = 7
	case hasPrefixFoldBytes(u, "https://"):
		authStart = 8
	case bytes.HasPrefix(u, []byte("//")):
		authStart = 2
	default:
		return nil, 0, -1
	}
	for authStart < len(u) && (u[authStart] == '/' || u[authStart] == '\\') {
		authStart++
	}
	// One pass finds the end of the authority and, in it, the last '@'
	// (userinfo ends there), the last ':' (a port, unless the host is an
	// IPv6 literal in brackets) and the last ']'.
	a := u[authStart:]
	at, colon, bracket := -1, -1, -1
scan:
	for i, c := range a {
		switch c {
		case '/', '?', '#', '\\':
			a = a[:i]
			break scan
		case '@':
			at = i
		case ':':
			colon = i
		case ']':
			bracket = i
		}
	}
	authEnd = authStart + len(a)
	if colon > at && bracket <= at { // (bracket == at only when both are -1)
		a = a[:colon]
	}
	a = a[at+1:]
	for len(a) > 0 && a[len(a)-1] == '.' {
		a = a[:len(a)-1]
	}
	return a, authStart, authEnd
}

func isURLDelim(c byte) bool { return c == '/' || c == '?' || c == '#' || c == '\\' }

func hasPrefixFoldBytes(b []byte, p string) bool {
	if len(b) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[i] {
			return false
		}
	}
	return true
}

func containsFold(b []byte, p string) bool {
	for i := 0; i+len(p) <= len(b); i++ {
		if hasPrefixFoldBytes(b[i:], p) {
			return true
		}
	}
	return false
}

func isRemoteBytes(u []byte) bool {
	return hasPrefixFoldBytes(u, "http://") || hasPrefixFoldBytes(u, "https://") || bytes.HasPrefix(u, []byte("//"))
}

// countVisible counts the characters of t that are not white space.
func countVisible(t []byte) int {
	n := 0
	for i := 0; i < len(t); {
		if i+8 <= len(t) {
			// Eight ASCII bytes at once: count those above the space.
			if x := binary.LittleEndian.Uint64(t[i:]); x&hiBits == 0 {
				n += bits.OnesCount64(between(x, ' ', utf8.RuneSelf))
				i += 8
				continue
			}
		}
		c := t[i]
		if c < utf8.RuneSelf {
			n += int(byte(' '-c) >> 7) // 1 if c > ' ', without a branch
			i++
			continue
		}
		r, size := utf8.DecodeRune(t[i:])
		if !unicode.IsSpace(r) && r != '\u00a0' && !isInvisible(r) {
			n++
		}
		i += size
	}
	return n
}

// appendCollapsed appends t to dst with runs of white space collapsed to one
// space, stopping once dst holds max bytes (a word begun is given its first
// byte, and the space before it, even at the limit).
func appendCollapsed(dst, t []byte, max int) []byte {
	space := len(dst) > 0 && dst[len(dst)-1] != ' '
	for i := 0; i < len(t) && len(dst) < max; {
		if htmlSpace[t[i]] {
			space = true
			i++
			continue
		}
		if space && len(dst) > 0 {
			dst = append(dst, ' ')
		}
		space = false
		// Words separated by single spaces are already collapsed: copy
		// them in one piece when they fit.
		j := i + 1
		for j < len(t) {
			if !htmlSpace[t[j]] {
				j++
			} else if t[j] == ' ' && j+1 < len(t) && !htmlSpace[t[j+1]] {
				j += 2
			} else {
				break
			}
		}
		if len(dst)+j-i <= max {
			dst = append(dst, t[i:j]...)
			i = j
			continue
		}
		// At the limit: the word, its first byte, then as much of the
		// rest as fits.
		j = i + 1
		for j < len(t) && !htmlSpace[t[j]] {
			j++
		}
		room := max - len(dst) - 1 // after the first byte
		n := 1 + min(j-i-1, room)
		if room < 0 {
			n = 1
		}
		dst = append(dst, t[i:i+n]...)
		i += n
	}
	if len(dst) > 0 && dst[len(dst)-1] != ' ' {
		dst = append(dst, ' ')
	}
	return dst
}

// styleInfo is what an inline style attribute says.
type styleInfo struct {
	hidden string // how it hides the element, "" if it does not
	fg, bg rgb
}

// parseStyle reads the declarations of an inline style that hide text or
// set its colours.
func parseStyle(b []byte) styleInfo {
	si := styleInfo{fg: noColor, bg: noColor}
	zeroHeight, overflowHidden := false, false
	for len(b) > 0 {
		var decl []byte
		if i := bytes.IndexByte(b, ';'); i >= 0 {
			decl, b = b[:i], b[i+1:]
		} else {
			decl, b = b, nil
		}
		colon := bytes.IndexByte(decl, ':')
		if colon < 0 {
			continue
		}
		prop := bytes.TrimSpace(decl[:colon])
		val := bytes.TrimSpace(decl[colon+1:])
		if i := bytes.IndexByte(val, '!'); i >= 0 { // !important
			val = bytes.TrimSpace(val[:i])
		}
		var lp [24]byte
		if len(prop) > len(lp) {
			continue
		}
		for i, c := range prop {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			lp[i] = c
		}
		switch string(lp[:len(prop)]) {
		case "display":
			if bytes.EqualFold(val, []byte("none")) {
				si.hidden = "display:none"
			}
		case "visibility":
			if bytes.EqualFold(val, []byte("hidden")) || bytes.EqualFold(val, []byte("collapse")) {
				si.hidden = "visibility:hidden"
			}
		case "font-size":
			if px, ok := cssLength(val); ok && px < 3 {
				si.hidden = "a font size of " + strings.ToLower(string(val))
			}
		case "opacity":
			if f, ok := parseDecimal(val); ok && f < 0.1 {
				si.hidden = "opacity:" + string(val)
			}
		case "color":
			si.fg = parseColorBytes(val)
		case "background-color":
			si.bg = parseColorBytes(val)
		case "background":
			// The colour is any one word of the shorthand.
			for _, f := range bytes.Fields(val) {
				if c := parseColorBytes(f); c != noColor {
					si.bg = c
					break
				}
			}
		case "height", "max-height", "width", "max-width":
			if px, ok := cssLength(val); ok && px == 0 {
				zeroHeight = true
			}
		case "overflow":
			overflowHidden = bytes.EqualFold(val, []byte("hidden"))
		}
	}
	if si.hidden == "" && zeroHeight && overflowHidden {
		si.hidden = "zero size with overflow:hidden"
	}
	return si
}

// parseDecimal parses a plain non-negative decimal number ("12", "0.5",
// ".5") without allocating.
func parseDecimal(b []byte) (float64, bool) {
	v, div, seen, dot := 0.0, 1.0, false, false
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			seen = true
			if dot {
				div *= 10
				v += float64(c-'0') / div
			} else {
				v = v*10 + float64(c-'0')
			}
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
		if v > 1e9 {
			return 0, false
		}
	}
	return v, seen
}

// cssLength converts a CSS length to pixels (pt and px; em and % relative
// to 16px); ok is false for anything else.
func cssLength(v []byte) (float64, bool) {
	i := len(v)
	for i > 0 && (v[i-1]|0x20 >= 'a' && v[i-1]|0x20 <= 'z' || v[i-1] == '%') {
		i--
	}
	f, ok := parseDecimal(bytes.TrimSpace(v[:i]))
	if !ok {
		return 0, false
	}
	var unit [4]byte
	u := v[i:]
	if len(u) > len(unit) {
		return 0, false
	}
	for k, c := range u {
		unit[k] = c | 0x20
	}
	switch string(unit[:len(u)]) {
	case "px", "":
		return f, true
	case "pt":
		return f * 4 / 3, true
	case "em", "rem":
		return f * 16, true
	case "%":
		return f * 16 / 100, true
	}
	return 0, false
}

// styleSize returns the width and height a style gives in px (-1 if none).
func styleSize(b []byte) (w, h int) {
	w, h = -1, -1
	for len(b) > 0 {
		var decl []byte
		if i := bytes.IndexByte(b, ';'); i >= 0 {
			decl, b = b[:i], b[i+1:]
		} else {
			decl, b = b, nil
		}
		colon := bytes.IndexByte(decl, ':')
		if colon < 0 {
			continue
		}
		prop := bytes.TrimSpace(decl[:colon])
		isW, isH := bytes.EqualFold(prop, []byte("width")), bytes.EqualFold(prop, []byte("height"))
		if !isW && !isH {
			continue
		}
		if px, ok := cssLength(bytes.TrimSpace(decl[colon+1:])); ok {
			if isW {
				w = int(min(px, 1<<14))
			} else {
				h = int(min(px, 1<<14))
			}
		}
	}
	return
}

// parseSize reads a width or height attribute; -1 if absent or not a
// number of pixels.
func parseSize(v []byte) int {
	v = bytes.TrimSpace(v)
	v = bytes.TrimSuffix(v, []byte("px"))
	if len(v) == 0 || len(v) > 6 {
		return -1
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return min(n, 1<<14)
}

var namedColors = map[string]rgb{
	"white": 0xffffff, "black": 0x000000, "red": 0xff0000, "green": 0x008000, "blue": 0x0000ff,
	"yellow": 0xffff00, "gray": 0x808080, "grey": 0x808080, "silver": 0xc0c0c0, "navy": 0x000080,
	"maroon": 0x800000, "purple": 0x800080, "fuchsia": 0xff00ff, "lime": 0x00ff00, "olive": 0x808000,
	"teal": 0x008080, "aqua": 0x00ffff, "orange": 0xffa500, "snow": 0xfffafa, "ivory": 0xfffff0,
	"whitesmoke": 0xf5f5f5, "ghostwhite": 0xf8f8ff, "mintcream": 0xf5fffa, "azure": 0xf0ffff,
}

func parseColorBytes(b []byte) rgb {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || len(b) > 32 {
		return noColor
	}
	var lb [32]byte
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lb[i] = c
	}
	return parseColor(string(lb[:len(b)]))
}

// parseColor reads a lower-case HTML or CSS colour: #rgb, #rrggbb, rrggbb
// without the hash (old HTML), rgb(r, g, b) and the common names.
func parseColor(v string) rgb {
	v = strings.TrimSpace(v)
	if v == "" {
		return noColor
	}
	if c, ok := namedColors[v]; ok {
		return c
	}
	if strings.HasPrefix(v, "rgb(") && strings.HasSuffix(v, ")") {
		var c rgb
		n := 0
		for part := range strings.SplitSeq(v[4:len(v)-1], ",") {
			x, ok := parseDecimal([]byte(strings.TrimSpace(part)))
			if !ok || x > 255 || n == 3 {
				return noColor
			}
			c = c<<8 | rgb(x)
			n++
		}
		if n != 3 {
			return noColor
		}
		return c
	}
	v = strings.TrimPrefix(v, "#")
	if len(v) != 3 && len(v) != 6 {
		return noColor
	}
	var n rgb
	for i := 0; i < len(v); i++ {
		d, ok := hexDigit(v[i])
		if !ok {
			return noColor
		}
		n = n<<4 | rgb(d)
	}
	if len(v) == 3 {
		r, g, b := n>>8&0xf, n>>4&0xf, n&0xf
		return r*0x11<<16 | g*0x11<<8 | b*0x11
	}
	return n
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// sameColor reports whether two colours are too close to tell apart.
func sameColor(a, b rgb) bool {
	d := func(s int) int32 {
		x := int32(a>>s&0xff) - int32(b>>s&0xff)
		if x < 0 {
			return -x
		}
		return x
	}
	return d(16)+d(8)+d(0) <= 30
}

func hasPrefixFold(s, p string) bool {
	return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p)
}

// hostOf returns the lower-case host of an http(s) URL, "" otherwise. A
// userinfo part ("http://bank.example@evil.example/") is dropped: the host
// is what the browser visits.
func hostOf(u string) string {
	u = strings.TrimSpace(u)
	switch {
	case hasPrefixFold(u, "http://"):
		u = u[7:]
	case hasPrefixFold(u, "https://"):
		u = u[8:]
	case strings.HasPrefix(u, "//"):
		u = u[2:]
	default:
		return ""
	}
	u = strings.TrimLeft(u, "/\\")
	if i := strings.IndexAny(u, "/?#\\"); i >= 0 {
		u = u[:i]
	}
	if i := strings.LastIndexByte(u, '@'); i >= 0 {
		u = u[i+1:]
	}
	if i := strings.LastIndexByte(u, ':'); i >= 0 && !strings.Contains(u, "]") {
		u = u[:i]
	}
	u = strings.TrimSuffix(strings.ToLower(u), ".")
	if u == "" || len(u) > 253 {
		return ""
	}
	return u
}

// domainShown returns the domain that link text shows, if it shows one: a
// URL, or a single word that is a host name under a real public suffix.
func domainShown(text []byte) string {
	t := strings.TrimSpace(string(text))
	if t == "" || len(t) > 200 {
		return ""
	}
	if h := hostOf(t); h != "" {
		// An explicit URL shows its host whatever the suffix.
		if strings.Contains(h, ".") && !strings.ContainsAny(h, " \t<>\"") {
			return h
		}
		return ""
	}
	if strings.ContainsAny(t, " \t") {
		return ""
	}
	t = strings.TrimRight(t, ".,;:!?)")
	t = strings.TrimLeft(t, "(<")
	t = strings.TrimSuffix(t, ">")
	if i := strings.IndexAny(t, "/?#"); i >= 0 {
		t = t[:i]
	}
	if strings.Contains(t, "@") { // an address, not a link target
		return ""
	}
	return plausibleHost(strings.ToLower(t))
}

// plausibleHost returns h if it looks like a host name under an ICANN
// public suffix (so "file.txt" and "Mr.Smith" are not domains).
func plausibleHost(h string) string {
	if strings.Count(h, ".") < 1 || len(h) > 253 {
		return ""
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return ""
		}
	}
	if _, icann := publicsuffix.PublicSuffix(h); !icann {
		return ""
	}
	return h
}

// registered returns the registrable domain (eTLD+1) of host, or host.
func registered(host string) string {
	if d, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return d
	}
	return host
}
