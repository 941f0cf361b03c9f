-- migrate:up
-- db_media: the image URLs of supplier files the imports worker handed to media, per product. A URL is fetched
-- once per product: a re-import of the same file finds it here and neither fetches nor creates anything. The
-- row outlives its media file (media_file_id set null when the file is deleted), so a deleted image is not
-- brought back by the next import of the same URL.

CREATE TABLE media_source_urls (
    product_id UUID NOT NULL,  -- Reference cross-DB (pas de FK)
    url TEXT NOT NULL,
    media_file_id UUID REFERENCES media_files(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    PRIMARY KEY (product_id, url)
);
COMMENT ON TABLE media_source_urls IS 'image URLs handed to media by imports, each fetched once per product';
COMMENT ON COLUMN media_source_urls.product_id IS 'cross-database reference to db_catalog.products.id; no FK';
COMMENT ON COLUMN media_source_urls.media_file_id IS 'the media file made from the URL (the one holding the same bytes when they were already there); null once deleted';

CREATE INDEX idx_media_source_urls_media_file_id ON media_source_urls (media_file_id);

-- migrate:down
DROP TABLE media_source_urls;
