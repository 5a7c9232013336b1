// Package fakeopenai is an OpenAI-compatible HTTP server for tests: the real openai
// clients (Python, JS) and the instrumentation libraries around them talk to it as to
// api.openai.com. Its answers are fixed, so every token count - and so every cost - a
// test expects is known: see the Usage* values.
package fakeopenai

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
)

// Models the server answers as (dated ids, as the real API returns them).
const (
	ChatModel      = "gpt-4o-mini-2024-07-18"
	EmbeddingModel = "text-embedding-3-small"
)

// Usage of each kind of answer.
type Usage struct {
	Prompt, Completion, Cached int
}

// Fixed usage per answer.
var (
	// UsageChat answers a plain chat completion: 1000 of its 1200 prompt tokens cached.
	UsageChat = Usage{Prompt: 1200, Completion: 300, Cached: 1000}
	// UsageStream is reported in the last chunk of a stream (stream_options.include_usage).
	UsageStream = Usage{Prompt: 800, Completion: 100}
	// UsageToolCall answers a request with tools and no tool result yet: a tool call.
	UsageToolCall = Usage{Prompt: 500, Completion: 20}
	// UsageToolResult answers the request that carries the tool's result.
	UsageToolResult = Usage{Prompt: 700, Completion: 50}
	// UsageEmbeddings answers an embeddings request.
	UsageEmbeddings = Usage{Prompt: 42}
)

// Server is a running fake.
type Server struct {
	*httptest.Server
	Requests atomic.Int64
}

// New starts a server on a free loopback port; BaseURL is what clients use.
func New() *Server {
	s := &Server{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	mux.HandleFunc("POST /v1/embeddings", s.embeddings)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":{"message":"not implemented by the fake"}}`, http.StatusNotFound)
	})
	s.Server = httptest.NewServer(mux)
	return s
}

// BaseURL is the openai client's base_url.
func (s *Server) BaseURL() string { return s.URL + "/v1" }

type chatRequest struct {
	Model    string `json:"model"`
	Stream   bool   `json:"stream"`
	Messages []struct {
		Role string `json:"role"`
	} `json:"messages"`
	Tools         []json.RawMessage `json:"tools"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

func usageJSON(u Usage) map[string]any {
	return map[string]any{
		"prompt_tokens": u.Prompt, "completion_tokens": u.Completion, "total_tokens": u.Prompt + u.Completion,
		"prompt_tokens_details":     map[string]any{"cached_tokens": u.Cached, "audio_tokens": 0},
		"completion_tokens_details": map[string]any{"reasoning_tokens": 0, "audio_tokens": 0},
	}
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	s.Requests.Add(1)
	body, _ := io.ReadAll(r.Body)
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
		return
	}
	hasToolResult := false
	for _, m := range req.Messages {
		if m.Role == "tool" {
			hasToolResult = true
		}
	}
	id := fmt.Sprintf("chatcmpl-%d", s.Requests.Load())
	if req.Stream {
		s.stream(w, id, req.StreamOptions != nil && req.StreamOptions.IncludeUsage)
		return
	}
	msg := map[string]any{"role": "assistant", "content": "Paris."}
	finish, u := "stop", UsageChat
	switch {
	case len(req.Tools) > 0 && !hasToolResult:
		msg = map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{
			"id": "call_1", "type": "function", "function": map[string]any{"name": "get_weather", "arguments": `{"city":"Paris"}`}}}}
		finish, u = "tool_calls", UsageToolCall
	case hasToolResult:
		msg["content"] = "It is sunny in Paris."
		u = UsageToolResult
	}
	writeJSON(w, map[string]any{
		"id": id, "object": "chat.completion", "created": 1_700_000_000, "model": ChatModel, "system_fingerprint": "fp_fake",
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish, "logprobs": nil}},
		"usage":   usageJSON(u), "service_tier": "default",
	})
}

func (s *Server) stream(w http.ResponseWriter, id string, includeUsage bool) {
	w.Header().Set("Content-Type", "text/event-stream")
	chunk := func(delta map[string]any, finish any, usage any) {
		c := map[string]any{"id": id, "object": "chat.completion.chunk", "created": 1_700_000_000, "model": ChatModel,
			"system_fingerprint": "fp_fake", "choices": []any{}}
		if delta != nil {
			c["choices"] = []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": nil}}
		}
		if usage != nil {
			c["usage"] = usage
		}
		b, _ := json.Marshal(c)
		fmt.Fprintf(w, "data: %s\n\n", b)
	}
	chunk(map[string]any{"role": "assistant", "content": ""}, nil, nil)
	for _, part := range strings.SplitAfter("Three days in Rome, then Florence.", " ") {
		chunk(map[string]any{"content": part}, nil, nil)
	}
	chunk(map[string]any{}, "stop", nil)
	if includeUsage {
		chunk(nil, nil, usageJSON(UsageStream))
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
}

func (s *Server) embeddings(w http.ResponseWriter, r *http.Request) {
	s.Requests.Add(1)
	io.Copy(io.Discard, r.Body)
	writeJSON(w, map[string]any{
		"object": "list", "model": EmbeddingModel,
		"data":  []any{map[string]any{"object": "embedding", "index": 0, "embedding": []float64{0.1, 0.2, 0.3}}},
		"usage": map[string]any{"prompt_tokens": UsageEmbeddings.Prompt, "total_tokens": UsageEmbeddings.Prompt},
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
