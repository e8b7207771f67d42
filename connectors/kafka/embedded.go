package kafka

import (
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Embedded is an in-process Kafka broker (franz-go's kfake) listening on
// a loopback port: it speaks the real protocol, so kcat, kafka-go or any
// client can produce events and consume alerts, but it keeps everything
// in memory and is meant for one machine (`timap run --embedded-kafka`)
// and tests.
type Embedded struct {
	c *kfake.Cluster
}

// EmbeddedOptions configure StartEmbedded.
type EmbeddedOptions struct {
	// Port is the loopback port; 0 (default) picks a free one.
	Port int
	// MinSessionTimeout is the shortest group session timeout the broker
	// accepts. Default 6 s (kfake's); tests lower it so that a killed
	// member is noticed quickly.
	MinSessionTimeout time.Duration
}

// StartEmbedded starts a one-broker cluster on 127.0.0.1.
func StartEmbedded(opts EmbeddedOptions) (*Embedded, error) {
	kopts := []kfake.Opt{kfake.Ports(opts.Port)}
	if opts.MinSessionTimeout > 0 {
		kopts = append(kopts, kfake.GroupMinSessionTimeout(opts.MinSessionTimeout))
	}
	c, err := kfake.NewCluster(kopts...)
	if err != nil {
		return nil, err
	}
	return &Embedded{c: c}, nil
}

// Addr returns the broker's "127.0.0.1:port".
func (e *Embedded) Addr() string { return e.c.ListenAddrs()[0] }

// Close stops the broker; its data is gone.
func (e *Embedded) Close() { e.c.Close() }
