package stix

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"testing"
	"time"
)

// malformed returns the TcM1911/stix2 fuzz crashers (inputs that once
// crashed a Go STIX parser) when ../shared/data is present.
func malformed(tb testing.TB) [][]byte {
	data, err := os.ReadFile("../../../shared/data/stix/malformed/tcm1911-stix2-fuzz-crashers.json")
	if err != nil {
		return nil
	}
	var doc struct {
		Cases []struct {
			Encoding string `json:"encoding"`
			Input    string `json:"input"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, c := range doc.Cases {
		b := []byte(c.Input)
		if c.Encoding == "base64" {
			if b, err = base64.StdEncoding.DecodeString(c.Input); err != nil {
				tb.Fatal(err)
			}
		}
		out = append(out, b)
	}
	return out
}

var ownSeeds = []string{
	`[]`, `{}`, `{"type":"bundle","objects":[{}]}`, `[{"type":"indicator","pattern":"[","modified":"x"}]`,
	`{"type":"indicator","id":"indicator--1","pattern":"[ipv4-addr:value = '1.2.3.4'] OR [","revoked":"maybe"}`,
	`{"sourcesystem":"x","stixobjects":[null,1,"s",{"type":"indicator","labels":7}]}`,
	`[{"type":"indicator","id":"i","pattern":"[file:hashes.'SHA-256' IN ('a','b')]","confidence":"101"}]`,
}

// TestMalformedNeverCrash runs the crashers through Load: each must return
// (an error or a result) without panicking, in bounded time.
func TestMalformedNeverCrash(t *testing.T) {
	inputs := malformed(t)
	if inputs == nil {
		t.Log("../shared/data absent: only the in-repo seeds are checked")
	}
	for _, s := range ownSeeds {
		inputs = append(inputs, []byte(s))
	}
	for i, in := range inputs {
		start := time.Now()
		res, err := Load(in, Options{Now: now})
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("input %d took %v", i, d)
		}
		if err == nil && res == nil {
			t.Errorf("input %d: nil result without error", i)
		}
	}
}

func FuzzLoad(f *testing.F) {
	for _, s := range ownSeeds {
		f.Add([]byte(s))
	}
	for _, in := range malformed(f) {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Load(data, Options{Now: now})
		if err == nil {
			for _, ind := range res.Indicators {
				if ind.IndicatorId == "" {
					t.Fatal("indicator without id")
				}
			}
		}
	})
}
