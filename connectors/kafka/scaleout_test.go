package kafka

import (
	"fmt"
	"testing"
	"time"

	"timap/connectors/pipeline"
)

// TestScaleOut runs three instances in one group over a 6-partition
// topic and kills one (no leave, no commit, connections cut) mid-stream.
// After the rebalance the set of alert ids must equal the batch run's:
// nothing lost, duplicates only with identical ids. The victim is the
// elected instance, the one that pulled and published the indicators:
// every instance holds them all before, and another is elected after.
func TestScaleOut(t *testing.T) {
	const partitions = 6
	addr := startCluster(t, partitions)
	inds := exampleIndicators(t)
	lines := exampleEvents(t)
	want := batchAlerts(t, inds, lines)
	if len(want) < 50 {
		t.Fatalf("reference run has only %d alerts", len(want))
	}
	var ins []*instance
	for i := range 3 {
		pulls := []pipeline.IndicatorSource{&pipeline.FileIndicatorSource{Label: "examples", Kind: pipeline.KindFiles,
			Paths: []string{"../../examples/indicators"}, Now: testNow}}
		ins = append(ins, startInstance(t, addr, fmt.Sprintf("i%d", i), instanceOptions{pulls: pulls}))
	}
	waitLive(t, liveCount(inds), ins...)

	waitBalanced(t, addr, 3)
	var victim *instance
	for _, in := range ins {
		if in.elected() {
			victim = in
		}
	}
	if victim == nil {
		t.Fatal("no instance elected")
	}

	// Produce in small chunks, so that the kill lands mid-stream: the
	// victim has processed records of its partitions, and more arrive.
	reader := newAlertReader(t, addr)
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := 0; i < len(lines); i += 100 {
			produce(t, addr, partitions, lines[i:min(i+100, len(lines))])
			time.Sleep(10 * time.Millisecond)
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for len(reader.all) < 5 || victim.stage.Stats().Records == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no progress before the kill: %d alerts, victim read %d records", len(reader.all), victim.stage.Stats().Records)
		}
		reader.poll(t, 50*time.Millisecond)
	}
	victim.kill()
	t.Logf("killed %s after it read %d records", victim.name, victim.stage.Stats().Records)
	<-produced
	waitCommitted(t, addr, 40*time.Second)
	successor := ""
	for _, in := range ins {
		if in != victim && in.elected() {
			successor = in.name
		}
	}
	if successor == "" {
		t.Error("no surviving instance was elected after the rebalance")
	}
	reader.readAll(t)
	got := reader.ids()
	compareIDs(t, want, got)
	dups := len(reader.all) - len(got)
	t.Logf("%d alert records, %d distinct ids (reference %d); %d repeats (window-close updates and replays)", len(reader.all), len(got), len(want), dups)
}
