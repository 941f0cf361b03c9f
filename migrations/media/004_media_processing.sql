-- migrate:up
-- db_media: media processing. The bytes of a file live in storage under their SHA-256, so one image may
-- illustrate several products (one row each, sharing the stored bytes and thumbnails); a product holds a
-- given content once. Processing keeps its error and time; thumbnails exist per size and format.

ALTER TABLE media_files DROP CONSTRAINT media_files_file_hash_key;
CREATE UNIQUE INDEX uq_media_files_product_file_hash ON media_files (product_id, file_hash) NULLS NOT DISTINCT
    WHERE file_hash IS NOT NULL;

ALTER TABLE media_files
    ADD COLUMN processing_error TEXT,
    ADD COLUMN processed_at TIMESTAMP,
    ADD COLUMN source_url TEXT,
    ADD COLUMN served_object_key TEXT;
COMMENT ON COLUMN media_files.processing_error IS 'why the last processing failed (null unless processing_status = failed)';
COMMENT ON COLUMN media_files.source_url IS 'the URL the image was fetched from, when it was not uploaded';
COMMENT ON COLUMN media_files.served_object_key IS 'storage key of the full-size image served to clients: oriented, metadata stripped';

ALTER TABLE media_thumbnails
    ADD COLUMN format VARCHAR(20),
    ADD COLUMN file_size_bytes BIGINT;
CREATE UNIQUE INDEX uq_media_thumbnails_file_size_format ON media_thumbnails (media_file_id, size_name, format);

-- migrate:down
DROP INDEX uq_media_thumbnails_file_size_format;
ALTER TABLE media_thumbnails DROP COLUMN file_size_bytes, DROP COLUMN format;
ALTER TABLE media_files
    DROP COLUMN served_object_key,
    DROP COLUMN source_url,
    DROP COLUMN processed_at,
    DROP COLUMN processing_error;
DROP INDEX uq_media_files_product_file_hash;
ALTER TABLE media_files ADD CONSTRAINT media_files_file_hash_key UNIQUE (file_hash);
