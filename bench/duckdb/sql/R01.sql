-- R01 TI map Domain entity to PaloAlto CommonSecurityLog: the host of the
-- Palo Alto URL of URL-filtering rows (any vendor).
-- rule: dd0a6029-ecef-4507-89c4-fc355ac52111
-- table: csl
-- type: url_host
SELECT rid, t, pa_url1(u, app) AS v
FROM (SELECT rid, t, pa_u(RequestURL, AdditionalExtensions) AS u, ApplicationProtocol AS app FROM csl WHERE lower(coalesce(DeviceEventClassID, '')) = 'url')
