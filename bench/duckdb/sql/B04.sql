-- B04 (bench/rules) domain indicators against EmailUrlInfo UrlDomain.
-- rule: bench-B04-domain-emailurlinfo
-- table: email
-- type: domain
SELECT rid, t, UrlDomain AS v FROM email WHERE coalesce(UrlDomain, '') <> ''
