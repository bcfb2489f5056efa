package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/mailscore/mailscore"
)

func cmdLearn(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("learn", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	cfg.register(fs)
	hamDir := fs.String("ham", "", "folder of ham messages (\"not spam\" feedback)")
	spamDir := fs.String("spam", "", "folder of spam messages (\"spam\" feedback)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mailscore learn [flags] -ham DIR -spam DIR -state FILE\n\nFeeds labelled mail to every learning check and saves what they learned.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.StatePath == "" || (*hamDir == "" && *spamDir == "") {
		fs.Usage()
		return fmt.Errorf("%w: -state and at least one of -ham and -spam are required", errUsage)
	}
	env, err := cfg.envelope()
	if err != nil {
		return err
	}
	s, err := newSetup(&cfg, stderr)
	if err != nil {
		return err
	}
	if !s.Learns() {
		return fmt.Errorf("no check that learns is enabled")
	}
	msgs, skipped, err := loadLabeled([]labeledDir{{*hamDir, mailscore.Ham}, {*spamDir, mailscore.Spam}}, 0, env, cfg.received)
	if err != nil {
		return err
	}
	p := newProgress(stderr, len(msgs))
	counts := map[mailscore.Label]int{}
	for _, m := range msgs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.Engine.Learn(ctx, m.msg, m.label); err != nil {
			return fmt.Errorf("learning %s: %w", m.path, err)
		}
		counts[m.label]++
		p.add("learning")
	}
	if err := s.Save(cfg.StatePath); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "learned %d ham and %d spam (%d files skipped); state saved to %s\n",
		counts[mailscore.Ham], counts[mailscore.Spam], skipped, cfg.StatePath)
	return nil
}
