-- R05 TI map Domain entity to EmailUrlInfo: its UrlDomain candidate, on the
-- links of delivered mail (the view delivered_links of delivered.sql, the
-- join with EmailEvents).
-- rule: 87cc75df-d7b2-44f1-b064-ee924edfc879
-- table: email
-- type: domain
SELECT rid, t, UrlDomain AS v FROM delivered_links WHERE coalesce(UrlDomain, '') <> ''
