package kafka

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"timap/connectors/pipeline"
)

// crashingCheckpointer kills its instance at the first checkpoint that
// reaches offset at: before saving it (alerts produced and acknowledged,
// nothing saved or committed) or after saving it (saved, not committed).
type crashingCheckpointer struct {
	Checkpointer
	at        int64
	afterSave bool
	kill      func()
	once      sync.Once
	killed    chan struct{}
}

func (c *crashingCheckpointer) Save(ctx context.Context, cps []pipeline.Checkpoint) error {
	for _, cp := range cps {
		if cp.Offset < c.at {
			continue
		}
		if c.afterSave {
			if err := c.Checkpointer.Save(ctx, cps); err != nil {
				return err
			}
		}
		c.once.Do(func() {
			c.kill()
			close(c.killed)
		})
		return errors.New("killed")
	}
	return c.Checkpointer.Save(ctx, cps)
}

// TestCrashBetweenProduceAndCommit kills the stage after its alerts are
// acknowledged and before the offset is committed, then restarts it:
// no event may be left without its alerts. Killed before the checkpoint
// is saved, the restart replays the uncommitted records (the same ids
// again); killed after, it resumes at the saved checkpoint with the
// suppression state, so a repeat of an alerted row raises nothing new.
func TestCrashBetweenProduceAndCommit(t *testing.T) {
	for _, afterSave := range []bool{false, true} {
		name := "before-save"
		if afterSave {
			name = "after-save"
		}
		t.Run(name, func(t *testing.T) {
			addr := startCluster(t, 1)
			inds := exampleIndicators(t)
			lines := exampleEvents(t)
			want := batchAlerts(t, inds, lines)
			var changes []pipeline.IndicatorChange
			for _, ind := range inds {
				changes = append(changes, pipeline.IndicatorChange{ID: ind.IndicatorId, Indicator: ind})
			}
			publishIndicators(t, addr, changes)

			var victim *instance
			crash := &crashingCheckpointer{at: int64(len(lines)), afterSave: afterSave, killed: make(chan struct{}),
				kill: func() { victim.kill() }}
			victim = startInstance(t, addr, "victim", instanceOptions{wrapState: func(c Checkpointer) Checkpointer {
				crash.Checkpointer = c
				return crash
			}})
			waitLive(t, liveCount(inds), victim)
			produce(t, addr, 1, lines)
			select {
			case <-crash.killed:
			case <-time.After(30 * time.Second):
				t.Fatal("the victim never reached its last checkpoint")
			}
			<-victim.done
			victim.done <- nil

			restarted := startInstance(t, addr, "restarted", instanceOptions{})
			waitLive(t, liveCount(inds), restarted)
			waitCommitted(t, addr, 30*time.Second)
			reader := newAlertReader(t, addr)
			reader.readAll(t)
			compareIDs(t, want, reader.ids())
			replayed := restarted.stage.Stats().Records
			t.Logf("%d alert records, %d ids; the restart read %d records", len(reader.all), len(reader.ids()), replayed)
			if !afterSave {
				if replayed == 0 {
					t.Error("nothing was replayed after a crash before the commit")
				}
				return
			}
			if replayed != 0 {
				t.Errorf("the restart read %d records; it should resume at the saved checkpoint", replayed)
			}
			// The restored suppression state counts a repeat of an
			// alerted row into its open alert instead of alerting anew.
			before := len(reader.all)
			produce(t, addr, 1, [][]byte{lines[firstAlertLine(t, want)]})
			waitCommitted(t, addr, 10*time.Second)
			reader.readAll(t)
			if len(reader.all) != before {
				t.Errorf("a repeated row raised %d new alert records; suppression state was not restored", len(reader.all)-before)
			}
		})
	}
}

// firstAlertLine returns the index in lines of a row that alerted in the
// batch run (its Origin is "path:line").
func firstAlertLine(t *testing.T, want map[string]alertOut) int {
	best := -1
	for _, a := range want {
		i := strings.LastIndexByte(a.Origin, ':')
		n, err := strconv.Atoi(a.Origin[i+1:])
		if err != nil {
			t.Fatalf("origin %q", a.Origin)
		}
		if best < 0 || n-1 < best {
			best = n - 1
		}
	}
	return best
}
