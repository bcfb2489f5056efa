package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line, verb, arg string
	}{
		{"EHLO mail.example.com", "EHLO", "mail.example.com"},
		{"ehlo x", "EHLO", "x"},
		{"QUIT", "QUIT", ""},
		{"MAIL FROM:<a@b> SIZE=10", "MAIL", "FROM:<a@b> SIZE=10"},
		{"", "", ""},
		{strings.Repeat("X", 100) + " y", strings.Repeat("X", 16), "y"},
	}
	for _, tt := range tests {
		c := parseCommand(tt.line)
		require.Equal(t, tt.verb, c.verb, tt.line)
		require.Equal(t, tt.arg, c.arg, tt.line)
	}
}

func TestPathArg(t *testing.T) {
	tests := []struct {
		arg, prefix string
		nullOK      bool
		addr        string
		params      []param
		err         error
	}{
		{"FROM:<alice@example.com>", "FROM:", true, "alice@example.com", nil, nil},
		{"from:<alice@example.com>", "FROM:", true, "alice@example.com", nil, nil},
		{"FROM: <alice@example.com>", "FROM:", true, "alice@example.com", nil, nil}, // tolerated space
		{"FROM:<>", "FROM:", true, "", nil, nil},
		{"TO:<>", "TO:", false, "", nil, errSyntax},
		{"FROM:<> SIZE=100 BODY=8BITMIME", "FROM:", true, "", []param{{"SIZE", "100"}, {"BODY", "8BITMIME"}}, nil},
		{"FROM:<a@b.example> size=1", "FROM:", true, "a@b.example", []param{{"SIZE", "1"}}, nil},
		{"FROM:<@relay.example,@r2.example:user@example.com>", "FROM:", true, "user@example.com", nil, nil},
		{`FROM:<"john doe>x"@example.com>`, "FROM:", true, `"john doe>x"@example.com`, nil, nil},
		{"TO:<postmaster>", "TO:", false, "postmaster", nil, nil},
		{"TO:<Postmaster>", "TO:", false, "Postmaster", nil, nil},
		{"TO:<user@[192.0.2.1]>", "TO:", false, "user@[192.0.2.1]", nil, nil},
		{"FROM:alice@example.com", "FROM:", true, "", nil, errSyntax},
		{"FROM:<alice@example.com", "FROM:", true, "", nil, errSyntax},
		{"TO:<alice@example.com>", "FROM:", true, "", nil, errSyntax},
		{"FROM:<alice>", "FROM:", true, "", nil, errSyntax},
		{"FROM:<@example.com>", "FROM:", true, "", nil, errSyntax},
		{"FROM:<a b@example.com>", "FROM:", true, "", nil, errSyntax},
		{"FROM:<a@exa_mple.com>", "FROM:", true, "", nil, errSyntax},
		{"FROM:<a@example.com>SIZE=1", "FROM:", true, "", nil, errSyntax},
		{"FROM:<a@example.com> SIZE=", "FROM:", true, "", nil, errSyntax},
		{"FROM:<a@example.com> =1", "FROM:", true, "", nil, errSyntax},
		{"FROM:<a@example.com> SIZE=1 SIZE=2", "FROM:", true, "", nil, errSyntax},
		{"FROM:<a@example.com> X=a=b", "FROM:", true, "", nil, errSyntax},
		{"FROM:<a@example.com> " + strings.Repeat("A=1 ", 11), "FROM:", true, "", nil, errSyntax},
		{"FROM:<a\x00@example.com>", "FROM:", true, "", nil, errSyntax},
		{"FROM:<jörg@example.com>", "FROM:", true, "", nil, errNonASCII},
		{"FROM:<" + strings.Repeat("a", 65) + "@example.com>", "FROM:", true, "", nil, errPathTooLong},
		{"FROM:<a@" + strings.Repeat("b", 256) + ">", "FROM:", true, "", nil, errPathTooLong},
		{"FROM:<" + strings.Repeat("a", 60) + "@" + strings.Repeat("b.", 100) + "com>", "FROM:", true, "", nil, errPathTooLong},
	}
	for _, tt := range tests {
		addr, params, err := pathArg(tt.arg, tt.prefix, tt.nullOK)
		if tt.err != nil {
			require.ErrorIs(t, err, tt.err, tt.arg)
			continue
		}
		require.NoError(t, err, tt.arg)
		require.Equal(t, tt.addr, addr, tt.arg)
		require.Equal(t, tt.params, params, tt.arg)
	}
}

func TestParseSize(t *testing.T) {
	for v, want := range map[string]int64{
		"0": 0, "1000": 1000, "18446744073709551616": 1<<63 - 1, "99999999999999999999999": 1<<63 - 1,
	} {
		got, err := parseSize(v)
		require.NoError(t, err, v)
		require.Equal(t, want, got, v)
	}
	for _, v := range []string{"", "-1", "+1", "1k", "0x10", "9999999999999999999999x"} {
		_, err := parseSize(v)
		require.ErrorIs(t, err, errSyntax, v)
	}
}

// FuzzCommand checks that no command line makes the parsers panic, and
// that what they accept is safe to put into a header field.
func FuzzCommand(f *testing.F) {
	for _, s := range []string{
		"MAIL FROM:<a@b.example> SIZE=100 BODY=8BITMIME",
		"RCPT TO:<postmaster>",
		`MAIL FROM:<"a>b\"c"@example.com>`,
		"MAIL FROM:<@a,@b:c@d>",
		"RCPT TO:<a@[IPv6:2001:db8::1]> X-Y=z",
		"MAIL FROM:<> SIZE=99999999999999999999999",
		"EHLO [192.0.2.1]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmd := parseCommand(line)
		if len(cmd.verb) > 16 {
			t.Fatalf("verb %q too long", cmd.verb)
		}
		for _, pre := range []string{"FROM:", "TO:"} {
			addr, params, err := pathArg(cmd.arg, pre, pre == "FROM:")
			if err != nil {
				if !errors.Is(err, errSyntax) && !errors.Is(err, errNonASCII) && !errors.Is(err, errPathTooLong) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				continue
			}
			if len(addr) > maxPath || strings.ContainsAny(addr, "\r\n\x00") {
				t.Fatalf("accepted unsafe address %q", addr)
			}
			for i := 0; i < len(addr); i++ {
				if addr[i] < 0x20 || addr[i] > 0x7e {
					t.Fatalf("accepted non-printable address %q", addr)
				}
			}
			if len(params) > maxParams {
				t.Fatalf("%d params", len(params))
			}
			for _, p := range params {
				if p.key == "SIZE" {
					_, _ = parseSize(p.value)
				}
			}
		}
	})
}

func BenchmarkPathArg(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := pathArg("FROM:<newsletter+bounce-123@mail.example.com> SIZE=48213 BODY=8BITMIME", "FROM:", true); err != nil {
			b.Fatal(err)
		}
	}
}
