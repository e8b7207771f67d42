package main

import (
	"context"
	"fmt"

	"time"

	"timap/connectors/files"
	"timap/connectors/taxii"
	"timap/engine"
)

// pullTAXII pulls every source of a TAXII sources file once (from each
// source's lookback: a batch run keeps no checkpoint, since its store starts
// empty) and counts the result into rep. A source that fails is a problem
// that fails the run, as an unreadable indicator file does.
func pullTAXII(path string, now time.Time, rep *files.IndicatorReport, add func([]*engine.Indicator)) {
	fail := func(err error) {
		rep.SourceErrors++
		rep.NamedUnreadable++
		rep.Rejected["taxii-error"]++
		rep.Problems = append(rep.Problems, files.Problem{Reason: "taxii-error", Message: err.Error()})
	}
	srcs, err := taxii.LoadSources(path)
	if err != nil {
		fail(err)
		return
	}
	p := &taxii.Poller{
		Client:  taxii.NewClient(taxii.Options{Now: func() time.Time { return now }}),
		Sources: srcs,
		Handle:  add,
		Report: func(src taxii.Source, res *taxii.PullResult, err error) {
			if res != nil {
				rep.Indicators += len(res.Indicators)
				rep.Unsupported += res.Unsupported
				rep.Partial += res.Partial
				for t, n := range res.PerType {
					rep.Observables[t] += n
				}
				for r, n := range res.PerReason {
					rep.Rejected[r] += n
				}
				for _, p := range res.Problems {
					rep.Problems = append(rep.Problems, files.Problem{Reason: p.Reason, Message: fmt.Sprintf("taxii %q: %v", src.Name, p.Error())})
				}
				rep.Sources = append(rep.Sources, fmt.Sprintf("taxii %q: %d indicators from %d pages", src.Name, len(res.Indicators), res.Pages))
			}
			if err != nil {
				fail(fmt.Errorf("taxii %q: %w", src.Name, err))
			}
		},
	}
	if err := p.PollOnce(context.Background()); err != nil && rep.NamedUnreadable == 0 {
		fail(err)
	}
}
