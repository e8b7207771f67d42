-- R07 TI map Domain entity to PaloAlto: the host of the URL of Palo Alto
-- URL-filtering rows.
-- rule: ec21493c-2684-4acd-9bc2-696dbad72426
-- table: csl
-- type: url_host
SELECT rid, t, pa_url1(u, app) AS v
FROM (SELECT rid, t, pa_u(RequestURL, AdditionalExtensions) AS u, ApplicationProtocol AS app FROM csl WHERE lower(coalesce(DeviceVendor, '')) = 'palo alto networks' AND lower(coalesce(DeviceEventClassID, '')) = 'url')
