package mailscore_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/mailscore/mailscore"
)

// subjectCheck is a tiny check: it flags a shouting subject.
type subjectCheck struct{}

func (subjectCheck) Name() string { return "subject" }

func (subjectCheck) Symbols() []mailscore.Symbol {
	return []mailscore.Symbol{{Name: "SUBJECT_SHOUTING", Weight: 6}}
}

func (subjectCheck) Check(_ context.Context, msg *mailscore.Message, _ []mailscore.Signal) ([]mailscore.Signal, error) {
	s := msg.Header.Get("Subject")
	if s == "" || s != strings.ToUpper(s) {
		return nil, nil
	}
	return []mailscore.Signal{{
		Symbol: "SUBJECT_SHOUTING", Value: 1, Confidence: 0.9,
		Reason: fmt.Sprintf("the subject %q is all capitals", s),
	}}, nil
}

func Example() {
	engine, err := mailscore.NewEngine(mailscore.EngineOptions{}, subjectCheck{})
	if err != nil {
		panic(err)
	}
	raw := []byte("From: promo@example.net\r\nSubject: BUY NOW\r\n\r\nCheap!\r\n")
	msg, err := mailscore.NewMessage(mailscore.Envelope{
		ClientIP: netip.MustParseAddr("192.0.2.1"),
		HELO:     "mail.example.net",
		MailFrom: "promo@example.net",
	}, raw, mailscore.Limits{})
	if err != nil {
		panic(err)
	}
	v := engine.Score(context.Background(), msg)
	fmt.Println(v.Action)
	fmt.Println(v.HeaderValue())
	fmt.Println(v.Explain())
	// Output:
	// tag
	// score=5.40; action=tag; dominant=SUBJECT_SHOUTING; factors=SUBJECT_SHOUTING:+5.40
	// Score 5.40: tag (tag at 5.00, reject at 15.00). Dominant factor: SUBJECT_SHOUTING +5.40 from subject (strong evidence, confidence 0.90): the subject "BUY NOW" is all capitals.
}

func ExampleNewMessage() {
	raw := []byte("Received: from a\r\nReceived: from b\r\nSubject: folded\r\n  across lines\r\n\r\nbody\r\n")
	msg, err := mailscore.NewMessage(mailscore.Envelope{}, raw, mailscore.Limits{MaxFields: 100})
	if err != nil {
		panic(err)
	}
	fmt.Println(msg.Header.Count("Received"))
	fmt.Printf("%q\n", msg.Header.Get("Subject"))
	fmt.Printf("%q\n", msg.Header.Fields()[2].Raw)
	fmt.Printf("%q\n", msg.Body())
	// Output:
	// 2
	// "folded  across lines"
	// "Subject: folded\r\n  across lines\r\n"
	// "body\r\n"
}

func ExampleEvaluate() {
	engine, _ := mailscore.NewEngine(mailscore.EngineOptions{}, subjectCheck{})
	var data []mailscore.Labeled
	for _, m := range []struct {
		subject string
		label   mailscore.Label
	}{{"WIN BIG", mailscore.Spam}, {"FREE PILLS", mailscore.Spam}, {"Lunch?", mailscore.Ham}, {"Minutes", mailscore.Ham}} {
		msg, _ := mailscore.NewMessage(mailscore.Envelope{}, []byte("Subject: "+m.subject+"\r\n\r\n"), mailscore.Limits{})
		data = append(data, mailscore.Labeled{Label: m.label, Obs: engine.Observe(context.Background(), msg)})
	}
	r := mailscore.Evaluate(engine.Scorer(), data)
	fmt.Printf("AUC %.2f, spam caught %d of %d, ham flagged %d of %d\n",
		float64(r.AUC), r.Confusion.TruePositive, r.Spam, r.Confusion.FalsePositive, r.Ham)
	// Output:
	// AUC 1.00, spam caught 2 of 2, ham flagged 0 of 2
}

func ExampleEngine_Learn() {
	engine, _ := mailscore.NewEngine(mailscore.EngineOptions{}, subjectCheck{})
	msg, _ := mailscore.NewMessage(mailscore.Envelope{}, []byte("Subject: hi\r\n\r\n"), mailscore.Limits{})
	// Every check that implements mailscore.Learner receives the label and
	// the message's signals; subjectCheck learns nothing, so this is a no-op.
	err := engine.Learn(context.Background(), msg, mailscore.Spam)
	fmt.Println(err)
	// Output:
	// <nil>
}
