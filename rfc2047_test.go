package mailscore

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestDecodeHeaderValue(t *testing.T) {
	tests := []struct {
		name, in, want string
		err            error
	}{
		{"plain", "Hello world", "Hello world", nil},
		{"empty", "", "", nil},
		// RFC 2047 section 8 examples.
		{"rfc example name", "=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard", nil},
		{"rfc single", "(=?ISO-8859-1?Q?a?=)", "(a)", nil},
		{"rfc word then text", "(=?ISO-8859-1?Q?a?= b)", "(a b)", nil},
		{"rfc adjacent", "(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)", nil},
		{"rfc adjacent two spaces", "(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)", nil},
		{"rfc adjacent folded", "(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)", nil},
		{"rfc underscore", "(=?ISO-8859-1?Q?a_b?=)", "(a b)", nil},
		{"rfc two charsets", "(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)", nil},
		{"text before and after", "Re: =?utf-8?q?caf=C3=A9?= tonight", "Re: café tonight", nil},
		{"lower-case b", "=?utf-8?b?" + b64("héllo") + "?=", "héllo", nil},
		{"b without padding", "=?utf-8?B?" + strings.TrimRight(b64("ab"), "=") + "?=", "ab", nil},
		{"language suffix (RFC 2231 section 5)", "=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore", nil},
		{"latin-1", "=?iso-8859-1?Q?Gr=FC=DFe?=", "Grüße", nil},
		{"cp1252 quotes", "=?windows-1252?Q?=93hi=94_=80?=", "\u201chi\u201d \u20ac", nil},
		{"gb2312", "=?gb2312?B?" + b64("\xc4\xe3\xba\xc3") + "?=", "你好", nil},
		{"gbk", "=?GBK?B?" + b64("\xd6\xd0\xce\xc4") + "?=", "中文", nil},
		{"iso-2022-jp", "=?ISO-2022-JP?B?" + b64("\x1b$B$3$s$K$A$O\x1b(B") + "?=", "こんにちは", nil},
		{"utf-8 split across words", "=?UTF-8?Q?=C3?= =?UTF-8?Q?=A9t=C3=A9?=", "été", nil},
		{"utf-8 broken sequence", "=?utf-8?Q?ok=FF=FEok?=", "ok\uFFFDok", nil},
		{"utf-16 with BOM", "=?utf-16?B?" + b64("\xff\xfeH\x00i\x00") + "?=", "Hi", nil},
		{"raw 8-bit outside words", "caf\xe9", "caf\uFFFD", nil},
		{"raw utf-8 (RFC 6532)", "Grüße", "Grüße", nil},
		{"not a word", "a =? b ?= c", "a =? b ?= c", nil},
		{"unterminated word", "=?utf-8?q?abc", "=?utf-8?q?abc", nil},
		{"space inside word is not a word", "=?utf-8?q?a b?=", "=?utf-8?q?a b?=", nil},
		{"unknown charset", "=?x-klingon?Q?abc?=", "abc", ErrUnknownCharset},
		{"bad base64", "=?utf-8?B?@@@?= x", "=?utf-8?B?@@@?= x", ErrBadEncodedWord},
		{"bad q escape", "=?utf-8?Q?a=ZZ?=", "=?utf-8?Q?a=ZZ?=", ErrBadEncodedWord},
		{"truncated q escape", "=?utf-8?Q?a=4?=", "=?utf-8?Q?a=4?=", ErrBadEncodedWord},
		{"word glued to text", "x=?utf-8?q?y?=z", "xyz", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeHeaderValue(tt.in)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tt.want, got)
			require.True(t, utf8.ValidString(got))
		})
	}
}

func TestDecodeHeaderValueLimit(t *testing.T) {
	long := strings.Repeat("=?utf-8?q?a?= ", MaxHeaderValueLength/10)
	got, err := DecodeHeaderValue(long)
	require.ErrorIs(t, err, ErrHeaderValueTooLong)
	require.Equal(t, long, got)
}

func TestDecodeCharset(t *testing.T) {
	tests := []struct {
		label string
		in    string
		want  string
		err   error
	}{
		{"", "plain", "plain", nil},
		{"us-ascii", "caf\xe9", "café", nil}, // 8-bit in "us-ascii": windows-1252
		{"ISO-8859-1", "caf\xe9", "café", nil},
		{"latin1", "na\xefve", "naïve", nil},
		{"cp1252", "\x93x\x94", "\u201cx\u201d", nil},
		{"windows-1252", "\x80 5", "€ 5", nil},
		{"gb2312", "\xc4\xe3\xba\xc3", "你好", nil},
		{"iso-2022-jp", "\x1b$B$3$s$K$A$O\x1b(B", "こんにちは", nil},
		{"koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4", "Привет", nil},
		{"utf-8", "ok\xc3(", "ok\uFFFD(", nil},
		{"utf-8", "a\xe2\x82", "a\uFFFD", nil},
		{"\"UTF-8\"", "é", "é", nil},
		{"x-unknown-thing", "abc\xff", "abc\uFFFD", ErrUnknownCharset},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			got, err := decodeCharset(tt.label, []byte(tt.in))
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func FuzzDecodeHeaderValue(f *testing.F) {
	for _, s := range []string{
		"=?ISO-8859-1?Q?Andr=E9?= Pirard",
		"(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)",
		"=?utf-8?B?w6k=?=", "=?gb2312?B?xOO6ww==?=", "=?iso-2022-jp?B?GyRCJDMkcyRLJEEkTxsoQg==?=",
		"=?utf-8?q?a=", "=??=", "=?x?q??=", "=?utf-16?b?//5IAGkA?=", "caf\xe9 =?utf-8*en?Q?x?=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, _ := DecodeHeaderValue(s)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 output %q", got)
		}
		// Decoding never grows without bound: at most 3 bytes (U+FFFD)
		// per input byte, plus what a charset expands to.
		if len(got) > 4*len(s)+16 {
			t.Fatalf("output %d bytes from %d", len(got), len(s))
		}
	})
}

func BenchmarkDecodeHeaderValue(b *testing.B) {
	for _, in := range []string{
		"Re: a plain ASCII subject line without encoded words",
		"=?UTF-8?Q?Caf=C3=A9_au_lait?= =?UTF-8?B?" + b64(" et croissants") + "?=",
		"=?ISO-2022-JP?B?" + b64("\x1b$B$3$s$K$A$O\x1b(B") + "?=",
	} {
		b.Run(fmt.Sprintf("%.12s", in), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeHeaderValue(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
