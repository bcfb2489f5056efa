package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/mailscore/mailscore"
)

// scored is one file's verdict, as printed with -json.
type scored struct {
	File    string             `json:"file"`
	Verdict *mailscore.Verdict `json:"verdict,omitempty"`
	Header  string             `json:"x_mailscore,omitempty"`
	AuthRes string             `json:"authentication_results,omitempty"`
	Error   string             `json:"error,omitempty"`
}

func cmdScore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("score", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	cfg.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mailscore score [flags] FILE|DIR...\n\nScores each message and explains the verdict.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("%w: no files given", errUsage)
	}
	env, err := cfg.envelope()
	if err != nil {
		return err
	}
	files, err := collectFiles(fs.Args())
	if err != nil {
		return err
	}
	s, err := newSetup(&cfg, stderr)
	if err != nil {
		return err
	}
	var results []scored
	failed := 0
	for _, f := range files {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		msg, err := loadMessage(f, env, mailscore.Limits{}, cfg.received)
		if err != nil {
			failed++
			results = append(results, scored{File: f, Error: err.Error()})
			if !cfg.jsonOut {
				fmt.Fprintf(stdout, "== %s\nerror: %v\n\n", f, err)
			}
			continue
		}
		res := s.Score(ctx, msg)
		v := res.Verdict
		// The Authentication-Results value an MTA would add, from the
		// same run of the auth check as the verdict.
		ar := res.AuthResults(cfg.AuthservID)
		results = append(results, scored{File: f, Verdict: &v, Header: v.HeaderValue(), AuthRes: ar})
		if !cfg.jsonOut {
			printVerdict(stdout, f, &v)
			if ar != "" {
				fmt.Fprintf(stdout, "Authentication-Results: %s\n", ar)
			}
			fmt.Fprintln(stdout)
		}
	}
	if cfg.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files could not be read as messages", failed, len(files))
	}
	return nil
}

// printVerdict writes a verdict as a factor table a person can read.
func printVerdict(w io.Writer, file string, v *mailscore.Verdict) {
	fmt.Fprintf(w, "== %s\n", file)
	fmt.Fprintf(w, "score %.2f: %s (tag at %.2f, reject at %.2f)\n", v.Score, strings.ToUpper(v.Action.String()),
		v.Thresholds.Tag, v.Thresholds.Reject)
	if len(v.Factors) > 0 {
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "  points\tsymbol\tcheck\tconf\treason\n")
		for _, f := range v.Factors {
			fmt.Fprintf(tw, "%+8.2f\t%s\t%s\t%.2f\t%s\n", f.Contribution, f.Symbol, f.Check, f.Confidence, truncate(f.Reason, 100))
		}
		tw.Flush()
	}
	for _, inc := range v.Incomplete {
		fmt.Fprintf(w, "incomplete: %s: %s\n", inc.Check, inc.Reason)
	}
	fmt.Fprintf(w, "%s\n", v.Explain())
	fmt.Fprintf(w, "X-Mailscore: %s\n", v.HeaderValue())
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
