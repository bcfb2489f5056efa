package main

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// swaks runs Debian's swaks (the Swiss Army Knife for SMTP) against addr
// and returns its transcript and exit code.
func swaks(t *testing.T, addr string, args ...string) (string, int) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args = append([]string{"--server", host, "--port", port, "--timeout", "20"}, args...)
	out, err := exec.CommandContext(ctx, "swaks", args...).CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err, string(out))
	}
	require.NoError(t, ctx.Err(), "swaks timed out:\n%s", out)
	return string(out), code
}

// TestSwaksInterop sends mail with a real SMTP client, swaks: GTUBE is
// refused with 550, a normal message is accepted (pipelined) and
// delivered with the scoring fields, and STARTTLS works when swaks has
// its TLS module.
func TestSwaksInterop(t *testing.T) {
	if _, err := exec.LookPath("swaks"); err != nil {
		t.Skip("swaks is not installed (Debian package swaks): skipping the SMTP interop test")
	}
	certFile, keyFile, _ := selfSigned(t, t.TempDir())
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	require.NoError(t, err)
	ts := startServer(t, func(o *Options) { o.TLS = &tls.Config{Certificates: []tls.Certificate{cert}} })
	testdata := filepath.Join("..", "testdata")

	out, code := swaks(t, ts.addr, "--helo", "swaks.example", "--from", "promo@deals.example.net", "--to", "alex@example.com",
		"--data", filepath.Join(testdata, "gtube.eml"))
	require.NotZero(t, code, out)
	require.Contains(t, out, "<** 550 5.7.1 Message rejected as spam (score 100.00): GTUBE: ", out)
	require.Empty(t, ts.delivered(t))

	out, code = swaks(t, ts.addr, "--pipeline", "--helo", "swaks.example", "--from", "news@club.example.org", "--to", "alex@example.com",
		"--data", filepath.Join(testdata, "ham-newsletter.eml"))
	require.Zero(t, code, out)
	require.Contains(t, out, "<-  250-PIPELINING")
	require.Contains(t, out, "<-  250 2.0.0 Ok: queued as ", out)
	files := ts.delivered(t)
	require.Len(t, files, 1)
	h := header(files[0])
	require.Contains(t, h, "X-Mailscore: score=0.00; action=accept;")
	require.Contains(t, h, "Authentication-Results: "+authservID+"; spf=temperror")
	require.Contains(t, h, "smtp.mailfrom=news@club.example.org")
	require.Contains(t, h, "Received: from swaks.example ([127.0.0.1]) by "+authservID+" (mailscore-smtpd) with ESMTP id ")
	require.Contains(t, files[0], "\r\n\r\nHello Alex,\r\n", "swaks sent the file with CRLF line breaks, stored as sent")

	if err := exec.Command("perl", "-MNet::SSLeay", "-e", "1").Run(); err != nil {
		t.Log("swaks has no TLS module (Debian package libnet-ssleay-perl): STARTTLS not tried")
		return
	}
	out, code = swaks(t, ts.addr, "--tls", "--helo", "swaks.example", "--from", "a@example.org", "--to", "alex@example.com",
		"--header", "Subject: over TLS", "--body", "hello over TLS")
	require.Zero(t, code, out)
	require.Contains(t, out, "<~  250 2.0.0 Ok: queued as ", out)
	files = ts.delivered(t)
	require.Len(t, files, 2)
	n := 0
	for _, f := range files {
		if strings.Contains(header(f), "(mailscore-smtpd) with ESMTPS id") {
			n++
		}
	}
	require.Equal(t, 1, n)
}
