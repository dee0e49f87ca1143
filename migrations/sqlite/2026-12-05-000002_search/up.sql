-- What search finds instances and cases by, as folded words (Vietnamese without its marks,
-- lower case, see the engine's search): the numbers anyone who sees the row may search by,
-- the names and ID numbers only those who may see a case's personal data search by, and who
-- may find the row at all: a word for each agency an instance is seen by, one for the office
-- holding a case. Written in the transaction of the step or the case it follows.
CREATE TABLE search_terms (
    id        INTEGER PRIMARY KEY,
    -- instance or case
    kind      TEXT NOT NULL,
    target_id TEXT NOT NULL,
    numbers   TEXT NOT NULL,
    names     TEXT NOT NULL,
    scope     TEXT NOT NULL,
    UNIQUE (kind, target_id)
);
-- The full-text index over them (FTS5, kept by the triggers below); no phrase is ever
-- searched, so it keeps which column a word is in, not where.
CREATE VIRTUAL TABLE search_index USING fts5(
    numbers, names, scope,
    content = 'search_terms', content_rowid = 'id', detail = 'column'
);
CREATE TRIGGER search_terms_inserted AFTER INSERT ON search_terms BEGIN
    INSERT INTO search_index (rowid, numbers, names, scope)
    VALUES (new.id, new.numbers, new.names, new.scope);
END;
CREATE TRIGGER search_terms_deleted AFTER DELETE ON search_terms BEGIN
    INSERT INTO search_index (search_index, rowid, numbers, names, scope)
    VALUES ('delete', old.id, old.numbers, old.names, old.scope);
END;
CREATE TRIGGER search_terms_updated AFTER UPDATE ON search_terms BEGIN
    INSERT INTO search_index (search_index, rowid, numbers, names, scope)
    VALUES ('delete', old.id, old.numbers, old.names, old.scope);
    INSERT INTO search_index (rowid, numbers, names, scope)
    VALUES (new.id, new.numbers, new.names, new.scope);
END;
-- The instances and cases already there are indexed by the service when it next starts: what
-- an instance is found by is read from its definition.
INSERT INTO pending_tasks (name) VALUES ('index_for_search');
-- Deadlines are titled by their definitions now, not by their names: the service retitles
-- those it opened before, when it next starts.
INSERT INTO pending_tasks (name) VALUES ('title_deadlines');
