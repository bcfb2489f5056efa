package dkim

// isWSPOrCRLF reports whether c is white space or part of a line break,
// i.e. part of folding white space (RFC 5322 FWS).
func isWSPOrCRLF(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// isFWS is isWSPOrCRLF for runes, for strings.TrimFunc.
func isFWS(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' }
