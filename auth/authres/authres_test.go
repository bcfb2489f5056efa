package authres

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore"
)

func sample() *Header {
	return &Header{AuthServID: "mx.example.org", Results: []Result{
		SPF("pass", "bob@example.com", ""),
		SPF("none", "", "mail.example.com"),
		DKIM("pass", "", "example.com", "@example.com", "s2024", "rsa-sha256", "AbC/dEfG"),
		DKIM("fail", "body hash did not verify", "example.net", "", "sel", "ed25519-sha256", ""),
		DMARC("fail", "example.com", "reject"),
		ARC("pass", "192.0.2.1", 2),
		IPRev("pass", "2001:db8::25", "mail.example.com"),
	}}
}

func TestFormat(t *testing.T) {
	h := sample()
	require.Equal(t, "mx.example.org; spf=pass smtp.mailfrom=bob@example.com; spf=none smtp.helo=mail.example.com; "+
		`dkim=pass header.d=example.com header.i=@example.com header.s=s2024 header.a=rsa-sha256 header.b="AbC/dEfG"; `+
		`dkim=fail reason="body hash did not verify" header.d=example.net header.s=sel header.a=ed25519-sha256; `+
		"dmarc=fail header.from=example.com policy.dmarc=reject; arc=pass smtp.remote-ip=192.0.2.1 header.oldest-pass=2; "+
		`iprev=pass policy.iprev="2001:db8::25" (mail.example.com)`, h.String())
	require.Equal(t, "mx.example.org; none", (&Header{AuthServID: "mx.example.org"}).String())
	require.Equal(t, "mx.example.org 1; none", (&Header{AuthServID: "mx.example.org", Version: 1}).String())
	require.Equal(t, `"mx example"; spf=pass`, (&Header{AuthServID: "mx example", Results: []Result{{Method: "spf", Value: "pass"}}}).String())

	f := h.Field()
	require.True(t, strings.HasPrefix(f, "Authentication-Results: mx.example.org;\r\n\tspf=pass"))
	require.True(t, strings.HasSuffix(f, "\r\n"))
	for _, line := range strings.Split(strings.TrimSuffix(f, "\r\n"), "\r\n") {
		require.LessOrEqual(t, len(line), 78, line)
	}
}

func TestParseRoundTrip(t *testing.T) {
	h := sample()
	for _, s := range []string{h.String(), h.Field()[len(FieldName)+1:]} {
		got, err := Parse(s)
		require.NoError(t, err, s)
		require.Equal(t, h, got)
		require.Equal(t, h.String(), got.String())
	}
}

func TestParseRFC8601Examples(t *testing.T) {
	// Values in the style of RFC 8601 Appendix B and of common MTAs.
	tests := []struct {
		in   string
		want *Header
	}{
		{"example.org 1; none", &Header{AuthServID: "example.org", Version: 1}},
		{"example.com; spf=pass smtp.mailfrom=example.net", &Header{AuthServID: "example.com", Results: []Result{SPF("pass", "example.net", "")}}},
		{"example.com;\r\n\tauth=pass (cram-md5) smtp.auth=sender@example.net;\r\n\tspf=pass smtp.mailfrom=example.net",
			&Header{AuthServID: "example.com", Results: []Result{
				{Method: "auth", Value: "pass", Comment: "cram-md5", Props: []Property{{"smtp", "auth", "sender@example.net"}}},
				SPF("pass", "example.net", ""),
			}}},
		{"example.com; iprev=pass\r\n policy.iprev=192.0.2.200", &Header{AuthServID: "example.com", Results: []Result{IPRev("pass", "192.0.2.200", "")}}},
		{"mail-router.example.net; dkim=pass (good signature) header.d=newyork.example.com header.b=oINEO8hg; dkim=fail (bad signature) header.d=newyork.example.com header.b=EToRSuvU",
			&Header{AuthServID: "mail-router.example.net", Results: []Result{
				{Method: "dkim", Value: "pass", Comment: "good signature", Props: []Property{{"header", "d", "newyork.example.com"}, {"header", "b", "oINEO8hg"}}},
				{Method: "dkim", Value: "fail", Comment: "bad signature", Props: []Property{{"header", "d", "newyork.example.com"}, {"header", "b", "EToRSuvU"}}},
			}}},
		{"mx.google.com;\r\n       dkim=pass header.i=@example.com header.s=20230601 header.b=\"Wj/+Ab12\";\r\n       spf=pass (google.com: domain of a@example.com designates 2607:f8b0::1 as permitted sender) smtp.mailfrom=a@example.com;\r\n       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com",
			&Header{AuthServID: "mx.google.com", Results: []Result{
				{Method: "dkim", Value: "pass", Props: []Property{{"header", "i", "@example.com"}, {"header", "s", "20230601"}, {"header", "b", "Wj/+Ab12"}}},
				{Method: "spf", Value: "pass", Comment: "google.com: domain of a@example.com designates 2607:f8b0::1 as permitted sender", Props: []Property{{"smtp", "mailfrom", "a@example.com"}}},
				{Method: "dmarc", Value: "pass", Comment: "p=REJECT sp=REJECT dis=NONE", Props: []Property{{"header", "from", "example.com"}}},
			}}},
		{`example.com; dkim/1=pass reason="sig ok" header.i="local part"@example.com`, &Header{AuthServID: "example.com", Results: []Result{
			{Method: "dkim", MethodVersion: "1", Value: "pass", Reason: "sig ok", Props: []Property{{"header", "i", "local part@example.com"}}},
		}}},
		{"example.com; spf=pass smtp.mailfrom=a@example.com;", &Header{AuthServID: "example.com", Results: []Result{SPF("pass", "a@example.com", "")}}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.want, got, tt.in)
		again, err := Parse(got.String())
		require.NoError(t, err)
		require.Equal(t, got, again, "format and parse again")
	}
	h, _ := Parse(tests[5].in)
	require.Len(t, h.Find("DKIM"), 1)
	require.Equal(t, "example.com", h.Find("dmarc")[0].Get("header", "from"))
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{
		"", ";", "example.com", "example.com; spf", "example.com; spf=", "example.com; =pass",
		"example.com; spf=pass smtp", "example.com; spf=pass smtp.mailfrom", "example.com; spf=pass smtp.mailfrom=",
		"example.com; spf=pass (unterminated", `example.com; spf=pass reason="open`, "example.com; none extra",
		"example.com; spf=pass smtp.mailfrom=a reason=x", strings.Repeat("(", 40) + "x",
		"example.com; spf=pass " + strings.Repeat("smtp.x=y ", MaxProperties+1),
		"example.com" + strings.Repeat("; spf=pass", MaxResults+1), strings.Repeat("a", MaxLength+1),
	} {
		_, err := Parse(s)
		require.ErrorIs(t, err, ErrSyntax, "%q", s)
	}
}

// hostile is text an attacker controls (a MAIL FROM, a HELO, a d=, a
// reason copied from a DNS record) trying to start a header line.
var hostile = []string{
	"a\r\nX-Injected: yes", "a\nX-Injected: yes", "a\rX-Injected: yes", "\r\n\r\nbody", "x\"; dkim=pass header.d=bank.example",
	"x) ; spf=pass (", "a\\", "\x00\x1b[31m", "é\xff", "; none", "(", ")", `"`, "\t\r\n ",
}

// TestNoInjection: whatever the values, the field is one header field,
// every line break is a fold, and it parses back to the same results.
func TestNoInjection(t *testing.T) {
	for _, bad := range hostile {
		h := &Header{AuthServID: bad, Results: []Result{
			{Method: bad, MethodVersion: bad, Value: bad, Reason: bad, Comment: bad, Props: []Property{{bad, bad, bad}}},
			SPF("pass", bad, ""), DKIM("fail", bad, bad, bad, bad, bad, bad), DMARC("fail", bad, bad), IPRev("fail", bad, bad),
		}}
		line := h.String()
		require.NotContains(t, line, "\r", "%q", bad)
		require.NotContains(t, line, "\n", "%q", bad)
		field := h.Field()
		checkOneField(t, field)
		got, err := Parse(line)
		require.NoError(t, err, "%q -> %q", bad, line)
		require.Len(t, got.Results, len(h.Results), "%q -> %q: no result added or lost", bad, line)
		require.Equal(t, line, got.String(), "stable")
		got2, err := Parse(field[len(FieldName)+1:])
		require.NoError(t, err)
		require.Equal(t, got, got2)
		// The payload could not forge a passing DKIM result for bank.example.
		for _, r := range got.Find("dkim") {
			require.NotEqual(t, "bank.example", r.Get("header", "d"))
		}
	}
}

func checkOneField(t *testing.T, field string) {
	t.Helper()
	require.True(t, strings.HasSuffix(field, "\r\n"))
	body := field[:len(field)-2]
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '\r':
			require.True(t, i+2 < len(body) && body[i+1] == '\n' && (body[i+2] == '\t' || body[i+2] == ' '), "CR not part of a fold in %q", field)
		case '\n':
			require.True(t, i > 0 && body[i-1] == '\r', "bare LF in %q", field)
		}
	}
	msg, err := mailscore.NewMessage(mailscore.Envelope{}, []byte(field+"Subject: x\r\n\r\nbody\r\n"), mailscore.Limits{})
	require.NoError(t, err)
	require.Equal(t, 2, msg.Header.Len(), "exactly one field was added: %q", field)
	require.Equal(t, 1, msg.Header.Count(FieldName))
}

func FuzzParse(f *testing.F) {
	f.Add(sample().String())
	f.Add("example.org 1; none")
	f.Add("example.com; dkim/1=pass reason=\"a\\\"b\" header.i=\"x y\"@example.com (c (d))")
	f.Add("x; iprev=pass policy.iprev=2001:db8::1")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := Parse(s)
		if err != nil {
			return
		}
		if len(h.Results) > MaxResults {
			t.Fatal("too many results")
		}
		// Formatting what was parsed gives one clean field that parses
		// to the same structure (after cleaning), and formats the same.
		line := h.String()
		if strings.ContainsAny(line, "\r\n") {
			t.Fatalf("line break in %q", line)
		}
		again, err := Parse(line)
		if err != nil {
			t.Fatalf("formatted value %q does not parse: %v", line, err)
		}
		if again.String() != line {
			t.Fatalf("not stable: %q then %q", line, again.String())
		}
		if len(again.Results) != len(h.Results) {
			t.Fatalf("results changed: %d then %d", len(h.Results), len(again.Results))
		}
		checkOneField(t, h.Field())
	})
}

func FuzzFormat(f *testing.F) {
	for _, s := range hostile {
		f.Add(s, s, s)
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		h := &Header{AuthServID: a, Results: []Result{
			{Method: b, Value: c, Reason: a, Comment: b, Props: []Property{{a, b, c}, {"smtp", "mailfrom", a}}},
			DMARC(c, b, a),
		}}
		line := h.String()
		if strings.ContainsAny(line, "\r\n") {
			t.Fatalf("line break in %q", line)
		}
		got, err := Parse(line)
		if err != nil {
			t.Fatalf("%q does not parse: %v", line, err)
		}
		if len(got.Results) != 2 || got.String() != line {
			t.Fatalf("round trip changed %q into %q", line, got.String())
		}
		checkOneField(t, h.Field())
	})
}

func BenchmarkFormat(b *testing.B) {
	h := sample()
	b.ReportAllocs()
	for b.Loop() {
		_ = h.String()
	}
}

func BenchmarkParse(b *testing.B) {
	s := sample().String()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(s); err != nil {
			b.Fatal(err)
		}
	}
}
