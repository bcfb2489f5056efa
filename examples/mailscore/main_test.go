package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestScoreSamplesJSON(t *testing.T) {
	code, out, stderr := runCLI(t, "score", "-offline", "-json", "../testdata")
	require.Equal(t, 0, code, stderr)
	var results []struct {
		File    string `json:"file"`
		Verdict struct {
			Score      float64 `json:"score"`
			Action     string  `json:"action"`
			Dominant   string  `json:"dominant"`
			Factors    []struct{ Symbol string }
			Incomplete []struct{ Check, Reason string }
			Explain    string `json:"explanation"`
		} `json:"verdict"`
		Header  string `json:"x_mailscore"`
		AuthRes string `json:"authentication_results"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &results))
	byName := map[string]int{}
	for i, r := range results {
		byName[filepath.Base(r.File)] = i
		require.NotEmpty(t, r.Verdict.Explain)
		require.True(t, strings.HasPrefix(r.Header, "score="), r.Header)
		require.NotContains(t, r.Header, "\n")
		// Offline, the DNS-based checks are incomplete and hold nothing
		// against the message.
		require.NotEmpty(t, r.Verdict.Incomplete, r.File)
		require.NotEqual(t, "defer", r.Verdict.Action, r.File)
	}
	require.Len(t, results, 5)

	gtube := results[byName["gtube.eml"]]
	require.Equal(t, "GTUBE", gtube.Verdict.Dominant)
	require.Equal(t, "reject", gtube.Verdict.Action, "GTUBE alone outweighs any incomplete check")

	phish := results[byName["phishing.eml"]]
	require.NotEmpty(t, phish.Verdict.Dominant)
	require.Equal(t, "tag", phish.Verdict.Action)

	exe := results[byName["invoice-attachment.eml"]]
	require.Equal(t, "ATTACH_EXECUTABLE", exe.Verdict.Dominant)

	for _, ham := range []string{"ham-newsletter.eml", "reply-mbox-lf.eml"} {
		r := results[byName[ham]]
		require.Equal(t, "accept", r.Verdict.Action, ham)
		require.Empty(t, r.Verdict.Dominant, "%s: nothing is held against good mail when evidence is missing", ham)
	}
	require.Contains(t, results[byName["ham-newsletter.eml"]].AuthRes, "spf=temperror")
}

func TestScoreText(t *testing.T) {
	code, out, stderr := runCLI(t, "score", "-offline", "../testdata/gtube.eml", "../testdata/phishing.eml")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, 2, strings.Count(out, "X-Mailscore: "))
	require.Contains(t, out, "Dominant factor: GTUBE")
	require.Contains(t, out, "points  symbol")
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"nope"},
		{"score"},
		{"score", "-ip", "not-an-ip", "../testdata"},
		{"eval", "-ham", "x"},
		{"eval", "-ham", "x", "-spam", "y", "-folds", "1"},
		{"learn", "-ham", "x"},
		{"score", "-offline", "-dnsbl", "bogus", "../testdata"},
	} {
		code, _, stderr := runCLI(t, args...)
		require.Equal(t, 2, code, "%v: %s", args, stderr)
	}
	code, _, _ := runCLI(t, "score", "-offline", "/does/not/exist")
	require.Equal(t, 1, code)
}

// writeCorpus writes n generated messages of one kind into dir.
func writeCorpus(t *testing.T, dir string, n int, spam bool) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for i := range n {
		var body string
		if spam {
			body = fmt.Sprintf("Subject: cheap pills offer %d\r\nFrom: deals%d@pills.example\r\n\r\nBuy cheap pills now, limited offer, click to order viagra %d\r\n", i, i, i)
		} else {
			body = fmt.Sprintf("Subject: meeting notes %d\r\nFrom: colleague%d@example.org\r\n\r\nHere are the notes from the project meeting about the budget, item %d\r\n", i, i, i)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("%03d.eml", i)), []byte(body), 0o644))
	}
}

func TestLearnStateAndEval(t *testing.T) {
	dir := t.TempDir()
	ham, spam := filepath.Join(dir, "ham"), filepath.Join(dir, "spam")
	writeCorpus(t, ham, 40, false)
	writeCorpus(t, spam, 40, true)
	state := filepath.Join(dir, "state.snap")

	code, out, stderr := runCLI(t, "learn", "-offline", "-ham", ham, "-spam", spam, "-state", state)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "learned 40 ham and 40 spam")
	fi, err := os.Stat(state)
	require.NoError(t, err)
	require.Greater(t, fi.Size(), int64(100))

	// With the state loaded, the classifier has an opinion on new mail.
	probe := filepath.Join(dir, "probe.eml")
	require.NoError(t, os.WriteFile(probe, []byte("Subject: cheap pills offer\r\n\r\nBuy cheap pills now, click to order\r\n"), 0o644))
	bayes := func(extra ...string) string {
		code, out, stderr := runCLI(t, append([]string{"score", "-offline", "-json"}, append(extra, probe)...)...)
		require.Equal(t, 0, code, stderr)
		var res []struct {
			Verdict struct {
				Factors []struct{ Symbol, Reason string }
			}
		}
		require.NoError(t, json.Unmarshal([]byte(out), &res))
		for _, f := range res[0].Verdict.Factors {
			if f.Symbol == "BAYES" {
				return f.Reason
			}
		}
		return ""
	}
	require.Contains(t, bayes(), "learned from 0 ham and 0 spam")
	require.Contains(t, bayes("-state", state), "learned from 40 ham and 40 spam")

	// A damaged state file is refused, not half-loaded.
	raw, err := os.ReadFile(state)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(state, raw[:len(raw)/2], 0o644))
	code, _, stderr = runCLI(t, "score", "-offline", "-state", state, probe)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "corrupt")

	// Cross-validation over the generated corpus separates the classes.
	code, out, stderr = runCLI(t, "eval", "-offline", "-json", "-folds", "2", "-ham", ham, "-spam", spam)
	require.Equal(t, 0, code, stderr)
	var rep struct {
		Folds  int `json:"folds"`
		Report struct {
			Ham, Spam int
			AUC       float64 `json:"roc_auc"`
		} `json:"report"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Equal(t, 2, rep.Folds)
	require.Equal(t, 40, rep.Report.Ham)
	require.Equal(t, 40, rep.Report.Spam)
	require.Greater(t, rep.Report.AUC, 0.9)
	require.Contains(t, stderr, "160/160", "progress bar on stderr: 2 folds x 80 messages")
}

func TestReceivedFrom(t *testing.T) {
	tests := []struct {
		received []string
		ip, helo string
	}{
		{[]string{"from mail.example.net (mail.example.net [192.0.2.10]) by mx.example.com"}, "192.0.2.10", "mail.example.net"},
		{[]string{"from localhost (localhost [127.0.0.1]) by fetch", "from relay (relay [10.1.2.3]) by x", "from out.example.org (out.example.org [IPv6:2001:db8::25]) by mx"}, "2001:db8::25", "out.example.org"},
		{[]string{"by mx.example.com with LMTP"}, "", ""},
		{[]string{"from x ([not-an-ip]) by y"}, "", ""},
	}
	for _, tt := range tests {
		var raw strings.Builder
		for _, r := range tt.received {
			raw.WriteString("Received: " + r + "\r\n")
		}
		raw.WriteString("Subject: x\r\n\r\n")
		path := filepath.Join(t.TempDir(), "m.eml")
		require.NoError(t, os.WriteFile(path, []byte(raw.String()), 0o644))
		env, _ := (&config{}).envelope()
		m, err := loadMessage(path, env, mailscore.Limits{}, true)
		require.NoError(t, err)
		if tt.ip == "" {
			require.False(t, m.Envelope.ClientIP.IsValid())
			continue
		}
		require.Equal(t, tt.ip, m.Envelope.ClientIP.String())
		require.Equal(t, tt.helo, m.Envelope.HELO)
	}
}
