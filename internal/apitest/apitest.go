// Package apitest holds the API's contract in tests: every response that passes through a
// Checker is validated against schemas/openapi.yaml (OpenAPI 3.1, with pb33f's
// libopenapi-validator) - its status, body and headers: each header the response object
// declares is checked against its schema (and must be there when required), and a header
// it does not declare fails the check - and the Checker records which operations and
// statuses were seen, so a suite can require that it exercised every operation.
package apitest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/paths"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"github.com/unitcost/unitcost/schemas"
)

// Checker validates responses against the OpenAPI description.
type Checker struct {
	v, lax validator.Validator
	model  *v3.Document

	mu       sync.Mutex
	seen     map[string]map[int]int // path template -> status -> count
	failures []string
}

// New parses and checks schemas/openapi.yaml; a document that is not valid OpenAPI 3.1
// fails the test.
func New(t testing.TB) *Checker {
	t.Helper()
	doc, err := libopenapi.NewDocument(schemas.OpenAPI)
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if v := doc.GetVersion(); !strings.HasPrefix(v, "3.1") {
		t.Fatalf("openapi.yaml is OpenAPI %s, want 3.1", v)
	}
	m, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("openapi.yaml model: %v", err)
	}
	// Strict: a property a schema does not declare fails even where additionalProperties
	// is not false (the bases of allOf); the labels map is the one open object.
	v, errs := validator.NewValidator(doc, config.WithStrictMode(), config.WithStrictIgnorePaths("$.body.workflow.labels.*"))
	if len(errs) > 0 {
		t.Fatalf("openapi.yaml validator: %v", errs)
	}
	lax, errs := validator.NewValidator(doc) // for the document itself, described as any object
	if len(errs) > 0 {
		t.Fatalf("openapi.yaml validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("openapi.yaml is not valid OpenAPI: %s", e.Error())
		}
		t.FailNow()
	}
	return &Checker{v: v, lax: lax, model: &m.Model, seen: map[string]map[int]int{}}
}

// Check validates one response to req; the body is read from body.
func (c *Checker) Check(req *http.Request, status int, header http.Header, body []byte) error {
	item, errs, tmpl := paths.FindPath(req, c.model, nil)
	if item == nil || operation(item, req.Method) == nil {
		// a path or method the document does not describe: it must be answered with the
		// document's error shape, 404 or 405
		var e map[string]any
		if err := json.Unmarshal(body, &e); err != nil || len(e) != 1 || (status != 404 && status != 405) || !strings.HasPrefix(header.Get("Content-Type"), "application/json") {
			return c.record("", status, fmt.Errorf("%s %s is not in openapi.yaml (%v) and was answered %d %s, want 404 or 405 with {\"error\": ...}", req.Method, req.URL.Path, errs, status, body))
		}
		if _, ok := e["error"].(string); !ok {
			return c.record("", status, fmt.Errorf("%s %s: error body %s", req.Method, req.URL.Path, body))
		}
		// its headers are those of the document's shared error responses
		name := "Error"
		if status == 405 {
			name = "MethodNotAllowed"
		}
		if err := checkHeaders(c.model.Components.Responses.GetOrZero(name), header, true); err != nil {
			return c.record("", status, fmt.Errorf("%s %s -> %d (components/responses/%s): %w", req.Method, req.URL.Path, status, name, err))
		}
		return c.record("", status, nil)
	}
	resp := &http.Response{StatusCode: status, Header: header, Body: io.NopCloser(bytes.NewReader(body)), Request: req}
	v := c.v
	if tmpl == "/api/v1/openapi.json" {
		v = c.lax
	}
	if ok, verrs := v.ValidateHttpResponse(req, resp); !ok {
		var msgs []string
		for _, e := range verrs {
			m := e.Message + ": " + e.Reason
			for _, se := range e.SchemaValidationErrors {
				m += fmt.Sprintf(" [%s at %s]", se.Reason, se.FieldPath)
			}
			msgs = append(msgs, m)
		}
		return c.record(tmpl, status, fmt.Errorf("%s %s -> %d breaks openapi.yaml: %s\nbody: %.600s", req.Method, req.URL.RequestURI(), status,
			strings.Join(msgs, "; "), body))
	}
	if err := checkHeaders(responseOf(operation(item, req.Method), status), header, false); err != nil {
		return c.record(tmpl, status, fmt.Errorf("%s %s -> %d: %w", req.Method, req.URL.RequestURI(), status, err))
	}
	return c.record(tmpl, status, nil)
}

// responseOf is the response object op describes for status, or its default.
func responseOf(op *v3.Operation, status int) *v3.Response {
	if op.Responses == nil {
		return nil
	}
	if r := op.Responses.Codes.GetOrZero(strconv.Itoa(status)); r != nil {
		return r
	}
	return op.Responses.Default
}

// checkHeaders fails a header resp does not declare (the validator's strict mode does so
// only for responses that declare some header; this holds for every response), and, for
// the responses the validator does not see, a required header that is missing or differs
// from its schema's const. Content-Type is described by the content, not as a header.
func checkHeaders(resp *v3.Response, header http.Header, required bool) error {
	if resp == nil {
		return fmt.Errorf("the status is not described")
	}
	declared := map[string]bool{"content-type": true}
	var errs []string
	if resp.Headers != nil {
		for name, h := range resp.Headers.FromOldest() {
			declared[strings.ToLower(name)] = true
			if !required || !h.Required {
				continue
			}
			got, ok := header[http.CanonicalHeaderKey(name)]
			switch {
			case !ok:
				errs = append(errs, "required header "+name+" is missing")
			case h.Schema != nil && h.Schema.Schema() != nil && h.Schema.Schema().Const != nil && got[0] != h.Schema.Schema().Const.Value:
				errs = append(errs, fmt.Sprintf("header %s is %q, want %q", name, got[0], h.Schema.Schema().Const.Value))
			}
		}
	}
	var extra []string
	for name := range header {
		if !declared[strings.ToLower(name)] {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		errs = append(errs, "response headers "+strings.Join(extra, ", ")+" are not described in openapi.yaml")
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func operation(item *v3.PathItem, method string) *v3.Operation {
	switch method {
	case http.MethodGet, http.MethodHead:
		return item.Get
	case http.MethodPost:
		return item.Post
	case http.MethodPut:
		return item.Put
	case http.MethodDelete:
		return item.Delete
	case http.MethodPatch:
		return item.Patch
	}
	return nil
}

func (c *Checker) record(tmpl string, status int, err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tmpl != "" {
		if c.seen[tmpl] == nil {
			c.seen[tmpl] = map[int]int{}
		}
		c.seen[tmpl][status]++
	}
	if err != nil {
		c.failures = append(c.failures, err.Error())
	}
	return err
}

// Middleware validates every response of next to a request under /api/v1/ and keeps the
// failures for Verify (handlers run on the server's goroutines, so it cannot fail the test
// itself).
func (c *Checker) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/v1/") {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		c.Check(r, rec.Code, rec.Header(), body)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(body)
	})
}

// Verify fails t with every recorded failure.
func (c *Checker) Verify(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.failures {
		t.Error(f)
	}
}

// RequireAllOperations fails t unless every GET operation of the document, but those
// under the paths in except, was answered with status at least once.
func (c *Checker) RequireAllOperations(t testing.TB, status int, except ...string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var missing []string
	for p, item := range c.model.Paths.PathItems.FromOldest() {
		skip := false
		for _, e := range except {
			skip = skip || p == e || strings.HasPrefix(p, e+"/")
		}
		if !skip && item.Get != nil && c.seen[p][status] == 0 {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("no %d response validated for: %s", status, strings.Join(missing, ", "))
	}
}

// Require fails t unless each of paths was answered with status at least once.
func (c *Checker) Require(t testing.TB, status int, paths ...string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range paths {
		if c.seen[p][status] == 0 {
			t.Errorf("no %d response validated for %s", status, p)
		}
	}
}

// Statuses returns the statuses seen per path template (for messages).
func (c *Checker) Statuses() map[string][]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string][]int{}
	for p, m := range c.seen {
		for s := range m {
			out[p] = append(out[p], s)
		}
		sort.Ints(out[p])
	}
	return out
}
