package pricing

import (
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/pkoukk/tiktoken-go"
	tiktokenloader "github.com/pkoukk/tiktoken-go-loader"

	"github.com/unitcost/unitcost/pipeline"
)

// Tokenizer counts tokens of captured message content when a span reports no usage. The
// BPE tables are compiled into the binary (tiktoken-go's offline loader): nothing is
// downloaded at run time. OpenAI's o200k_base encoding is used for the GPT-4o/4.1/5 and
// o-series families, cl100k_base for everything else - exact for OpenAI models, an
// approximation (within a few percent on English text) for other providers' tokenizers.
// Every estimated line is marked usage_estimated. Safe for concurrent use.
type Tokenizer struct {
	once sync.Once
	err  error
	o200 *tiktoken.Tiktoken
	cl   *tiktoken.Tiktoken

	counts countMemo
}

func (t *Tokenizer) load() error {
	t.once.Do(func() {
		e := loadEncodings()
		t.o200, t.cl, t.err = e.o200, e.cl, e.err
	})
	return t.err
}

// encodings are the two offline BPE tables, loaded once per process: tiktoken-go keeps
// its loader in a package variable (SetBpeLoader), so setting it from each Tokenizer
// raced when two were used at once (a test and a processor, or two processors).
type encodings struct {
	o200, cl *tiktoken.Tiktoken
	err      error
}

var loadEncodings = sync.OnceValue(func() encodings {
	var e encodings
	tiktoken.SetBpeLoader(tiktokenloader.NewOfflineLoader())
	if e.o200, e.err = tiktoken.GetEncoding(tiktoken.MODEL_O200K_BASE); e.err != nil {
		e.err = fmt.Errorf("load o200k_base: %w", e.err)
		return e
	}
	if e.cl, e.err = tiktoken.GetEncoding(tiktoken.MODEL_CL100K_BASE); e.err != nil {
		e.err = fmt.Errorf("load cl100k_base: %w", e.err)
	}
	return e
})

// Encoding names the encoding used for model.
func Encoding(model string) string {
	m := strings.ToLower(model)
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	for _, p := range []string{"gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o"} {
		if strings.HasPrefix(m, p) {
			return tiktoken.MODEL_O200K_BASE
		}
	}
	return tiktoken.MODEL_CL100K_BASE
}

// Count returns the number of tokens of the pieces under model's encoding. Pieces are
// counted one by one and summed, so the figure does not depend on attribute order.
func (t *Tokenizer) Count(model string, pieces []string) (uint64, error) {
	if err := t.load(); err != nil {
		return 0, err
	}
	enc, which := t.cl, uint8(0)
	if Encoding(model) == tiktoken.MODEL_O200K_BASE {
		enc, which = t.o200, 1
	}
	var n uint64
	encode := func(s string) uint64 { return uint64(len(enc.EncodeOrdinary(s))) }
	for _, p := range pieces {
		splitRuns(p, func(seg string) { n += t.counts.count(which, seg, encode) })
	}
	return n, nil
}

// maxRun is the longest run of non-space (or of space) bytes encoded whole. tiktoken-go's
// pre-tokenizing regular expression and its byte-pair merge slow down more than linearly
// on one long run: 10 KB of letters without a space took 0.24-1.8 s, 160 KB 90 s - a
// stage's worth of CPU from one hostile captured prompt. No real token is anywhere near
// this long, so text whose runs are shorter is counted exactly as before; a longer run is
// counted in maxRun-byte pieces (its count moves by well under 1%).
const maxRun = 256

// splitRuns calls f with s cut inside every run of maxRun same-class bytes (space or
// not), at a UTF-8 boundary; s without such a run is passed whole.
func splitRuns(s string, f func(string)) {
	start, run, space := 0, 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		sp := c == ' ' || c == '\n' || c == '\t' || c == '\r'
		if sp != space {
			space, run = sp, 0
		}
		run++
		if run > maxRun && utf8.RuneStart(c) {
			f(s[start:i])
			start, run = i, 1
		}
	}
	f(s[start:])
}

// Estimate counts a span's captured content: the input's token mix by role (system,
// retrieved context, history, latest user message) whenever input messages were
// captured, and the input or output count when the span reports none (marking the usage
// estimated). It clears the content. It returns whether it filled a missing count.
func (t *Tokenizer) Estimate(sp *pipeline.Span) (bool, error) {
	u := &sp.Usage
	did := false
	if len(sp.InputContent) > 0 {
		var mix pipeline.TokenMix
		for _, p := range sp.InputContent {
			n, err := t.Count(sp.Model, []string{p.Text})
			if err != nil {
				return false, err
			}
			switch p.Role {
			case pipeline.RoleSystem:
				mix.System += n
			case pipeline.RoleContext:
				mix.Context += n
			case pipeline.RoleHistory:
				mix.History += n
			case pipeline.RoleUser:
				mix.User += n
			default:
				mix.Other += n
			}
		}
		u.Mix = mix
		if u.InputTokens == 0 {
			u.InputTokens, did = mix.System+mix.Context+mix.History+mix.User+mix.Other, true
		}
	}
	if u.OutputTokens == 0 && len(sp.OutputContent) > 0 {
		n, err := t.Count(sp.Model, sp.OutputContent)
		if err != nil {
			return false, err
		}
		u.OutputTokens, did = n, true
	}
	sp.InputContent, sp.OutputContent = nil, nil
	if did {
		u.Estimated = true
		if sp.Operation == "" {
			sp.Operation = pipeline.OpChat
		}
	}
	return did, nil
}
