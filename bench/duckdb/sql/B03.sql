-- B03 (bench/rules) URL indicators against EmailUrlInfo Url.
-- rule: bench-B03-url-emailurlinfo
-- table: email
-- type: url
SELECT rid, t, Url AS v FROM email WHERE coalesce(Url, '') <> ''
