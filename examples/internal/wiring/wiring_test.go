package wiring

import (
	"context"
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore"
)

func TestSafeText(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"plain text", 100, "plain text"},
		{"two\r\nlines\tand  spaces ", 100, "two lines and spaces"},
		{"\x00\x01lead", 100, "lead"},
		{"caf\u00e9 \u2603", 100, "caf? ?"},
		{"one two three four five six", 15, "one two..."},
		{strings.Repeat("x", 50), 10, "xxxxxxx..."},
		{"", 10, ""},
	}
	for _, tt := range tests {
		got := SafeText(tt.in, tt.n)
		require.Equal(t, tt.want, got, "%q", tt.in)
		require.LessOrEqual(t, len(got), tt.n)
		for i := 0; i < len(got); i++ {
			require.True(t, got[i] >= 0x20 && got[i] < 0x7f, "%q", got)
		}
	}
}

func FuzzSafeText(f *testing.F) {
	f.Add("a\r\nb", 10)
	f.Add("\u00e9\u00e9\u00e9\u00e9", 3)
	f.Fuzz(func(t *testing.T, s string, n int) {
		n = n%300 + 300
		got := SafeText(s, n)
		if len(got) > n {
			t.Fatalf("%d > %d", len(got), n)
		}
		for i := 0; i < len(got); i++ {
			if got[i] < 0x20 || got[i] >= 0x7f {
				t.Fatalf("unsafe %q", got)
			}
		}
	})
}

func TestVerdictReply(t *testing.T) {
	reject := mailscore.Verdict{Score: 23.5, Action: mailscore.ActionReject, Factors: []mailscore.Factor{
		{Symbol: "SPF_FAIL", Contribution: 20, Reason: "SPF says the client\r\nmay not send for example.com"},
		{Symbol: "X", Contribution: 3.5},
	}}
	r := VerdictReply(&reject, "ignored")
	require.Equal(t, "550 5.7.1 Message rejected as spam (score 23.50): SPF_FAIL: SPF says the client may not send for example.com", r.String())

	long := reject
	long.Factors = []mailscore.Factor{{Symbol: "LONG", Contribution: 20, Reason: strings.Repeat("very long reason ", 40)}}
	r = VerdictReply(&long, "")
	require.LessOrEqual(t, len(r.Text), MaxReplyText)
	require.True(t, strings.HasSuffix(r.Text, "..."))

	deferred := mailscore.Verdict{Score: 16, Action: mailscore.ActionDefer, Incomplete: []mailscore.Incomplete{{Check: "auth"}, {Check: "reputation"}}}
	require.Equal(t, "451 4.7.1 Message deferred: checks did not finish (auth, reputation); try again later", VerdictReply(&deferred, "").String())

	for _, a := range []mailscore.Action{mailscore.ActionAccept, mailscore.ActionTag} {
		v := mailscore.Verdict{Action: a}
		require.Equal(t, "250 2.0.0 Ok: queued as Q1", VerdictReply(&v, "Q1").String())
		require.Equal(t, "250 2.0.0 Ok", VerdictReply(&v, "").String())
	}
}

func TestForged(t *testing.T) {
	tests := []struct {
		name, value string
		want        bool
	}{
		{"X-Mailscore", "score=1", true},
		{"x-spam-flag", "NO", true},
		{"Authentication-Results", "mx.example.com; spf=pass smtp.mailfrom=a@b.example", true},
		{"authentication-results", "MX.Example.Com; none", true},
		{"Authentication-Results", "mx.example.com 1; dkim=pass", true}, // with a version
		{"Authentication-Results", "other.example; spf=pass", false},
		{"Authentication-Results", "mx.example.com.evil; spf=pass", false},
		{"Authentication-Results", "mx.example.com", true}, // unparsable: first token
		{"Subject", "mx.example.com; hi", false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Forged(tt.name, tt.value, "mx.example.com"), "%s: %s", tt.name, tt.value)
	}
}

func TestRegisterDefaults(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c := Config{AuthservID: "mx.example", Timeout: 3 * time.Second}
	c.Register(fs)
	require.NoError(t, fs.Parse(nil))
	require.Equal(t, "mx.example", c.AuthservID)
	require.Equal(t, 3*time.Second, c.Timeout)

	fs = flag.NewFlagSet("y", flag.ContinueOnError)
	var d Config
	d.Register(fs)
	require.NoError(t, fs.Parse([]string{"-offline", "-dnsbl", "zen", "-protect", "Bank.Example, pay.example"}))
	require.Equal(t, DefaultAuthservID, d.AuthservID)
	require.Equal(t, 10*time.Second, d.Timeout)
	require.True(t, d.Offline)
	require.Equal(t, []string{"bank.example", "pay.example"}, SplitList(d.Protect))

	_, err := New(&Config{Offline: true, DNSBL: "bogus"}, nil)
	require.ErrorIs(t, err, ErrUsage)
	_, err = New(&Config{Offline: true, URIBL: "bogus"}, nil)
	require.ErrorIs(t, err, ErrUsage)
}

// TestScoreKeepsAuthResults checks that the Authentication-Results come
// from the engine's own run of the auth check, and the fields built from
// them.
func TestScoreKeepsAuthResults(t *testing.T) {
	s, err := New(&Config{Offline: true, AuthservID: "mx.example"}, nil)
	require.NoError(t, err)
	require.True(t, s.Learns())
	raw := []byte("From: Alice <alice@example.org>\r\nSubject: hi\r\n\r\nhello\r\n")
	msg, err := mailscore.NewMessage(mailscore.Envelope{MailFrom: "alice@example.org", HELO: "mail.example.org"}, raw, mailscore.Limits{})
	require.NoError(t, err)
	res := s.Score(context.Background(), msg)
	require.NotNil(t, res.Auth)
	ar := res.AuthResults("mx.example")
	require.True(t, strings.HasPrefix(ar, "mx.example; "), ar)
	for _, want := range []string{"dkim=none", "dmarc=temperror", "header.from=example.org"} {
		require.Contains(t, ar, want)
	}
	require.NotContains(t, ar, "spf=", "no client address: SPF was not run")
	require.True(t, strings.HasPrefix(res.AuthResultsField("mx.example"), "Authentication-Results: mx.example;"))
	fields := Fields(&res, "mx.example")
	require.Equal(t, []Field{
		{VerdictField, res.Verdict.HeaderValue()},
		{AuthResultsField, res.AuthResults("mx.example")},
	}, fields)

	tagged := Scored{Verdict: mailscore.Verdict{Action: mailscore.ActionTag}}
	require.Equal(t, []Field{{TagField, "YES"}, {VerdictField, tagged.Verdict.HeaderValue()}}, Fields(&tagged, "x"))
	require.Empty(t, tagged.AuthResults("x"))
	require.Empty(t, tagged.AuthResultsField("x"))

	// A hand-built setup (no auth check) scores without results.
	e, err := mailscore.NewEngine(mailscore.EngineOptions{})
	require.NoError(t, err)
	res = (&Setup{Engine: e}).Score(context.Background(), msg)
	require.Nil(t, res.Auth)
}

func TestStateRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	s, err := New(&Config{Offline: true}, nil)
	require.NoError(t, err)
	msg, err := mailscore.NewMessage(mailscore.Envelope{}, []byte("Subject: cheap pills\r\n\r\nbuy cheap pills\r\n"), mailscore.Limits{})
	require.NoError(t, err)
	for range 5 {
		require.NoError(t, s.Engine.Learn(context.Background(), msg, mailscore.Spam))
	}
	require.NoError(t, s.Save(path))
	s2, err := New(&Config{Offline: true, StatePath: path}, nil)
	require.NoError(t, err)
	bayes := func(s *Setup) string {
		v := s.Score(context.Background(), msg).Verdict
		for _, f := range v.Factors {
			if f.Symbol == "BAYES" {
				return f.Reason
			}
		}
		return ""
	}
	require.Equal(t, bayes(s), bayes(s2))
	require.Contains(t, bayes(s2), "0 ham and 5 spam")

	_, err = New(&Config{Offline: true, StatePath: filepath.Join(t.TempDir(), "missing")}, nil)
	require.NoError(t, err, "a missing state file is a fresh start")
}
