DELETE FROM pending_tasks WHERE name = 'title_deadlines';
DELETE FROM pending_tasks WHERE name = 'index_for_search';
DROP TRIGGER search_terms_updated;
DROP TRIGGER search_terms_deleted;
DROP TRIGGER search_terms_inserted;
DROP TABLE search_index;
DROP TABLE search_terms;
