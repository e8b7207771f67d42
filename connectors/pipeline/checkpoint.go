package pipeline

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// checkpointVersion is the "v" of encoded checkpoints; a reader refuses
// other versions rather than misreading them.
const checkpointVersion = 1

// checkpointJSON is the stable encoding of a Checkpoint.
type checkpointJSON struct {
	V         int             `json:"v"`
	Topic     string          `json:"topic"`
	Partition int32           `json:"partition"`
	Offset    int64           `json:"offset"`
	State     json.RawMessage `json:"state"`
}

// gzipAbove is the encoded size above which a checkpoint is
// gzip-compressed: the open alerts of a busy partition repeat the same
// keys and compress about tenfold, which keeps them under Kafka's default
// 1 MB record limit.
const gzipAbove = 16 << 10

// MarshalCheckpoint encodes cp as JSON: {"v":1,"topic":…,"partition":…,
// "offset":…,"state":{"Watermark":…,"Open":[{"Alert":{…},"Emitted":1}]}},
// gzip-compressed when larger than 16 KiB.
func MarshalCheckpoint(cp Checkpoint) ([]byte, error) {
	st, err := json.Marshal(cp.State)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(checkpointJSON{V: checkpointVersion, Topic: cp.Topic, Partition: cp.Partition, Offset: cp.Offset, State: st})
	if err != nil || len(b) <= gzipAbove {
		return b, err
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(b)
	if err := w.Close(); err != nil {
		return nil, err
	}
	return z.Bytes(), nil
}

// UnmarshalCheckpoint decodes what MarshalCheckpoint wrote, compressed or
// not. Alert ExtendedProperties come back as JSON values (numbers as
// float64, times as strings), which encode to the same JSON again.
func UnmarshalCheckpoint(b []byte) (Checkpoint, error) {
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		r, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return Checkpoint{}, fmt.Errorf("checkpoint: %w", err)
		}
		if b, err = io.ReadAll(r); err != nil {
			return Checkpoint{}, fmt.Errorf("checkpoint: %w", err)
		}
	}
	var j checkpointJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint: %w", err)
	}
	if j.V != checkpointVersion {
		return Checkpoint{}, fmt.Errorf("checkpoint: version %d, want %d", j.V, checkpointVersion)
	}
	cp := Checkpoint{Topic: j.Topic, Partition: j.Partition, Offset: j.Offset}
	if len(j.State) > 0 {
		if err := json.Unmarshal(j.State, &cp.State); err != nil {
			return Checkpoint{}, fmt.Errorf("checkpoint %s: state: %w", cp.Key(), err)
		}
	}
	return cp, nil
}

// FileCheckpoints keeps checkpoints in a local directory, one file per
// partition ("<topic>-<partition>.checkpoint.json"), each replaced
// atomically (write, fsync, rename). It suits a single instance, or
// instances with fixed partitions; a group whose partitions move between
// machines needs the state topic (connectors/kafka's StateTopic).
type FileCheckpoints struct {
	// Dir is the directory; it is created (0755) on the first Save.
	Dir string
}

func (f *FileCheckpoints) path(topic string, partition int32) string {
	return filepath.Join(f.Dir, fmt.Sprintf("%s-%d.checkpoint.json", topic, partition))
}

// Load returns the checkpoints saved for the partitions, skipping those
// without one. A file that cannot be decoded is an error naming it.
func (f *FileCheckpoints) Load(_ context.Context, partitions map[string][]int32) ([]Checkpoint, error) {
	var out []Checkpoint
	for _, topic := range sortedKeys(partitions) {
		for _, p := range partitions[topic] {
			path := f.path(topic, p)
			b, err := os.ReadFile(path)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			cp, err := UnmarshalCheckpoint(b)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			out = append(out, cp)
		}
	}
	return out, nil
}

// Save writes each checkpoint to its file.
func (f *FileCheckpoints) Save(_ context.Context, cps []Checkpoint) error {
	if len(cps) == 0 {
		return nil
	}
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return err
	}
	for _, cp := range cps {
		b, err := MarshalCheckpoint(cp)
		if err != nil {
			return err
		}
		if err := writeAtomic(f.path(cp.Topic, cp.Partition), b); err != nil {
			return err
		}
	}
	if d, err := os.Open(f.Dir); err == nil {
		d.Sync() // make the renames durable; best effort
		d.Close()
	}
	return nil
}

func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".checkpoint-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
