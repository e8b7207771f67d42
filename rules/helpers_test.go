package rules_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"timap/connectors/files"
	"timap/engine"
	"timap/rules"
)

// t0 is "now" in the catalogue tests; log rows are stamped ten minutes
// before (spec §7: events at now-10m, indicators ingested now-1d and
// expiring now+30d).
var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// ruleIDs maps the spec's rule numbers to the Sentinel rule ids.
var ruleIDs = map[string]string{
	"R01": "dd0a6029-ecef-4507-89c4-fc355ac52111", "R02": "c308b2f3-eebe-4a20-905c-cb8293b062db",
	"R03": "85aca4d1-5d15-4001-abd9-acb86ca1786a", "R04": "96307710-8bb9-4b45-8363-a90c72ebf86f",
	"R05": "87cc75df-d7b2-44f1-b064-ee924edfc879", "R06": "b1832f60-6c3d-4722-a0a5-3d564ee61a63",
	"R07": "ec21493c-2684-4acd-9bc2-696dbad72426", "R08": "87890d78-3e05-43ec-9ab9-ba32f4e01250",
	"R09": "532f62c1-fba6-4baa-bbb6-4a32a4ef32fa", "R10": "cca3b4d9-ac39-4109-8b93-65bb284003e6",
	"R11": "11f7c6e3-f066-4b3c-9a81-b487ec0a6873", "R12": "4a3f5ed7-8da5-4ce2-af6f-c9ada45060f2",
	"R13": "ffcd575b-3d54-482a-a6d8-d0de13b6ac63", "R14": "a2e36ce0-da4d-4b6e-88c6-4e40161c5bfc",
	"R15": "2fc5d810-c9cc-491a-b564-841427ae0e50", "R16": "30fa312c-31eb-43d8-b0cc-bcbdfb360822",
	"R17": "5d33fc63-b83b-4913-b95e-94d13f0d379f", "R18": "bc0eca2e-db50-44e6-8fa3-b85f91ff5ee7",
	"R19": "a7427ed7-04b4-4e3b-b323-08b981b9b4bf", "R20": "f9949656-473f-4503-bf43-a9d9890f7d08",
	"R21": "f110287e-1358-490d-8147-ed804b328514", "R22": "2441bce9-02e4-407b-8cc7-7d597f38b8b0",
	"R23": "0b904747-1336-4363-8d84-df2710bfe5e7", "R24": "57c7e832-64eb-411f-8928-4133f01f4a25",
	"R25": "a4025a76-6490-4e6b-bb69-d02be4b03f07", "R26": "d0aa8969-1bbe-4da3-9e76-09e5f67c9d85",
	"R27": "66c81ae2-1f89-4433-be00-2fbbd9ba5ebe", "R28": "b2df4979-d34a-48b3-a7d9-f473a4bf8058",
	"R29": "69b7723c-2889-469f-8b55-a2d355ed9c87", "R30": "e2559891-383c-4caf-ae67-55a008b9f89e",
	"R31": "f15370f4-c6fa-42c5-9be4-1d308f40284e", "R32": "f2eb15bd-8a88-4b24-9281-e133edfba315",
	"R33": "9713e3c0-1410-468d-b79e-383448434b2d", "R34": "5e45930c-09b1-4430-b2d1-cc75ada0dc0f",
	"R35": "712fab52-2a7d-401e-a08c-ff939cc7c25e", "R36": "6ddbd892-a9be-47be-bab7-521241695bd6",
	"R37": "a0038239-72f4-4f7b-90ff-37f89f7881e0", "R38": "36a9c9e5-3dc1-4ed9-afaa-1d13617bfc2b",
	"R39": "106813db-679e-4382-a51b-1bfc463befc3", "R40": "f30a47c1-65fb-42b1-a7f4-00941c12550b",
	"R41": "b31037ea-6f68-4fbd-bab2-d0d0f44c2fcf", "R42": "23391c84-87d8-452f-a84c-47a62f01e115",
	"R43": "d23ed927-5be3-4902-a9c1-85f841eb4fa1", "R44": "999e9f5d-db4a-4b07-a206-29c4e667b7e8",
	"R45": "67775878-7f8b-4380-ac54-115e1e828901", "R46": "e2399891-383c-4caf-ae67-68a008b9f89e",
	"R47": "aac495a9-feb1-446d-b08e-a1164a539452", "R48": "b97e118c-b7fa-42a6-84de-2e13443fbb8f",
	"R49": "47b9bb10-d216-4359-8cef-08ca2c67e5be", "R50": "2f6bbf88-f5b0-49a3-b2b5-97fc3664e4d4",
	"R51": "4e0a6fc8-697e-4455-be47-831b41ea91ac", "R52": "e8ae92dd-1d41-4530-8be8-85c5014c7b47",
	"R53": "a924d317-03d2-4420-a71f-4d347bda4bd8",
}

var (
	builtinOnce  sync.Once
	builtinRules []*engine.Rule
	builtinErr   error
)

// builtin returns the built-in rules, parsed once.
func builtin(t testing.TB) []*engine.Rule {
	t.Helper()
	builtinOnce.Do(func() { builtinRules, builtinErr = rules.Builtin() })
	if builtinErr != nil {
		t.Fatal(builtinErr)
	}
	return builtinRules
}

// ruleByNumber returns the built-in rule Rnn.
func ruleByNumber(t testing.TB, r string) *engine.Rule {
	t.Helper()
	for _, rule := range builtin(t) {
		if rule.ID == ruleIDs[r] {
			return rule
		}
	}
	t.Fatalf("no built-in rule %s", r)
	return nil
}

// tiSpec describes one indicator (one version of it).
type tiSpec struct {
	id        string
	obs       [][2]string // kind, value
	desc      string
	conf      float64
	expires   time.Time
	generated time.Time
	modified  time.Time
	inactive  bool
}

type tiOpt func(*tiSpec)

func desc(s string) tiOpt          { return func(x *tiSpec) { x.desc = s } }
func conf(c float64) tiOpt         { return func(x *tiSpec) { x.conf = c } }
func expires(at time.Time) tiOpt   { return func(x *tiSpec) { x.expires = at } }
func generated(at time.Time) tiOpt { return func(x *tiSpec) { x.generated = at } }
func modified(at time.Time) tiOpt  { return func(x *tiSpec) { x.modified = at } }
func inactive() tiOpt              { return func(x *tiSpec) { x.inactive = true } }

// also adds an observable to the indicator.
func also(kind, value string) tiOpt {
	return func(x *tiSpec) { x.obs = append(x.obs, [2]string{kind, value}) }
}

// ti describes an indicator with one observable. kind names the
// ThreatIntelligenceIndicator column: ip (NetworkIP), dstip
// (NetworkDestinationIP), srcip (NetworkSourceIP), emailip
// (EmailSourceIpAddress), domain, url, email, hash.
func ti(id, kind, value string, opts ...tiOpt) tiSpec {
	s := tiSpec{id: id, obs: [][2]string{{kind, value}}, conf: -1,
		expires: t0.Add(30 * 24 * time.Hour), generated: t0.Add(-24 * time.Hour)}
	for _, o := range opts {
		o(&s)
	}
	if s.modified.IsZero() {
		s.modified = s.generated
	}
	return s
}

var kinds = map[string]struct {
	typ    engine.ObservableType
	column string
}{
	"ip": {engine.TypeIP, "NetworkIP"}, "dstip": {engine.TypeIP, "NetworkDestinationIP"},
	"srcip": {engine.TypeIP, "NetworkSourceIP"}, "emailip": {engine.TypeIP, "EmailSourceIpAddress"},
	"domain": {engine.TypeDomain, "DomainName"}, "url": {engine.TypeURL, "Url"},
	"email": {engine.TypeEmail, "EmailSenderAddress"}, "hash": {engine.TypeFileHash, "FileHashValue"},
}

// build makes the engine indicator. Observables the engine refuses as
// non-routable (private addresses) are left out, as the loaders do, and
// recorded as the loaders do (Indicator.AdmitObservable).
func (s tiSpec) build(t testing.TB) *engine.Indicator {
	t.Helper()
	ind := &engine.Indicator{IndicatorId: s.id, SourceSystem: "test", ThreatType: "malicious-activity",
		Description: s.desc, ConfidenceScore: s.conf, Active: !s.inactive, ExpirationDateTime: s.expires,
		TimeGenerated: s.generated, Modified: s.modified}
	for _, o := range s.obs {
		k, ok := kinds[o[0]]
		if !ok {
			t.Fatalf("unknown indicator kind %q", o[0])
		}
		obs, err := ind.AdmitObservable(k.typ, k.column, o[1], "")
		var re *engine.RejectError
		if errors.As(err, &re) && re.Reason == "non-routable" {
			continue
		}
		if err != nil {
			t.Fatalf("indicator %s: %v", s.id, err)
		}
		ind.Observables = append(ind.Observables, obs)
	}
	return ind
}

// row is a log row of table stamped ten minutes before t0.
func row(table string, kv ...string) *engine.Event {
	return rowAt(table, t0.Add(-10*time.Minute), kv...)
}

func rowAt(table string, at time.Time, kv ...string) *engine.Event {
	if len(kv)%2 != 0 {
		panic("row: odd key/value list")
	}
	ev := &engine.Event{}
	ev.Reset(table)
	ev.TimeGenerated = at
	ev.Origin = "test"
	for i := 0; i < len(kv); i += 2 {
		ev.Set(kv[i], kv[i+1])
	}
	return ev
}

// runAll matches rows against every built-in rule with the indicators
// loaded (versions in order) at time now and returns the alerts, one per
// rule, indicator, value and hour, after the windows are flushed.
func runAll(t testing.TB, now time.Time, inds []tiSpec, rows ...*engine.Event) []*engine.Alert {
	t.Helper()
	return runStore(t, storeOf(t, inds), now, rows...)
}

// runCompat is runAll in Sentinel compatibility mode (timap match --compat
// sentinel): each rule's sentinel.compat block, the 14-day ingest lookback,
// indicator versions kept, one indicator per value, and alerts grouped by
// Sentinel's dedup keys per hour, carrying the latest row.
func runCompat(t testing.TB, now time.Time, inds []tiSpec, rows ...*engine.Event) []*engine.Alert {
	t.Helper()
	return runStoreCompat(t, versionStoreOf(t, inds), now, rows...)
}

func storeOf(t testing.TB, inds []tiSpec) *engine.Store {
	return storeWith(t, engine.StoreOptions{}, inds)
}

// versionStoreOf is storeOf keeping older indicator versions, as compat
// mode's store does (StoreOptions.KeepVersions).
func versionStoreOf(t testing.TB, inds []tiSpec) *engine.Store {
	return storeWith(t, engine.StoreOptions{KeepVersions: true}, inds)
}

func storeWith(t testing.TB, opts engine.StoreOptions, inds []tiSpec) *engine.Store {
	store := engine.NewStore(opts)
	for _, s := range inds {
		store.Upsert(s.build(t))
	}
	return store
}

func runStore(t testing.TB, store *engine.Store, now time.Time, rows ...*engine.Event) []*engine.Alert {
	t.Helper()
	return runStoreTI(t, store, now, rows...)
}

// runStoreTI is runStore, with the same type as runStoreCompat.
func runStoreTI(t testing.TB, store *engine.Store, now time.Time, rows ...*engine.Event) []*engine.Alert {
	t.Helper()
	return runWith(t, store, now, false, rows...)
}

func runStoreCompat(t testing.TB, store *engine.Store, now time.Time, rows ...*engine.Event) []*engine.Alert {
	t.Helper()
	return runWith(t, store, now, true, rows...)
}

// runWith runs the built-in rules over rows in timap's semantics or, with
// compat, in Sentinel's.
func runWith(t testing.TB, store *engine.Store, now time.Time, compat bool, rows ...*engine.Event) []*engine.Alert {
	t.Helper()
	x, err := engine.NewExecutor(store, builtin(t), engine.ExecutorOptions{Compat: compat})
	if err != nil {
		t.Fatal(err)
	}
	var alerts []*engine.Alert
	agg := engine.NewAggregator(engine.AggregatorOptions{SentinelDedup: compat}, func(a *engine.Alert) error {
		alerts = append(alerts, a)
		return nil
	})
	m := x.NewMatcher()
	for _, ev := range rows {
		// Match adds derived columns to the row: a clone keeps the caller's
		// rows as they were for the next run (compat mode derives PA_Url
		// differently).
		m.Match(ev.Clone(), now, func(mt *engine.Match) {
			if err := agg.Add(mt); err != nil {
				t.Fatal(err)
			}
		})
	}
	if err := agg.Flush(); err != nil {
		t.Fatal(err)
	}
	return alerts
}

// of returns the alerts of rule Rnn.
func of(r string, alerts []*engine.Alert) []*engine.Alert {
	var out []*engine.Alert
	for _, a := range alerts {
		if a.RuleId == ruleIDs[r] {
			out = append(out, a)
		}
	}
	return out
}

// keys renders alerts as sorted "IndicatorId MatchedValue" strings.
func keys(alerts []*engine.Alert) []string {
	var ks []string
	for _, a := range alerts {
		ks = append(ks, a.IndicatorId+" "+a.MatchedValue)
	}
	slices.Sort(ks)
	return ks
}

// entity returns the identifier id of the first entity of type typ that
// has it, or "".
func entity(a *engine.Alert, typ, id string) string {
	for _, e := range a.Entities {
		if e.Type != typ {
			continue
		}
		for _, i := range e.Identifiers {
			if i.Name == id {
				return i.Column
			}
		}
	}
	return ""
}

// sharedData reads a file of the shared research data set (licences that
// forbid copying it into the repository); the test is skipped without it.
func sharedData(t *testing.T, rel string) []byte {
	t.Helper()
	dir := os.Getenv("TIMAP_SHARED_DATA")
	if dir == "" {
		dir = "/work/shared/data"
	}
	b, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Skipf("shared data absent: %v", err)
	}
	return b
}

func fmtKeys(ks []string) string {
	if len(ks) == 0 {
		return "no alerts"
	}
	return fmt.Sprintf("[%s]", strings.Join(ks, ", "))
}

// sameInBothModes runs the vectors whose result is the same in timap's
// semantics and in Sentinel's (T36, T39, T40), in the mode compat says.
func sameInBothModes(t *testing.T, compat bool) {
	run, runStore := runAll, runStoreTI
	if compat {
		run, runStore = runCompat, runStoreCompat
	}
	// T36: the destination matches. Sentinel reports IoCDirection
	// "Destination"; timap's alert names the column (MatchedColumn).
	t.Run("T36", func(t *testing.T) {
		al := of("R46", run(t, t0, []tiSpec{ti("i1", "ip", "203.0.113.10")}, row("_Im_NetworkSession", "SrcIpAddr", "10.0.0.5", "DstIpAddr", "203.0.113.10")))
		if len(al) != 1 || al[0].MatchedValue != "203.0.113.10" || al[0].MatchedColumn != "DstIpAddr" {
			t.Fatalf("alerts %+v", al)
		}
	})

	// T39: the GreyNoise sample indicators expired on 2023-09-12: no match
	// today, as in Sentinel. With the clock set back before the expiry
	// they match (so expiry is what stops them).
	t.Run("T39", func(t *testing.T) {
		load := func(now time.Time) *engine.Store {
			store := engine.NewStore(engine.StoreOptions{})
			if _, err := files.LoadIndicators([]string{"testdata/sentinel-samples/GreyNoiseThreatIntelligence.json"}, "auto", now,
				func(b []*engine.Indicator) { store.Upsert(b...) }); err != nil {
				t.Fatal(err)
			}
			return store
		}
		if al := of("R21", runStore(t, load(t0), t0, row("AWSCloudTrail", "SourceIpAddress", "1.1.1.1"))); len(al) != 0 {
			t.Errorf("expired indicators matched: %s", fmtKeys(keys(al)))
		}
		then := time.Date(2023, 9, 12, 0, 0, 0, 0, time.UTC)
		al := of("R21", runStore(t, load(then), then, rowAt("AWSCloudTrail", then.Add(-10*time.Minute), "SourceIpAddress", "1.1.1.1")))
		if len(al) != 1 || al[0].IndicatorId != "indicator--b8dfd523-5156-5319-9375-53add8183ea4" {
			t.Errorf("before expiry: %s", fmtKeys(keys(al)))
		}
	})

	// T40: R05 alerts on a link only when the mail's EmailEvents row (same
	// NetworkMessageId, not blocked) exists. Same as Sentinel (both sides
	// lower-cased there, normalised here).
	t.Run("T40", func(t *testing.T) {
		tis := []tiSpec{ti("i1", "domain", "Evil.Example.com")}
		link := row("EmailUrlInfo", "Url", "https://evil.example.com/a", "UrlDomain", "evil.example.com", "NetworkMessageId", "m1")
		mail := row("EmailEvents", "NetworkMessageId", "m1", "RecipientEmailAddress", "bob@contoso.com", "DeliveryAction", "Delivered")
		if got := keys(of("R05", run(t, t0, tis, link, mail))); !slices.Equal(got, []string{"i1 evil.example.com"}) {
			t.Errorf("with the mail: %s", fmtKeys(got))
		}
		if got := keys(of("R05", run(t, t0, tis, link))); len(got) != 0 {
			t.Errorf("without the mail: %s", fmtKeys(got))
		}
		// The mail's row may come first; a row of another mail does not do.
		if got := keys(of("R05", run(t, t0, tis, mail, link))); !slices.Equal(got, []string{"i1 evil.example.com"}) {
			t.Errorf("mail first: %s", fmtKeys(got))
		}
		other := row("EmailEvents", "NetworkMessageId", "m2", "RecipientEmailAddress", "bob@contoso.com", "DeliveryAction", "Delivered")
		if got := keys(of("R05", run(t, t0, tis, link, other))); len(got) != 0 {
			t.Errorf("another mail: %s", fmtKeys(got))
		}
	})
}
