package feed

import (
	"crypto/sha256"
	"encoding/hex"

	"timap/engine"
)

// IndicatorID returns the IndicatorId Load gives to the normalised value of
// type t from source: "feed--" and a UUID made of the first 16 bytes of
// SHA-256(source NUL type NUL value), with the RFC 9562 version 8 (custom)
// and variant bits set. It is stable across reloads and releases; the same
// value from two sources yields two ids, which is intended (Sentinel keeps
// one indicator per source too).
func IndicatorID(source string, t engine.ObservableType, value string) string {
	u, _ := idUUID(nil, source, t, value)
	return formatID(u)
}

// idUUID computes the UUID of IndicatorID, using scratch for hashing; it
// returns scratch for reuse.
func idUUID(scratch []byte, source string, t engine.ObservableType, value string) ([16]byte, []byte) {
	in := append(scratch[:0], source...)
	in = append(in, 0)
	in = append(in, t.String()...)
	in = append(in, 0)
	in = append(in, value...)
	sum := sha256.Sum256(in)
	var u [16]byte
	copy(u[:], sum[:16])
	u[6] = u[6]&0x0f | 0x80 // version 8
	u[8] = u[8]&0x3f | 0x80 // variant 10xx
	return u, in
}

// formatID renders "feed--xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx".
func formatID(u [16]byte) string {
	out := make([]byte, 0, 42)
	out = append(out, "feed--"...)
	out = hex.AppendEncode(out, u[0:4])
	for _, g := range [...][2]int{{4, 6}, {6, 8}, {8, 10}, {10, 16}} {
		out = append(out, '-')
		out = hex.AppendEncode(out, u[g[0]:g[1]])
	}
	return string(out)
}
