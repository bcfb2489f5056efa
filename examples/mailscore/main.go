// Command mailscore scores email messages with the mailscore library and
// explains each verdict, measures scoring models on labelled folders, and
// learns from labelled mail.
//
//	mailscore score [flags] FILE|DIR...     score .eml or single-message mbox files
//	mailscore eval  [flags] -ham DIR -spam DIR
//	mailscore learn [flags] -ham DIR -spam DIR -state FILE
//
// With -offline no DNS lookup is made: every check that needs DNS reports
// itself incomplete, which is never held against a message.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/mailscore/mailscore/examples/internal/wiring"
)

const usage = `usage:
  mailscore score [flags] FILE|DIR...
  mailscore eval  [flags] -ham DIR -spam DIR
  mailscore learn [flags] -ham DIR -spam DIR -state FILE

Run "mailscore COMMAND -h" for the flags of a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command and returns the process exit code: 0 on
// success, 1 on failure, 2 on bad usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "score":
		err = cmdScore(ctx, args[1:], stdout, stderr)
	case "eval":
		err = cmdEval(ctx, args[1:], stdout, stderr)
	case "learn":
		err = cmdLearn(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "mailscore: unknown command %q\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "mailscore %s: %v\n", args[0], err)
		return 2
	}
	fmt.Fprintf(stderr, "mailscore %s: %v\n", args[0], err)
	return 1
}

// errUsage marks bad usage (exit status 2).
var errUsage = wiring.ErrUsage
