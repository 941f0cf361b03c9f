-- migrate:up
-- Delivery to a shop is made idempotent across a worker's death: before a batch of items is sent to the shop's
-- API, the worker stamps them with sent_at (committed before the call). An item still pending with sent_at set
-- may have reached the shop without its answer being recorded: the next run looks it up on the shop (by SKU)
-- and updates it there rather than creating it a second time.
ALTER TABLE export_job_items ADD COLUMN sent_at TIMESTAMP;

COMMENT ON COLUMN export_job_items.sent_at IS 'when the item was last sent to a shop''s API; pending with sent_at = maybe received';

-- migrate:down
ALTER TABLE export_job_items DROP COLUMN sent_at;
