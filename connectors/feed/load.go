package feed

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"timap/engine"
)

// columns is the ThreatIntelligenceIndicator column of each type's values;
// engine.NewObservable turns NetworkIP into NetworkCidrBlock for ranges.
var columns = [...]string{
	engine.TypeIP:       "NetworkIP",
	engine.TypeDomain:   "DomainName",
	engine.TypeURL:      "Url",
	engine.TypeEmail:    "EmailSenderAddress",
	engine.TypeFileHash: "FileHashValue",
}

// LoadFile opens path and loads it with Load; opts.Name defaults to path.
func LoadFile(path string, opts Options) (*Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if opts.Name == "" {
		opts.Name = path
	}
	return Load(f, opts)
}

// Load reads a flat feed from r (format: package documentation) and returns
// its indicators, rejected lines and counts. Bad lines never stop the load:
// each is listed in Result.Rejected and counted by reason. The error is
// only a read error of r, wrapped with Name and line number; the Result
// then holds what was loaded before it.
func Load(r io.Reader, opts Options) (*Result, error) {
	l := newLoader(opts)
	lr := newLineReader(r)
	for {
		line, tooLong, err := lr.next()
		if errors.Is(err, io.EOF) {
			return l.res, nil
		}
		if err != nil {
			if l.name == "" {
				return l.res, fmt.Errorf("line %d: %w", l.res.Lines+1, err)
			}
			return l.res, fmt.Errorf("%s:%d: %w", l.name, l.res.Lines+1, err)
		}
		l.line(line, tooLong)
	}
}

// loader is the state of one Load.
type loader struct {
	name, source, threat string
	namespace            string   // seeds IndicatorIds
	tags                 []string // opts.Tags, copied, capacity = length
	now, expires         time.Time

	res   *Result
	desc  describer
	seen  map[[16]byte]*engine.Indicator // by the UUID of IndicatorId
	idBuf []byte
	// Slabs cut allocations: indicators and their one-observable slices
	// are carved from blocks.
	inds []engine.Indicator
	obs  []engine.Observable
}

func newLoader(opts Options) *loader {
	l := &loader{
		name:   opts.Name,
		source: opts.SourceSystem,
		threat: opts.ThreatType,

		now: opts.Now,
		res: &Result{
			PerType:   map[engine.ObservableType]int{},
			PerReason: map[string]int{},
		},
		seen: map[[16]byte]*engine.Indicator{},
	}
	if l.source == "" {
		l.source = "feed"
		if base := filepath.Base(opts.Name); opts.Name != "" && base != "." && base != string(filepath.Separator) {
			l.source = strings.TrimSuffix(base, filepath.Ext(base))
		}
	}
	l.res.SourceSystem = l.source
	l.namespace = opts.Namespace
	if l.namespace == "" {
		l.namespace = l.source
	}
	if l.now.IsZero() {
		l.now = time.Now()
	}
	l.now = l.now.UTC()
	if opts.ValidFor > 0 {
		l.expires = l.now.Add(opts.ValidFor)
	}
	if len(opts.Tags) > 0 {
		l.tags = append([]string(nil), opts.Tags...)
	}
	return l
}

var bom = []byte("\xef\xbb\xbf")

func (l *loader) line(b []byte, tooLong bool) {
	l.res.Lines++
	n := l.res.Lines
	if tooLong {
		v := b[:min(len(b), 256)]
		l.reject(n, string(v), reasonTooLong, nil)
		return
	}
	if n == 1 {
		b = bytes.TrimPrefix(b, bom)
	}
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		l.res.Blank++
		l.desc.blank()
	case b[0] == '#' || b[0] == ';':
		l.res.Comments++
		l.desc.comment(string(b))
	default:
		l.value(n, string(b))
	}
}

func (l *loader) reject(line int, value, reason string, err error) {
	l.res.Rejected = append(l.res.Rejected, Rejected{Name: l.name, Line: line, Value: value, Reason: reason, Err: err})
	l.res.PerReason[reason]++
}

// value turns one value line into an indicator, a duplicate or a rejection.
func (l *loader) value(n int, s string) {
	desc := l.desc.value()
	e := splitLine(s)
	t, v, port, reason := detect(e.value)
	if t == 0 {
		if e.value == "" || reason == reasonUnrecognised {
			v = s
		}
		l.reject(n, v, reason, nil)
		return
	}
	o, err := engine.NewObservable(t, columns[t], v, "")
	if err != nil {
		reason := "invalid"
		var re *engine.RejectError
		if errors.As(err, &re) {
			reason = re.Reason
		}
		l.reject(n, e.value, reason, err)
		return
	}
	var extra []string
	if port != "" {
		extra = append(extra, "port:"+port)
	}
	if e.count != "" {
		extra = append(extra, "count:"+e.count)
	}
	if e.score != "" {
		extra = append(extra, "score:"+e.score)
	}

	var u [16]byte
	u, l.idBuf = idUUID(l.idBuf, l.namespace, t, o.Value)
	if ind, dup := l.seen[u]; dup {
		l.res.Duplicates++
		for _, tag := range extra {
			if !contains(ind.Tags, tag) {
				ind.Tags = append(ind.Tags, tag)
			}
		}
		return
	}
	if e.comment != "" {
		desc = e.comment
	}
	ind := l.newIndicator(o)
	ind.IndicatorId = formatID(u)
	ind.Description = desc
	ind.Tags = l.tags
	if len(extra) > 0 {
		ind.Tags = append(l.tags[:len(l.tags):len(l.tags)], extra...)
	}
	l.seen[u] = ind
	l.res.Indicators = append(l.res.Indicators, ind)
	l.res.PerType[t]++
}

const slab = 256

// newIndicator returns an indicator with the load's common fields and the
// single observable o.
func (l *loader) newIndicator(o engine.Observable) *engine.Indicator {
	if len(l.inds) == 0 {
		l.inds = make([]engine.Indicator, slab)
		l.obs = make([]engine.Observable, slab)
	}
	ind := &l.inds[0]
	l.inds = l.inds[1:]
	l.obs[0] = o
	ind.Observables = l.obs[:1:1]
	l.obs = l.obs[1:]
	ind.SourceSystem = l.source
	ind.ThreatType = l.threat
	ind.ConfidenceScore = -1
	ind.Active = true
	ind.ExpirationDateTime = l.expires
	ind.TimeGenerated = l.now
	ind.Modified = l.now
	return ind
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
