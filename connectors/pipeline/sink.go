package pipeline

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// WriterSink writes alerts as NDJSON, one line per alert, to an
// io.Writer (standard output, a file). An alert is acknowledged once its
// line is written; the writer is not buffered here, because alerts are
// rare next to events and an acknowledged alert must not sit in a
// buffer when the process dies.
type WriterSink struct {
	mu     sync.Mutex
	w      io.Writer
	closer io.Closer
	sync   func() error
	buf    []byte
}

// NewWriterSink returns a sink writing to w. It never closes w.
func NewWriterSink(w io.Writer) *WriterSink { return &WriterSink{w: w} }

// OpenFileSink appends alerts to the file at path, creating it (mode
// 0644) when missing. Flush calls fsync; Close closes the file.
func OpenFileSink(path string) (*WriterSink, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return &WriterSink{w: f, closer: f, sync: f.Sync}, nil
}

// Send writes value and a newline, then calls done with the write's
// error. It returns ctx.Err() without writing when ctx is done.
func (s *WriterSink) Send(ctx context.Context, _ string, value []byte, done func(error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.buf = append(append(s.buf[:0], value...), '\n')
	_, err := s.w.Write(s.buf)
	s.mu.Unlock()
	done(err)
	return nil
}

// Flush syncs a file sink to disk; for other writers it does nothing.
func (s *WriterSink) Flush(context.Context) error {
	if s.sync == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sync()
}

// Close closes a file sink's file; for other writers it does nothing.
func (s *WriterSink) Close() error {
	if s.closer == nil {
		return nil
	}
	return s.closer.Close()
}

// MultiSink sends every alert to several sinks and acknowledges it when
// all of them have: an alert counts as delivered only when every sink
// has it.
type MultiSink []AlertSink

// Send sends to each sink in order. When one refuses, Send returns its
// error and done is never called, whatever the others do.
func (m MultiSink) Send(ctx context.Context, key string, value []byte, done func(error)) error {
	if len(m) == 1 {
		return m[0].Send(ctx, key, value, done)
	}
	var (
		left      atomic.Int32
		abandoned atomic.Bool
		mu        sync.Mutex
		first     error
	)
	left.Store(int32(len(m)))
	one := func(err error) {
		if err != nil {
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
		}
		if left.Add(-1) == 0 && !abandoned.Load() {
			mu.Lock()
			err := first
			mu.Unlock()
			done(err)
		}
	}
	for i, s := range m {
		if err := s.Send(ctx, key, value, one); err != nil {
			abandoned.Store(true)
			// The sinks not reached will never call one.
			left.Add(-int32(len(m) - i))
			return err
		}
	}
	return nil
}

// Flush flushes every sink and returns their errors joined.
func (m MultiSink) Flush(ctx context.Context) error {
	var errs []error
	for _, s := range m {
		errs = append(errs, s.Flush(ctx))
	}
	return errors.Join(errs...)
}
