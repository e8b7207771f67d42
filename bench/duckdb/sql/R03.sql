-- R03 TI map Domain entity to DnsEvents: the Name of every DnsEvents row
-- (no SubType filter, unlike R29).
-- rule: 85aca4d1-5d15-4001-abd9-acb86ca1786a
-- table: dns
-- type: domain
SELECT rid, t, Name AS v FROM dns WHERE coalesce(Name, '') <> ''
