package arc

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore/auth/dkim"
	"github.com/mailscore/mailscore/internal/testdata"
)

// TestStalwartVectors checks the two ARC messages of stalwartlabs/mail-auth
// (../shared/testdata/dkim/stalwart-mail-auth/arc, Apache-2.0 OR MIT): a
// real IETF list message sealed by Google (i=1, RSA), and a synthetic
// two-hop chain, Ed25519 at i=1 and RSA at i=2. Upstream's expectation:
// the chain passes and at least one DKIM signature passes.
func TestStalwartVectors(t *testing.T) {
	dir := testdata.Dir(t, "dkim", "stalwart-mail-auth", "arc")
	for _, tc := range []struct {
		file   string
		sets   int
		sealer string
		algs   []string
	}{
		{"001.txt", 1, "google.com", []string{"rsa-sha256"}},
		{"002.txt", 2, "manchego.org", []string{"ed25519-sha256", "rsa-sha256"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, tc.file))
			require.NoError(t, err)
			// "<dns-name> <TXT value>" lines, a blank line, the message
			// with LF line endings (upstream converts them to CRLF).
			records, msgText, ok := strings.Cut(string(b), "\n\n")
			require.True(t, ok)
			recs := map[string]string{}
			for _, l := range strings.Split(records, "\n") {
				name, value, ok := strings.Cut(l, " ")
				require.True(t, ok, l)
				recs[name] = value
			}
			_, r := dnsServer(t, recs)
			v := newValidator(t, Options{Resolver: r})
			msg := mustMessage(t, crlf(msgText))
			res := v.Validate(context.Background(), msg)
			require.Equal(t, StatusPass, res.Status, "%v", res.Err)
			require.Equal(t, tc.sets, res.Instance)
			require.Equal(t, tc.sealer, res.Newest().Seal.Domain)
			for i, alg := range tc.algs {
				require.Equal(t, alg, res.Sets[i].Seal.Algorithm)
				require.Equal(t, StatusPass, res.Sets[i].AMS.Status, "AMS i=%d", i+1)
			}
			require.NotNil(t, res.FirstHop().AAR.Header, "%v", res.FirstHop().AAR.Err)
			t.Logf("%s: arc=%s i=%d, first hop %s: %s", tc.file, res.Status, res.Instance,
				res.FirstHop().AAR.Header.AuthServID, res.FirstHop().AAR.Payload)

			// At least one DKIM signature passes, at the time of the
			// newest seal (the real message's signatures have expired
			// since).
			now := res.Newest().AMS.Timestamp
			if st := res.Newest().Seal.Timestamp; st.After(now) {
				now = st
			}
			require.False(t, now.IsZero(), "the newest set has a t=")
			now = now.Add(time.Hour)
			dv, err := dkim.NewVerifier(dkim.Options{Resolver: r, Now: func() time.Time { return now }})
			require.NoError(t, err)
			passed := 0
			for _, d := range dv.VerifyMessage(context.Background(), msg) {
				if d.Status == dkim.StatusPass {
					passed++
				}
				t.Logf("DKIM d=%s: %s %v", d.Domain, d.Status, d.Reason())
			}
			require.Positive(t, passed)
		})
	}
}
