//go:build !race

package urlcheck

const raceEnabled = false
