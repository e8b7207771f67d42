-- R29 TI Map IP Entity to DnsEvents: the IPAddresses of lookups, split on
-- "," (the normaliser trims each item; empty items give NULL).
-- rule: 69b7723c-2889-469f-8b55-a2d355ed9c87
-- table: dns
-- type: ip
SELECT rid, t, unnest(string_split(IPAddresses, ',')) AS v FROM dns
WHERE lower(coalesce(SubType, '')) = 'lookupquery' AND coalesce(IPAddresses, '') <> ''
