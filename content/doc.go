// Package content judges what a message says and shows: its MIME
// structure, its text and HTML, its attachments, and a token classifier
// that learns from feedback. It is one mailscore.Check, named "content",
// and imports no other signal package.
//
// The shortest use:
//
//	checker, err := content.New(content.Options{})
//	engine, err := mailscore.NewEngine(mailscore.EngineOptions{}, checker)
//	verdict := engine.Score(ctx, msg)
//	err = engine.Learn(ctx, msg, mailscore.Spam) // trains the classifier
//	err = checker.SaveFile("content.snap")        // and keeps what it learned
//
// # What it looks at
//
// The MIME tree comes from Message.MIME in the root package (decoded once,
// shared with every check, bounded by mailscore.Limits). On it the checker
// reports broken structure (MIME_BROKEN) and decoding stopped at a limit
// (MIME_LIMIT); in HTML (tokenized exactly as golang.org/x/net/html
// tokenizes it, by a lexer that does not allocate per tag or attribute and
// is tested token for token against x/net's), hidden text (display:none, visibility:hidden, tiny fonts, text coloured
// like its background), pictures instead of words, link text showing one
// domain while the link opens another, forms, scripts, tracking pixels and
// remote style sheets; in text, invisible characters inside words, words
// mixing Latin with Cyrillic or Greek look-alikes, capitals; in the header,
// a missing, malformed or future Date and a missing or malformed
// Message-ID; among attachments, executables (by name and by content),
// macro documents, archives holding executables or encrypted, and names
// that disguise their type. The GTUBE test string scores as spam on its own
// (weight 100). Every signal's reason says what was seen and why it counts.
//
// # The classifier
//
// The classifier is Gary Robinson's: per-token spam probabilities smoothed
// with f(w) = (s*x + n*p(w)) / (s + n), so a token seen in few messages
// stays near the neutral x = 0.5, and the 150 strongest tokens combined
// with Fisher's chi-square method (the "chi-combining" of SpamBayes, with
// SpamBayes' tested parameters s = 0.45, x = 0.5, minimum strength 0.1).
// It was chosen over plain naive Bayes because naive Bayes multiplies
// dependent evidence and is confidently wrong at both ends, while
// chi-combining reports conflicting or scarce evidence as "unsure" near 0.5;
// and over discriminative models (logistic regression) because it learns
// incrementally from one message at a time, needs only two counts per token
// (so a store can be a plain key-value table), and explains itself: the
// tokens behind a verdict are the reason. On the SpamAssassin public corpus
// (2,500 easy ham, 500 spam) 5-fold cross-validation gives ROC AUC 0.999
// and 99% spam recall at 0.5% false positives (TestCorpusCrossValidation).
//
// Tokens are white-space separated words of 3 to 12 characters from the
// subject and the body text (the HTML's visible text included), a
// first-letter-and-length stand-in for longer words, character bigrams for
// Chinese, Japanese, Korean and Thai, URL hosts and their registrable
// domains, the MIME types, charsets and encodings, HTML tag names, and
// clues from selected header fields (From domain and name, Reply-To,
// recipient count, mailer, Message-ID domain, list and reply fields). The
// store sees only 64-bit hashes of them.
//
// The BAYES signal spans [-1, 1]. Its confidence is the share learned of
// the smaller class up to Options.MinLearned (200 by default), so a
// classifier that has learned little says so and weighs little. Feedback
// from a person or a spam trap counts fully; the engine's own verdict
// (mailscore.SourceVerdict) counts a quarter.
//
// # State
//
// Counts live behind the Store interface. The default MemoryStore is
// bounded (MemoryOptions.MaxTokens; about 55 bytes a token) and
// saves checksummed snapshots atomically (Save, Load, SaveFile, LoadFile;
// a truncated or corrupt snapshot is refused whole).
package content
