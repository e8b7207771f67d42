-- Normalisation as SQL macros: the same rules timap's engine applies
-- (engine/normalize.go, engine/url.go), written with DuckDB built-ins only.
-- sql.go chains them as nested SELECTs, one stage per computed column, so
-- that no expensive expression is evaluated twice per row (a macro that
-- uses its argument n times repeats it n times when expanded).
-- Go lower-cases ASCII only in URLs, domains, e-mails and hashes:
-- lower_ascii does the same; filters (KQL =~, Go EqualFold) use lower().
CREATE MACRO lower_ascii(s) AS translate(s, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz');
CREATE MACRO trim_ws(s) AS regexp_replace(s, '^[\t\n\v\f\r ]+|[\t\n\v\f\r ]+$', '', 'g');
-- engine.Refang, as a chain of replace() in the replacer's order.
CREATE MACRO refang(s) AS
  replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
  replace(replace(replace(replace(replace(s,
  '[.]', '.'), '(.)', '.'), '{.}', '.'), '[dot]', '.'), '(dot)', '.'), '[DOT]', '.'),
  '[://]', '://'), '[:]', ':'), '[@]', '@'), '[at]', '@'), '(at)', '@'), '[AT]', '@'),
  'hxxps', 'https'), 'hxxp', 'http'), 'HXXPS', 'https'), 'HXXP', 'http'), 'fxp', 'ftp');

-- Domains (engine.AppendDomain + checkHostname): one trailing dot dropped,
-- ASCII lower-cased, labels of [a-z0-9_-] of 1-63 octets, at least two,
-- at most 253 octets, not an IPv4 literal. Non-ASCII names (IDNA in timap)
-- give NULL.
CREATE MACRO dom_chk(h) AS CASE WHEN length(h) <= 253 AND regexp_full_match(h, '[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63})+')
  AND NOT regexp_full_match(h, '[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+') THEN h END;

-- URLs (engine.AppendURL; sql.go urlNorm chains these): scheme (http when
-- absent), userinfo and host lower-cased, one trailing dot of the host
-- dropped, the scheme's default port dropped, fragment dropped, empty path
-- -> '/', path and query lower-cased. Not expressed here (NULL instead):
-- non-ASCII hosts (IDNA) and paths with '.' or '..' segments (RFC 3986
-- 5.2.4).
CREATE MACRO url_split(x) AS regexp_extract(x, '^(?:([A-Za-z][A-Za-z0-9+.\-]*)://|//)?([^/?#]*)([^?#]*)(\?[^#]*)?', ['scheme', 'auth', 'path', 'query']);
CREATE MACRO url_hp(auth) AS regexp_replace(auth, '^.*@', '');
CREATE MACRO url_host0(hp) AS CASE
  WHEN hp[1] = '[' AND strpos(hp, ']') > 0 THEN hp[1:strpos(hp, ']')]
  WHEN hp[1] = '[' THEN hp
  WHEN strpos(hp, ':') > 0 THEN regexp_extract(hp, '^(.*):', 1)
  ELSE hp END;
CREATE MACRO url_port(hp) AS CASE
  WHEN hp[1] = '[' AND strpos(hp, ']') > 0 THEN CASE WHEN hp[strpos(hp, ']') + 1] = ':' THEN hp[strpos(hp, ']') + 2:] ELSE '' END
  WHEN hp[1] = '[' THEN ''
  WHEN strpos(hp, ':') > 0 THEN regexp_extract(hp, ':([^:]*)$', 1)
  ELSE '' END;
CREATE MACRO url_build(sch, ui, host, port, path, query) AS CASE
  WHEN host = '' OR regexp_matches(host, '[^\x00-\x7f]') OR regexp_matches(path, '(^|/)\.\.?(/|$)') THEN NULL
  ELSE sch || '://' || lower_ascii(ui) || lower_ascii(host)
    || CASE WHEN port <> '' AND NOT (port = '80' AND sch = 'http') AND NOT (port = '443' AND sch = 'https') THEN ':' || port ELSE '' END
    || CASE WHEN path = '' THEN '/' ELSE lower_ascii(path) END || lower_ascii(query) END;
-- engine.URLHost of a normalised URL: after '://', up to '/' or '?',
-- without userinfo, port or IPv6 brackets.
CREATE MACRO url_host1(a) AS CASE
  WHEN a[1] = '[' THEN regexp_extract(a, '^\[([^\]]*)\]', 1)
  WHEN strpos(a, ':') > 0 THEN regexp_extract(a, '^(.*):', 1)
  ELSE a END;

-- IP addresses (engine.ParseAddr): brackets and an IPv6 zone dropped,
-- IPv4 without leading zeros, IPv6 with one '::' at most and an optional
-- IPv4 tail; IPv4-mapped IPv6 is IPv4. An address is (fam, a): fam 4 or 6,
-- a the address as an unsigned 128-bit integer.
CREATE MACRO ip_unbr(s) AS CASE WHEN length(s) > 2 AND s[1] = '[' AND s[-1] = ']' THEN s[2:-2] ELSE s END;
CREATE MACRO ip_clean1(s) AS CASE
  WHEN strpos(s, ':') > 0 AND strpos(s, '%') > 0 THEN CASE WHEN s[-1] = '%' THEN NULL ELSE split_part(s, '%', 1) END
  ELSE s END;
CREATE MACRO ip_clean(s) AS lower(ip_clean1(ip_unbr(s)));
CREATE MACRO ip4_int(s) AS CASE
  WHEN regexp_full_match(s, '((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])')
  THEN (split_part(s, '.', 1)::UHUGEINT << 24) + (split_part(s, '.', 2)::UHUGEINT << 16) + (split_part(s, '.', 3)::UHUGEINT << 8) + split_part(s, '.', 4)::UHUGEINT END;
-- IPv6 macros bind an argument used more than once through a one-element
-- list and a lambda (list_transform([x], q -> ...)[1]): nested macros
-- that repeat their argument would grow exponentially when expanded.
CREATE MACRO ip6_tail(s) AS list_transform([s], q -> CASE
  WHEN regexp_matches(q, ':[0-9]+\.[0-9.]*$')
  THEN list_transform([ip4_int(regexp_extract(q, '([0-9.]+)$', 1))], v ->
         regexp_replace(q, '[0-9.]+$', '') || printf('%x:%x', (v >> 16)::BIGINT, (v & 65535::UHUGEINT)::BIGINT))[1]
  ELSE q END)[1];
CREATE MACRO ip6_side(s, k) AS CASE WHEN split_part(s, '::', k) = '' THEN []::VARCHAR[] ELSE string_split(split_part(s, '::', k), ':') END;
CREATE MACRO ip6_groups(s) AS list_transform([s], q -> CASE
  WHEN q IS NULL THEN NULL
  WHEN strpos(q, '::') = 0 THEN string_split(q, ':')
  WHEN q LIKE '%::%::%' THEN NULL
  ELSE list_transform([[ip6_side(q, 1), ip6_side(q, 2)]], lr -> CASE
         WHEN len(lr[1]) + len(lr[2]) > 7 THEN NULL
         ELSE list_concat(lr[1], list_transform(range(8 - len(lr[1]) - len(lr[2])), z -> '0'), lr[2]) END)[1]
  END)[1];
CREATE MACRO ip6_int(g) AS list_transform([g], gg -> CASE
  WHEN gg IS NOT NULL AND len(gg) = 8 AND list_bool_and(list_transform(gg, x -> regexp_full_match(x, '[0-9a-f]{1,4}')))
  THEN list_reduce(list_transform(gg, x -> ('0x' || x)::INTEGER::UHUGEINT), (a, b) -> a * 65536::UHUGEINT + b) END)[1];
CREATE MACRO ip6_val(s) AS ip6_int(ip6_groups(ip6_tail(s)));
-- An address (fam, a), IPv4-mapped IPv6 unmapped.
CREATE MACRO ip_parse(x) AS CASE
  WHEN x IS NULL THEN NULL
  WHEN strpos(x, ':') = 0 THEN {'fam': 4, 'a': ip4_int(x)}
  ELSE list_transform([ip6_val(x)], v -> CASE WHEN v >> 32 = 65535 THEN {'fam': 4, 'a': v & 4294967295::UHUGEINT} ELSE {'fam': 6, 'a': v} END)[1] END;
-- The first IPv4 address in free text (R27's Message fallback): maximal
-- runs of digits and dots, trailing dots trimmed, the first valid one.
CREATE MACRO first_ipv4(s) AS list_filter(list_transform(regexp_extract_all(s, '[0-9.]+'), x -> rtrim(x, '.')), x -> ip4_int(x) IS NOT NULL)[1];

-- Palo Alto URL (R01, R07, R39; engine appendPAURL): RequestURL without
-- quotes, or when it is empty and the extensions are not PAN-OS pairs, the
-- first quote-free run of AdditionalExtensions (pa_u); then http://
-- (https:// for ssl) only when there is no scheme (pa_url1).
CREATE MACRO pa_u(req, ext) AS CASE
  WHEN coalesce(req, '') <> '' THEN trim(req, '"')
  WHEN coalesce(ext, '') <> '' AND lower(ext[1:5]) <> 'panos' THEN lower_ascii(split_part(ltrim(ext, '"'), '"', 1))
  ELSE '' END;
CREATE MACRO pa_url1(u, app) AS CASE
  WHEN u = '' THEN ''
  WHEN regexp_matches(u, '^[A-Za-z][A-Za-z0-9+.\-]*://') THEN u
  WHEN lower(coalesce(app, '')) = 'ssl' THEN 'https://' || u
  ELSE 'http://' || u END;

-- KQL has / engine.hasTerm: term (lower case, no regexp metacharacters)
-- occurs in s as a whole run of letters and digits, ignoring case; bytes
-- >= 0x80 count as letters in Go, so non-ASCII characters do here.
CREATE MACRO has_term(s, term) AS regexp_matches(lower_ascii(coalesce(s, '')),
  '(^|[^0-9a-z\x{80}-\x{10FFFF}])' || term || '($|[^0-9a-z\x{80}-\x{10FFFF}])');
