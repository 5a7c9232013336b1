package pricing

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/unitcost/unitcost/pipeline"
)

// Books is an effective-dated series of price-book versions. A span is priced by the
// version in effect when it started, so history keeps the prices it was billed at and a
// new version applies from its effective date on.
type Books struct {
	versions []*Book // by EffectiveFrom ascending
}

// ParseBooks reads one or more versions from a YAML stream (documents separated by
// "---"). With more than one version every version needs effective_from, and versions
// and dates must be unique.
func ParseBooks(b []byte) (*Books, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var out Books
	var errs []error
	for n := 0; ; n++ {
		var bk Book
		err := dec.Decode(&bk)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse price book document %d: %w", n+1, err)
		}
		if err := bk.index(); err != nil {
			errs = append(errs, fmt.Errorf("price book %q: %w", bk.Version, err))
			continue
		}
		out.versions = append(out.versions, &bk)
	}
	if len(out.versions) == 0 && len(errs) == 0 {
		return nil, errors.New("price book: no version in the file")
	}
	seen := map[string]bool{}
	dates := map[time.Time]string{}
	for _, v := range out.versions {
		if seen[v.Version] {
			errs = append(errs, fmt.Errorf("price book version %q appears twice", v.Version))
		}
		seen[v.Version] = true
		if len(out.versions) > 1 {
			if v.EffectiveFrom == "" {
				errs = append(errs, fmt.Errorf("price book %q: effective_from is required when a file holds several versions", v.Version))
			} else if other, dup := dates[v.effective]; dup {
				errs = append(errs, fmt.Errorf("price books %q and %q take effect on the same day", other, v.Version))
			}
			dates[v.effective] = v.Version
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sort.Slice(out.versions, func(i, j int) bool { return out.versions[i].effective.Before(out.versions[j].effective) })
	return &out, nil
}

// Single wraps one book as a series.
func Single(b *Book) *Books { return &Books{versions: []*Book{b}} }

// At returns the version in effect at t: the latest whose effective date is not after t,
// or the earliest version for spans older than every version.
func (bs *Books) At(t time.Time) *Book {
	cur := bs.versions[0]
	for _, v := range bs.versions[1:] {
		if v.effective.After(t) {
			break
		}
		cur = v
	}
	return cur
}

// Versions lists the versions, oldest first.
func (bs *Books) Versions() []*Book { return bs.versions }

// Price prices a span with the version in effect when it started.
func (bs *Books) Price(dst []pipeline.LineItem, sp *pipeline.Span, workflowID string) []pipeline.LineItem {
	return bs.At(time.Unix(0, sp.StartUnixNano).UTC()).Price(dst, sp, workflowID)
}
