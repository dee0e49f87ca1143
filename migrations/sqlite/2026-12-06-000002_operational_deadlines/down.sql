ALTER TABLE deadlines DROP COLUMN operational;
