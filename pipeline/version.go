package pipeline

import "context"

type writeVersionKey struct{}

// WithWriteVersion asks the writer to give every row of the write the version v (the
// replacing tables keep the row of the highest version per key). A stage with several
// writes in flight gives each write its version when it starts, in start order, so a
// write retried after a later one still loses to it.
func WithWriteVersion(ctx context.Context, v uint64) context.Context {
	return context.WithValue(ctx, writeVersionKey{}, v)
}

// WriteVersion is the version WithWriteVersion set on ctx, if any.
func WriteVersion(ctx context.Context) (uint64, bool) {
	v, ok := ctx.Value(writeVersionKey{}).(uint64)
	return v, ok
}
