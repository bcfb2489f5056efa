package authres_test

import (
	"fmt"
	"strings"

	"github.com/mailscore/mailscore/auth/authres"
)

func Example() {
	h := authres.Header{AuthServID: "mx.example.org", Results: []authres.Result{
		authres.SPF("pass", "bounce@example.com", ""),
		authres.DKIM("pass", "", "example.com", "", "s1", "ed25519-sha256", ""),
		authres.DMARC("pass", "example.com", "none"),
		authres.IPRev("pass", "192.0.2.25", "mail.example.com"),
	}}
	fmt.Println(h.String())
	fmt.Print(strings.ReplaceAll(h.Field(), "\r\n", "\n")) // the field ends in CRLF

	parsed, err := authres.Parse("mx.example.org; dmarc=fail (p=reject) header.from=example.com policy.dmarc=reject")
	if err != nil {
		panic(err)
	}
	d := parsed.Find("dmarc")[0]
	fmt.Println(d.Value, d.Get("header", "from"), d.Get("policy", "dmarc"), d.Comment)
	// Output:
	// mx.example.org; spf=pass smtp.mailfrom=bounce@example.com; dkim=pass header.d=example.com header.s=s1 header.a=ed25519-sha256; dmarc=pass header.from=example.com policy.dmarc=none; iprev=pass policy.iprev=192.0.2.25 (mail.example.com)
	// Authentication-Results: mx.example.org;
	// 	spf=pass smtp.mailfrom=bounce@example.com;
	// 	dkim=pass header.d=example.com header.s=s1 header.a=ed25519-sha256;
	// 	dmarc=pass header.from=example.com policy.dmarc=none;
	// 	iprev=pass policy.iprev=192.0.2.25 (mail.example.com)
	// fail example.com reject p=reject
}
