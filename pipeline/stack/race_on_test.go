//go:build race

package stack_test

// raceEnabled skips the long fault suites in the race-detector pass of `make test`: they
// run once, in the plain pass, and the race pass covers the same code with shorter tests.
const raceEnabled = true
