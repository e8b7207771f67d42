package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// SyslogSource listens for syslog messages carrying CEF (RFC 3164 or RFC
// 5424 headers; cef.Parser reads both) over UDP or TCP. UDP takes one
// message per datagram (several when separated by newlines); TCP takes
// RFC 6587 framing, octet counting ("LEN SP MSG") or newline-delimited,
// chosen per frame by its first byte.
//
// Every message is one record of a single lane, numbered in arrival order.
// Syslog cannot replay, so delivery is at most once across a crash; while
// running, a full queue blocks TCP readers (the sender sees TCP
// back-pressure) and UDP datagrams wait in the kernel buffer, which drops
// them when it overflows.
type SyslogSource struct {
	// Label names the lane: alert origins are "Label:N". Default
	// "syslog".
	Label string
	// Network is "udp" or "tcp".
	Network string
	// Addr is the listen address, e.g. ":5514" or "127.0.0.1:0".
	Addr string
	// Route says how to decode messages; default FormatAuto.
	Route Route
	// MaxMessage is the longest message accepted, in bytes; longer TCP
	// frames close the connection and longer datagrams are truncated
	// and then refused by the decoder. Default 64 KiB.
	MaxMessage int
	// Queue is how many messages may wait between the listener and the
	// lane. Default 4096.
	Queue int
	// Logger receives connection errors. Default: the stage's.
	Logger *slog.Logger
	// OnListen, when set, is called with the bound address once the
	// source listens (the port of ":0", for tests and logs).
	OnListen func(net.Addr)
}

// Name returns Label or "syslog".
func (s *SyslogSource) Name() string {
	if s.Label == "" {
		return "syslog"
	}
	return s.Label
}

// Run listens until ctx is done, then closes the listener, matches what
// was queued and flushes the lane's open alerts.
func (s *SyslogSource) Run(ctx context.Context, st *Stage) error {
	maxMsg := s.MaxMessage
	if maxMsg <= 0 {
		maxMsg = 64 << 10
	}
	queue := s.Queue
	if queue <= 0 {
		queue = 4096
	}
	log := s.Logger
	if log == nil {
		log = st.log
	}
	msgs := make(chan Record, queue)
	var seq atomic.Int64
	name := s.Name()
	push := func(b []byte) bool {
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			return true
		}
		rec := Record{Topic: name, Partition: -1, Offset: seq.Add(1), Value: b, Timestamp: time.Now().UTC()}
		select {
		case msgs <- rec:
			return true
		case <-ctx.Done():
			return false
		}
	}

	var wg sync.WaitGroup
	var closer io.Closer
	switch s.Network {
	case "udp":
		pc, err := net.ListenPacket("udp", s.Addr)
		if err != nil {
			return err
		}
		closer = pc
		s.listening(pc.LocalAddr(), log)
		wg.Go(func() { readDatagrams(pc, maxMsg, push) })
	case "tcp":
		ln, err := net.Listen("tcp", s.Addr)
		if err != nil {
			return err
		}
		closer = ln
		s.listening(ln.Addr(), log)
		wg.Go(func() { acceptStreams(ctx, ln, maxMsg, push, log) })
	default:
		return fmt.Errorf("syslog %s: network %q: want udp or tcp", name, s.Network)
	}
	go func() {
		<-ctx.Done()
		closer.Close()
	}()
	go func() {
		wg.Wait()
		close(msgs)
	}()

	lane := st.NewLane(name, -1, s.Route)
	batch := make([]Record, 0, 256)
	for rec := range msgs {
		batch = append(batch[:0], rec)
	more:
		for len(batch) < cap(batch) {
			select {
			case r, ok := <-msgs:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		if err := lane.Process(context.WithoutCancel(ctx), batch); err != nil {
			return err
		}
	}
	return lane.Flush(context.WithoutCancel(ctx))
}

func (s *SyslogSource) listening(a net.Addr, log *slog.Logger) {
	log.Info("syslog listening", "source", s.Name(), "network", s.Network, "addr", a.String())
	if s.OnListen != nil {
		s.OnListen(a)
	}
}

// readDatagrams reads until the connection is closed.
func readDatagrams(pc net.PacketConn, maxMsg int, push func([]byte) bool) {
	buf := make([]byte, maxMsg)
	for {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		for _, line := range bytes.Split(buf[:n], []byte{'\n'}) {
			if !push(bytes.Clone(line)) {
				return
			}
		}
	}
}

// acceptStreams serves TCP connections until the listener is closed.
func acceptStreams(ctx context.Context, ln net.Listener, maxMsg int, push func([]byte) bool, log *slog.Logger) {
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		conns.Go(func() {
			defer c.Close()
			stop := context.AfterFunc(ctx, func() { c.Close() })
			defer stop()
			if err := readFrames(bufio.NewReader(c), maxMsg, push); err != nil && ctx.Err() == nil {
				log.Warn("syslog connection closed", "remote", c.RemoteAddr().String(), "error", err)
			}
		})
	}
}

// readFrames reads RFC 6587 frames: octet counting when a frame starts
// with a digit (no syslog message or CEF line does), else a line.
func readFrames(r *bufio.Reader, maxMsg int, push func([]byte) bool) error {
	for {
		c, err := r.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var msg []byte
		if c >= '1' && c <= '9' {
			r.UnreadByte()
			msg, err = readCounted(r, maxMsg)
		} else {
			r.UnreadByte()
			msg, err = readDelimited(r, maxMsg)
		}
		if len(msg) > 0 && !push(msg) {
			return nil
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func readCounted(r *bufio.Reader, maxMsg int) ([]byte, error) {
	head, err := r.ReadString(' ')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(head[:len(head)-1])
	if err != nil || n <= 0 {
		return nil, fmt.Errorf("bad octet count %q", head)
	}
	if n > maxMsg {
		return nil, fmt.Errorf("frame of %d bytes exceeds %d", n, maxMsg)
	}
	msg := make([]byte, n)
	_, err = io.ReadFull(r, msg)
	return msg, err
}

func readDelimited(r *bufio.Reader, maxMsg int) ([]byte, error) {
	var msg []byte
	for {
		part, err := r.ReadSlice('\n')
		msg = append(msg, part...)
		if len(msg) > maxMsg {
			return nil, errors.New("line exceeds the maximum message size")
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return msg, err
	}
}
