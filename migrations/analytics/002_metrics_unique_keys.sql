-- migrate:up
-- db_analytics: metrics are daily aggregates, so one row per (entity, day): the unique keys make the
-- aggregation jobs' INSERT ... ON CONFLICT upserts possible, and their indexes serve
-- Product.metrics(from, to) / Supplier.metrics(from, to) (product_id = ANY($1) AND date BETWEEN ...)
-- as the index the cross-database reference columns need.

ALTER TABLE product_metrics
    ADD CONSTRAINT uq_product_metrics_product_date UNIQUE (product_id, date);
ALTER TABLE supplier_metrics
    ADD CONSTRAINT uq_supplier_metrics_supplier_date UNIQUE (supplier_id, date);
ALTER TABLE import_metrics
    ADD CONSTRAINT uq_import_metrics_date UNIQUE (date);

-- migrate:down
ALTER TABLE import_metrics DROP CONSTRAINT uq_import_metrics_date;
ALTER TABLE supplier_metrics DROP CONSTRAINT uq_supplier_metrics_supplier_date;
ALTER TABLE product_metrics DROP CONSTRAINT uq_product_metrics_product_date;
