DROP TABLE user_events;
DROP TABLE sessions;
DROP TABLE users;
