-- B02 (bench/rules) IP indicators against the IPAddresses of DnsEvents
-- lookups, split on ", ".
-- rule: bench-B02-ip-dnsevents
-- table: dns
-- type: ip
SELECT rid, t, unnest(string_split(IPAddresses, ', ')) AS v FROM dns
WHERE lower(coalesce(SubType, '')) = 'lookupquery' AND coalesce(IPAddresses, '') <> ''
