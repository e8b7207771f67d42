package harness

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress shows what the harness is doing on standard error: a line per
// phase and progress bars over long phases. Bars advance between timed
// passes, never inside one, so that drawing them costs the measurement
// nothing.
type progress struct {
	w     io.Writer
	bars  bool
	scale string
}

func newProgress(w io.Writer, bars bool, scale string) *progress {
	return &progress{w: w, bars: bars, scale: scale}
}

// phase announces a phase.
func (p *progress) phase(format string, args ...any) {
	if p == nil || p.w == nil {
		return
	}
	fmt.Fprintf(p.w, "bench %s %s: %s\n", time.Now().Format("15:04:05"), p.scale, fmt.Sprintf(format, args...))
}

// bar is a progress bar over total steps; a no-op when bars are off.
func (p *progress) bar(total int64, desc string) *bar {
	if p == nil || !p.bars || p.w == nil {
		return &bar{}
	}
	return &bar{b: progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(p.scale+" "+desc),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
	)}
}

// bar wraps a progress bar so that a disabled one costs nothing.
type bar struct{ b *progressbar.ProgressBar }

func (b *bar) add(n int) {
	if b.b != nil {
		b.b.Add(n)
	}
}

func (b *bar) finish() {
	if b.b != nil {
		b.b.Finish()
	}
}

// lineCounter wraps w so that every line written advances a bar of total
// lines.
func (p *progress) lineCounter(w io.Writer, total int64, desc string) io.Writer {
	b := p.bar(total, desc)
	if b.b == nil {
		return w
	}
	return &countingWriter{w: w, b: b}
}

type countingWriter struct {
	w io.Writer
	b *bar
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.b.add(countLines(p[:n]))
	return n, err
}
