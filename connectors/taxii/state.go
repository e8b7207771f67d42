package taxii

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Checkpoint is the progress of one collection.
type Checkpoint struct {
	// AddedAfter is the added_after of the next pull (RFC 3339 in JSON).
	AddedAfter time.Time `json:"added_after"`
	// Updated is when the checkpoint was last written.
	Updated time.Time `json:"updated"`
	// Source is the friendly name of the source that wrote it.
	Source string `json:"source,omitempty"`
}

// State is a small JSON file of checkpoints keyed by Source.Key (API root
// and collection id), so a restarted poller continues where it stopped
// instead of re-importing everything. It is safe for concurrent use.
//
// The file is
//
//	{"version": 1, "checkpoints": {"<api root> <collection>": {"added_after": "…", "updated": "…", "source": "…"}}}
//
// and is rewritten whole on every Set, atomically (a temporary file in the
// same directory, synced, then renamed over the old one), so a crash
// leaves either the old or the new content.
type State struct {
	path string
	mu   sync.Mutex
	cps  map[string]Checkpoint
}

type stateFile struct {
	Version     int                   `json:"version"`
	Checkpoints map[string]Checkpoint `json:"checkpoints"`
}

// OpenState reads the state file at path; a missing file is an empty
// state (created on the first Set). A file that is not a state file is an
// error rather than being overwritten.
func OpenState(path string) (*State, error) {
	s := &State{path: path, cps: map[string]Checkpoint{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	var f stateFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("taxii state %s: %w", path, err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("taxii state %s: version %d, want 1", path, f.Version)
	}
	maps.Copy(s.cps, f.Checkpoints)
	return s, nil
}

// Path is the file the state is kept in.
func (s *State) Path() string { return s.path }

// Get returns the checkpoint of src, if any.
func (s *State) Get(src Source) (Checkpoint, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp, ok := s.cps[src.Key()]
	return cp, ok
}

// Set records added_after for src and writes the file. A checkpoint
// never moves backwards: an older addedAfter is ignored.
func (s *State) Set(src Source, addedAfter time.Time, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := src.Key()
	if old, ok := s.cps[key]; ok && !addedAfter.After(old.AddedAfter) {
		return nil
	}
	s.cps[key] = Checkpoint{AddedAfter: addedAfter.UTC(), Updated: now.UTC(), Source: src.Name}
	return s.saveLocked()
}

func (s *State) saveLocked() error {
	data, err := json.MarshalIndent(stateFile{Version: 1, Checkpoints: s.cps}, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(s.path, append(data, '\n'))
}

// writeAtomic writes data to a temporary file next to path and renames it
// over path.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("taxii state: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("taxii state %s: %w", path, err)
	}
	return nil
}
