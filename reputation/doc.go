// Package reputation is mailscore's reputation check.
package reputation
