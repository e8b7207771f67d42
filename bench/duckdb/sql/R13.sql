-- R13 TI map Email entity to PaloAlto CommonSecurityLog: DestinationUserID
-- of Palo Alto WildFire rows for SMTP or POP3.
-- rule: ffcd575b-3d54-482a-a6d8-d0de13b6ac63
-- table: csl
-- type: email
SELECT rid, t, DestinationUserID AS v FROM csl
WHERE lower(coalesce(DeviceVendor, '')) = 'palo alto networks' AND lower(coalesce(DeviceEventClassID, '')) = 'wildfire'
  AND lower(coalesce(ApplicationProtocol, '')) IN ('smtp', 'pop3') AND coalesce(DestinationUserID, '') <> ''
