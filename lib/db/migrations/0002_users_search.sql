-- Up Migration
-- GET /users?search= matches a case-insensitive substring of username, email or full_name
-- among active users (ILIKE '%term%'). A B-tree cannot serve a leading wildcard; trigram
-- GIN indexes can, one per column so that the planner ORs three index scans instead of
-- matching across a concatenation of the columns.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX users_username_trgm ON users USING gin (username gin_trgm_ops) WHERE is_active;
CREATE INDEX users_email_trgm ON users USING gin (email gin_trgm_ops) WHERE is_active;
CREATE INDEX users_full_name_trgm ON users USING gin (full_name gin_trgm_ops) WHERE is_active;

-- Down Migration
DROP INDEX users_full_name_trgm;
DROP INDEX users_email_trgm;
DROP INDEX users_username_trgm;
