package content_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/content"
)

func Example() {
	checker, err := content.New(content.Options{})
	if err != nil {
		panic(err)
	}
	engine, err := mailscore.NewEngine(mailscore.EngineOptions{}, checker)
	if err != nil {
		panic(err)
	}
	raw := []byte("From: a@example.com\r\nSubject: test\r\nDate: Tue, 3 Sep 2024 10:00:00 +0000\r\n" +
		"Message-ID: <1@example.com>\r\n\r\n" +
		"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n")
	msg, err := mailscore.NewMessage(mailscore.Envelope{}, raw, mailscore.Limits{})
	if err != nil {
		panic(err)
	}
	v := engine.Score(context.Background(), msg)
	d, _ := v.Dominant()
	fmt.Println(v.Action, d.Symbol)
	// Output:
	// reject GTUBE
}

func ExampleChecker_Learn() {
	checker, err := content.New(content.Options{MinLearned: 20})
	if err != nil {
		panic(err)
	}
	engine, err := mailscore.NewEngine(mailscore.EngineOptions{}, checker)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	message := func(subject, body string) *mailscore.Message {
		m, err := mailscore.NewMessage(mailscore.Envelope{}, []byte("Subject: "+subject+"\r\n\r\n"+body+"\r\n"), mailscore.Limits{})
		if err != nil {
			panic(err)
		}
		return m
	}
	for i := 0; i < 20; i++ {
		// Engine.Learn hands the label to every check that learns.
		_ = engine.Learn(ctx, message("Cheap meds", fmt.Sprintf("buy cheap meds online, offer %d", i)), mailscore.Spam)
		_ = engine.Learn(ctx, message("Minutes", fmt.Sprintf("minutes of meeting %d attached", i)), mailscore.Ham)
	}
	sigs, _ := checker.Check(ctx, message("meds", "cheap meds, buy online"), nil)
	for _, s := range sigs {
		if s.Symbol == content.SymBayes {
			fmt.Printf("%s value %.2f confidence %.2f\n", s.Symbol, s.Value, s.Confidence)
		}
	}

	// Keep what it learned, and load it into a fresh checker.
	path := filepath.Join(os.TempDir(), "content-example.snap")
	defer os.Remove(path)
	if err := checker.SaveFile(path); err != nil {
		panic(err)
	}
	fresh, _ := content.New(content.Options{})
	fmt.Println(fresh.LoadFile(path))
	// Output:
	// BAYES value 1.00 confidence 1.00
	// <nil>
}

func ExampleChecker_Check() {
	checker, err := content.New(content.Options{})
	if err != nil {
		panic(err)
	}
	raw := []byte("From: Bank <alerts@bank.example>\r\nSubject: Verify your account\r\n" +
		"Date: Tue, 3 Sep 2024 10:00:00 +0000\r\nMessage-ID: <2@bank.example>\r\n" +
		"Content-Type: text/html; charset=utf-8\r\n\r\n" +
		`<p>Please log in at <a href="http://198.51.100.7/login">www.paypal.com</a></p>` + "\r\n")
	msg, err := mailscore.NewMessage(mailscore.Envelope{}, raw, mailscore.Limits{})
	if err != nil {
		panic(err)
	}
	sigs, err := checker.Check(context.Background(), msg, nil)
	if err != nil {
		panic(err)
	}
	for _, s := range sigs {
		if s.Confidence > 0 {
			fmt.Printf("%s %.2f\n", s.Symbol, s.Value)
		}
	}
	// Output:
	// HTML_LINK_MISMATCH 0.60
	// HTML_ONLY 1.00
}
