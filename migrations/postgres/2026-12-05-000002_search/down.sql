DELETE FROM pending_tasks WHERE name = 'title_deadlines';
DELETE FROM pending_tasks WHERE name = 'index_for_search';
DROP TABLE search_terms;
