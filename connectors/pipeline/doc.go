// Package pipeline is timap's streaming stage: it decodes log records,
// matches them against the indicators of an engine.Store, suppresses
// repeats per window and hands alerts to a sink, with at-least-once
// delivery and bounded memory.
//
// The stage knows nothing of Kafka. It is built from small interfaces,
// each defined here where it is consumed:
//
//   - EventSource feeds records to Lanes (connectors/kafka's consumer
//     group; FileSource for files and standard input; SyslogSource for a
//     UDP/TCP syslog listener).
//   - AlertSink takes encoded alerts and acknowledges each one
//     (connectors/kafka's producer; WriterSink for stdout and files).
//   - IndicatorSource pulls indicators (files, flat feeds, STIX, TAXII)
//     and IndicatorWriter publishes the changes (an indicator topic, or
//     this instance's store directly).
//
// A Lane is the unit of ordering: one per partition (or file, or
// listener), owned by one goroutine, with its own cef.Parser,
// engine.Matcher and engine.Aggregator. A lane remembers, per batch of
// records, how many alerts the sink has yet to acknowledge; a Checkpoint
// (the next offset plus the aggregator's suppression state) becomes ready
// only when every alert of every record before that offset is
// acknowledged. Sources commit only ready checkpoints, so a crash replays
// records whose alerts may be lost, never the reverse, and the replay
// yields the same SystemAlertIds.
//
// Back-pressure: sinks block Send while their buffer is full, a blocked
// lane stops taking batches from its bounded queue, and a source whose
// queue is full stops fetching. No queue in the stage grows without
// bound.
//
// Runner ties it together for cmd/timap's "run" command: it syncs the
// indicator topic, runs pull sources on the elected instance, runs the
// event sources and shuts down in order. Config is the YAML
// configuration, documented in docs/configuration.md.
package pipeline
