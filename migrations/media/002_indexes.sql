-- migrate:up
-- db_media: the GraphQL API lists a product's media in display order (Product.media, batched on
-- product_id = ANY($1), ORDER BY product_id, display_order, id), which this index serves without a sort.

CREATE INDEX idx_media_files_product_display_order ON media_files(product_id, display_order, id);

-- migrate:down
DROP INDEX idx_media_files_product_display_order;
