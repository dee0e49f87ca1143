-- What search finds instances and cases by, as folded words (Vietnamese without its marks,
-- lower case, see the engine's search): the numbers anyone who sees the row may search by,
-- the names and ID numbers only those who may see a case's personal data search by, and who
-- may find the row at all: a word for each agency an instance is seen by, one for the office
-- holding a case. Written in the transaction of the step or the case it follows.
--
-- The words are folded by the service, identically on both backends, so the text search
-- configuration is 'simple' (no stemming, no stop words) and no extension is needed.
-- Weights tell the columns apart in one index: A numbers, B names, D who may find it.
CREATE TABLE search_terms (
    id        BIGSERIAL PRIMARY KEY,
    -- instance or case
    kind      TEXT NOT NULL,
    target_id TEXT NOT NULL,
    numbers   TEXT NOT NULL,
    names     TEXT NOT NULL,
    scope     TEXT NOT NULL,
    words     TSVECTOR GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', numbers), 'A')
        || setweight(to_tsvector('simple', names), 'B')
        || setweight(to_tsvector('simple', scope), 'D')
    ) STORED,
    UNIQUE (kind, target_id)
);
CREATE INDEX search_terms_words ON search_terms USING GIN (words);
-- The instances and cases already there are indexed by the service when it next starts: what
-- an instance is found by is read from its definition.
INSERT INTO pending_tasks (name) VALUES ('index_for_search');
-- Deadlines are titled by their definitions now, not by their names: the service retitles
-- those it opened before, when it next starts.
INSERT INTO pending_tasks (name) VALUES ('title_deadlines');
