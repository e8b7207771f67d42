// Package feed loads flat indicator feeds — plain-text lists with one value
// a line, such as ipsum, ThreatFox, Phishing.Database, maltrail trails,
// Spamhaus DROP, signature-base (LOKI) IOC files and hash lists — into
// engine.Indicator values with one observable each.
//
// # Line format
//
// Each line is trimmed of white space (and a leading UTF-8 byte-order mark).
//
//   - Blank lines are counted and skipped.
//   - Lines starting with '#' or ';' are comments. They may set the
//     Description of the values below them (see "Descriptions").
//   - Otherwise the line is a value line:
//     1. "VALUE;REST", where VALUE holds no white space and no '/'
//     (signature-base "HASH;COMMENT" and "IP;SCORE"): REST is the comment,
//     or, when it is a number, the tag "score:N" (LOKI's score field). The
//     '/' condition keeps URLs whose path holds a ';' whole.
//     2. Otherwise a trailing comment starting at white space followed by
//     '#' or ';' is cut off ("1.2.3.4 # scanner", "1.10.16.0/20 ; SBL123").
//     3. The first white-space separated field is the value. A hosts-file
//     line ("0.0.0.0 evil.example") uses its second field instead. When the
//     rest of the line is a single number ("IP<TAB>10", ipsum's count of
//     blacklists) it becomes the tag "count:N"; any other rest is treated
//     as a comment.
//
// The value's type is found by Detect; an "ip:port" or "[v6]:port" value
// yields an IP indicator tagged "port:N" (the indicator then matches the
// address on every port: Sentinel's IP columns carry no port).
//
// # Descriptions
//
// An indicator's Description is, in order of preference: the comment on its
// own line ("HASH;COMMENT", "IP # name", "CIDR ; SBL123"); other text on its
// line; the description set by the comment lines above it. Comment lines
// between two value lines form a block, which is read when the next value
// line arrives:
//
//   - if the block has "Reference: URL" lines (maltrail), the description
//     becomes "Reference: URL1, URL2, …", the block's references (beyond
//     ten, the rest is counted: "(+N more)");
//   - else, if the block's last line is prose and the value line follows it
//     directly, with no blank line in between (a signature-base group
//     header: "# Sofacy report Dec 2015 https://…"), that prose becomes the
//     description;
//   - else, if the block has any prose (a file header, "# Aliases: …"), the
//     description is cleared;
//   - else (only commented-out values such as "# http://45.12.1.25", or
//     decoration such as "#####") the description carries on unchanged.
//
// A comment line is prose unless its first field looks like a value (an
// address, CIDR, URL, path, e-mail, hash or dotted name) or it has no letter
// or digit at all.
//
// # Indicators
//
// Each admitted value becomes its own indicator with one observable, made
// by engine.NewObservable (which normalises, refangs, and refuses e.g.
// non-routable addresses): column NetworkIP for addresses (NetworkCidrBlock
// for ranges), DomainName, Url, EmailSenderAddress or FileHashValue. Its
// IndicatorId is IndicatorID(SourceSystem, type, normalised value), so a
// reload yields the same ids and the engine's store replaces rather than
// adds; the same value twice in one load is one indicator.
package feed
