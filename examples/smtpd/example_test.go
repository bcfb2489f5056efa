package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"

	"github.com/mailscore/mailscore/examples/internal/wiring"
)

// ExampleServer runs the server on a loopback port and sends it two
// messages: a normal one, accepted and delivered to the Maildir, and the
// GTUBE test message, refused with the dominant factor's reason.
func ExampleServer() {
	dir, _ := os.MkdirTemp("", "maildir")
	defer os.RemoveAll(dir)
	cfg := wiring.Config{Offline: true, AuthservID: "mx.example"}
	setup, err := wiring.New(&cfg, nil)
	if err != nil {
		panic(err)
	}
	srv, err := NewServer(Options{Setup: setup, Maildir: dir, Hostname: "mx.example"})
	if err != nil {
		panic(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, ln) }()

	err = smtp.SendMail(ln.Addr().String(), nil, "alice@example.org", []string{"bob@example.com"},
		[]byte("From: alice@example.org\r\nSubject: lunch\r\n\r\nNoon at the usual place?\r\n"))
	fmt.Println("normal message:", err)
	err = smtp.SendMail(ln.Addr().String(), nil, "spam@example.net", []string{"bob@example.com"},
		[]byte("Subject: test\r\n\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n"))
	var perr *textproto.Error
	if errors.As(err, &perr) {
		fmt.Println("GTUBE:", perr.Code, perr.Msg[:5], strings.Contains(perr.Msg, "): GTUBE: "))
	}

	cancel()
	<-done
	files, _ := filepath.Glob(filepath.Join(dir, "new", "*"))
	b, _ := os.ReadFile(files[0])
	head, _, _ := strings.Cut(strings.ReplaceAll(string(b), "\r\n ", " "), "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n") {
		name, value, _ := strings.Cut(line, ": ")
		switch name {
		case "X-Mailscore":
			_, action, _ := strings.Cut(value, "action=")
			action, _, _ = strings.Cut(action, ";")
			fmt.Println(name, "action="+action)
		case "Authentication-Results", "Received":
			id, _, _ := strings.Cut(value, ";")
			fmt.Println(name, strings.Fields(id)[0])
		}
	}
	// Output:
	// normal message: <nil>
	// GTUBE: 550 5.7.1 true
	// X-Mailscore action=accept
	// Authentication-Results mx.example
	// Received from
}
