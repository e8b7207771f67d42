package pipeline

import (
	"context"
	"fmt"
	"time"

	"timap/engine"
)

// Record is one raw log record as an EventSource delivers it: a Kafka
// record, a syslog message, a line.
type Record struct {
	// Topic and Partition name the stream; Offset is the record's position
	// in it. They label bad records and become the alert's Origin
	// ("topic/partition:offset").
	Topic     string
	Partition int32
	Offset    int64
	// Key and Value are the record's bytes; Value holds one CEF line or
	// one NDJSON row. The lane does not keep them after Process returns,
	// except inside alerts, which copy what they keep.
	Key, Value []byte
	// Timestamp is the record's time (Kafka's record timestamp, the
	// receive time of a syslog message). It stands in for TimeGenerated
	// when the row carries none, so that a replay yields the same
	// suppression windows and SystemAlertIds. Zero means the clock.
	Timestamp time.Time
}

// Format says how a lane decodes record values.
type Format string

// The record formats.
const (
	// FormatAuto decodes a value starting with '{' as NDJSON and anything
	// else as CEF, as `timap match` does per line.
	FormatAuto Format = "auto"
	// FormatCEF decodes values as CEF lines, with or without an RFC
	// 3164/5424 syslog header, into CommonSecurityLog rows.
	FormatCEF Format = "cef"
	// FormatNDJSON decodes values as JSON objects whose keys are the
	// table's column names (connectors/tabular).
	FormatNDJSON Format = "ndjson"
)

// ParseFormat checks a format name; "" means FormatAuto.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case "", FormatAuto:
		return FormatAuto, nil
	case FormatCEF, FormatNDJSON:
		return Format(s), nil
	}
	return "", fmt.Errorf("unknown format %q (want auto, cef or ndjson)", s)
}

// Route says how the records of one stream become rows.
type Route struct {
	// Format of the values. Default FormatAuto.
	Format Format
	// Table is the table of NDJSON rows without a "Type" key. Default
	// CommonSecurityLog. CEF rows are always CommonSecurityLog.
	Table string
	// Location is the time zone of CEF and syslog timestamps without
	// one. Default UTC.
	Location *time.Location
}

// Checkpoint is the resumable position of one partition: every record
// before Offset is processed and every alert it caused is acknowledged by
// the sink; State is the suppression state at that point. Restoring State
// and consuming from Offset continues as if nothing had stopped.
type Checkpoint struct {
	Topic     string
	Partition int32
	Offset    int64
	State     engine.AggregatorState
}

// Key is the checkpoint's identity in a state store: "topic/partition".
func (c *Checkpoint) Key() string { return PartitionKey(c.Topic, c.Partition) }

// PartitionKey is "topic/partition", the key of a partition's checkpoint
// and the Origin prefix of its alerts; for a stream without partitions
// (partition < 0: a file, stdin, a listener) it is the stream's name.
func PartitionKey(topic string, partition int32) string {
	if partition < 0 {
		return topic
	}
	return fmt.Sprintf("%s/%d", topic, partition)
}

// AlertSink receives the stage's alerts. Implementations: WriterSink
// (stdout, files), MultiSink, connectors/kafka's TopicSink.
type AlertSink interface {
	// Send queues one alert. key is its SystemAlertId; value its JSON
	// encoding without a trailing newline (the sink may keep value).
	// Send may block while the sink's buffer is full: that is the
	// stage's back-pressure. done is called exactly once, from any
	// goroutine, when the sink has durably accepted the alert (nil) or
	// given up on it; it is not called when Send itself returns an error
	// (ctx done, sink closed).
	Send(ctx context.Context, key string, value []byte, done func(error)) error
	// Flush waits until every alert sent so far is acknowledged, or ctx
	// ends.
	Flush(ctx context.Context) error
}

// DeadLetterSink receives records that could not be decoded, with the
// reason, under the same acknowledgement contract as AlertSink.Send.
// connectors/kafka's TopicSink implements it.
type DeadLetterSink interface {
	SendDeadLetter(ctx context.Context, rec *Record, reason error, done func(error)) error
}

// RecordError names a record that could not be decoded. It never stops
// the stream: the lane counts it, logs it and sends it to the dead-letter
// sink when one is configured.
type RecordError struct {
	Topic     string
	Partition int32
	Offset    int64
	Err       error
}

// Error renders "topic/partition:offset: why" ("name:offset: why" for a
// stream without partitions).
func (e *RecordError) Error() string {
	return fmt.Sprintf("%s:%d: %v", PartitionKey(e.Topic, e.Partition), e.Offset, e.Err)
}

// Unwrap returns the decoder's error.
func (e *RecordError) Unwrap() error { return e.Err }
