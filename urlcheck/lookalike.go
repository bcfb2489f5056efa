package urlcheck

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Look-alike domains, after Unicode Technical Standard #39 (Unicode
// Security Mechanisms): section 5.1 (mixed-script detection, with the
// "Highly Restrictive" profile's allowed combinations of Han with Japanese
// and Korean scripts) and section 4 (confusable detection through a
// skeleton). The confusables table below is a small hand-made subset of
// UTS #39's prototype mapping: the Cyrillic, Greek, Armenian and Latin
// letters, digits and letter pairs that pass for ASCII letters in domain
// names.

// Lookalike says why a domain looks like another.
type Lookalike struct {
	// Kind is "confusable" (same skeleton as a protected name, other
	// characters), "other-suffix" (a protected name's label under another
	// public suffix), "embedded" (a protected name inside the host, left
	// of the real registered domain), "mixed-script" (letters of scripts
	// that do not belong together in one label) or "whole-script" (a label
	// entirely of non-Latin letters that all look Latin).
	Kind string
	// Protected is the protected name it imitates ("" for the script
	// kinds).
	Protected string
	// Label is the offending label, in Unicode, for the script kinds.
	Label string
}

// confusable maps a character to the ASCII letter it passes for.
func confusable(r rune) (rune, bool) {
	switch r {
	// Cyrillic
	case 'а', 'ӓ', 'ӑ':
		return 'a', true
	case 'ь':
		return 'b', true
	case 'с', 'ҫ':
		return 'c', true
	case 'ԁ':
		return 'd', true
	case 'е', 'ё', 'ҽ':
		return 'e', true
	case 'һ', 'Һ':
		return 'h', true
	case 'і', 'ї':
		return 'i', true
	case 'ӏ', 'Ӏ', 'ǀ', '|':
		return 'l', true
	case 'ј':
		return 'j', true
	case 'к', 'κ':
		return 'k', true
	case 'п':
		return 'n', true
	case 'о', 'ӧ', 'ο', 'σ', 'օ', 'ǫ':
		return 'o', true
	case 'р', 'ρ':
		return 'p', true
	case 'ԛ':
		return 'q', true
	case 'г':
		return 'r', true
	case 'ѕ':
		return 's', true
	case 'т', 'τ':
		return 't', true
	case 'ц', 'υ', 'ս':
		return 'u', true
	case 'ѵ', 'ν':
		return 'v', true
	case 'ԝ', 'ѡ', 'ω':
		return 'w', true
	case 'х', 'χ':
		return 'x', true
	case 'у', 'ү', 'γ':
		return 'y', true
	// Greek and Latin extensions
	case 'α', 'ɑ':
		return 'a', true
	case 'ι', 'ı', 'ɩ', 'ί':
		return 'i', true
	case 'ɡ', 'ց':
		return 'g', true
	case 'ɴ', 'η':
		return 'n', true
	case 'ʀ':
		return 'r', true
	case 'ʏ':
		return 'y', true
	case 'ᴄ':
		return 'c', true
	case 'ᴏ':
		return 'o', true
	case 'ᴠ':
		return 'v', true
	case 'ᴡ':
		return 'w', true
	case 'ᴢ':
		return 'z', true
	// Digits
	case '0':
		return 'o', true
	case '1':
		return 'l', true
	}
	return r, false
}

// skeleton maps a domain to the form two look-alike domains share
// (UTS #39 section 4): compatibility decomposition, marks removed,
// confusable characters replaced by the letter they pass for, and the
// pairs "rn" and "vv" read as "m" and "w".
func skeleton(s string) string {
	s = norm.NFKD.String(strings.ToLower(s))
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		if c, ok := confusable(r); ok {
			r = c
		}
		b.WriteRune(r)
	}
	out := b.String()
	if strings.Contains(out, "rn") {
		out = strings.ReplaceAll(out, "rn", "m")
	}
	if strings.Contains(out, "vv") {
		out = strings.ReplaceAll(out, "vv", "w")
	}
	return out
}

// script names the script of a letter, or "" for digits, marks,
// punctuation and other characters common to every script.
func script(r rune) string {
	switch {
	case r < 0x80:
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return "Latin"
		}
		return ""
	case unicode.Is(unicode.Latin, r):
		return "Latin"
	case unicode.Is(unicode.Cyrillic, r):
		return "Cyrillic"
	case unicode.Is(unicode.Greek, r):
		return "Greek"
	case unicode.Is(unicode.Armenian, r):
		return "Armenian"
	case unicode.Is(unicode.Georgian, r):
		return "Georgian"
	case unicode.Is(unicode.Hebrew, r):
		return "Hebrew"
	case unicode.Is(unicode.Arabic, r):
		return "Arabic"
	case unicode.Is(unicode.Han, r):
		return "Han"
	case unicode.Is(unicode.Hiragana, r):
		return "Hiragana"
	case unicode.Is(unicode.Katakana, r):
		return "Katakana"
	case unicode.Is(unicode.Hangul, r):
		return "Hangul"
	case unicode.Is(unicode.Bopomofo, r):
		return "Bopomofo"
	case unicode.Is(unicode.Thai, r):
		return "Thai"
	case unicode.Is(unicode.Devanagari, r):
		return "Devanagari"
	case unicode.Is(unicode.Cherokee, r):
		return "Cherokee"
	case unicode.IsLetter(r):
		return "Other"
	}
	return ""
}

// allowedMix reports whether a set of scripts is allowed together in one
// label by UTS #39 section 5.2's Highly Restrictive level: one script, or
// Latin with Han and Hiragana/Katakana (Japanese), Han and Bopomofo
// (Chinese), or Han and Hangul (Korean).
func allowedMix(scripts []string) bool {
	if len(scripts) <= 1 {
		return true
	}
	jpn, chi, kor := true, true, true
	for _, s := range scripts {
		switch s {
		case "Latin", "Han":
		case "Hiragana", "Katakana":
			chi, kor = false, false
		case "Bopomofo":
			jpn, kor = false, false
		case "Hangul":
			jpn, chi = false, false
		default:
			return false
		}
	}
	return jpn || chi || kor
}

// labelScripts returns the distinct scripts of a label's letters.
func labelScripts(label string) []string {
	var out []string
	for _, r := range label {
		sc := script(r)
		if sc == "" {
			continue
		}
		found := false
		for _, x := range out {
			if x == sc {
				found = true
				break
			}
		}
		if !found {
			out = append(out, sc)
		}
	}
	return out
}

// scriptHome reports top-level domains where a whole label in the script
// sc is ordinary.
func scriptHome(sc, tld string) bool {
	switch sc {
	case "Cyrillic":
		switch tld {
		case "ru", "su", "by", "ua", "kz", "bg", "mk", "rs", "me", "xn--p1ai", "xn--90ais", "xn--j1amh", "xn--90a3ac", "xn--80ao21a", "xn--d1alf", "xn--90ae":
			return true
		}
	case "Greek":
		return tld == "gr" || tld == "cy" || tld == "xn--qxam"
	case "Armenian":
		return tld == "am" || tld == "xn--y9a3aq"
	}
	return false
}

// scriptLookalike checks the labels of an internationalized host for mixed
// scripts and for whole-script confusables.
func scriptLookalike(u *URL) (Lookalike, bool) {
	if u.Flags&FlagIDN == 0 {
		return Lookalike{}, false
	}
	disp := displayName(u.Host)
	tld := u.Host[strings.LastIndexByte(u.Host, '.')+1:]
	for label := range strings.SplitSeq(disp, ".") {
		scripts := labelScripts(label)
		if !allowedMix(scripts) {
			return Lookalike{Kind: "mixed-script", Label: label}, true
		}
		if len(scripts) == 1 && scripts[0] != "Latin" && !scriptHome(scripts[0], tld) {
			all, letters := true, 0
			for _, r := range label {
				if script(r) == "" {
					continue
				}
				letters++
				if _, ok := confusable(r); !ok {
					all = false
					break
				}
			}
			if all && letters > 0 {
				return Lookalike{Kind: "whole-script", Label: label}, true
			}
		}
	}
	return Lookalike{}, false
}

// protectedName is a protected domain prepared for comparison.
type protectedName struct {
	name     string // A-label, lower-case
	label    string // the label before its public suffix
	skel     string // skeleton of the whole name (Unicode form)
	skelLbl  string // skeleton of label
	hasLabel bool
}

func prepareProtected(names []string) []protectedName {
	var out []protectedName
	for _, n := range names {
		u, k := parse("http://"+strings.TrimSpace(n)+"/", false)
		if k != errNone || u.Domain == "" {
			continue
		}
		p := protectedName{name: u.Domain}
		disp := displayName(u.Domain)
		p.skel = skeleton(disp)
		if dot := strings.IndexByte(disp, '.'); dot > 0 {
			p.label = disp[:dot]
			p.skelLbl = skeleton(p.label)
			p.hasLabel = len(p.label) >= 4
		}
		out = append(out, p)
	}
	return out
}

// protectedLookalike compares a URL's registered domain with the protected
// names.
func protectedLookalike(u *URL, prot []protectedName) (Lookalike, bool) {
	if u.Domain == "" || len(prot) == 0 {
		return Lookalike{}, false
	}
	for i := range prot {
		if u.Domain == prot[i].name {
			return Lookalike{}, false
		}
	}
	disp := displayName(u.Domain)
	skel := skeleton(disp)
	label := disp
	if dot := strings.IndexByte(disp, '.'); dot > 0 {
		label = disp[:dot]
	}
	skelLbl := skeleton(label)
	for i := range prot {
		p := &prot[i]
		switch {
		case skel == p.skel:
			return Lookalike{Kind: "confusable", Protected: p.name}, true
		case p.hasLabel && skelLbl == p.skelLbl && label != p.label:
			return Lookalike{Kind: "confusable", Protected: p.name}, true
		case p.hasLabel && label == p.label:
			return Lookalike{Kind: "other-suffix", Protected: p.name}, true
		}
	}
	// A protected name left of the registered domain:
	// "paypal.com.account-check.example".
	if len(u.Host) > len(u.Domain) {
		left := u.Host[:len(u.Host)-len(u.Domain)]
		for i := range prot {
			if strings.Contains("."+left, "."+prot[i].name+".") {
				return Lookalike{Kind: "embedded", Protected: prot[i].name}, true
			}
		}
	}
	return Lookalike{}, false
}
