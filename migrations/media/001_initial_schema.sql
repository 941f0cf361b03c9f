-- migrate:up
-- db_media: seed 000 tables and indexes (media_files with SHA-256 deduplication, media_thumbnails).

CREATE TABLE media_files (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    product_id UUID,  -- Reference cross-DB (pas de FK)

    -- Info fichier
    file_name VARCHAR(500) NOT NULL,
    file_hash VARCHAR(64) UNIQUE,  -- SHA-256 deduplication
    mime_type VARCHAR(100),
    file_size_bytes BIGINT,

    -- Stockage MinIO
    storage_type VARCHAR(50),  -- 'minio', 's3', 'local'
    bucket_name VARCHAR(100),
    object_key TEXT,
    storage_url TEXT,

    -- Metadonnees image
    width INTEGER,
    height INTEGER,
    format VARCHAR(20),
    image_type VARCHAR(50),

    -- Display
    display_order INTEGER DEFAULT 0,
    is_primary BOOLEAN DEFAULT FALSE,
    alt_text TEXT,

    -- Statut
    processing_status VARCHAR(50) DEFAULT 'pending',
    is_valid BOOLEAN DEFAULT TRUE,

    created_at TIMESTAMP DEFAULT NOW()
);

COMMENT ON COLUMN media_files.product_id IS 'cross-database reference to db_catalog.products.id; no FK';

CREATE INDEX idx_media_files_product_id ON media_files(product_id);
-- Seed index; redundant with the UNIQUE index on file_hash but named by the seed, so kept.
CREATE INDEX idx_media_files_file_hash ON media_files(file_hash);
CREATE INDEX idx_media_files_is_primary ON media_files(is_primary);

CREATE TABLE media_thumbnails (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    media_file_id UUID REFERENCES media_files(id) ON DELETE CASCADE,
    size_name VARCHAR(20) NOT NULL,  -- 'small', 'medium', 'large'
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    object_key TEXT NOT NULL,
    storage_url TEXT,
    created_at TIMESTAMP DEFAULT NOW()
);

CREATE INDEX idx_media_thumbnails_media_file_id ON media_thumbnails(media_file_id);

-- migrate:down
DROP TABLE media_thumbnails;
DROP TABLE media_files;
