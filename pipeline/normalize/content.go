package normalize

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/unitcost/unitcost/pipeline"
)

// maxContentBytes bounds the captured content kept per span for token estimation.
const maxContentBytes = 1 << 20

// msg is one captured input message before roles are resolved.
type msg struct {
	src  string // attribute (family) it came from
	idx  int    // position in its conversation
	role string // as reported: system, user, assistant, tool...
	text string
}

// content reads captured messages of every family; false when k is none of them.
func (f *fields) content(k string, v *value) bool {
	switch k {
	case "gen_ai.system_instructions":
		f.messages(k, v, "system")
	case "gen_ai.input.messages", "ai.prompt.messages", "ai.prompt":
		f.messages(k, v, "")
	case "gen_ai.output.messages":
		var p jscan
		for _, m := range messagesIn(&p, v.asString(), "") {
			f.piece(&f.outContent, m.text)
		}
	case "input.value":
		f.message(msg{src: k, text: v.asString()})
	case "output.value", "ai.response.text":
		f.piece(&f.outContent, v.asString())
	default:
		src, idx, field, ok := flattened(k)
		if !ok {
			return false
		}
		switch {
		case src == "gen_ai.completion" || src == "llm.output_messages":
			if field == "content" {
				f.piece(&f.outContent, v.asString())
			}
		case field == "role":
			if f.roles == nil {
				f.roles = map[string]string{}
			}
			f.roles[src+"#"+strconv.Itoa(idx)] = strings.ToLower(v.asString())
		default: // content
			f.message(msg{src: src, idx: idx, text: v.asString()})
		}
	}
	return true
}

// messages reads a JSON message list (GenAI semconv, Vercel) or plain text.
func (f *fields) messages(k string, v *value, role string) {
	var p jscan
	for _, m := range messagesIn(&p, v.asString(), role) {
		m.src = k
		f.message(m)
	}
}

func (f *fields) message(m msg) {
	if m.text == "" || !f.room(len(m.text)) {
		return
	}
	f.msgs = append(f.msgs, m)
}

func (f *fields) piece(dst *[]string, s string) {
	if s == "" || !f.room(len(s)) {
		return
	}
	*dst = append(*dst, s)
}

// room accounts n more bytes of captured content, or says (once) that the cap is hit.
func (f *fields) room(n int) bool {
	if f.contentBytes+n > f.maxContent {
		if f.contentBytes <= f.maxContent {
			f.issues = append(f.issues, fmt.Sprintf("captured content above %d bytes ignored; estimated tokens are a lower bound", f.maxContent))
			f.contentBytes = f.maxContent + 1
		}
		return false
	}
	f.contentBytes += n
	return true
}

// inputRoles maps reported message roles onto the token mix's roles (the latest user
// message is resolved separately).
var inputRoles = map[string]pipeline.Role{
	"system": pipeline.RoleSystem, "developer": pipeline.RoleSystem,
	"tool": pipeline.RoleContext, "function": pipeline.RoleContext, "ipython": pipeline.RoleContext,
	"document": pipeline.RoleContext, "retrieval": pipeline.RoleContext, "context": pipeline.RoleContext,
	"user": pipeline.RoleUser, "human": pipeline.RoleUser,
	"assistant": pipeline.RoleHistory, "model": pipeline.RoleHistory, "ai": pipeline.RoleHistory,
}

// pieces resolves roles: system instructions; tool, function and document messages are
// retrieved context; the last user message of each conversation is the user's; every
// other turn is history; text of unknown role stays unknown.
func (f *fields) pieces() []pipeline.Piece {
	lastUser := map[string]int{}
	role := func(m msg) pipeline.Role {
		r := m.role
		if r == "" {
			r = f.roles[m.src+"#"+strconv.Itoa(m.idx)]
		}
		return inputRoles[r]
	}
	for _, m := range f.msgs {
		if role(m) == pipeline.RoleUser {
			if cur, ok := lastUser[m.src]; !ok || m.idx > cur {
				lastUser[m.src] = m.idx
			}
		}
	}
	out := make([]pipeline.Piece, len(f.msgs))
	for i, m := range f.msgs {
		r := role(m)
		if r == pipeline.RoleUser && m.idx != lastUser[m.src] {
			r = pipeline.RoleHistory
		}
		out[i] = pipeline.Piece{Role: r, Text: m.text}
	}
	return out
}

// flattened splits OpenLLMetry (<= 0.4) and OpenInference flattened message keys:
// gen_ai.prompt.3.content, gen_ai.completion.0.role, llm.input_messages.2.message.content.
func flattened(k string) (src string, idx int, field string, ok bool) {
	for _, p := range [...]string{"gen_ai.prompt.", "gen_ai.completion.", "llm.input_messages.", "llm.output_messages."} {
		rest, found := strings.CutPrefix(k, p)
		if !found {
			continue
		}
		num, field, found := strings.Cut(rest, ".")
		if !found {
			return "", 0, "", false
		}
		n, err := strconv.Atoi(num)
		if err != nil {
			return "", 0, "", false
		}
		field = strings.TrimPrefix(field, "message.")
		if field != "content" && field != "role" {
			return "", 0, "", false
		}
		return strings.TrimSuffix(p, "."), n, field, true
	}
	return "", 0, "", false
}

// langfuseUsage reads Langfuse's usage_details JSON ({"input": n, "output": n, ...}).
func (f *fields) langfuseUsage(s string) {
	u := jsonNumbers(s)
	if u == nil {
		f.issues = append(f.issues, "langfuse.observation.usage_details: not a JSON object of numbers; ignored")
		return
	}
	for _, p := range langfuseUsageKeys {
		for _, k := range p.keys {
			if x, ok := u[k]; ok {
				f.n[p.dst].set(x, rankOther)
				break
			}
		}
	}
}

var langfuseUsageKeys = []struct {
	dst  nKey
	keys []string
}{
	{nInput, []string{"input", "prompt_tokens", "input_tokens"}},
	{nOutput, []string{"output", "completion_tokens", "output_tokens"}},
	{nCacheRead, []string{"cache_read_input_tokens", "input_cached_tokens", "cache_read"}},
	{nCacheWrite, []string{"cache_creation_input_tokens", "cache_write"}},
	{nReasoning, []string{"output_reasoning_tokens", "reasoning_tokens"}},
	{nAudioIn, []string{"input_audio", "input_audio_tokens"}},
	{nAudioOut, []string{"output_audio", "output_audio_tokens"}},
}

// langfuseCost reads Langfuse's cost_details JSON: the total, else the sum of its parts.
func (f *fields) langfuseCost(s string) {
	c := jsonNumbers(s)
	if c == nil {
		f.issues = append(f.issues, "langfuse.observation.cost_details: not a JSON object of numbers; ignored")
		return
	}
	if t, ok := c["total"]; ok {
		f.n[nCost].set(t, rankOther)
		return
	}
	if len(c) == 0 {
		return
	}
	var sum float64
	for _, x := range c {
		sum += x
	}
	f.n[nCost].set(sum, rankOther)
}
