// Package stix loads STIX 2.0 and 2.1 indicator objects (OASIS STIX 2.1
// §4.7 "Indicator", STIX 2.0 Part 2 §3.4) into engine.Indicators.
//
// It accepts a bundle, a TAXII 2.1 envelope ({"objects": […]}), a bare JSON
// array of objects, one object, or an Upload API body ({"sourcesystem": …,
// "stixobjects"|"indicators"|"value": […]}, spec §4.3). Indicator patterns
// are compiled by package pattern; a pattern that yields nothing timap can
// index is kept as unsupported and reported, never widened.
//
// Bad objects are reported with their id (or array index) and skipped; the
// rest of the document still loads.
package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"timap/engine"
)

// Options configure a Load.
type Options struct {
	// SourceSystem is the SourceSystem of the indicators (a TAXII friendly
	// name, a file name). An Upload API body's "sourcesystem" wins.
	SourceSystem string
	// Now is the ingest time (TimeGenerated); zero means time.Now().
	Now time.Time
	// Name names the document in problems, e.g. its path.
	Name string
}

// Problem is one object, or one value of an object, that was not loaded as
// asked.
type Problem struct {
	// ID is the object's id, or "#N" (its index in the document) when it has
	// none.
	ID string
	// Reason is a short stable word for counting: "invalid-object",
	// "unsupported-pattern", "invalid-pattern", "non-routable", …
	Reason string
	Err    error
}

func (p Problem) Error() string {
	var re *engine.RejectError
	id := printableID(p.ID)
	switch {
	case p.Err == nil:
		return fmt.Sprintf("%s: %s", id, p.Reason)
	case errors.As(p.Err, &re):
		return fmt.Sprintf("%s: %v", id, p.Err) // already names the reason
	}
	return fmt.Sprintf("%s: %s: %v", id, p.Reason, p.Err)
}

// printableID quotes an object id that holds anything but printable
// ASCII, so a hostile document cannot drive the reader's terminal.
func printableID(id string) string {
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] >= 0x7f {
			return strconv.QuoteToASCII(id)
		}
	}
	return id
}

// Result is what a Load produced.
type Result struct {
	// Indicators are the indicator objects, one per id (the newest
	// modified wins within the document). An indicator whose pattern yields
	// no indexable observable is kept with no Observables: it then never
	// matches, and newer versions still replace it.
	Indicators []*engine.Indicator
	Problems   []Problem
	// Objects counts the document's objects by STIX type.
	Objects map[string]int
	// PerType counts admitted observables; PerReason counts problems.
	PerType   map[engine.ObservableType]int
	PerReason map[string]int
	// Unsupported counts indicators with no indexable observable, Partial
	// those marked PartiallyEnforced.
	Unsupported, Partial int
}

func (r *Result) problem(id, reason string, err error) {
	r.Problems = append(r.Problems, Problem{ID: id, Reason: reason, Err: err})
	r.PerReason[reason]++
}

// LoadFile loads the STIX document at path.
func LoadFile(path string, opts Options) (*Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if opts.Name == "" {
		opts.Name = path
	}
	return Load(data, opts)
}

// LoadReader reads a whole document from r and loads it.
func LoadReader(r io.Reader, opts Options) (*Result, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return Load(data, opts)
}

// Load loads one JSON document. The error is non-nil only when the document
// as a whole is not one of the accepted shapes; problems with single
// objects are in Result.Problems.
func Load(data []byte, opts Options) (*Result, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now().UTC()
	}
	raws, source, err := objectsOf(data)
	if err != nil {
		if opts.Name != "" {
			return nil, fmt.Errorf("%s: %w", opts.Name, err)
		}
		return nil, err
	}
	if source != "" {
		opts.SourceSystem = source
	}
	res := &Result{Objects: map[string]int{}, PerType: map[engine.ObservableType]int{}, PerReason: map[string]int{}}
	objs := make([]object, 0, len(raws))
	for i, raw := range raws {
		var o object
		if err := json.Unmarshal(raw, &o); err != nil {
			res.problem(idOf(raw, i), "invalid-object", err)
			continue
		}
		res.Objects[o.Type]++
		if o.ID == "" {
			// Every STIX object has an id; without one, versions of an
			// indicator cannot be told apart from other indicators.
			res.problem(fmt.Sprintf("#%d", i), "missing-id", fmt.Errorf("%s object without an id", strconv.QuoteToASCII(o.Type)))
			continue
		}
		objs = append(objs, o)
	}
	ctx := newContext(objs)
	newest := map[string]*engine.Indicator{}
	for i := range objs {
		o := &objs[i]
		if o.Type != "indicator" {
			continue
		}
		ind, ok := convert(o, ctx, opts, res)
		if !ok {
			continue
		}
		if old := newest[ind.IndicatorId]; old != nil && !ind.Modified.After(old.Modified) {
			continue
		}
		newest[ind.IndicatorId] = ind
	}
	for _, ind := range newest {
		res.Indicators = append(res.Indicators, ind)
		if len(ind.Observables) == 0 {
			res.Unsupported++
		}
		if ind.PartiallyEnforced {
			res.Partial++
		}
		for _, o := range ind.Observables {
			res.PerType[o.Type]++
		}
	}
	slices.SortFunc(res.Indicators, func(a, b *engine.Indicator) int { return strings.Compare(a.IndicatorId, b.IndicatorId) })
	return res, nil
}

// objectsOf splits a document into its objects.
func objectsOf(data []byte) ([]json.RawMessage, string, error) {
	data = bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))) // UTF-8 BOM
	if len(data) == 0 {
		return nil, "", fmt.Errorf("empty document")
	}
	if data[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(data, &arr); err != nil {
			return nil, "", fmt.Errorf("not a JSON array of STIX objects: %w", withOffset(data, err))
		}
		return arr, "", nil
	}
	var top struct {
		Type         string            `json:"type"`
		Objects      []json.RawMessage `json:"objects"`
		SourceSystem string            `json:"sourcesystem"`
		StixObjects  []json.RawMessage `json:"stixobjects"`
		Indicators   []json.RawMessage `json:"indicators"`
		Value        []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, "", fmt.Errorf("not a STIX bundle, envelope or object: %w", withOffset(data, err))
	}
	switch {
	case top.Objects != nil || top.Type == "bundle":
		return top.Objects, "", nil
	case top.SourceSystem != "":
		return slices.Concat(top.StixObjects, top.Indicators, top.Value), top.SourceSystem, nil
	case top.Type != "":
		return []json.RawMessage{data}, "", nil
	}
	return nil, "", fmt.Errorf("no STIX objects: want a bundle, an envelope, an array or an object with a type")
}

// withOffset adds the line and column of a JSON syntax error; a truncated
// document is said to be one.
func withOffset(data []byte, err error) error {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return err
	}
	if se.Offset >= int64(len(data)) {
		return fmt.Errorf("truncated at byte %d: %w", len(data), err)
	}
	line := 1 + bytes.Count(data[:se.Offset], []byte("\n"))
	col := se.Offset - int64(bytes.LastIndexByte(data[:se.Offset], '\n'))
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

// idOf recovers an object's id for a problem report when the object as a
// whole did not decode.
func idOf(raw json.RawMessage, i int) string {
	var o struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &o) == nil && o.ID != "" {
		return o.ID
	}
	return fmt.Sprintf("#%d", i)
}
