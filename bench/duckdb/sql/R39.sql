-- R39 TI Map URL Entity to PaloAlto Data: the URL of Palo Alto
-- URL-filtering rows.
-- rule: 106813db-679e-4382-a51b-1bfc463befc3
-- table: csl
-- type: url
SELECT rid, t, pa_url1(u, app) AS v
FROM (SELECT rid, t, pa_u(RequestURL, AdditionalExtensions) AS u, ApplicationProtocol AS app FROM csl WHERE lower(coalesce(DeviceVendor, '')) = 'palo alto networks' AND lower(coalesce(DeviceEventClassID, '')) = 'url')
