// Package testdata finds the project's shared test data: public conformance
// suites and corpora that live beside the project, never inside it.
//
// The folder is named by the environment variable MAILSCORE_TESTDATA and
// defaults to ../shared/testdata relative to the module root. Tests that need
// it call Dir, which skips the test with a message naming the variable when
// the folder (or the requested part of it) is missing.
//
//	dir := testdata.Dir(t, "spf")
package testdata

import (
	"os"
	"path/filepath"
	"testing"
)

// EnvVar names the environment variable that points at the shared test data.
const EnvVar = "MAILSCORE_TESTDATA"

// Root returns the shared test data folder and whether it exists.
func Root() (string, bool) {
	dir := os.Getenv(EnvVar)
	if dir == "" {
		root, ok := moduleRoot()
		if !ok {
			return "", false
		}
		dir = filepath.Join(root, "..", "shared", "testdata")
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return dir, false
	}
	return dir, true
}

// moduleRoot walks up from the working directory to the folder holding go.mod.
func moduleRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// Dir returns the shared test data folder joined with parts, skipping the
// test when it does not exist.
func Dir(tb testing.TB, parts ...string) string {
	tb.Helper()
	root, ok := Root()
	if !ok {
		tb.Skipf("shared test data not found at %q: set %s to the testdata folder", root, EnvVar)
	}
	p := filepath.Join(append([]string{root}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("shared test data %q not found (%v): set %s to the testdata folder", p, err, EnvVar)
	}
	return p
}

// File is Dir for a single file.
func File(tb testing.TB, parts ...string) string {
	tb.Helper()
	return Dir(tb, parts...)
}
