package files

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// lineReader reads lines of at most max bytes; a longer line is skipped
// whole and reported, so one runaway line costs one error, not the file.
type lineReader struct {
	r    *bufio.Reader
	max  int
	long []byte
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// errLineTooLong reports a skipped line.
var errLineTooLong = errors.New("line too long")

// next returns the next line without its end-of-line bytes. The slice is
// valid until the next call. At the end it returns io.EOF; a line over max
// bytes gives errLineTooLong (the line is consumed).
func (l *lineReader) next() ([]byte, error) {
	line, err := l.r.ReadSlice('\n')
	if err == nil || (err == io.EOF && len(line) > 0) {
		return trimEOL(line), nil
	}
	if err != bufio.ErrBufferFull {
		return nil, err
	}
	l.long = append(l.long[:0], line...)
	for {
		line, err = l.r.ReadSlice('\n')
		if len(l.long)+len(line) > l.max {
			// Drain the rest of the line, then report it.
			for err == bufio.ErrBufferFull {
				_, err = l.r.ReadSlice('\n')
			}
			if err != nil && err != io.EOF {
				return nil, err
			}
			return nil, fmt.Errorf("%w (over %d bytes): skipped", errLineTooLong, l.max)
		}
		l.long = append(l.long, line...)
		if err == nil || (err == io.EOF && len(l.long) > 0) {
			return trimEOL(l.long), nil
		}
		if err != bufio.ErrBufferFull {
			return nil, err
		}
	}
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}
