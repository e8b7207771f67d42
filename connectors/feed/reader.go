package feed

import (
	"bufio"
	"errors"
	"io"
)

// MaxLineBytes is the longest line Load reads, without its line ending.
// Longer lines are rejected ("line-too-long") and skipped.
const MaxLineBytes = 1 << 20

// lineReader yields lines without their "\n" or "\r\n", reusing one buffer.
type lineReader struct {
	r   *bufio.Reader
	buf []byte
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next line (valid until the following call) and whether
// it was cut at MaxLineBytes. It returns io.EOF after the last line.
func (lr *lineReader) next() (line []byte, tooLong bool, err error) {
	lr.buf = lr.buf[:0]
	read := false
	for {
		frag, err := lr.r.ReadSlice('\n')
		read = read || len(frag) > 0
		if !tooLong {
			// +2 leaves room for the "\r\n" stripped below.
			if len(lr.buf)+len(frag) > MaxLineBytes+2 {
				tooLong = true
			} else {
				lr.buf = append(lr.buf, frag...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF {
			if !read {
				return nil, false, io.EOF
			}
			err = nil
		}
		if err != nil {
			return nil, false, err
		}
		break
	}
	b := lr.buf
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b, tooLong || len(b) > MaxLineBytes, nil
}
