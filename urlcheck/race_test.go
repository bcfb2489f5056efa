//go:build race

package urlcheck

// raceEnabled lets the large corpus tests sample under the race detector.
const raceEnabled = true
