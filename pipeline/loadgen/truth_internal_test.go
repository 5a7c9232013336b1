package loadgen

import "testing"

// The ground truth's own arithmetic against figures computed by hand.
func TestTruthArithmetic(t *testing.T) {
	t.Parallel()
	// 2000 uncached*3 + 6000 read*0.30 + 2000 write*3.75 + 500 out*15 = 22800 $/M tokens
	if got := modelCost("claude-sonnet-4-5", 10000, 6000, 2000, 500); got != 22_800_000 {
		t.Errorf("claude = %d", got)
	}
	// 256 cached*0.005 + 744*0.05 + 30*0.40 = 1.28 + 37.2 + 12 = 50.48 $/M -> 50,480 nano
	if got := modelCost("gpt-5-nano", 1000, 256, 0, 30); got != 50_480 {
		t.Errorf("gpt-5-nano = %d", got)
	}
	// one gpu.l4 second: 0.80/3600 $ = 222,222.2 nano -> 222,222
	if got := hourlyCost(computeRates["gpu.l4"], 1000); got != 222_222 {
		t.Errorf("gpu second = %d", got)
	}
	// 150 s of an analyst at $60/h = $2.50
	if got := hourlyCost(reviewRates["analyst"], 150_000); got != 2_500_000_000 {
		t.Errorf("review = %d", got)
	}
	// 1 token of text-embedding-3-small at 0.02 $/M = 20 nano exactly
	if got := modelCost("text-embedding-3-small", 1, 0, 0, 0); got != 20 {
		t.Errorf("embedding = %d", got)
	}
}
