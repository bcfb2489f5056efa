package dkim

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore/internal/testdata"
)

// TestRFCVectors verifies the examples of RFC 6376 Appendix A.2 and RFC
// 8463 Appendix A.3 with their keys served by dnstest.
func TestRFCVectors(t *testing.T) {
	dir := testdata.Dir(t, "dkim", "rfc-vectors")
	manifest, err := os.ReadFile(filepath.Join(dir, "MANIFEST.tsv"))
	require.NoError(t, err)
	n := 0
	for line := range strings.Lines(string(manifest)) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || line[0] == '#' {
			continue
		}
		cols := strings.Split(line, "\t")
		require.GreaterOrEqual(t, len(cols), 3, line)
		file, mapping, expected := cols[0], cols[1], cols[2]
		t.Run(file, func(t *testing.T) {
			records := map[string]string{}
			if mapping == "same two RFC 8463 keys" {
				mapping = "brisbane._domainkey.football.example.com -> rfc8463-A2-brisbane._domainkey.football.example.com.txt ; " +
					"test._domainkey.football.example.com -> rfc8463-A2-test._domainkey.football.example.com.txt"
			}
			for m := range strings.SplitSeq(mapping, ";") {
				name, keyFile, ok := strings.Cut(m, "->")
				require.True(t, ok, m)
				b, err := os.ReadFile(filepath.Join(dir, strings.TrimSpace(keyFile)))
				require.NoError(t, err)
				records[strings.TrimSpace(name)] = strings.TrimSpace(string(b))
			}
			_, r := dnsServer(t, records)
			msg, err := os.ReadFile(filepath.Join(dir, file))
			require.NoError(t, err)
			res := verifyBytes(t, newVerifier(t, Options{Resolver: r}), msg)
			switch expected {
			case "fail (body hash mismatch)":
				require.Len(t, res, 1)
				require.Equal(t, StatusFail, res[0].Status)
				require.ErrorIs(t, res[0].Err, ErrBodyHashMismatch)
			case "pass":
				require.Len(t, res, 1)
				require.Equal(t, StatusPass, res[0].Status, "%v", res[0].Err)
			case "pass, pass":
				require.Len(t, res, 2)
				for _, r := range res {
					require.Equal(t, StatusPass, r.Status, "%s: %v", r.Algorithm, r.Err)
				}
				require.ElementsMatch(t, []string{"ed25519-sha256", "rsa-sha256"}, []string{res[0].Algorithm, res[1].Algorithm})
			default:
				t.Fatalf("unknown expectation %q", expected)
			}
			n++
		})
	}
	require.Equal(t, 4, n, "vectors run")
}

// TestStalwartVectors verifies the DKIM messages of stalwartlabs/mail-auth:
// the last signature of each passes at the crate's fixed verification time.
func TestStalwartVectors(t *testing.T) {
	dir := testdata.Dir(t, "dkim", "stalwart-mail-auth", "dkim")
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	require.NoError(t, err)
	require.Len(t, files, 6)
	clock := time.Unix(1667843664, 0) // README: upstream verification time
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			b, err := os.ReadFile(file)
			require.NoError(t, err)
			records := map[string]string{}
			sc := bufio.NewScanner(strings.NewReader(string(b)))
			off := 0
			for sc.Scan() {
				line := sc.Text()
				off += len(line) + 1
				if line == "" {
					break
				}
				name, value, ok := strings.Cut(line, " ")
				require.True(t, ok, line)
				records[name] = value
			}
			msg := crlfText(string(b[off:]))
			_, r := dnsServer(t, records)
			// Upstream does not check t= against its fixed clock, and
			// 004's facebookmail.com signature has t= 5.3 hours after it;
			// a day of skew accepts that (TestStalwartFutureTimestamp
			// checks that the default skew refuses it).
			res := verifyBytes(t, newVerifier(t, Options{Resolver: r, Now: func() time.Time { return clock }, ClockSkew: 24 * time.Hour}), []byte(msg))
			require.NotEmpty(t, res)
			last := res[len(res)-1]
			require.Equal(t, StatusPass, last.Status, "%s s=%s: %v", last.Domain, last.Selector, last.Err)
			for _, r := range res {
				t.Logf("d=%s s=%s a=%s c=%s: %s %v", r.Domain, r.Selector, r.Algorithm, r.Canonicalization, r.Status, r.Err)
			}
		})
	}
}

// TestStalwartFutureTimestamp checks that 004's signature, made 5.3 hours
// after the upstream clock, is refused with the default clock skew.
func TestStalwartFutureTimestamp(t *testing.T) {
	dir := testdata.Dir(t, "dkim", "stalwart-mail-auth", "dkim")
	b, err := os.ReadFile(filepath.Join(dir, "004.txt"))
	require.NoError(t, err)
	head, msg, _ := strings.Cut(string(b), "\n\n")
	name, value, _ := strings.Cut(head, " ")
	_, r := dnsServer(t, map[string]string{name: value})
	v := newVerifier(t, Options{Resolver: r, Now: func() time.Time { return time.Unix(1667843664, 0) }})
	res := verifyBytes(t, v, []byte(crlfText(msg)))
	require.Len(t, res, 1)
	require.Equal(t, StatusPermError, res[0].Status)
	require.ErrorIs(t, res[0].Err, ErrFutureTimestamp)
}

// TestStalwartExpiry checks that the topicbox signature with x= is
// refused once expired, and accepted at the fixed clock.
func TestStalwartExpiry(t *testing.T) {
	dir := testdata.Dir(t, "dkim", "stalwart-mail-auth", "dkim")
	b, err := os.ReadFile(filepath.Join(dir, "005.txt"))
	require.NoError(t, err)
	head, msg, _ := strings.Cut(string(b), "\n\n")
	name, value, _ := strings.Cut(head, " ")
	_, r := dnsServer(t, map[string]string{name: value})
	for _, c := range []struct {
		at   int64
		want Status
	}{{1667843664, StatusPass}, {1667930064 + 301, StatusPermError}} {
		v := newVerifier(t, Options{Resolver: r, Now: func() time.Time { return time.Unix(c.at, 0) }})
		res := verifyBytes(t, v, []byte(crlfText(msg)))
		require.Len(t, res, 1)
		require.Equal(t, c.want, res[0].Status)
		if c.want == StatusPermError {
			require.ErrorIs(t, res[0].Err, ErrExpired)
		}
	}
}
