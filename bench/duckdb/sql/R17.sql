-- R17 TI map File Hash to CommonSecurityLog Event: FileHash of any row.
-- rule: 5d33fc63-b83b-4913-b95e-94d13f0d379f
-- table: csl
-- type: hash
SELECT rid, t, FileHash AS v FROM csl WHERE coalesce(FileHash, '') <> ''
