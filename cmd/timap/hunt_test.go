package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestHunts runs each hunting query on one positive and one negative row,
// in timap's semantics and in Sentinel's.
func TestHunts(t *testing.T) {
	dir := t.TempDir()
	inds := filepath.Join(dir, "files.json")
	os.WriteFile(inds, []byte(`[
 {"type":"indicator","spec_version":"2.1","id":"indicator--f0000000-0000-4000-8000-000000000001","created":"2026-11-01T00:00:00Z","modified":"2026-11-01T00:00:00Z","valid_from":"2026-11-01T00:00:00Z","pattern_type":"stix","pattern":"[file:name = 'Invoice.exe']"},
 {"type":"indicator","spec_version":"2.1","id":"indicator--f0000000-0000-4000-8000-000000000002","created":"2026-11-01T00:00:00Z","modified":"2026-11-01T00:00:00Z","valid_from":"2026-11-01T00:00:00Z","pattern_type":"stix","pattern":"[file:name = 'xmrig.sh']"},
 {"type":"indicator","spec_version":"2.1","id":"indicator--f0000000-0000-4000-8000-000000000003","created":"2026-11-01T00:00:00Z","modified":"2026-11-01T00:00:00Z","valid_from":"2026-11-01T00:00:00Z","pattern_type":"stix","pattern":"[file:name = 'x.Tool.sh']"},
 {"type":"indicator","spec_version":"2.1","id":"indicator--f0000000-0000-4000-8000-000000000004","created":"2026-11-01T00:00:00Z","modified":"2026-11-01T00:00:00Z","valid_from":"2026-11-01T00:00:00Z","pattern_type":"stix","pattern":"[file:name = 'kworkerds']"}
]`), 0o600)
	tests := []struct {
		hunt, row string
		timap     []string // matched values, timap semantics
		sentinel  []string // --compat sentinel
	}{
		{"FileEntity_OfficeActivity", `{"Type":"OfficeActivity","TimeGenerated":"2026-11-30T09:00:00Z","SourceFileName":"invoice.exe","UserId":"bob@corp.example"}`,
			[]string{"invoice.exe"}, nil}, // Sentinel compares case-sensitively
		{"FileEntity_OfficeActivity", `{"Type":"OfficeActivity","TimeGenerated":"2026-11-30T09:00:00Z","SourceFileName":"Invoice.exe"}`,
			[]string{"invoice.exe"}, []string{"invoice.exe"}},
		{"FileEntity_OfficeActivity", `{"Type":"OfficeActivity","TimeGenerated":"2026-11-30T09:00:00Z","SourceFileName":"report.docx"}`, nil, nil},
		{"TI Map File Entity to Security Event", `{"Type":"SecurityEvent","TimeGenerated":"2026-11-30T09:00:00Z","EventID":"4688","Process":"INVOICE.EXE","Computer":"ws1"}`,
			[]string{"invoice.exe"}, []string{"invoice.exe"}},
		{"TI Map File Entity to Security Event", `{"Type":"SecurityEvent","TimeGenerated":"2026-11-30T09:00:00Z","EventID":"4624","Process":"invoice.exe"}`, nil, nil},
		{"FileEntity_Syslog", `{"Type":"Syslog","TimeGenerated":"2026-11-30T09:00:00Z","ProcessName":"xmrig","Computer":"web1"}`,
			[]string{"xmrig"}, []string{"xmrig"}},
		{"FileEntity_Syslog", `{"Type":"Syslog","TimeGenerated":"2026-11-30T09:00:00Z","ProcessName":"sshd"}`, nil, nil},
		// Sentinel's stem is split(FileName, ".")[-2], compared raw: "Tool"
		// of "x.Tool.sh"; timap's is the name without its extension.
		{"H3", `{"Type":"Syslog","TimeGenerated":"2026-11-30T09:00:00Z","ProcessName":"Tool"}`, nil, []string{"tool"}},
		{"H3", `{"Type":"Syslog","TimeGenerated":"2026-11-30T09:00:00Z","ProcessName":"x.tool"}`, []string{"x.tool"}, nil},
		{"H4", `{"Type":"VMConnection","TimeGenerated":"2026-11-30T09:00:00Z","ProcessName":"Tool"}`, nil, []string{"tool"}},
		// A name without extension is its own stem; KQL's [-2] has none.
		{"H3", `{"Type":"Syslog","TimeGenerated":"2026-11-30T09:00:00Z","ProcessName":"kworkerds"}`, []string{"kworkerds"}, nil},
		{"FileEntity_VMConnection", `{"Type":"VMConnection","TimeGenerated":"2026-11-30T09:00:00Z","ProcessName":"xmrig","RemoteIp":"203.0.113.9"}`,
			[]string{"xmrig"}, []string{"xmrig"}},
		{"FileEntity_WireData", `{"Type":"WireData","TimeGenerated":"2026-11-30T09:00:00Z","ProcessName":"C:\\Users\\Public\\Invoice.exe"}`,
			[]string{"invoice.exe"}, []string{"invoice.exe"}},
		{"FileEntity_WireData", `{"Type":"WireData","TimeGenerated":"2026-11-30T09:00:00Z","ProcessName":"C:\\Windows\\explorer.exe"}`, nil, nil},
	}
	for i, tt := range tests {
		events := filepath.Join(dir, "ev.ndjson")
		os.WriteFile(events, []byte(tt.row+"\n"), 0o600)
		for _, compat := range []bool{false, true} {
			args := []string{"hunt", tt.hunt, "--indicators", inds, "--events", events, "--now", "2026-11-30T10:00:00Z"}
			want := tt.timap
			if compat {
				args, want = append(args, "--compat", "sentinel"), tt.sentinel
			}
			var out, errb bytes.Buffer
			if code := run(args, &out, &errb); code != 0 {
				t.Fatalf("case %d: exit %d\n%s", i, code, errb.String())
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				if line == "" {
					continue
				}
				if j := strings.Index(line, `"MatchedValue":"`); j >= 0 {
					v := line[j+len(`"MatchedValue":"`):]
					got = append(got, v[:strings.IndexByte(v, '"')])
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("case %d (%s, compat=%v): matched %v, want %v", i, tt.hunt, compat, got, want)
			}
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"hunt", "nope", "--indicators", inds, "--events", "x"}, &out, &errb); code != 2 {
		t.Errorf("unknown hunt: exit %d", code)
	}
	// --rules: an edited copy of the hunt replaces it; anything else is refused.
	src, err := os.ReadFile(filepath.Join("../../rules/hunts", "H3-filename-syslog.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(dir, "h3.yaml")
	os.WriteFile(mine, bytes.Replace(src, []byte("severity: Medium"), []byte("severity: High"), 1), 0o600)
	events := filepath.Join(dir, "ev.ndjson")
	os.WriteFile(events, []byte(`{"Type":"Syslog","TimeGenerated":"2026-11-30T09:00:00Z","ProcessName":"xmrig"}`+"\n"), 0o600)
	out.Reset()
	errb.Reset()
	if code := run([]string{"hunt", "H3", "--rules", mine, "--indicators", inds, "--events", events, "--now", "2026-11-30T10:00:00Z"}, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), `"AlertSeverity":"High"`) || !strings.Contains(errb.String(), "h3.yaml replaces built-in hunt H3") {
		t.Errorf("edited hunt: exit %d\n%s%s", code, out.String(), errb.String())
	}
	errb.Reset()
	if code := run([]string{"hunt", "H2", "--rules", mine, "--indicators", inds, "--events", events}, &out, &errb); code != 2 ||
		!strings.Contains(errb.String(), "--rules takes one edited copy of the hunt") {
		t.Errorf("other rule with a hunt: exit %d\n%s", code, errb.String())
	}
}
