-- Indicators from the side-file: every version of every indicator, with the
-- value as written to the feed or STIX file. The newest version (Modified;
-- ties: the first read) of each IndicatorId wins, and a revoked newest
-- version removes the indicator (Store.Upsert semantics).
CREATE TABLE ind AS
SELECT IndicatorId AS id, Type AS typ, Value AS raw,
       CASE WHEN ExpirationDateTime IS NULL THEN NULL ELSE epoch_us(CAST(ExpirationDateTime AS TIMESTAMP)) END AS exp
FROM (SELECT *, row_number() OVER (PARTITION BY IndicatorId ORDER BY CAST(Modified AS TIMESTAMP) DESC, Seq) AS rn
      FROM read_ndjson('$IND', columns = {IndicatorId: 'VARCHAR', Type: 'VARCHAR', Value: 'VARCHAR', Modified: 'VARCHAR',
                                          Active: 'BOOLEAN', ExpirationDateTime: 'VARCHAR', Seq: 'BIGINT'}))
WHERE rn = 1 AND Active;

-- The typed tables ind_dom, ind_url, ind_email and ind_hash are built by
-- sql.go (indicatorTables) with the normalisers the events go through.

-- IP indicators as ranges (engine.ParsePrefix): a single address is a /32
-- or /128; an IPv4-mapped prefix of /96 or longer is the IPv4 prefix; host
-- bits are masked off by keeping net = a >> (width - bits). The
-- non-routable ranges (also when embedded in NAT64 64:ff9b::/96 or 6to4
-- 2002::/16) and ranges wider than /8 (IPv4) or /16 (IPv6) are refused, as
-- engine.NewObservable refuses them.
CREATE TABLE ip_pfx AS
WITH p AS (
  SELECT id, exp, ip_clean(s0) AS s FROM (SELECT id, exp, trim_ws(refang(raw)) AS s0 FROM ind WHERE typ = 'ip')
  UNION ALL
  SELECT 'nonroutable', NULL, r FROM (VALUES ('10.0.0.0/8'), ('172.16.0.0/12'), ('192.168.0.0/16'), ('127.0.0.0/8'),
    ('169.254.0.0/16'), ('0.0.0.0/8'), ('100.64.0.0/10'), ('255.255.255.255/32'), ('198.18.0.0/15'), ('240.0.0.0/4'),
    ('224.0.0.0/4'), ('fc00::/7'), ('::1/128'), ('fe80::/10'), ('::/128'), ('ff00::/8')) v(r)
), q AS (
  SELECT id, exp, split_part(s, '/', 1) AS addr, CASE WHEN strpos(s, '/') > 0 THEN TRY_CAST(split_part(s, '/', 2) AS INTEGER) END AS b,
         strpos(s, '/') > 0 AS has_bits
  FROM p
), r AS (
  SELECT id, exp, b, has_bits, strpos(addr, ':') > 0 AS six,
         CASE WHEN strpos(addr, ':') > 0 THEN ip6_val(addr) ELSE ip4_int(addr) END AS a
  FROM (SELECT * FROM q WHERE addr IS NOT NULL)
), s AS (
  SELECT id, exp, a, has_bits, b,
         CASE WHEN six AND a >> 32 = 65535 THEN 4 WHEN six THEN 6 ELSE 4 END AS fam,
         six AND a >> 32 = 65535 AS mapped
  FROM r WHERE a IS NOT NULL
), t AS (
  SELECT id, exp, fam,
         CASE WHEN NOT has_bits THEN CASE fam WHEN 4 THEN 32 ELSE 128 END WHEN mapped THEN b - 96 ELSE b END AS bits,
         CASE WHEN mapped THEN a & 4294967295::UHUGEINT ELSE a END AS a
  FROM s WHERE NOT has_bits OR (b IS NOT NULL AND (CASE WHEN mapped THEN b BETWEEN 96 AND 128 WHEN fam = 4 THEN b BETWEEN 0 AND 32 ELSE b BETWEEN 0 AND 128 END))
)
SELECT id, exp, fam, bits, CASE WHEN bits = 0 THEN 0::UHUGEINT ELSE a >> (CASE fam WHEN 4 THEN 32 ELSE 128 END - bits)::UHUGEINT END AS net FROM t;

-- The IPv4 range an IPv6 prefix embeds: NAT64 (64:ff9b::/96, bits >= 96)
-- carries it in the last 32 bits, 6to4 (2002::/16, bits >= 48) in bits
-- 16-47.
CREATE TABLE ip_embedded AS
SELECT id, fam, bits, net, 4 AS efam, bits - 96 AS ebits, net & ((1::UHUGEINT << (bits - 96)::UHUGEINT) - 1) AS enet FROM ip_pfx
WHERE fam = 6 AND bits >= 96 AND net >> (bits - 96)::UHUGEINT = 6619035::UHUGEINT << 64
UNION ALL
SELECT id, fam, bits, net, 4, least(bits - 16, 32), (net >> (greatest(bits - 48, 0))::UHUGEINT) & ((1::UHUGEINT << (least(bits, 48) - 16)::UHUGEINT) - 1) FROM ip_pfx
WHERE fam = 6 AND bits >= 48 AND net >> (bits - 16)::UHUGEINT = 8194;

CREATE TABLE ind_ip AS
WITH nr AS (SELECT fam, bits, net FROM ip_pfx WHERE id = 'nonroutable'),
cands AS (
  SELECT id, fam, bits, net, fam AS cfam, bits AS cbits, net AS cnet FROM ip_pfx WHERE id <> 'nonroutable'
  UNION ALL
  SELECT id, fam, bits, net, efam, ebits, enet FROM ip_embedded WHERE id <> 'nonroutable'
),
refused AS (
  SELECT DISTINCT c.id, c.fam, c.bits, c.net FROM cands c JOIN nr n ON n.fam = c.cfam AND n.bits <= c.cbits
  AND c.cnet >> (c.cbits - n.bits)::UHUGEINT = n.net
)
SELECT i.id, i.exp, i.fam, i.bits, i.net FROM ip_pfx i
WHERE i.id <> 'nonroutable'
  AND i.bits >= CASE i.fam WHEN 4 THEN 8 ELSE 16 END
  AND NOT EXISTS (SELECT 1 FROM refused r WHERE r.id = i.id AND r.fam = i.fam AND r.bits = i.bits AND r.net = i.net);
-- The prefix lengths present: an event address is looked up once per length.
CREATE TABLE ip_lens AS SELECT DISTINCT fam, bits FROM ind_ip;
