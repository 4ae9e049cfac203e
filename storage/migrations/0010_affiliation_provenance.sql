-- Where each stored affiliation came from, so a later and better source replaces a weaker one and
-- `doctor` can say how affiliations were obtained: a JSON array parallel to `affiliations`, each item
-- 'api' (the export API's arxiv:affiliation), 'html-authors' (the HTML page's author block) or
-- 'html-note' (a \thanks or footnote on the HTML page). Rows stored before this migration keep '[]':
-- their provenance was not recorded.
ALTER TABLE authors ADD COLUMN affiliation_sources TEXT NOT NULL DEFAULT '[]';

-- How many of a push's featured entries (the top of each digest) there were, and how many of them
-- went out with affiliations; NULL for pushes planned before this migration.
ALTER TABLE push_runs ADD COLUMN featured INTEGER;

ALTER TABLE push_runs ADD COLUMN featured_with_affiliations INTEGER;
