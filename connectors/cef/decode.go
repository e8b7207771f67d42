package cef

import "timap/engine"

// Table is the Log Analytics table Decode produces rows of.
const Table = "CommonSecurityLog"

// Decode parses one CEF line (see Parse) and fills ev, which the caller has
// already Reset to Table, with the CommonSecurityLog columns that need asks
// for (all of them when need is nil). Columns follow Microsoft's CEF
// mapping (see columnOf):
//
//   - header: DeviceVendor, DeviceProduct, DeviceVersion,
//     DeviceEventClassID, Activity (Name), LogSeverity (Severity);
//   - Computer and CollectorHostName: the syslog HOSTNAME;
//   - SourceSystem: "OpsManager", as Sentinel always sets it;
//   - extension keys through columnOf; ReceiptTime keeps rt's raw text;
//   - every other key in AdditionalExtensions as "key=value" pairs joined
//     with ';', Sentinel's format, built only when that column is needed.
//
// Empty values are not set, since a missing column and an empty one read
// the same (engine.Event.Value). A repeated key keeps its last value.
//
// ev.TimeGenerated is, in order of preference: the CEF rt (receipt time:
// epoch milliseconds, or "MMM dd yyyy HH:mm:ss[.SSS] [zone]", "MMM dd
// HH:mm:ss", RFC 3339, …), the syslog header time, and finally p.Now
// (time.Now() when zero). rt is preferred because it is the device's own
// time for the event, while the syslog stamp is set by a forwarder.
// Times without a zone are read in p.Location (UTC when nil).
// ev.Origin is left to the caller.
//
// Decode returns Parse's *ParseError for lines that are not CEF; ev may
// then hold some columns and should be discarded. Unless p.CopyLine is set,
// the values put in ev point into line: see Parser.CopyLine. With need
// excluding AdditionalExtensions, no escape sequences in the line and
// CopyLine unset, Decode does not allocate (once ev and p have grown their
// storage on earlier lines).
func (p *Parser) Decode(line []byte, ev *engine.Event, need engine.ColumnSet) error {
	rec := &p.rec
	if err := p.Parse(line, rec); err != nil {
		return err
	}
	set(ev, need, "DeviceVendor", rec.DeviceVendor)
	set(ev, need, "DeviceProduct", rec.DeviceProduct)
	set(ev, need, "DeviceVersion", rec.DeviceVersion)
	set(ev, need, "DeviceEventClassID", rec.DeviceEventClassID)
	set(ev, need, "Activity", rec.Name)
	set(ev, need, "LogSeverity", rec.Severity)
	set(ev, need, "Computer", rec.SyslogHost)
	set(ev, need, "CollectorHostName", rec.SyslogHost)
	set(ev, need, "SourceSystem", "OpsManager")

	wantExtra := need.Has("AdditionalExtensions")
	p.buf = p.buf[:0]
	var rt string
	for _, kv := range rec.Extensions {
		col, ok := columnOf[kv.Key]
		if !ok {
			if wantExtra && kv.Value != "" {
				p.buf = append(p.buf, kv.Key...)
				p.buf = append(p.buf, '=')
				p.buf = append(p.buf, kv.Value...)
				p.buf = append(p.buf, ';')
			}
			continue
		}
		if col == "ReceiptTime" {
			rt = kv.Value
		}
		set(ev, need, col, kv.Value)
		if old, ok := int32Column[kv.Key]; ok && fitsInt32(kv.Value) {
			set(ev, need, old, kv.Value)
		}
	}
	if len(p.buf) > 0 {
		ev.Set("AdditionalExtensions", string(p.buf[:len(p.buf)-1]))
	}

	switch t, ok := p.parseTime(rt); {
	case ok:
		ev.TimeGenerated = t
	case !rec.SyslogTime.IsZero():
		ev.TimeGenerated = rec.SyslogTime
	default:
		ev.TimeGenerated = p.now().UTC()
	}
	return nil
}

// set sets column to v when v is not empty and need asks for column.
func set(ev *engine.Event, need engine.ColumnSet, column, v string) {
	if v != "" && need.Has(column) {
		ev.Set(column, v)
	}
}

// fitsInt32 reports whether v is a decimal integer within Int32's range.
func fitsInt32(v string) bool {
	i := 0
	if i < len(v) && (v[0] == '-' || v[0] == '+') {
		i++
	}
	if i == len(v) || len(v)-i > 10 {
		return false
	}
	var n int64
	for ; i < len(v); i++ {
		if !isDigit(v[i]) {
			return false
		}
		n = n*10 + int64(v[i]-'0')
	}
	if v[0] == '-' {
		return n <= 1<<31
	}
	return n < 1<<31
}
