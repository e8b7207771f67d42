package taxii

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestState(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "taxii-state.json")
	st, err := OpenState(path)
	if err != nil {
		t.Fatal(err)
	}
	a := Source{Name: "A", APIRoot: "https://h/api1/", Collection: "c1"}
	b := Source{Name: "B", APIRoot: "https://h/api1/", Collection: "c2"}
	if _, ok := st.Get(a); ok {
		t.Fatal("empty state has a checkpoint")
	}
	t1 := time.Date(2017, 12, 31, 13, 49, 53, 935e6, time.UTC)
	if err := st.Set(a, t1, fixedNow); err != nil {
		t.Fatal(err)
	}
	if err := st.Set(b, t1.Add(time.Hour), fixedNow); err != nil {
		t.Fatal(err)
	}
	// Never backwards.
	if err := st.Set(a, t1.Add(-time.Hour), fixedNow); err != nil {
		t.Fatal(err)
	}
	re, err := OpenState(path)
	if err != nil {
		t.Fatal(err)
	}
	if cp, ok := re.Get(a); !ok || !cp.AddedAfter.Equal(t1) || cp.Source != "A" || !cp.Updated.Equal(fixedNow) {
		t.Errorf("reopened a: %+v %v", cp, ok)
	}
	if cp, _ := re.Get(b); !cp.AddedAfter.Equal(t1.Add(time.Hour)) {
		t.Errorf("reopened b: %+v", cp)
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), `"https://h/api1/ c1": {`) || !strings.Contains(string(data), `"added_after": "2017-12-31T13:49:53.935Z"`) {
		t.Errorf("file:\n%s", data)
	}
	// The temporary files are gone.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d files", len(entries))
	}
}

func TestStateErrors(t *testing.T) {
	path := writeFile(t, "state.json", "not json")
	_, err := OpenState(path)
	mustContain(t, err, "state.json")
	path = writeFile(t, "state.json", `{"version": 7}`)
	_, err = OpenState(path)
	mustContain(t, err, "version 7")
	// A directory that does not exist fails on Set, naming the file.
	st, err := OpenState(filepath.Join(t.TempDir(), "missing", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, st.Set(Source{APIRoot: "https://h/", Collection: "c"}, fixedNow, fixedNow), "taxii state")
}
