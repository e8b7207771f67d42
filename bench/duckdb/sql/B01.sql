-- B01 (bench/rules) domain indicators against DnsEvents Name of lookups.
-- rule: bench-B01-domain-dnsevents
-- table: dns
-- type: domain
SELECT rid, t, Name AS v FROM dns WHERE lower(coalesce(SubType, '')) = 'lookupquery' AND coalesce(Name, '') <> ''
