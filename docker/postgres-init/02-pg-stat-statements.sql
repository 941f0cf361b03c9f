-- Run once by the postgres image on an empty data volume: pg_stat_statements in each domain database, for the
-- slowest statements of `pm db report` and `databaseHealth` (the server preloads it: see docker-compose.yml).
\c db_core
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
\c db_catalog
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
\c db_imports
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
\c db_exports
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
\c db_media
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
\c db_code2asin
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
\c db_analytics
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
