package content

import (
	"unicode"
	"unicode/utf8"
)

// textStats counts what the text heuristics look for.
type textStats struct {
	words         int // words of three letters or more
	upperWords    int // of which all capitals
	invisible     int // invisible characters between two letters of an alphabetic script
	invisibleSeen rune
	mixedWords    int // words mixing Latin with Cyrillic or Greek letters
	mixedSamples  []string
}

const maxMixedSamples = 3

// isInvisible reports whether r is a format or filler character that
// renders as nothing: zero-width spaces and joiners, bidirectional
// controls, word joiners, soft hyphens, fillers and tag characters.
func isInvisible(r rune) bool {
	switch {
	case r < 0xad:
		return false
	case r == 0xad, r == 0x34f, r == 0x61c, r == 0x115f, r == 0x1160, r == 0x17b4, r == 0x17b5,
		r >= 0x180b && r <= 0x180e,
		r >= 0x200b && r <= 0x200f,
		r >= 0x202a && r <= 0x202e,
		r >= 0x2060 && r <= 0x2064,
		r >= 0x2066 && r <= 0x206f,
		r == 0x3164, r == 0xfeff, r == 0xffa0,
		r >= 0x1d173 && r <= 0x1d17a,
		r >= 0xe0000 && r <= 0xe007f:
		return true
	}
	return false
}

type script uint8

const (
	scriptNone script = iota
	scriptLatin
	scriptCyrillic
	scriptGreek
	scriptOther
)

func scriptOf(r rune) script {
	switch {
	case r < 0x80:
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return scriptLatin
		}
		return scriptNone
	case unicode.Is(unicode.Latin, r):
		return scriptLatin
	case unicode.Is(unicode.Cyrillic, r):
		return scriptCyrillic
	case unicode.Is(unicode.Greek, r):
		return scriptGreek
	case unicode.IsLetter(r):
		return scriptOther
	}
	return scriptNone
}

// alphabetic reports whether a script writes words without joiner controls,
// so an invisible character between two of its letters hides something.
func alphabetic(s script) bool { return s == scriptLatin || s == scriptCyrillic || s == scriptGreek }

// ASCII character classes for scanText.
const (
	acOther = iota
	acLower
	acUpper
	acDigit
)

var asciiClass = func() (t [128]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = acLower
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = acUpper
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = acDigit
	}
	return t
}()

// wordScan is the state of scanText within one word.
type wordScan struct {
	start, letters, upper    int
	hasLatin, hasCyr, hasGrk bool
	prev                     script // script of the previous letter in the word
	pendingInvisible         int    // invisible characters since the previous letter
}

func (w *wordScan) end(s string, end int, ts *textStats) {
	if w.letters >= 3 {
		ts.words++
		if w.upper == w.letters {
			ts.upperWords++
		}
	}
	if w.hasLatin && (w.hasCyr || w.hasGrk) {
		ts.mixedWords++
		if len(ts.mixedSamples) < maxMixedSamples && end-w.start <= 40 {
			ts.mixedSamples = append(ts.mixedSamples, s[w.start:end])
		}
	}
	*w = wordScan{start: -1}
}

// scanText adds the statistics of s to ts. Words are runs of letters and
// digits; invisible characters do not end a word (hiding inside words is
// what they are used for).
func scanText(s string, ts *textStats) {
	w := wordScan{start: -1}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch asciiClass[c] {
			case acOther:
				if w.start >= 0 {
					w.end(s, i, ts)
				}
			case acDigit:
				if w.start < 0 {
					w.start = i
				}
				w.prev, w.pendingInvisible = scriptNone, 0
			default:
				if w.start < 0 {
					w.start = i
				}
				w.letters++
				if asciiClass[c] == acUpper {
					w.upper++
				}
				w.hasLatin = true
				if w.pendingInvisible > 0 && alphabetic(w.prev) {
					ts.invisible += w.pendingInvisible
				}
				w.prev, w.pendingInvisible = scriptLatin, 0
				// Fast path: the rest of a run of ASCII letters.
				for i++; i < len(s) && s[i] < utf8.RuneSelf; i++ {
					cl := asciiClass[s[i]]
					if cl == acLower {
						w.letters++
					} else if cl == acUpper {
						w.letters++
						w.upper++
					} else {
						break
					}
				}
				continue
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case isInvisible(r):
			if w.start >= 0 {
				w.pendingInvisible++
				if ts.invisibleSeen == 0 {
					ts.invisibleSeen = r
				}
			}
		case unicode.IsLetter(r) || unicode.IsMark(r):
			if w.start < 0 {
				w.start = i
			}
			sc := scriptOf(r)
			if unicode.IsLetter(r) {
				w.letters++
				if unicode.IsUpper(r) {
					w.upper++
				} else if !unicode.IsLower(r) {
					w.upper = -1 << 30 // caseless scripts never shout
				}
			}
			switch sc {
			case scriptLatin:
				w.hasLatin = true
			case scriptCyrillic:
				w.hasCyr = true
			case scriptGreek:
				w.hasGrk = true
			}
			if w.pendingInvisible > 0 && alphabetic(w.prev) && alphabetic(sc) {
				ts.invisible += w.pendingInvisible
			}
			if sc != scriptNone {
				w.prev = sc
			}
			w.pendingInvisible = 0
		case unicode.IsDigit(r):
			if w.start < 0 {
				w.start = i
			}
		default:
			if w.start >= 0 {
				w.end(s, i, ts)
			}
		}
		i += size
	}
	if w.start >= 0 {
		w.end(s, len(s), ts)
	}
}

// shouting reports the share of words in capitals, given enough words.
func (ts *textStats) shouting(minWords int) float64 {
	if ts.words < minWords {
		return 0
	}
	return float64(ts.upperWords) / float64(ts.words)
}
