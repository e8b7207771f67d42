package pipeline

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"
)

// TestSyslogSource sends CEF over UDP (one datagram, RFC 3164 header) and
// TCP (RFC 6587 octet counting and newline framing, RFC 5424 header) and
// expects their alerts.
func TestSyslogSource(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			sink := &heldSink{}
			st := newTestStage(t, sink, nil)
			addrs := make(chan net.Addr, 1)
			src := &SyslogSource{Label: "syslog-" + network, Network: network, Addr: "127.0.0.1:0", OnListen: func(a net.Addr) { addrs <- a }}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- src.Run(ctx, st) }()
			addr := (<-addrs).String()

			t0 := testNow.Add(-3 * time.Hour)
			m1 := "<134>Nov 30 07:10:00 fw-01 " + string(hit(t0))
			m2 := "<134>1 2026-11-30T08:10:00Z fw-02 CEF - - - " + string(hit(t0.Add(time.Hour)))
			m3 := string(hit(t0.Add(2 * time.Hour)))
			conn, err := net.Dial(network, addr)
			if err != nil {
				t.Fatal(err)
			}
			if network == "udp" {
				for _, m := range []string{m1, m2, m3 + "\n"} {
					conn.Write([]byte(m))
				}
			} else {
				fmt.Fprintf(conn, "%d %s%d %s", len(m1), m1, len(m2), m2)
				fmt.Fprintf(conn, "%s\n", m3)
			}
			conn.Close()
			deadline := time.Now().Add(10 * time.Second)
			for sink.count() < 3 {
				if time.Now().After(deadline) {
					t.Fatalf("%d alerts", sink.count())
				}
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			for i, a := range sink.alerts[:3] {
				if want := fmt.Sprintf("%s:%d", src.Label, i+1); a.Origin != want {
					t.Errorf("alert %d origin %q, want %q", i, a.Origin, want)
				}
			}
		})
	}
}
