package urlcheck

import (
	"hash/maphash"
	"html"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mailscore/mailscore"
)

// Origin says where in a message a link was found. When a message has more
// links than ExtractOptions.MaxLinks, lower origins are kept first: what a
// reader clicks before what the mail client loads by itself, and both
// before names that are merely mentioned.
type Origin uint8

// Origins, in priority order.
const (
	OriginHref     Origin = iota // <a href>, <area href>, any other href (VML buttons)
	OriginAction                 // <form action>, formaction
	OriginRefresh                // <meta http-equiv="refresh" content="0;url=...">
	OriginText                   // a URL with a scheme in text
	OriginRedirect               // a URL carried inside another (a redirector's target)
	OriginLanding                // where a followed link landed (added by the Checker)
	OriginWWW                    // www.example.com in text
	OriginSrc                    // src, srcset, background, poster, <object data>, <link href>
	OriginCSS                    // url() in a style attribute or element
	OriginMailto                 // mailto: links and mail addresses in text
	OriginBare                   // a bare domain in text, ending in a public suffix
)

var originNames = [...]string{"href", "action", "refresh", "text", "redirect", "landing", "www", "src", "css", "mailto", "bare"}

// String names the origin ("href", "src", "text"...).
func (o Origin) String() string {
	if int(o) < len(originNames) {
		return originNames[o]
	}
	return "origin?"
}

// Link is a URL found in a message, with where it was found.
type Link struct {
	URL
	Origin Origin
	// Part is the MIME part path it came from ("" for strings).
	Part string
	// Via is, for OriginRedirect, the URL that carried it and, for
	// OriginLanding, the link that was followed to it.
	Via string
	// Carries reports that this URL carries another URL in its path or
	// query (a redirector; the other one is a separate OriginRedirect link).
	Carries bool
}

// ExtractOptions bound extraction. The zero value uses the defaults.
type ExtractOptions struct {
	// MaxLinks is the most distinct links kept per message; default 100.
	MaxLinks int
	// MaxPerDomain is the most links kept per registered domain (or
	// address), so one domain's thousand tracking links cannot push every
	// other domain out; default 10.
	MaxPerDomain int
	// MaxBytes is the most text and markup scanned per message; default
	// 4 MiB. Past it, extraction stops and Extraction.Truncated is set.
	MaxBytes int
	// MaxEmbedDepth is how deep URLs carried inside URLs are followed;
	// default 2.
	MaxEmbedDepth int
}

// Default extraction limits.
const (
	DefaultMaxLinks      = 100
	DefaultMaxPerDomain  = 10
	DefaultMaxScanBytes  = 4 << 20
	DefaultMaxEmbedDepth = 2
	maxWord              = 4096 // longest word of text examined for a URL
	maxCollected         = 4    // links collected before selection, as a multiple of MaxLinks
)

func (o ExtractOptions) resolved() ExtractOptions {
	if o.MaxLinks <= 0 {
		o.MaxLinks = DefaultMaxLinks
	}
	if o.MaxPerDomain <= 0 {
		o.MaxPerDomain = DefaultMaxPerDomain
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxScanBytes
	}
	if o.MaxEmbedDepth <= 0 {
		o.MaxEmbedDepth = DefaultMaxEmbedDepth
	}
	return o
}

// Extraction is what ExtractMessage found.
type Extraction struct {
	// Links are the distinct links kept, highest priority first (document
	// order within an origin).
	Links []Link
	// Dropped counts links left out by MaxLinks or MaxPerDomain (a link
	// repeated after it was left out may be counted again).
	Dropped int
	// Truncated reports that MaxBytes stopped the scan.
	Truncated bool
}

// ExtractText returns the links in plain text: URLs with a scheme,
// "www." hosts, mail addresses and bare domains that end in a public
// suffix (ICANN section).
func ExtractText(text string, opts ExtractOptions) []Link {
	e := newExtractor(opts)
	e.text(text)
	return e.finish().Links
}

// ExtractHTML returns the links in an HTML document: href, src, action,
// formaction, srcset, background, poster, <object data>, <meta> refresh,
// CSS url() in style attributes and elements, and the links in its text.
// <base href> resolves relative references.
func ExtractHTML(doc string, opts ExtractOptions) []Link {
	e := newExtractor(opts)
	e.html(doc)
	return e.finish().Links
}

// ExtractMessage returns the links in a message's text/plain and text/html
// parts (decoded by Message.MIME), deduplicated and capped.
func ExtractMessage(msg *mailscore.Message, opts ExtractOptions) Extraction {
	e := newExtractor(opts)
	for i := range msg.MIME().Parts {
		p := &msg.MIME().Parts[i]
		if !strings.HasPrefix(p.ContentType, "text/") || p.Disposition == "attachment" {
			continue
		}
		e.part = p.Path
		e.base = ""
		if p.ContentType == "text/html" {
			e.html(p.Text)
		} else {
			e.text(p.Text)
		}
		if e.truncated {
			break
		}
	}
	return e.finish()
}

type hostEntry struct{ host, full, icann string }

// hostCache remembers the registered domains of the last few hosts: links
// in one message share hosts, and the Public Suffix List lookup is most of
// the cost of normalizing a URL.
type hostCache struct {
	e [8]hostEntry
	n int
}

func (c *hostCache) get(h string) (full, icann string) {
	for i := range c.e {
		if c.e[i].host == h && h != "" {
			return c.e[i].full, c.e[i].icann
		}
	}
	full, icann = registeredDomains(h)
	c.e[c.n%len(c.e)] = hostEntry{h, full, icann}
	c.n++
	return full, icann
}

// domainCount counts the links kept of one registered domain (or host).
type domainCount struct {
	d string
	n [OriginBare + 1]uint16 // by origin
}

type extractor struct {
	opts      ExtractOptions
	links     []Link
	hashes    []uint64 // hash of each link's key, parallel to links
	hashBuf   [64]uint64
	seed      maphash.Seed
	part      string
	base      string
	scanned   int
	truncated bool
	collected int // distinct links seen, kept or not
	sizeHint  int // expected number of links, to size the slices once
	domains   []domainCount
	domBuf    [16]domainCount
	cache     hostCache
}

func newExtractor(opts ExtractOptions) *extractor {
	e := &extractor{opts: opts.resolved(), seed: maphash.MakeSeed()}
	e.domains = e.domBuf[:0]
	return e
}

// hash hashes a link's identity: scheme, user (mailto only), host, port
// and rest.
func (e *extractor) hash(u *URL) uint64 {
	h := maphash.String(e.seed, u.Rest)
	h = h*0x9E3779B97F4A7C15 ^ maphash.String(e.seed, u.Host)
	h = h*0x9E3779B97F4A7C15 ^ uint64(len(u.Port))<<8 ^ uint64(len(u.Scheme))
	if u.Port != "" || u.Scheme != "http" && u.Scheme != "https" {
		h = h*0x9E3779B97F4A7C15 ^ maphash.String(e.seed, u.Scheme+":"+u.Port)
	}
	if u.Scheme == "mailto" {
		h = h*0x9E3779B97F4A7C15 ^ maphash.String(e.seed, u.User)
	}
	return h
}

// find returns the index of the link with u's identity, or -1.
func (e *extractor) find(u *URL, h uint64) int {
	for i, x := range e.hashes {
		if x == h {
			l := &e.links[i]
			if l.Host == u.Host && l.Rest == u.Rest && l.Port == u.Port && l.Scheme == u.Scheme &&
				(u.Scheme != "mailto" || l.User == u.User) {
				return i
			}
		}
	}
	return -1
}

// budget counts n bytes against MaxBytes and reports whether scanning may
// go on.
func (e *extractor) budget(n int) bool {
	if e.truncated {
		return false
	}
	e.scanned += n
	if e.scanned > e.opts.MaxBytes {
		e.truncated = true
		return false
	}
	return true
}

// add normalizes raw and keeps it if new.
func (e *extractor) add(raw string, o Origin, via string, depth int) {
	u, k := parseWith(raw, o == OriginWWW, &e.cache)
	if k == errNoHost && e.base != "" && o != OriginMailto && o != OriginText {
		if abs := resolveRef(e.base, raw); abs != "" {
			u, k = parseWith(abs, false, &e.cache)
		}
	}
	if k != errNone {
		return
	}
	e.keep(u, o, via, depth)
}

func (e *extractor) keep(u URL, o Origin, via string, depth int) {
	h := e.hash(&u)
	if i := e.find(&u, h); i >= 0 {
		if o < e.links[i].Origin {
			e.links[i].Origin = o
		}
		return
	}
	e.collected++
	// A domain that already has MaxPerDomain links at least as important
	// gets no more: finish would drop them.
	d := u.Domain
	if d == "" {
		d = u.Host
	}
	di := 0
	for di < len(e.domains) && e.domains[di].d != d {
		di++
	}
	if di == len(e.domains) {
		if len(e.domains) < 256 {
			e.domains = append(e.domains, domainCount{d: d})
		} else {
			di = -1
		}
	}
	if di >= 0 {
		dc := &e.domains[di]
		ahead := 0
		for k := Origin(0); k <= o && int(k) < len(dc.n); k++ {
			ahead += int(dc.n[k])
		}
		if ahead >= e.opts.MaxPerDomain {
			return
		}
		if int(o) < len(dc.n) && dc.n[o] < 0xffff {
			dc.n[o]++
		}
	}
	if e.links == nil {
		n := min(max(e.sizeHint, 8), e.opts.MaxLinks*maxCollected)
		e.links = make([]Link, 0, n)
		e.hashes = e.hashBuf[:0]
	}
	idx := len(e.links)
	if idx >= e.opts.MaxLinks*maxCollected {
		// Full: the new link takes the place of the last link of the
		// lowest priority, if it is worth more.
		idx = -1
		for i := len(e.links) - 1; i >= 0; i-- {
			if e.links[i].Origin > o && (idx < 0 || e.links[i].Origin > e.links[idx].Origin) {
				idx = i
			}
		}
		if idx < 0 {
			return
		}
		e.links[idx] = Link{URL: u, Origin: o, Part: e.part, Via: via}
		e.hashes[idx] = h
	} else {
		e.links = append(e.links, Link{URL: u, Origin: o, Part: e.part, Via: via})
		e.hashes = append(e.hashes, h)
	}
	if clickable(o) && depth < e.opts.MaxEmbedDepth {
		e.embedded(idx, depth+1)
	}
}

func resolveRef(base, ref string) string {
	b, err := url.Parse(base)
	if err != nil || b.Host == "" {
		return ""
	}
	r, err := url.Parse(strings.TrimSpace(ref))
	if err != nil || r.Scheme != "" {
		return ""
	}
	return b.ResolveReference(r).String()
}

// finish orders the links by priority (document order within an origin)
// and applies the caps.
func (e *extractor) finish() Extraction {
	x := Extraction{Truncated: e.truncated}
	if len(e.links) == 0 {
		return x
	}
	var count [OriginBare + 2]int
	for i := range e.links {
		count[min(e.links[i].Origin, OriginBare+1)]++
	}
	var pos [len(count)]int32
	for i, sum := 1, int32(0); i < len(count); i++ {
		sum += int32(count[i-1])
		pos[i] = sum
	}
	var orderBuf [128]int32
	var order []int32
	if len(e.links) > len(orderBuf) {
		order = make([]int32, len(e.links))
	} else {
		order = orderBuf[:len(e.links)]
	}
	for i := range e.links {
		o := min(e.links[i].Origin, OriginBare+1)
		order[pos[o]] = int32(i)
		pos[o]++
	}
	// Put the links in that order, in place, following the permutation's
	// cycles: links[k] becomes the old links[order[k]].
	for k := range order {
		if order[k] < 0 {
			continue
		}
		if int(order[k]) == k {
			order[k] = -1 // already in place
			continue
		}
		tmp := e.links[k]
		j := k
		for {
			src := int(order[j])
			order[j] = -1
			if src == k {
				e.links[j] = tmp
				break
			}
			e.links[j] = e.links[src]
			j = src
		}
	}
	type perDomain struct {
		d string
		n int
	}
	var perBuf [32]perDomain
	per := perBuf[:0]
	out := e.links[:0]
	for i := range e.links {
		if len(out) >= e.opts.MaxLinks {
			break
		}
		l := &e.links[i]
		d := l.Domain
		if d == "" {
			d = l.Host
		}
		j := 0
		for j < len(per) && per[j].d != d {
			j++
		}
		if j == len(per) {
			per = append(per, perDomain{d, 0})
		}
		if per[j].n >= e.opts.MaxPerDomain {
			continue
		}
		per[j].n++
		if len(out) == i {
			out = out[:i+1] // in place already
		} else {
			out = append(out, *l)
		}
	}
	clear(e.links[len(out):])
	x.Links = slices.Clip(out)
	x.Dropped = e.collected - len(out)
	return x
}

// ---- text ----

// isDelim reports whether an ASCII byte ends a word of text.
func isDelim(c byte) bool {
	return c <= ' ' || c == '<' || c == '>' || c == '"' || c == '`' || c == '{' || c == '}' || c == '|' || c == 0x7f
}

// isSpaceRune reports the Unicode spaces and invisible separators that end
// a word (no-break space, the U+2000 block, zero-width space, ideographic
// space, BOM).
func isSpaceRune(r rune) bool {
	return r == 0xa0 || r >= 0x2000 && r <= 0x200b || r == 0x2028 || r == 0x2029 || r == 0x202f || r == 0x205f || r == 0x3000 || r == 0xfeff || r == utf8.RuneError
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// wordStart returns where the word around p begins, not before lo.
func wordStart(s string, lo, p int) int {
	i := p
	stop := max(lo, p-maxWord)
	for i > stop {
		c := s[i-1]
		if c < 0x80 {
			if isDelim(c) {
				break
			}
			i--
			continue
		}
		r, size := utf8.DecodeLastRuneInString(s[stop:i])
		if isSpaceRune(r) {
			break
		}
		i -= size
	}
	return i
}

// wordEnd returns where the word around p ends.
func wordEnd(s string, p int) int {
	i := p
	stop := min(len(s), p+maxWord)
	for i < stop {
		c := s[i]
		if c < 0x80 {
			if isDelim(c) {
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:stop])
		if isSpaceRune(r) {
			break
		}
		i += size
	}
	return i
}

// next returns the index of b in s at or after from, or len(s).
func next(s string, from int, b byte) int {
	if from >= len(s) {
		return len(s)
	}
	if i := strings.IndexByte(s[from:], b); i >= 0 {
		return from + i
	}
	return len(s)
}

func nextStr(s string, from int, sub string) int {
	if from >= len(s) {
		return len(s)
	}
	if i := strings.Index(s[from:], sub); i >= 0 {
		return from + i
	}
	return len(s)
}

// text finds links in plain text. It looks only around the bytes that can
// be part of one (".", "://", "@"), so ordinary prose costs little.
func (e *extractor) text(s string) {
	if !e.budget(len(s)) {
		return
	}
	pos := 0
	dot, col, at := -1, -1, -1
	for pos < len(s) {
		if dot < pos {
			dot = next(s, pos, '.')
		}
		if col < pos {
			col = nextStr(s, pos, "://")
		}
		if at < pos {
			at = next(s, pos, '@')
		}
		p := min(dot, col, at)
		if p >= len(s) {
			return
		}
		ok := false
		switch p {
		case col:
			ok = p > 0 && isLetter(s[p-1])
			if !ok {
				col = nextStr(s, p+1, "://")
			}
		case dot:
			ok = p > 0 && p+1 < len(s) && (isAlnum(s[p-1]) || s[p-1] >= 0x80) && (isAlnum(s[p+1]) || s[p+1] >= 0x80)
			if !ok {
				dot = next(s, p+1, '.')
			}
		default:
			ok = p > 0 && p+1 < len(s) && !isDelim(s[p-1]) && (isAlnum(s[p+1]) || s[p+1] >= 0x80)
			if !ok {
				at = next(s, p+1, '@')
			}
		}
		if !ok {
			continue
		}
		ws, we := wordStart(s, pos, p), wordEnd(s, p)
		e.word(s[ws:we])
		if e.truncated {
			return
		}
		pos = we
	}
}

const leadPunct = "([{'*"
const trailPunct = ".,;:!?'*"

func trimWord(w string) string {
	for len(w) > 0 && strings.IndexByte(leadPunct, w[0]) >= 0 {
		w = w[1:]
	}
	for len(w) > 0 {
		c := w[len(w)-1]
		switch {
		case strings.IndexByte(trailPunct, c) >= 0:
		case c == ')' && strings.IndexByte(w, '(') < 0:
		case c == ']' && strings.IndexByte(w, '[') < 0:
		case c == '}':
		default:
			return w
		}
		w = w[:len(w)-1]
	}
	return w
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// word classifies one word of text.
func (e *extractor) word(w string) {
	w = trimWord(w)
	if len(w) < 4 {
		return
	}
	if i := strings.Index(w, "://"); i > 0 {
		j := i
		for j > 0 && isLetter(w[j-1]) {
			j--
		}
		switch strings.ToLower(w[j:i]) {
		case "http", "https", "ftp":
			e.add(w[j:], OriginText, "", 0)
		}
		return
	}
	if hasPrefixFold(w, "mailto:") {
		e.add(w, OriginMailto, "", 0)
		return
	}
	if hasPrefixFold(w, "www.") {
		e.add(w, OriginWWW, "", 0)
		return
	}
	if at := strings.LastIndexByte(w, '@'); at > 0 {
		e.mailAddress(w[:at], w[at+1:])
		return
	}
	e.bareDomain(w)
}

// mailAddress keeps local@domain found in text when the domain ends in a
// known top-level domain.
func (e *extractor) mailAddress(local, domain string) {
	if i := strings.LastIndexAny(local, ":;,/\\=<("); i >= 0 {
		local = local[i+1:]
	}
	if local == "" || !plausibleHost(domain) {
		return
	}
	u := URL{Scheme: "mailto", User: local}
	if u.setHost(domain, &e.cache) != errNone || u.Domain == "" || !knownTLD(u.Host) {
		return
	}
	e.keep(u, OriginMailto, "", 0)
}

// ambiguousTLD reports top-level domains that are also common file-name
// extensions: a bare "notes.md" or "setup.py" in text is a file, not a
// link. They are still found with a scheme or "www.".
func ambiguousTLD(tld string) bool {
	switch tld {
	case "zip", "mov", "md", "py", "sh", "pl", "rs", "ps", "cs", "sc", "so", "ts", "js":
		return true
	}
	return false
}

// plausibleHost is a quick check before parsing: letters, digits, hyphens
// and dots (or non-ASCII), at least one dot, a letter-only last label.
func plausibleHost(h string) bool {
	if len(h) < 4 || len(h) > 253 || h[0] == '.' || h[0] == '-' {
		return false
	}
	dot := -1
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case isAlnum(c) || c == '-' || c >= 0x80:
		case c == '.':
			if i > 0 && h[i-1] == '.' {
				return false
			}
			dot = i
		default:
			return false
		}
	}
	if dot <= 0 || dot >= len(h)-2 {
		return false
	}
	for i := dot + 1; i < len(h); i++ {
		if !isLetter(h[i]) && h[i] < 0x80 && !(h[i] == '-' || h[i] >= '0' && h[i] <= '9' && strings.HasPrefix(h[dot+1:], "xn--")) {
			return false
		}
	}
	return true
}

// bareDomain keeps a word like "example.com/offer" when its host ends in a
// known top-level domain.
func (e *extractor) bareDomain(w string) {
	end := len(w)
	for i := 0; i < len(w); i++ {
		if c := w[i]; c == '/' || c == '?' || c == '#' || c == ':' {
			end = i
			break
		}
	}
	host := w[:end]
	if !plausibleHost(host) {
		return
	}
	tld := strings.ToLower(host[strings.LastIndexByte(host, '.')+1:])
	if ambiguousTLD(tld) {
		return
	}
	u, k := parseAuthority(URL{Scheme: "http", Flags: FlagBare}, w, true, &e.cache)
	if k != errNone || u.Domain == "" || u.IP.IsValid() || !knownTLD(u.Host) {
		return
	}
	e.keep(u, OriginBare, "", 0)
}

// ---- URLs inside URLs ----

// containsFold reports whether s contains sub (lower-case ASCII, first
// byte not a letter), ignoring case.
func containsFold(s, sub string) bool {
	for len(s) >= len(sub) {
		i := strings.IndexByte(s, sub[0])
		if i < 0 || i+len(sub) > len(s) {
			return false
		}
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
		s = s[i+1:]
	}
	return false
}

// mayCarry is a quick test for a URL inside a path or query: "://" as
// written or percent-encoded, "www.", or Google's "/amp/".
func mayCarry(rest string) bool {
	return strings.Contains(rest, "://") || strings.Contains(rest, "www.") || strings.Contains(rest, "WWW.") ||
		strings.Contains(rest, "/amp/") || containsFold(rest, "%3a%2f") || containsFold(rest, ":%2f")
}

// embedded finds URLs carried in the path or query of link i: a query
// value that is an absolute URL ("?url=https://..."), a path that
// continues with one ("/https://..."), Google's AMP viewer
// ("google.com/amp/s/host/path").
func (e *extractor) embedded(i, depth int) {
	p := &e.links[i]
	rest := p.Rest
	if len(rest) < 8 || p.Scheme == "mailto" {
		return
	}
	if !mayCarry(rest) {
		return
	}
	path, query := rest, ""
	if q := strings.IndexByte(rest, '?'); q >= 0 {
		path, query = rest[:q], rest[q+1:]
	}
	if h := strings.IndexByte(query, '#'); h >= 0 {
		query = query[:h]
	}
	var found []string
	if strings.HasPrefix(p.ICANNDomain, "google.") {
		if a := strings.Index(path, "/amp/"); a >= 0 {
			t := strings.TrimPrefix(path[a+5:], "s/")
			found = append(found, "https://"+t)
		}
	}
	// A URL continuing the path, possibly percent-encoded:
	// "/redirect/https://...", "/*%68ttp://...".
	dp := path
	if strings.IndexByte(dp, '%') >= 0 {
		if d, ok := percentDecode(dp); ok {
			dp = d
		}
	}
	if j := indexFold(dp, "http"); j > 0 {
		for n := 0; j > 0 && n < 8; n++ {
			t := dp[j:]
			if hasPrefixFold(t, "http://") || hasPrefixFold(t, "https://") {
				found = append(found, t)
				break
			}
			k := indexFold(dp[j+4:], "http")
			if k < 0 {
				break
			}
			j += 4 + k
		}
	}
	for kv := range strings.SplitSeq(query, "&") {
		eq := strings.IndexByte(kv, '=')
		if eq < 0 {
			continue
		}
		v := kv[eq+1:]
		if !hasPrefixFold(v, "http") && !hasPrefixFold(v, "www.") && !hasPrefixFold(v, "%68ttp") {
			continue
		}
		if strings.IndexByte(v, '%') >= 0 {
			d, ok := percentDecode(v)
			if !ok {
				continue
			}
			v = d
		}
		if hasPrefixFold(v, "http://") || hasPrefixFold(v, "https://") || hasPrefixFold(v, "www.") {
			found = append(found, v)
		}
		if len(found) >= 4 {
			break
		}
	}
	if len(found) == 0 {
		return
	}
	via := p.String()
	for _, t := range found {
		u, k := parseWith(t, true, &e.cache)
		if k != errNone {
			continue
		}
		e.links[i].Carries = true
		e.keep(u, OriginRedirect, via, depth)
	}
}

// ---- HTML ----

// lowerName copies an ASCII name into buf lower-cased, as far as buf's
// capacity allows.
func lowerName(buf []byte, s string) []byte {
	buf = buf[:0]
	for i := 0; i < len(s) && len(buf) < cap(buf); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return buf
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// indexFold finds sub (lower-case ASCII) in s, ignoring case.
func indexFold(s, sub string) int {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		j := strings.IndexByte(s[i:], sub[0]&^0x20) // upper-case first letter
		k := strings.IndexByte(s[i:], sub[0])
		switch {
		case j < 0 && k < 0:
			return -1
		case j < 0 || (k >= 0 && k < j):
			i += k
		default:
			i += j
		}
		if i+n > len(s) {
			return -1
		}
		if strings.EqualFold(s[i:i+n], sub) {
			return i
		}
	}
	return -1
}

// html scans a document's tags with a small tokenizer of its own (the
// HTML Standard's tokenization rules for tags, attributes, comments and
// raw-text elements, simplified): links from attributes, and text between
// tags scanned as text.
func (e *extractor) html(s string) {
	if !e.budget(len(s)) {
		return
	}
	if e.links == nil {
		// Mail HTML has about one link per 300 bytes.
		e.sizeHint = len(s)/300 + 8
	}
	var nameBuf [16]byte
	i := 0
	for i < len(s) {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			e.htmlText(s[i:])
			return
		}
		if j > 0 {
			e.htmlText(s[i : i+j])
		}
		i += j
		if i+1 >= len(s) {
			return
		}
		c := s[i+1]
		switch {
		case c == '!':
			if strings.HasPrefix(s[i:], "<!--") {
				k := strings.Index(s[i+4:], "-->")
				if k < 0 {
					return
				}
				i += 4 + k + 3
				continue
			}
			k := strings.IndexByte(s[i:], '>')
			if k < 0 {
				return
			}
			i += k + 1
		case c == '?' || c == '/':
			k := strings.IndexByte(s[i:], '>')
			if k < 0 {
				return
			}
			i += k + 1
		case isLetter(c):
			n := i + 1
			for n < len(s) && !isSpace(s[n]) && s[n] != '>' && s[n] != '/' {
				n++
			}
			name := lowerName(nameBuf[:0:len(nameBuf)], s[i+1:n])
			i = e.tag(s, n, string(name))
			switch string(name) {
			case "script":
				if k := indexFold(s[i:], "</script"); k >= 0 {
					i += k
				} else {
					return
				}
			case "style":
				k := indexFold(s[i:], "</style")
				if k < 0 {
					k = len(s) - i
				}
				e.css(s[i:i+k], OriginCSS)
				i += k
			}
		default:
			e.htmlText(s[i : i+1])
			i++
		}
	}
}

// htmlText scans text between tags, with character references decoded.
func (e *extractor) htmlText(t string) {
	if len(t) < 4 {
		return
	}
	if strings.IndexByte(t, '&') >= 0 {
		t = html.UnescapeString(t)
	}
	e.scanned -= len(t) // counted with the document already
	e.text(t)
}

// tag reads the attributes of a start tag whose name ends at i and
// returns the index after the tag.
func (e *extractor) tag(s string, i int, name string) int {
	var attrBuf [16]byte
	var refresh bool
	var content string
	for i < len(s) {
		for i < len(s) && (isSpace(s[i]) || s[i] == '/') {
			i++
		}
		if i >= len(s) {
			return i
		}
		if s[i] == '>' {
			i++
			break
		}
		n := i
		for n < len(s) && !isSpace(s[n]) && s[n] != '/' && s[n] != '>' && (s[n] != '=' || n == i) {
			n++
		}
		attr := lowerName(attrBuf[:0:len(attrBuf)], s[i:n])
		if n-i > len(attrBuf) {
			attr = append(attr, '~') // longer than any name we look for
		}
		i = n
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		var val string
		hasVal := false
		if i < len(s) && s[i] == '=' {
			i++
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			hasVal = true
			if i < len(s) && (s[i] == '"' || s[i] == '\'') {
				q := s[i]
				k := quoteEnd(s[i+1:], q)
				if k < 0 {
					val, i = s[i+1:], len(s)
				} else {
					val, i = s[i+1:i+1+k], i+2+k
				}
			} else {
				k := i
				for k < len(s) && !isSpace(s[k]) && s[k] != '>' {
					k++
				}
				val, i = s[i:k], k
			}
		}
		if !hasVal {
			continue
		}
		switch string(attr) {
		case "href":
			v := attrValue(val)
			switch name {
			case "base":
				if e.base == "" {
					if u, k := parse(v, false); k == errNone && u.Scheme != "mailto" {
						e.base = u.String()
					}
				}
			case "link":
				e.add(v, OriginSrc, "", 0)
			default:
				if hasPrefixFold(strings.TrimSpace(v), "mailto:") {
					e.add(v, OriginMailto, "", 0)
				} else {
					e.add(v, OriginHref, "", 0)
				}
			}
		case "action", "formaction":
			e.add(attrValue(val), OriginAction, "", 0)
		case "src", "background", "poster", "data", "lowsrc", "dynsrc":
			if string(attr) == "data" && name != "object" {
				break
			}
			e.add(attrValue(val), OriginSrc, "", 0)
		case "srcset":
			e.srcset(attrValue(val))
		case "style":
			if strings.IndexByte(val, '(') >= 0 {
				e.css(attrValue(val), OriginCSS)
			}
		case "http-equiv":
			refresh = strings.EqualFold(strings.TrimSpace(val), "refresh")
		case "content":
			content = val
		}
	}
	if refresh && name == "meta" && content != "" {
		e.refresh(attrValue(content))
	}
	return i
}

// quoteEnd finds the closing quote q in s: by hand for the short values
// most attributes have, with IndexByte for long ones.
func quoteEnd(s string, q byte) int {
	n := min(len(s), 24)
	for k := 0; k < n; k++ {
		if s[k] == q {
			return k
		}
	}
	if k := strings.IndexByte(s[n:], q); k >= 0 {
		return n + k
	}
	return -1
}

// attrValue decodes character references in an attribute value. Values
// whose only references are "&amp;" (query strings) take a fast path.
func attrValue(v string) string {
	i := strings.IndexByte(v, '&')
	if i < 0 {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	for i >= 0 {
		if !strings.HasPrefix(v[i:], "&amp;") {
			return html.UnescapeString(v)
		}
		b.WriteString(v[:i+1])
		v = v[i+5:]
		i = strings.IndexByte(v, '&')
	}
	b.WriteString(v)
	return b.String()
}

// refresh reads the URL of a refresh directive: "5; url='http://...'"
// (HTML Standard, "shared declarative refresh steps").
func (e *extractor) refresh(c string) {
	i := 0
	for i < len(c) && (c[i] >= '0' && c[i] <= '9' || c[i] == '.') {
		i++
	}
	c = strings.TrimLeft(c[i:], " \t\n\r\f;,")
	if hasPrefixFold(c, "url") {
		r := strings.TrimLeft(c[3:], " \t\n\r\f")
		if strings.HasPrefix(r, "=") {
			c = strings.TrimLeft(r[1:], " \t\n\r\f")
		}
	}
	if len(c) > 0 && (c[0] == '\'' || c[0] == '"') {
		if k := strings.IndexByte(c[1:], c[0]); k >= 0 {
			c = c[1 : 1+k]
		} else {
			c = c[1:]
		}
	}
	e.add(c, OriginRefresh, "", 0)
}

// srcset reads "url descriptor, url descriptor" (HTML Standard, parsing
// a srcset attribute).
func (e *extractor) srcset(v string) {
	for n := 0; len(v) > 0 && n < 32; n++ {
		v = strings.TrimLeft(v, " \t\n\r\f,")
		k := 0
		for k < len(v) && !isSpace(v[k]) {
			k++
		}
		u := v[:k]
		v = v[k:]
		if strings.HasSuffix(u, ",") {
			e.add(strings.TrimRight(u, ","), OriginSrc, "", 0)
			continue
		}
		if u != "" {
			e.add(u, OriginSrc, "", 0)
		}
		c := strings.IndexByte(v, ',')
		if c < 0 {
			return
		}
		v = v[c+1:]
	}
}

// css finds url(...) values (CSS Syntax Level 3, "consume a url token").
func (e *extractor) css(s string, o Origin) {
	for n := 0; n < 256; n++ {
		k := strings.IndexByte(s, '(')
		if k < 0 {
			return
		}
		if k < 3 || !strings.EqualFold(s[k-3:k], "url") {
			s = s[k+1:]
			continue
		}
		s = strings.TrimLeft(s[k+1:], " \t\n\r\f")
		end := strings.IndexByte(s, ')')
		if len(s) > 0 && (s[0] == '"' || s[0] == '\'') {
			if q := strings.IndexByte(s[1:], s[0]); q >= 0 {
				e.add(s[1:1+q], o, "", 0)
				s = s[1+q:]
				continue
			}
		}
		if end < 0 {
			return
		}
		e.add(strings.TrimSpace(s[:end]), o, "", 0)
		s = s[end:]
	}
}
