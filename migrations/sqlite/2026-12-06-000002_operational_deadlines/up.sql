-- A deadline whose figure the cited text does not set is the definition's operational choice,
-- and says so wherever it is shown. Deadlines opened before carry the flag as false: their
-- definitions said so only in their legal basis's wording.
ALTER TABLE deadlines ADD COLUMN operational BOOLEAN NOT NULL DEFAULT FALSE;
