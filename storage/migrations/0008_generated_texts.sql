-- Titles and summaries written by the optional language model, once per paper and language.
-- A rejected or failed answer is kept too, so the same paper is not asked for again and again.
CREATE TABLE generated_texts (
    arxiv_id    TEXT    NOT NULL,
    language    TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('ok', 'rejected', 'failed')),
    title       TEXT,
    summary     TEXT,
    model       TEXT    NOT NULL,
    problem     TEXT,
    created     TEXT    NOT NULL,
    PRIMARY KEY (arxiv_id, language)
);

-- Requests made to the model per UTC day, against LLM_DAILY_BUDGET.
CREATE TABLE llm_usage (
    day       TEXT    PRIMARY KEY,
    requests  INTEGER NOT NULL
);
