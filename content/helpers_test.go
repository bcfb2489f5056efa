package content

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestScanText(t *testing.T) {
	tests := []struct {
		in                             string
		words, upper, invisible, mixed int
	}{
		{"Hello big World", 3, 0, 0, 0},
		{"FREE MONEY now", 3, 2, 0, 0},
		{"a an the of", 1, 0, 0, 0},
		{"V\u200bi\u200bagra", 1, 0, 2, 0},
		{"end.\u200b Next", 2, 0, 0, 0}, // between words, not inside one
		{"P\u0430yPal \u0430pple", 2, 0, 0, 2},
		{"\u041f\u0420\u0418\u0412\u0415\u0422 \u043c\u0438\u0440", 2, 1, 0, 0},
		{"\u4f60\u597d\u4e16\u754c", 1, 0, 0, 0}, // caseless: never shouting
		{"ABC123DEF", 1, 1, 0, 0},
		{"na\u00efve CAF\u00c9", 2, 1, 0, 0},
	}
	for _, tt := range tests {
		var ts textStats
		scanText(tt.in, &ts)
		require.Equal(t, []int{tt.words, tt.upper, tt.invisible, tt.mixed}, []int{ts.words, ts.upperWords, ts.invisible, ts.mixedWords}, "%q", tt.in)
	}
}

func TestParseDate(t *testing.T) {
	utc := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"Tue, 3 Sep 2024 10:00:00 +0000", utc("2024-09-03T10:00:00Z"), true},
		{"3 Sep 2024 10:00 -0130", utc("2024-09-03T11:30:00Z"), true},
		{"Thu, 22 Aug 2002 07:36:16 -0400 (EDT)", utc("2002-08-22T11:36:16Z"), true},
		{"Thu, 20 Jun 2002 05:53:48 UT", utc("2002-06-20T05:53:48Z"), true},
		{"Mon, 7 Oct 02 09:00:00 EST", utc("2002-10-07T14:00:00Z"), true},
		{"Mon, 7 Oct 99 09:00:00 GMT", utc("1999-10-07T09:00:00Z"), true},
		{"Mon,  7  Oct  2002  09:00:00  Z", utc("2002-10-07T09:00:00Z"), true},
		{"", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"Sun, 25 Aug 2002 19:21:44 01800", time.Time{}, false},
		{"Thu, 29 Aug 2002 15:36:58 +-0500", time.Time{}, false},
		{"Fri, 30 Aug 02 21:48:08 Eastern Daylight Time", time.Time{}, false},
		{"2002/09/14 Sat 02:29:32 CDT", time.Time{}, false},
		{"Sat Sep 21 08:18:08 2002", time.Time{}, false},
		{"31 Feb 2024 10:00:00 +0000", time.Time{}, false},
		{"3 Sep 2024 25:00:00 +0000", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := parseDate(tt.in)
		require.Equal(t, tt.ok, ok, tt.in)
		if ok {
			require.True(t, tt.want.Equal(got), "%s: got %v", tt.in, got)
		}
	}
}

func TestValidMessageID(t *testing.T) {
	for in, want := range map[string]bool{
		"<abc.123@example.com>":                     true,
		" <abc@[192.0.2.1]> ":                       true,
		"<a@b> (comment)":                           true,
		`<"020828081752Z.WT24519.  6*/PN=R.H"@MHS>`: true,
		"abc@example.com":                           false,
		"<abc>":                                     false,
		"<@example.com>":                            false,
		"<abc@>":                                    false,
		"<a b@example.com>":                         false,
		"<000019342305$00005cfb$00001317@.>":        false,
		"<x@a..b>":                                  false,
		"PM200011:12:45 AM":                         false,
		"<a@b@c>":                                   false,
	} {
		require.Equal(t, want, validMessageID(in), in)
	}
}

func TestDisguised(t *testing.T) {
	for in, want := range map[string]bool{
		"invoice.pdf.exe":         true,
		"photo.JPG.scr":           true,
		"report.doc .exe":         true,
		"a.pdf              .bat": true,
		"invoice\u202efdp.exe":    true,
		"setup.exe":               false,
		"archive.tar.gz":          false,
		"report.final.pdf":        false,
		"v1.2.3.exe":              false,
	} {
		require.Equal(t, want, disguised(in) != "", in)
	}
}

func TestParseColor(t *testing.T) {
	for in, want := range map[string]rgb{
		"#fff": 0xffffff, "#FFFFFF": 0xffffff, "ffffee": 0xffffee, "white": 0xffffff, "rgb(255, 0, 10)": 0xff000a,
		"#12": noColor, "rgb(300,0,0)": noColor, "transparent": noColor, "#ggg": noColor,
	} {
		require.Equal(t, want, parseColorBytes([]byte(in)), in)
	}
	require.True(t, sameColor(0xffffff, 0xffffee))
	require.False(t, sameColor(0xffffff, 0xeeeeee))
}

func TestHostOfAndDomainShown(t *testing.T) {
	for in, want := range map[string]string{
		"http://Example.COM/x":                "example.com",
		"https://user:pw@evil.example:8080/":  "evil.example",
		"http://www.paypal.com@evil.example/": "evil.example",
		"//cdn.example/x.css":                 "cdn.example",
		"mailto:a@example.com":                "",
		"javascript:alert(1)":                 "",
	} {
		require.Equal(t, want, hostOf(in), in)
	}
	for in, want := range map[string]string{
		"www.PayPal.com":             "www.paypal.com",
		"https://bank.example/login": "bank.example",
		"(paypal.com)":               "paypal.com",
		"click here":                 "",
		"file.txt":                   "",
		"Mr.Smith":                   "",
		"alice@example.com":          "",
	} {
		require.Equal(t, want, domainShown([]byte(in)), in)
	}
}

func TestCSSLength(t *testing.T) {
	for in, want := range map[string]float64{"1px": 1, "0": 0, "1.5pt": 2, "0.1em": 1.6, "10%": 1.6, "2PX": 2} {
		got, ok := cssLength([]byte(in))
		require.True(t, ok, in)
		require.InDelta(t, want, got, 1e-9, in)
	}
	for _, in := range []string{"small", "-1px", "1vw", ""} {
		_, ok := cssLength([]byte(in))
		require.False(t, ok, in)
	}
}
