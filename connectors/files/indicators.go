// Package files reads indicators and log events from files and directories
// for the CLI: it picks the format of each file, names every problem by
// file and line (or object id), and keeps going past bad input.
package files

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"timap/connectors/feed"
	"timap/connectors/stix"
	"timap/engine"
)

// IndicatorReport summarises an indicator load.
type IndicatorReport struct {
	// Files is the number of files read, FileErrors those that could not be
	// read as a whole (not STIX, unreadable, an unreadable directory), and
	// NamedUnreadable the FileErrors among files named directly (not found
	// by walking a directory): a run should fail on those.
	Files, FileErrors, NamedUnreadable int
	// Sources describes each remote source pulled (TAXII), one line each,
	// and SourceErrors counts those that failed.
	Sources      []string
	SourceErrors int
	// Indicators is the number of indicators loaded (one per IndicatorId
	// and file), Unsupported those with nothing indexable, Partial those
	// with conditions timap cannot enforce.
	Indicators, Unsupported, Partial int
	// Observables counts admitted observables per type; Rejected counts
	// refused values and objects per reason.
	Observables map[engine.ObservableType]int
	Rejected    map[string]int
	// Problems are the refused values and bad files, each with its
	// message ("path:line: reason: value", "path: object-id: reason:
	// error").
	Problems []Problem
}

// Problem is one refused value, object or file.
type Problem struct {
	Reason, Message string
}

// Formats are the --format values.
var Formats = []string{"auto", "stix", "feed"}

// LoadIndicators loads every file named by paths (a directory is walked
// recursively; dot files and *.md are skipped) and hands each file's
// indicators to add. format is "auto" (STIX for *.json, a flat feed
// otherwise), "stix" or "feed". now is the ingest time. A path that does
// not exist or cannot be read is a problem in the report (NamedUnreadable);
// the error is non-nil only for an unknown format.
func LoadIndicators(paths []string, format string, now time.Time, add func([]*engine.Indicator)) (*IndicatorReport, error) {
	if !slices.Contains(Formats, format) {
		return nil, fmt.Errorf("unknown indicator format %q (want %s)", format, strings.Join(Formats, ", "))
	}
	rep := &IndicatorReport{Observables: map[engine.ObservableType]int{}, Rejected: map[string]int{}}
	for _, root := range paths {
		st, err := os.Stat(root)
		if err != nil {
			// Reported and counted; the other paths still load.
			rep.FileErrors++
			rep.NamedUnreadable++
			rep.Rejected["unreadable-file"]++
			rep.Problems = append(rep.Problems, Problem{"unreadable-file", err.Error()})
			continue
		}
		if !st.IsDir() {
			rep.Files++
			if !loadFile(root, format, now, rep, add) {
				rep.NamedUnreadable++
			}
			continue
		}
		files, walkErrs := listFiles(root)
		for _, err := range walkErrs {
			rep.FileErrors++
			rep.Rejected["unreadable-file"]++
			rep.Problems = append(rep.Problems, Problem{"unreadable-file", err.Error()})
		}
		for _, path := range files {
			rep.Files++
			loadFile(path, format, now, rep, add)
		}
	}
	return rep, nil
}

// listFiles walks a directory; unreadable entries are returned as errors
// and skipped, so one locked folder does not hide the rest.
func listFiles(root string) ([]string, []error) {
	var files []string
	var errs []error
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, err)
			if d != nil && d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		if strings.HasPrefix(name, ".") && p != root {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && !strings.EqualFold(filepath.Ext(name), ".md") {
			files = append(files, p)
		}
		return nil
	})
	return files, errs
}

// loadFile loads one file into rep; false when the file could not be read
// as a whole.
func loadFile(path, format string, now time.Time, rep *IndicatorReport, add func([]*engine.Indicator)) bool {
	if format == "auto" {
		format = "feed"
		if strings.EqualFold(filepath.Ext(path), ".json") {
			format = "stix"
		}
	}
	fail := func(err error) {
		rep.FileErrors++
		rep.Rejected["unreadable-file"]++
		rep.Problems = append(rep.Problems, Problem{"unreadable-file", err.Error()})
	}
	if format == "stix" {
		res, err := stix.LoadFile(path, stix.Options{SourceSystem: sourceName(path), Now: now, Name: path})
		if err != nil {
			fail(err)
			return false
		}
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
			rep.Problems = append(rep.Problems, Problem{p.Reason, path + ": " + p.Error()})
		}
		add(res.Indicators)
		return true
	}
	// The ids of a feed's indicators are seeded with its path, so two
	// files with the same name in different folders stay distinct.
	res, err := feed.LoadFile(path, feed.Options{SourceSystem: sourceName(path), Namespace: filepath.ToSlash(filepath.Clean(path)), Now: now, Name: path})
	if err != nil {
		fail(err)
		return false
	}
	rep.Indicators += len(res.Indicators)
	for t, n := range res.PerType {
		rep.Observables[t] += n
	}
	for r, n := range res.PerReason {
		rep.Rejected[r] += n
	}
	for _, p := range res.Rejected {
		rep.Problems = append(rep.Problems, Problem{p.Reason, p.Error()})
	}
	add(res.Indicators)
	return true
}

// sourceName is a file's SourceSystem: its base name without extension.
func sourceName(path string) string {
	base := filepath.Base(path)
	return strings.TrimSuffix(base, filepath.Ext(base))
}
