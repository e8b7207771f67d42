package taxii

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
)

// TestTransient: errors that a retry cannot fix are not retried (a trial
// user waited 15 s for "connection refused" to be retried five times).
func TestTransient(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	noHost := &net.DNSError{Err: "no such host", Name: "taxii.invalid", IsNotFound: true}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("get: %w", refused), false},
		{fmt.Errorf("get: %w", noHost), false},
		{fmt.Errorf("get: %w", reset), true},
		{errors.New("unexpected EOF"), true},
	} {
		if got := transient(tt.err); got != tt.want {
			t.Errorf("transient(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
