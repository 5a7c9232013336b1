package stitch

import (
	"reflect"
	"testing"

	"github.com/unitcost/unitcost/pipeline"
)

// The closed-trace memory gives back what was remembered (trace-level assignments, which
// Assign implies, aside), merges later incarnations over earlier ones, keeps tenants apart
// and forgets the least recently used trace past its capacity.
func TestClosedMemory(t *testing.T) {
	t.Parallel()
	c := newClosedLRU(2)
	tid := pipeline.TraceID{0xab, 1}
	a := Key{AuthTenant: "a", TraceID: tid}
	traceWF, subWF := tid.String(), tid.String()+"/0000000000000002"
	c.put(a, map[pipeline.SpanID]string{{1}: traceWF, {2}: subWF, {3}: subWF},
		map[string]Labels{traceWF: {Tenant: "acme", Team: "t1"}, subWF: {Tenant: "acme", Team: "t2", Labels: []pipeline.Label{{Key: "k", Value: "v"}}}})
	assign, labels, ok := c.get(a)
	if !ok || !reflect.DeepEqual(assign, map[pipeline.SpanID]string{{2}: subWF, {3}: subWF}) ||
		!reflect.DeepEqual(labels, map[string]Labels{traceWF: {Tenant: "acme", Team: "t1"}, subWF: {Tenant: "acme", Team: "t2", Labels: []pipeline.Label{{Key: "k", Value: "v"}}}}) {
		t.Fatalf("got %v %v %v", assign, labels, ok)
	}
	if len(c.items[a].assign) != 2 || c.items[a].labels[0].Workflow != "" && c.items[a].labels[1].Workflow != "" {
		t.Fatalf("trace-level entries held in full: %+v", c.items[a])
	}
	// The maps are the caller's: changing them changes nothing remembered.
	assign[pipeline.SpanID{9}] = "x"
	if again, _, _ := c.get(a); len(again) != 2 {
		t.Fatalf("remembered map shared with the caller: %v", again)
	}
	// A later incarnation adds to (and overrides) what was remembered.
	c.put(a, map[pipeline.SpanID]string{{4}: subWF}, map[string]Labels{traceWF: {Tenant: "acme", Team: "t3"}})
	assign, labels, _ = c.get(a)
	if len(assign) != 3 || assign[pipeline.SpanID{4}] != subWF || labels[traceWF].Team != "t3" || labels[subWF].Team != "t2" {
		t.Fatalf("merged: %v %v", assign, labels)
	}
	// Another tenant's trace with the same id is another trace.
	if _, _, ok := c.get(Key{AuthTenant: "b", TraceID: tid}); ok {
		t.Fatal("tenant b sees tenant a's closed trace")
	}
	// Capacity 2: b and then d evict the least recently used.
	b, d := Key{TraceID: pipeline.TraceID{2}}, Key{TraceID: pipeline.TraceID{3}}
	c.put(b, nil, nil)
	c.get(a)
	c.put(d, nil, nil)
	if _, _, ok := c.get(b); ok {
		t.Fatal("least recently used trace kept past capacity")
	}
	if _, _, ok := c.get(a); !ok {
		t.Fatal("recently used trace forgotten")
	}
	if _, l, ok := c.get(d); !ok || l == nil {
		t.Fatalf("trace without labels: %v %v", l, ok)
	}
	if len(c.items) != 2 {
		t.Fatalf("%d traces remembered, capacity 2", len(c.items))
	}
}
