// Package kafka holds timap's Kafka specifics, on franz-go (kgo): a
// consumer-group EventSource whose partitions each run a pipeline.Lane
// on their own goroutine, a producer AlertSink (acks=all, idempotent),
// the indicator topic (reader and publisher, with a stable JSON encoding
// of engine.Indicator), the state topic that checkpoints each partition's
// suppression state, topic creation, and an embedded broker (kfake) for
// single-machine runs and tests.
//
// The stage itself is connectors/pipeline; this package only moves
// records between Kafka and lanes, and commits what the lanes report as
// acknowledged.
package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"timap/connectors/pipeline"
)

// ClientConfig says how to reach the cluster; every client of this
// package (consumer group, producer, topic readers) takes one.
type ClientConfig struct {
	// Brokers are the seed brokers ("host:port"). Required.
	Brokers []string
	// ClientID is sent to the brokers. Default "timap".
	ClientID string
	// TLS, when set, enables TLS.
	TLS *tls.Config
	// SASL, when set, authenticates.
	SASL sasl.Mechanism
	// Opts are extra kgo options applied last (tests inject dialers and
	// contexts here).
	Opts []kgo.Opt
}

// options returns the common kgo options.
func (c ClientConfig) options() []kgo.Opt {
	id := c.ClientID
	if id == "" {
		id = "timap"
	}
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...), kgo.ClientID(id)}
	if c.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(c.TLS))
	}
	if c.SASL != nil {
		opts = append(opts, kgo.SASL(c.SASL))
	}
	return append(opts, c.Opts...)
}

// ClientFromConfig builds a ClientConfig from the kafka section of a
// pipeline.Config: TLS files are read and SASL set up here. Errors name
// the file that could not be read.
func ClientFromConfig(k *pipeline.KafkaConfig) (ClientConfig, error) {
	c := ClientConfig{Brokers: k.Brokers, ClientID: k.ClientID}
	if k.TLS.Enabled || k.TLS.CAFile != "" || k.TLS.CertFile != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: k.TLS.InsecureSkipVerify}
		if k.TLS.CAFile != "" {
			pem, err := os.ReadFile(k.TLS.CAFile)
			if err != nil {
				return c, fmt.Errorf("kafka.tls.ca_file: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return c, fmt.Errorf("kafka.tls.ca_file %s: no PEM certificates", k.TLS.CAFile)
			}
		}
		if k.TLS.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(k.TLS.CertFile, k.TLS.KeyFile)
			if err != nil {
				return c, fmt.Errorf("kafka.tls.cert_file: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		c.TLS = tc
	}
	switch k.SASL.Mechanism {
	case "plain":
		c.SASL = plain.Auth{User: k.SASL.Username, Pass: k.SASL.Password}.AsMechanism()
	case "scram-sha-256":
		c.SASL = scram.Auth{User: k.SASL.Username, Pass: k.SASL.Password}.AsSha256Mechanism()
	case "scram-sha-512":
		c.SASL = scram.Auth{User: k.SASL.Username, Pass: k.SASL.Password}.AsSha512Mechanism()
	}
	return c, nil
}

// ping checks that the cluster answers, so that a wrong address fails at
// start rather than in a retry loop.
func ping(ctx context.Context, cl *kgo.Client) error {
	if err := cl.Ping(ctx); err != nil {
		return fmt.Errorf("kafka: no broker answered: %w", err)
	}
	return nil
}
