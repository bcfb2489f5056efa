package content

import (
	"math/bits"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mailscore/mailscore"
)

// token is one classifier feature: a namespace ("subject:"), a kind
// ("url:", "skip:"), a word (a substring of the message, in its original
// case) and a suffix. Its hash is FNV-1a 64 over namespace + kind +
// lower-case word + suffix; the store only ever sees the hash. Names are
// small indexes into fixed tables and the word is an offset into one of
// the tokenizer's source strings, so a token holds no pointer (appending
// and clearing them costs no write barriers).
type token struct {
	h             uint64
	off           uint32 // the word is src[off:off+n] of the tokenizer's sources
	n             uint16
	src           uint16
	ns, kind, sfx uint8
}

// Namespaces.
const (
	nsBody uint8 = iota
	nsSubject
	nsFromName
)

var nsNames = [...]string{"", "subject:", "from:name:"}

// Kinds.
const (
	kWord uint8 = iota
	kSkip
	kEmailName
	kEmailAddr
	kProto
	kURL
	kCtype
	kCharset
	kEncoding
	kAttachment
	kTag
	kHTML
	kFrom
	kFromDom
	kReplyToDom
	kReplyTo
	kTo
	kMailer
	kMsgIDDom
	kMsgID
	kHeader
	kPrecedence
	kSubject
)

var kindNames = [...]string{
	"", "skip:", "email name:", "email addr:", "proto:", "url:", "ctype:", "charset:", "encoding:",
	"attachment:", "tag:", "html:", "from:", "from:dom:", "reply-to:dom:", "reply-to:", "to:", "mailer:",
	"msgid:dom:", "msgid:", "header:", "precedence:", "subject:",
}

// Suffixes: length buckets for skipped long words, then markers.
const (
	sNone uint8 = iota
	sLen10
	sLen20
	sLen30
	sLen40
	sLen50
	sLen60
	sLen70
	sLen80
	sLen90
	sLen100
	sAbsent
	sNoAddress
	sNoName
	sDiffers
	sOne
	sFew
	sMany
	sUndisclosed
	sNoDomain
	sHiddenText
	sLinkMismatch
	sImages
)

var sfxNames = [...]string{
	"", " 10", " 20", " 30", " 40", " 50", " 60", " 70", " 80", " 90", " 100+",
	"(none)", "(no address)", "(no name)", "(differs from from)", "(one)", "(few)", "(many)",
	"(undisclosed)", "(no domain)", "(hidden text)", "(link mismatch)", "(images)",
}

// tokenString renders a token for people: namespace, kind, lower-case
// word, suffix.
func (tk *tokenizer) tokenString(t token) string {
	w := ""
	if int(t.src) < len(tk.srcs) {
		src := tk.srcs[t.src]
		if end := int(t.off) + int(t.n); end <= len(src) {
			w = src[t.off:end]
		}
	}
	return nsNames[t.ns] + kindNames[t.kind] + strings.ToLower(w) + sfxNames[t.sfx]
}

// lengthBucket is the suffix for a skipped word of n characters.
func lengthBucket(n int) uint8 {
	b := n/10 - 1
	if b < 0 {
		b = 0
	}
	if b > int(sLen100-sLen10) {
		b = int(sLen100 - sLen10)
	}
	return sLen10 + uint8(b)
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// fnvLower hashes s folded to lower case (ASCII fast, Unicode otherwise).
func fnvLower(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return fnvString(h, strings.ToLower(s[i:]))
		}
		h ^= uint64(lowerASCII[c])
		h *= fnvPrime
	}
	return h
}

// lowerASCII maps ASCII upper-case letters to lower case and every other
// byte to itself (a table, so that hashing mixed-case words does not
// mispredict a branch per capital).
var lowerASCII = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = byte(c) + 'a' - 'A'
	}
	return t
}()

// Tokenizer limits.
const (
	maxTokensPerMessage = 30000
	maxTokenText        = 512 << 10 // body text tokenized per message
	minWord             = 3
	maxWord             = 12
)

// tokenizer turns a message into features, in the spirit of SpamBayes'
// tokenizer: white-space separated words of 3 to 12 characters, a
// length-bucket stand-in for longer ones, character bigrams for scripts
// written without spaces, URL hosts and their registrable domains, a few
// header clues and the MIME and HTML structure.
type tokenizer struct {
	toks      []token
	srcs      []string // the strings tokens point into
	full      bool
	bodyBytes int // body bytes tokenized
}

// source registers a string tokens will point into.
func (tk *tokenizer) source(s string) (int, bool) {
	if len(tk.srcs) >= 1<<16-1 || len(s) >= 1<<32-1 {
		tk.full = true
		return 0, false
	}
	tk.srcs = append(tk.srcs, s)
	return len(tk.srcs) - 1, true
}

// add adds the token whose word is srcs[src][off:off+len(w)] (w is that
// substring).
func (tk *tokenizer) add(ns, kind uint8, src, off int, w string, sfx uint8) {
	if len(tk.toks) >= maxTokensPerMessage {
		tk.full = true
		return
	}
	h := fnvLower(prefixHash[ns][kind], w)
	if sfx != sNone {
		h = fnvString(h, sfxNames[sfx])
	}
	tk.toks = append(tk.toks, token{h: h, off: uint32(off), n: uint16(min(len(w), 1<<16-1)), src: uint16(src), ns: ns, kind: kind, sfx: sfx})
}

// push adds a token whose hash is already computed (as add computes it).
func (tk *tokenizer) push(t token) {
	if len(tk.toks) >= maxTokensPerMessage {
		tk.full = true
		return
	}
	tk.toks = append(tk.toks, t)
}

// prefixHash[ns][kind] is the FNV-1a state after hashing the namespace and
// kind names, which every token hash starts with.
var prefixHash = func() (t [len(nsNames)][len(kindNames)]uint64) {
	for ns := range t {
		for kind := range t[ns] {
			t[ns][kind] = fnvString(fnvString(fnvOffset, nsNames[ns]), kindNames[kind])
		}
	}
	return t
}()

// addStr adds a token for a string that is not part of a registered text.
func (tk *tokenizer) addStr(ns, kind uint8, w string, sfx uint8) {
	if tk.full {
		return
	}
	if src, ok := tk.source(w); ok {
		tk.add(ns, kind, src, 0, w, sfx)
	}
}

// spaceByte marks the bytes that separate words.
var spaceByte = [256]bool{' ': true, '\n': true, '\r': true, '\t': true, '\f': true, '\v': true}

func isSpace(c byte) bool { return spaceByte[c] }

// text tokenizes running text under a namespace.
func (tk *tokenizer) text(ns uint8, s string) {
	if ns == nsBody {
		if tk.bodyBytes >= maxTokenText {
			return
		}
		if rem := maxTokenText - tk.bodyBytes; len(s) > rem {
			s = s[:rem]
		}
		tk.bodyBytes += len(s)
	}
	src, ok := tk.source(s)
	if !ok {
		return
	}
	for i := 0; i < len(s) && !tk.full; {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i+8 <= len(s) {
			// Most words are shorter than 8 bytes: the 8 bytes from the
			// word's start, tested together, say where it ends and
			// whether it is plain (ASCII, no wrapping punctuation, so too
			// short to be a URL and nothing to trim). Such a word is
			// hashed here, as word would hash it.
			x := load8(s, i)
			if k := firstSpace(x); k < 8 && x&(hiBits&(1<<(8*k)-1)) == 0 && !wrapLead[s[i]] && !wrapTrail[s[i+k-1]] {
				if k >= minWord {
					tk.push(token{h: fnvPacked(prefixHash[ns][kWord], lowerPacked(x), k), off: uint32(i), n: uint16(k), src: uint16(src), ns: ns, kind: kWord})
				}
				i += k
				continue
			}
		}
		j := i
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		if j > i {
			tk.word(ns, src, i, s[i:j])
		}
		i = j
	}
}

// SWAR (SIMD within a register) helpers for the text loop: eight bytes
// at once, each test exact per byte (no carry or borrow crosses a byte).
const (
	ones   = 0x0101010101010101
	low7   = 0x7f7f7f7f7f7f7f7f
	hiBits = 0x8080808080808080
)

// load8 returns s[i:i+8] as a little-endian integer (one load).
func load8(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// between sets the high bit of each byte of x that is ASCII and greater
// than m and less than n (0 <= m < n <= 128).
func between(x uint64, m, n uint64) uint64 {
	l := x & low7
	return (ones*(127+n) - l) & ^x & (l + ones*(127-m)) & hiBits
}

// firstSpace returns the index of the first byte of x that isSpace
// accepts (' ' or '\t' to '\r'), 8 if none.
func firstSpace(x uint64) int {
	t := x ^ ones*' '
	blank := ^((t&low7 + low7) | t | low7) // high bit set where the byte is ' '
	return bits.TrailingZeros64(blank|between(x, '\t'-1, '\r'+1)) >> 3
}

// lowerPacked lower-cases the ASCII letters among the bytes of x.
func lowerPacked(x uint64) uint64 { return x | between(x, 'A'-1, 'Z'+1)>>2 }

// fnvPacked continues FNV-1a h over the first n bytes of x.
func fnvPacked(h, x uint64, n int) uint64 {
	for ; n > 0; n-- {
		h ^= x & 0xff
		h *= fnvPrime
		x >>= 8
	}
	return h
}

var wrapLead, wrapTrail = punctTable("\"'([{<*`,.;:"), punctTable("\"')]}>*`,.;:?")

func punctTable(chars string) (t [256]bool) {
	for i := 0; i < len(chars); i++ {
		t[chars[i]] = true
	}
	return t
}

// trimPunct strips punctuation that only wraps a word: quotes, brackets,
// trailing full stops and commas. Inner punctuation ("don't", "$19.99",
// "v1agra") is kept; so are a leading "$" and trailing "!" runs, which are
// themselves telling. It returns the bounds of what remains.
func trimPunct(w string) (start, end int) {
	start, end = 0, len(w)
	for start < end && wrapLead[w[start]] {
		start++
	}
	for end > start && wrapTrail[w[end-1]] {
		end--
	}
	return start, end
}

// word tokenizes one white-space separated word found at src[off:].
func (tk *tokenizer) word(ns uint8, src, off int, w string) {
	if hasURLPrefix(w) {
		tk.url(w)
		return
	}
	a, b := trimPunct(w)
	w, off = w[a:b], off+a
	if len(w) < minWord {
		return
	}
	if len(w) <= maxWord {
		// The common case: hash while checking that the word is ASCII
		// (the same hash as add's).
		h := prefixHash[ns][kWord]
		for i := 0; i < len(w); i++ {
			c := w[i]
			if c >= utf8.RuneSelf {
				tk.unicodeWord(ns, src, off, w)
				return
			}
			h ^= uint64(lowerASCII[c])
			h *= fnvPrime
		}
		tk.push(token{h: h, off: uint32(off), n: uint16(len(w)), src: uint16(src), ns: ns, kind: kWord})
		return
	}
	ascii := true
	for i := 0; i < len(w); i++ {
		if w[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		tk.unicodeWord(ns, src, off, w)
		return
	}
	if at := strings.IndexByte(w, '@'); at > 0 && at < len(w)-1 {
		// An address: its domain and user name are clues.
		tk.add(ns, kEmailName, src, off, w[:at], sNone)
		d := w[at+1:]
		a, b := trimPunct(d)
		tk.add(ns, kEmailAddr, src, off+at+1+a, d[a:b], sNone)
		return
	}
	tk.add(ns, kSkip, src, off, w[:1], lengthBucket(len(w)))
}

func hasURLPrefix(w string) bool {
	if len(w) < 8 {
		return false
	}
	for len(w) > 0 && strings.IndexByte("\"'(<[", w[0]) >= 0 {
		w = w[1:]
	}
	if len(w) == 0 || (w[0]|0x20 != 'h' && w[0]|0x20 != 'w') {
		return false
	}
	return hasPrefixFold(w, "http://") || hasPrefixFold(w, "https://") || hasPrefixFold(w, "www.")
}

// url adds the host and registrable domain of a URL found in text.
func (tk *tokenizer) url(w string) {
	for len(w) > 0 && strings.IndexByte("\"'(<[", w[0]) >= 0 {
		w = w[1:]
	}
	proto := "http"
	if hasPrefixFold(w, "https://") {
		proto = "https"
	} else if hasPrefixFold(w, "www.") {
		w = "http://" + w
		proto = "www"
	}
	tk.addStr(nsBody, kProto, proto, sNone)
	if h := hostOf(strings.TrimRight(w, "\"')]>.,;:!?")); h != "" {
		tk.host(h)
	}
}

// host adds a URL host: the host itself, its registrable domain, and for a
// numeric host a marker instead.
func (tk *tokenizer) host(h string) {
	if isNumericHost(h) {
		tk.addStr(nsBody, kURL, "numeric-ip", sNone)
		return
	}
	tk.addStr(nsBody, kURL, h, sNone)
	if r := registered(h); r != h {
		tk.addStr(nsBody, kURL, r, sNone)
	}
}

func isNumericHost(h string) bool {
	if strings.HasPrefix(h, "[") {
		return true
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}

func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Thai)
}

// unicodeWord handles a word with non-ASCII characters: runs of scripts
// written without spaces become character bigrams, the rest words.
func (tk *tokenizer) unicodeWord(ns uint8, src, off int, w string) {
	start, runStart := 0, -1
	prevRune := -1 // byte offset of the previous CJK rune in the run
	flush := func(end int) {
		a, b := trimPunct(w[start:end])
		seg := w[start+a : start+b]
		if n := utf8.RuneCountInString(seg); n >= minWord {
			if n <= maxWord {
				tk.add(ns, kWord, src, off+start+a, seg, sNone)
			} else {
				_, size := utf8.DecodeRuneInString(seg)
				tk.add(ns, kSkip, src, off+start+a, seg[:size], lengthBucket(n))
			}
		}
	}
	for i := 0; i < len(w); {
		r, size := utf8.DecodeRuneInString(w[i:])
		if isCJK(r) {
			if runStart < 0 {
				flush(i)
				runStart = i
			} else {
				tk.add(ns, kWord, src, off+prevRune, w[prevRune:i+size], sNone)
			}
			prevRune = i
		} else if runStart >= 0 {
			if prevRune == runStart { // a lone character
				tk.add(ns, kWord, src, off+runStart, w[runStart:i], sNone)
			}
			runStart = -1
			start = i
		}
		i += size
	}
	if runStart >= 0 {
		if prevRune == runStart {
			tk.add(ns, kWord, src, off+runStart, w[runStart:], sNone)
		}
		return
	}
	flush(len(w))
}

// headerTokens adds the clues of selected header fields.
func (tk *tokenizer) headers(msg *mailscore.Message, subject string) {
	h := &msg.Header
	tk.text(nsSubject, subject)
	if subject == "" {
		tk.addStr(nsBody, kSubject, "", sAbsent)
	}

	from := h.Get("From")
	name, addr := splitAddress(from)
	if dn, err := mailscore.DecodeHeaderValue(name); err == nil {
		name = dn
	}
	fromDom := domainOf(addr)
	switch {
	case from == "":
		tk.addStr(nsBody, kFrom, "", sAbsent)
	case fromDom == "":
		tk.addStr(nsBody, kFrom, "", sNoAddress)
	default:
		tk.addStr(nsBody, kFromDom, fromDom, sNone)
	}
	if strings.TrimSpace(name) == "" {
		tk.addStr(nsBody, kFrom, "", sNoName)
	} else {
		tk.text(nsFromName, name)
	}
	if rt := h.Get("Reply-To"); rt != "" {
		_, ra := splitAddress(rt)
		rd := domainOf(ra)
		tk.addStr(nsBody, kReplyToDom, rd, sNone)
		if rd != fromDom {
			tk.addStr(nsBody, kReplyTo, "", sDiffers)
		}
	}
	rcpts := strings.Count(h.Get("To"), "@") + strings.Count(h.Get("Cc"), "@")
	switch {
	case !h.Has("To"):
		tk.addStr(nsBody, kTo, "", sAbsent)
	case rcpts <= 1:
		tk.addStr(nsBody, kTo, "", sOne)
	case rcpts <= 5:
		tk.addStr(nsBody, kTo, "", sFew)
	default:
		tk.addStr(nsBody, kTo, "", sMany)
	}
	if strings.Contains(strings.ToLower(h.Get("To")), "undisclosed") {
		tk.addStr(nsBody, kTo, "", sUndisclosed)
	}
	mailer := h.Get("X-Mailer")
	if mailer == "" {
		mailer = h.Get("User-Agent")
	}
	if mailer == "" {
		tk.addStr(nsBody, kMailer, "", sAbsent)
	} else {
		tk.addStr(nsBody, kMailer, firstWord(mailer), sNone)
	}
	if id := h.Get("Message-ID"); id != "" {
		if at := strings.LastIndexByte(id, '@'); at >= 0 {
			tk.addStr(nsBody, kMsgIDDom, strings.TrimRight(id[at+1:], "> \t"), sNone)
		} else {
			tk.addStr(nsBody, kMsgID, "", sNoDomain)
		}
	} else {
		tk.addStr(nsBody, kMsgID, "", sAbsent)
	}
	for _, f := range presenceFields {
		if h.Has(f) {
			tk.addStr(nsBody, kHeader, f, sNone)
		}
	}
	if p := h.Get("Precedence"); p != "" {
		tk.addStr(nsBody, kPrecedence, firstWord(p), sNone)
	}
}

// presenceFields are header fields whose mere presence is telling: replies,
// mailing lists, organisations.
var presenceFields = [...]string{
	"In-Reply-To", "References", "List-Id", "List-Unsubscribe", "List-Post", "Organization",
	"MIME-Version", "Mail-Followup-To", "X-Priority", "X-MSMail-Priority", "Importance",
}

// splitAddress splits a From-style value into display name and address.
func splitAddress(v string) (name, addr string) {
	v = strings.TrimSpace(v)
	if lt := strings.LastIndexByte(v, '<'); lt >= 0 {
		gt := strings.IndexByte(v[lt:], '>')
		if gt < 0 {
			gt = len(v) - lt
		}
		return strings.Trim(strings.TrimSpace(v[:lt]), "\""), strings.TrimSpace(v[lt+1 : lt+gt])
	}
	if p := strings.IndexByte(v, '('); p > 0 { // addr (Name)
		return strings.Trim(v[p:], "() "), strings.TrimSpace(v[:p])
	}
	return "", v
}

func domainOf(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || at == len(addr)-1 {
		return ""
	}
	return strings.ToLower(strings.Trim(addr[at+1:], " >\t"))
}

// firstWord returns the leading run of letters, lower-cased.
func firstWord(s string) string {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i]|0x20 >= 'a' && s[i]|0x20 <= 'z' || s[i] == '-') {
		i++
	}
	return strings.ToLower(s[:i])
}

// tokenSet deduplicates tokens by hash with an open-addressing table that
// is reused between messages. Slots are chosen by a seeded mix of the
// hash: token hashes are FNV and could be crafted to collide in a fixed
// slot function, turning dedupe quadratic; a random seed per checker makes
// that impossible to aim at.
type tokenSet struct {
	seed  uint64
	slots []int32 // index+1 into uniq; 0 is empty
	uniq  []token
}

// mix64 is the splitmix64 finalizer: a bijection that spreads every input
// bit over the output.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func (s *tokenSet) reset(n int) {
	size := 64
	for size < 2*n {
		size <<= 1
	}
	if cap(s.slots) >= size {
		s.slots = s.slots[:size]
		clear(s.slots)
	} else {
		s.slots = make([]int32, size)
	}
	s.uniq = s.uniq[:0]
}

func (s *tokenSet) dedupe(toks []token) []token {
	s.reset(len(toks))
	mask := uint64(len(s.slots) - 1)
	for _, t := range toks {
		i := mix64(t.h^s.seed) & mask
		for {
			k := s.slots[i]
			if k == 0 {
				s.uniq = append(s.uniq, t)
				s.slots[i] = int32(len(s.uniq))
				break
			}
			if s.uniq[k-1].h == t.h {
				break
			}
			i = (i + 1) & mask
		}
	}
	return s.uniq
}
