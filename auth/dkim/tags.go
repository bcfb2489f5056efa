package dkim

import "fmt"

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
	end := vstart
	for end < len(s) && s[end] != ';' {
		c := s[end]
		if c < 0x21 && !isWSPOrCRLF(c) || c == 0x7f {
			sc.err = fmt.Errorf("%q: control character 0x%02x in value", name, c)
			return tag{}, false
		}
		end++
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
// anywhere and is ignored) into dst, returning the decoded bytes. It fails
// when dst is too small or the text is not base64.
func decodeBase64(dst []byte, s string) ([]byte, error) {
	var quad [4]byte
	n, q, pad := 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var v byte
		switch {
		case 'A' <= c && c <= 'Z':
			v = c - 'A'
		case 'a' <= c && c <= 'z':
			v = c - 'a' + 26
		case '0' <= c && c <= '9':
			v = c - '0' + 52
		case c == '+':
			v = 62
		case c == '/':
			v = 63
		case c == '=':
			pad++
			continue
		case isWSPOrCRLF(c):
			continue
		default:
			return nil, fmt.Errorf("invalid base64 character %q", c)
		}
		if pad > 0 {
			return nil, fmt.Errorf("base64 data after padding")
		}
		quad[q] = v
		q++
		if q == 4 {
			if n+3 > len(dst) {
				return nil, fmt.Errorf("base64 value too long")
			}
			dst[n] = quad[0]<<2 | quad[1]>>4
			dst[n+1] = quad[1]<<4 | quad[2]>>2
			dst[n+2] = quad[2]<<6 | quad[3]
			n += 3
			q = 0
		}
	}
	switch q {
	case 0:
		if pad != 0 {
			return nil, fmt.Errorf("bad base64 padding")
		}
	case 2:
		if pad != 0 && pad != 2 || n+1 > len(dst) {
			return nil, fmt.Errorf("bad base64 ending")
		}
		dst[n] = quad[0]<<2 | quad[1]>>4
		n++
	case 3:
		if pad > 1 || n+2 > len(dst) {
			return nil, fmt.Errorf("bad base64 ending")
		}
		dst[n] = quad[0]<<2 | quad[1]>>4
		dst[n+1] = quad[1]<<4 | quad[2]>>2
		n += 2
	default:
		return nil, fmt.Errorf("truncated base64")
	}
	return dst[:n], nil
}
