-- R05 and R37 (engine/join.go): the EmailUrlInfo rows of delivered mail,
-- that is with an EmailEvents row of the same NetworkMessageId whose
-- DeliveryAction has no term "Blocked", at most the rules' join window
-- (1 h, inclusive) before or after the link's row. Any such row will do:
-- the engine keeps the newest partner row per key and parks a match until
-- one comes, which in a stream in time order comes to the same. Created
-- once email and mail are loaded (a view binds its tables).
CREATE TEMP VIEW delivered_links AS
SELECT e.* FROM email e
WHERE coalesce(e.NetworkMessageId, '') <> '' AND EXISTS (
  SELECT 1 FROM mail m
  WHERE m.NetworkMessageId = e.NetworkMessageId AND NOT has_term(m.DeliveryAction, 'blocked')
    AND m.t BETWEEN e.t - 3600000000 AND e.t + 3600000000);
