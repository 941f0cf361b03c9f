-- Run once by the postgres image on an empty data volume: the seven domain databases (one per subgraph).
-- Their tables come from the migrate service (`pnpm pm migrate up`), never from here.
CREATE DATABASE db_core;
CREATE DATABASE db_catalog;
CREATE DATABASE db_imports;
CREATE DATABASE db_exports;
CREATE DATABASE db_media;
CREATE DATABASE db_code2asin;
CREATE DATABASE db_analytics;
