package content

import (
	"strconv"
	"strings"
	"time"
)

// parseDate parses an RFC 5322 date-time (section 3.3), accepting the
// obsolete forms of section 4.3 that real mail still carries: two-digit
// years, alphabetic zones (UT, GMT, EST...), missing seconds or day of
// week, comments, extra white space. ok is false when it is not a date.
// The result is in UTC.
func parseDate(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	return parseObsDate(v)
}

// obsZones are the zones of RFC 5322 section 4.3 (obs-zone).
var obsZones = map[string]int{
	"UT": 0, "GMT": 0, "Z": 0, "UTC": 0,
	"EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
}

func parseObsDate(v string) (time.Time, bool) {
	// Drop comments and commas; split on white space.
	var b strings.Builder
	depth := 0
	for i := 0; i < len(v) && i < 200; i++ {
		switch c := v[i]; {
		case c == '(':
			depth++
		case c == ')':
			if depth > 0 {
				depth--
			}
		case depth > 0:
		case c == ',':
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	f := strings.Fields(b.String())
	if len(f) > 0 && len(f[0]) >= 3 && isAlpha(f[0]) {
		if _, ok := monthOf(f[0]); !ok {
			f = f[1:] // day of week
		}
	}
	if len(f) < 4 {
		return time.Time{}, false
	}
	day, err := strconv.Atoi(f[0])
	month, okm := monthOf(f[1])
	year, erry := strconv.Atoi(f[2])
	if err != nil || !okm || erry != nil || day < 1 || day > 31 {
		return time.Time{}, false
	}
	switch { // RFC 5322 section 4.3: two- and three-digit years
	case len(f[2]) == 2 && year < 50:
		year += 2000
	case len(f[2]) <= 3:
		year += 1900
	}
	hms := strings.Split(f[3], ":")
	if len(hms) < 2 || len(hms) > 3 {
		return time.Time{}, false
	}
	var tv [3]int
	for i, p := range hms {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 60 {
			return time.Time{}, false
		}
		tv[i] = n
	}
	if tv[0] > 23 || tv[1] > 59 {
		return time.Time{}, false
	}
	offset := 0
	if len(f) > 4 {
		z := f[4]
		if h, ok := obsZones[strings.ToUpper(z)]; ok {
			offset = h * 3600
		} else if len(z) == 5 && (z[0] == '+' || z[0] == '-') {
			n, err := strconv.Atoi(z[1:])
			if err != nil {
				return time.Time{}, false
			}
			offset = (n/100*60 + n%100) * 60
			if z[0] == '-' {
				offset = -offset
			}
		} else if len(z) == 1 && isAlpha(z) {
			offset = 0 // military zones: RFC 5322 says treat as -0000
		} else {
			return time.Time{}, false
		}
	}
	if len(f) > 5 { // only a comment may follow the zone, and comments are gone
		return time.Time{}, false
	}
	t := time.Date(year, month, day, tv[0], tv[1], tv[2], 0, time.UTC).Add(-time.Duration(offset) * time.Second)
	if t.Add(time.Duration(offset)*time.Second).Day() != day { // 31 Feb
		return time.Time{}, false
	}
	return t, true
}

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}

func monthOf(s string) (time.Month, bool) {
	if len(s) < 3 {
		return 0, false
	}
	switch strings.ToLower(s[:3]) {
	case "jan":
		return time.January, true
	case "feb":
		return time.February, true
	case "mar":
		return time.March, true
	case "apr":
		return time.April, true
	case "may":
		return time.May, true
	case "jun":
		return time.June, true
	case "jul":
		return time.July, true
	case "aug":
		return time.August, true
	case "sep":
		return time.September, true
	case "oct":
		return time.October, true
	case "nov":
		return time.November, true
	case "dec":
		return time.December, true
	}
	return 0, false
}

// validMessageID checks an RFC 5322 msg-id (section 3.6.4): "<" id-left
// "@" id-right ">", both sides printable US-ASCII without white space, the
// right side a dot-atom or a [literal]. Surrounding comments and the
// obsolete quoted local part are tolerated.
func validMessageID(v string) bool {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '('); i > 0 { // trailing comment
		v = strings.TrimSpace(v[:i])
	}
	if len(v) < 5 || len(v) > 998 || v[0] != '<' || v[len(v)-1] != '>' {
		return false
	}
	v = v[1 : len(v)-1]
	at := strings.LastIndexByte(v, '@')
	if at <= 0 || at == len(v)-1 {
		return false
	}
	left, right := v[:at], v[at+1:]
	quoted := len(left) >= 2 && left[0] == '"' && left[len(left)-1] == '"' // obs-id-left: a quoted local-part
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' && quoted && i < at {
			continue
		}
		if c <= ' ' || c >= 0x7f || c == '<' || c == '>' {
			return false
		}
	}
	if !quoted && strings.ContainsAny(left, "\"@") {
		return false
	}
	if strings.HasPrefix(right, "[") {
		return strings.HasSuffix(right, "]")
	}
	return !strings.ContainsAny(right, "[]\"\\,;:") && !strings.HasPrefix(right, ".") && !strings.HasSuffix(right, ".") && !strings.Contains(right, "..")
}
