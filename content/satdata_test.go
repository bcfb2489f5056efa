package content

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/internal/testdata"
	"github.com/stretchr/testify/require"
)

// TestGTUBE: the GTUBE test string scores as spam on its own, with the
// default scorer: rejected, GTUBE dominant.
func TestGTUBE(t *testing.T) {
	c := newTestChecker(t)
	engine, err := mailscore.NewEngine(mailscore.EngineOptions{}, c)
	require.NoError(t, err)
	raws := map[string]string{
		"inline": mail("", "Hello\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n"),
	}
	if dir, ok := testdata.Root(); ok {
		for _, f := range []string{"gtube.eml", "gtubedcc.eml", "gtubedcc_crlf.eml", "extracttext/gtube_b64_oct.eml"} {
			raw, err := os.ReadFile(filepath.Join(dir, "corpus", "sa-tdata", "spam", f))
			require.NoError(t, err)
			raws[f] = string(stripMboxFrom(raw))
		}
	}
	for name, raw := range raws {
		v := engine.Score(context.Background(), mustMessage(t, raw))
		require.Equal(t, mailscore.ActionReject, v.Action, "%s: %s", name, v.Explain())
		d, ok := v.Dominant()
		require.True(t, ok)
		require.Equal(t, SymGTUBE, d.Symbol, name)
	}
	// Without the string, the same message is not spam.
	v := engine.Score(context.Background(), mustMessage(t, mail("", "Hello\r\n")))
	require.Equal(t, mailscore.ActionAccept, v.Action)
}

// TestSpamAssassinSamples runs every SpamAssassin test mail through the
// checker: no panic, no error, and the broken-MIME samples report
// MIME_BROKEN with a reason naming the damage.
func TestSpamAssassinSamples(t *testing.T) {
	dir := testdata.Dir(t, "corpus", "sa-tdata")
	brokenMIME := map[string]string{
		"spam/badctype1":    "invalid Content-Type",
		"spam/badmime2.txt": "boundary \"bar\" never appears",
		"spam/badmime3.txt": "no opening delimiter",
		"spam/015":          "no opening delimiter",
		"spam/016":          "no opening delimiter",
		"spam/017":          "never appears",
	}
	c := newTestChecker(t)
	seen := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		m, err := mailscore.NewMessage(mailscore.Envelope{}, stripMboxFrom(raw), mailscore.Limits{})
		if err != nil {
			return nil // not a message (empty, or over a limit)
		}
		sigs, err := c.Check(context.Background(), m, nil)
		require.NoError(t, err, rel)
		var fired []string
		for _, s := range sigs {
			if s.Confidence > 0 {
				fired = append(fired, s.Symbol)
			}
		}
		if want, ok := brokenMIME[rel]; ok {
			seen++
			i := slices.IndexFunc(sigs, func(s mailscore.Signal) bool { return s.Symbol == SymMIMEBroken })
			require.GreaterOrEqual(t, i, 0, "%s fired %v", rel, fired)
			require.Contains(t, sigs[i].Reason, want)
		}
		if strings.HasPrefix(rel, "spam/") {
			t.Logf("%-40s %v", rel, fired)
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, len(brokenMIME), seen)
}
