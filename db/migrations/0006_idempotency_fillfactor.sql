-- A key's row is inserted when its request claims it and updated with the response by the same
-- transaction. Room left on each page lets that update stay on the page (a HOT update: no new
-- index entries, nothing for VACUUM to clean in the indexes); full pages made about half of
-- them non-HOT under posting load.
ALTER TABLE idempotency_keys SET (fillfactor = 50);
