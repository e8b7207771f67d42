-- R27 TI Map IP Entity to CommonSecurityLog. Both SourceIP and
-- DestinationIP; the first IPv4 address of Message only when both are
-- empty (the fallback candidate).
-- rule: 66c81ae2-1f89-4433-be00-2fbbd9ba5ebe
-- table: csl
-- type: ip
SELECT rid, t, SourceIP AS v FROM csl WHERE coalesce(SourceIP, '') <> ''
UNION ALL
SELECT rid, t, DestinationIP FROM csl WHERE coalesce(DestinationIP, '') <> ''
UNION ALL
SELECT rid, t, first_ipv4(Message) FROM csl
WHERE coalesce(SourceIP, '') = '' AND coalesce(DestinationIP, '') = '' AND coalesce(Message, '') <> ''
