package dkim

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
)

// tag is one tag-spec of a tag-list (RFC 6376 section 3.2).
type tag struct {
	name  string
	value string // without surrounding FWS
	// start and end delimit the whole value region in the input: from just
	// after "=" to just before the ";" or the end, white space included.
	// Signing and verifying delete exactly this region for b= (RFC 6376
	// section 3.7).
	start, end int
}

// tagScanner walks a tag-list without allocating:
//
//	tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
//	tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
//	tag-name  =  ALPHA *ALNUMPUNC
//	tag-value =  [ tval *( 1*(WSP / FWS) tval ) ]
//	tval      =  1*VALCHAR
//	VALCHAR   =  %x21-3A / %x3C-7E
//
// Tag names are case-sensitive; a name occurring twice makes the whole list
// invalid. Empty tag-specs (";;", or a ";" followed only by white space) are
// tolerated, as key records in the wild have them. Octets above 0x7e are
// accepted in values (RFC 8616 allows UTF-8 in some of them).
type tagScanner struct {
	s     string
	pos   int
	n     int
	err   error
	names [MaxTags]string
	// strict refuses empty tag-specs other than after a final ";"
	// (ParseTagList); the verifier tolerates them.
	strict bool
}

func newTagScanner(s string) tagScanner { return tagScanner{s: s} }

// next returns the next tag; false at the end of the list or on an error
// (see err).
func (sc *tagScanner) next() (tag, bool) {
	s := sc.s
	for {
		sc.pos = skipFWS(s, sc.pos)
		if sc.pos >= len(s) {
			return tag{}, false
		}
		if s[sc.pos] != ';' {
			break
		}
		if sc.strict {
			sc.err = fmt.Errorf("empty tag-spec at offset %d", sc.pos)
			return tag{}, false
		}
		sc.pos++ // empty tag-spec
	}
	start := sc.pos
	i := start
	if !isAlpha(s[i]) {
		sc.err = fmt.Errorf("tag name expected at offset %d", i)
		return tag{}, false
	}
	for i < len(s) && (isAlpha(s[i]) || isDigit(s[i]) || s[i] == '_') {
		i++
	}
	name := s[start:i]
	i = skipFWS(s, i)
	if i >= len(s) || s[i] != '=' {
		sc.err = fmt.Errorf("%q: \"=\" expected", name)
		return tag{}, false
	}
	i++
	vstart := i
	end := len(s)
	if j := strings.IndexByte(s[vstart:], ';'); j >= 0 {
		end = vstart + j
	}
	// Control characters are refused; base64 values (b=, bh=, p=) are
	// left to their decoder, which refuses them too.
	if name == "b" || name == "bh" || name == "p" {
	} else if c, bad := findCTL(s[vstart:end]); bad {
		sc.err = fmt.Errorf("%q: control character 0x%02x in value", name, c)
		return tag{}, false
	}
	// Trim FWS around the value.
	a, b := vstart, end
	for a < b && isWSPOrCRLF(s[a]) {
		a++
	}
	for b > a && isWSPOrCRLF(s[b-1]) {
		b--
	}
	if sc.n >= MaxTags {
		sc.err = fmt.Errorf("%w: more than %d tags", ErrLimit, MaxTags)
		return tag{}, false
	}
	for _, prev := range sc.names[:sc.n] {
		if prev == name {
			sc.err = fmt.Errorf("duplicate tag %q", name)
			return tag{}, false
		}
	}
	sc.names[sc.n] = name
	sc.n++
	sc.pos = end
	if sc.pos < len(s) {
		sc.pos++ // the ";"
	}
	return tag{name: name, value: s[a:b], start: vstart, end: end}, true
}

func skipFWS(s string, i int) int {
	for i < len(s) && isWSPOrCRLF(s[i]) {
		i++
	}
	return i
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parseDecimal parses 1*DIGIT (at most maxDigits), saturating at the
// largest int64.
func parseDecimal(s string, maxDigits int) (int64, bool) {
	if s == "" || len(s) > maxDigits {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) {
			return 0, false
		}
		if n > (1<<63-1-9)/10 {
			n = 1<<63 - 1
			continue
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// decodeBase64 decodes RFC 6376 base64 (section 2.10: FWS may appear
// anywhere and is ignored; the padding may be left out) into dst,
// returning the decoded octets. It fails when dst is too small or the text
// is not base64.
func decodeBase64(dst []byte, s string) ([]byte, error) {
	// Copy the text without FWS, a line at a time, then let
	// encoding/base64 decode it.
	var buf [MaxRSABits/6 + 64]byte
	n := 0
	for s != "" {
		line := s
		if j := strings.IndexByte(s, '\n'); j >= 0 {
			line, s = s[:j], s[j+1:]
		} else {
			s = ""
		}
		for line != "" && isWSPOrCRLF(line[0]) {
			line = line[1:]
		}
		for line != "" && isWSPOrCRLF(line[len(line)-1]) {
			line = line[:len(line)-1]
		}
		if strings.IndexByte(line, ' ') >= 0 || strings.IndexByte(line, '\t') >= 0 || strings.IndexByte(line, '\r') >= 0 {
			// White space inside a line: octet by octet.
			for i := 0; i < len(line); i++ {
				if c := line[i]; !isWSPOrCRLF(c) {
					if n == len(buf) {
						return nil, fmt.Errorf("base64 value too long")
					}
					buf[n] = c
					n++
				}
			}
			continue
		}
		if n+len(line) > len(buf) {
			return nil, fmt.Errorf("base64 value too long")
		}
		n += copy(buf[n:], line)
	}
	text := buf[:n]
	enc := base64.StdEncoding
	if n%4 != 0 && bytes.IndexByte(text, '=') < 0 {
		enc = base64.RawStdEncoding
	}
	if enc.DecodedLen(n) > len(dst) {
		return nil, fmt.Errorf("base64 value too long")
	}
	m, err := enc.Decode(dst, text)
	if err != nil {
		return nil, fmt.Errorf("invalid base64: %v", err)
	}
	return dst[:m], nil
}

// nextItem returns the first item of a colon-separated list, without the
// FWS around it, and the rest of the list ("" at its end).
func nextItem(list string) (item, rest string) {
	j := strings.IndexByte(list, ':')
	if j < 0 {
		item, rest = list, ""
	} else {
		item, rest = list[:j], list[j+1:]
	}
	a, b := 0, len(item)
	for a < b && isWSPOrCRLF(item[a]) {
		a++
	}
	for b > a && isWSPOrCRLF(item[b-1]) {
		b--
	}
	return item[a:b], rest
}

// findCTL returns the first control character in s other than the WSP,
// CR and LF of folding white space, eight octets at a time.
func findCTL(s string) (byte, bool) {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		// High bit of each octet below 0x21 or equal to 0x7f (exact for
		// octets below 0x80; octets from 0x80 have their own high bit
		// cleared by the final mask).
		lo := ^((x & 0x7f7f7f7f7f7f7f7f) + 0x5f5f5f5f5f5f5f5f) & ^x & 0x8080808080808080
		y := x ^ 0x7f7f7f7f7f7f7f7f
		del := ^((y & 0x7f7f7f7f7f7f7f7f) + 0x7f7f7f7f7f7f7f7f | y) & 0x8080808080808080
		if lo|del == 0 {
			continue
		}
		for _, c := range []byte(s[i : i+8]) {
			if c < 0x21 && !isWSPOrCRLF(c) || c == 0x7f {
				return c, true
			}
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x21 && !isWSPOrCRLF(c) || c == 0x7f {
			return c, true
		}
	}
	return 0, false
}
