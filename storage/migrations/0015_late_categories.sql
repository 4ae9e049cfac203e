-- A category whose announcement was stored only after its day's push was planned (its listing page
-- and feed failed at first) goes out later, as extra parts; `delivered_late` records that it did, so
-- it goes out once.
ALTER TABLE announcements ADD COLUMN delivered_late TEXT;
