package report

// DivRound gives the external tests the rounding the daily alert band uses, so their
// expected figures round the same way.
var DivRound = divRound
