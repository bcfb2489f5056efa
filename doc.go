// Package mailscore scores an inbound email from many kinds of evidence and
// explains its verdict.
//
// Checks (authentication, IP and domain reputation, content, URLs and the
// nameservers behind them) each turn a message into signals. A signal says
// what was seen, which way it points, and how much evidence stands behind it
// (its confidence). A Scorer weighs the signals into a Verdict that names the
// factor that dominated, the evidence behind every factor, and the checks
// that could not finish. Unknown is never treated as bad: a check that has
// too little data, or whose DNS failed, contributes nothing and says so.
//
// The root package holds the core types and the Engine; it imports none of
// the signal packages (auth, reputation, content, urlcheck), and they never
// import each other. Wiring them together is a few lines:
//
//	engine, err := mailscore.NewEngine(mailscore.EngineOptions{Timeout: 5 * time.Second},
//		authChecker, reputationChecker, contentChecker, urlChecker)
//	msg, err := mailscore.NewMessage(mailscore.Envelope{
//		ClientIP: netip.MustParseAddr("192.0.2.1"),
//		HELO:     "mail.example.com",
//		MailFrom: "alice@example.com",
//	}, raw, mailscore.Limits{})
//	verdict := engine.Score(ctx, msg)
//	fmt.Println(verdict.Action, verdict.Explain())
//
// Feedback ("this is spam", "not spam") goes through Engine.Learn to every
// check that learns. Evaluate measures a Scorer on a labelled corpus, so
// scoring models can be compared in tests.
package mailscore
