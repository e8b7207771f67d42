-- R37 TI Map URL Entity to EmailUrlInfo: its Url candidate, on the
-- links of delivered mail (the view delivered_links of delivered.sql, the
-- join with EmailEvents).
-- rule: a0038239-72f4-4f7b-90ff-37f89f7881e0
-- table: email
-- type: url
SELECT rid, t, Url AS v FROM delivered_links WHERE coalesce(Url, '') <> ''
