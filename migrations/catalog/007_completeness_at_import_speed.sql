-- migrate:up
-- Completeness at import speed. Two changes, answers unchanged:
-- 1. refresh_product_completeness computes each product's missing items once (the flattened query of 006
--    evaluated the array expression twice per product, once for the score and once for the list);
-- 2. a writer that refreshes the scores itself once per set of rows (catalog's bulk write: products, prices
--    and stock of a chunk of an import) sets catalog.defer_completeness to on for its transaction, and the
--    statement triggers then leave the work to it, instead of three refreshes of the same products per chunk.
CREATE OR REPLACE FUNCTION refresh_product_completeness(ids UUID[]) RETURNS void
LANGUAGE sql AS $$
    WITH b AS (
        SELECT p.id,
               COALESCE(c.completeness_required,
                        ARRAY['TITLE', 'DESCRIPTION', 'EAN', 'BRAND', 'PRICE', 'STOCK', 'IMAGE']) AS required,
               COALESCE(old.has_image, FALSE) AS has_image,
               array_remove(ARRAY[
                   CASE WHEN btrim(p.title) <> '' THEN 'TITLE' END,
                   CASE WHEN btrim(p.description) <> '' THEN 'DESCRIPTION' END,
                   CASE WHEN btrim(p.short_description) <> '' THEN 'SHORT_DESCRIPTION' END,
                   CASE WHEN btrim(p.ean) <> '' THEN 'EAN' END,
                   CASE WHEN btrim(p.sku) <> '' THEN 'SKU' END,
                   CASE WHEN btrim(p.manufacturer_reference) <> '' THEN 'MANUFACTURER_REFERENCE' END,
                   CASE WHEN p.brand_id IS NOT NULL THEN 'BRAND' END,
                   CASE WHEN c.id IS NOT NULL THEN 'CATEGORY' END,
                   CASE WHEN p.weight IS NOT NULL THEN 'WEIGHT' END,
                   CASE WHEN p.width IS NOT NULL AND p.height IS NOT NULL AND p.depth IS NOT NULL
                        THEN 'DIMENSIONS' END,
                   CASE WHEN EXISTS (SELECT 1 FROM product_prices pp
                                     WHERE pp.product_id = p.id AND pp.is_active IS TRUE) THEN 'PRICE' END,
                   CASE WHEN EXISTS (SELECT 1 FROM product_stocks ps WHERE ps.product_id = p.id)
                        THEN 'STOCK' END,
                   CASE WHEN old.has_image THEN 'IMAGE' END
               ], NULL) AS present
        FROM products p
        LEFT JOIN categories c ON c.id = p.category_id
        LEFT JOIN product_completeness old ON old.product_id = p.id
        WHERE p.id = ANY (ids)
    ), s AS MATERIALIZED (
        SELECT b.id, b.required, b.has_image,
               ARRAY(SELECT r FROM unnest(b.required) WITH ORDINALITY AS t(r, n)
                     WHERE NOT (r = ANY (b.present)) ORDER BY n) AS missing
        FROM b
    )
    INSERT INTO product_completeness AS pc (product_id, score, missing, has_image, computed_at)
    SELECT s.id,
           CASE WHEN cardinality(s.required) = 0 THEN 100
                ELSE round(100.0 * (cardinality(s.required) - cardinality(s.missing)) / cardinality(s.required))
           END,
           s.missing, s.has_image, NOW()
    FROM s
    ON CONFLICT (product_id) DO UPDATE
        SET score = EXCLUDED.score, missing = EXCLUDED.missing, computed_at = EXCLUDED.computed_at
        WHERE (pc.score, pc.missing) IS DISTINCT FROM (EXCLUDED.score, EXCLUDED.missing);
$$;

-- Statement-level: one set-based refresh per write statement, unless the transaction's writer refreshes itself.
CREATE OR REPLACE FUNCTION trg_completeness_new_products() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('catalog.defer_completeness', true) IS DISTINCT FROM 'on' THEN
        PERFORM refresh_product_completeness(ARRAY(SELECT DISTINCT id FROM new_rows));
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION trg_completeness_new_children() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('catalog.defer_completeness', true) IS DISTINCT FROM 'on' THEN
        PERFORM refresh_product_completeness(ARRAY(SELECT DISTINCT product_id FROM new_rows WHERE product_id IS NOT NULL));
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION trg_completeness_old_children() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('catalog.defer_completeness', true) IS DISTINCT FROM 'on' THEN
        PERFORM refresh_product_completeness(ARRAY(SELECT DISTINCT product_id FROM old_rows WHERE product_id IS NOT NULL));
    END IF;
    RETURN NULL;
END;
$$;

-- migrate:down
CREATE OR REPLACE FUNCTION refresh_product_completeness(ids UUID[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO product_completeness AS pc (product_id, score, missing, has_image, computed_at)
    SELECT s.id,
           CASE WHEN cardinality(s.required) = 0 THEN 100
                ELSE round(100.0 * (cardinality(s.required) - cardinality(s.missing)) / cardinality(s.required))
           END,
           s.missing, s.has_image, NOW()
    FROM (
        SELECT b.id, b.required, b.has_image,
               ARRAY(SELECT r FROM unnest(b.required) WITH ORDINALITY AS t(r, n)
                     WHERE NOT (r = ANY (b.present)) ORDER BY n) AS missing
        FROM (
            SELECT p.id,
                   COALESCE(c.completeness_required,
                            ARRAY['TITLE', 'DESCRIPTION', 'EAN', 'BRAND', 'PRICE', 'STOCK', 'IMAGE']) AS required,
                   COALESCE(old.has_image, FALSE) AS has_image,
                   array_remove(ARRAY[
                       CASE WHEN btrim(p.title) <> '' THEN 'TITLE' END,
                       CASE WHEN btrim(p.description) <> '' THEN 'DESCRIPTION' END,
                       CASE WHEN btrim(p.short_description) <> '' THEN 'SHORT_DESCRIPTION' END,
                       CASE WHEN btrim(p.ean) <> '' THEN 'EAN' END,
                       CASE WHEN btrim(p.sku) <> '' THEN 'SKU' END,
                       CASE WHEN btrim(p.manufacturer_reference) <> '' THEN 'MANUFACTURER_REFERENCE' END,
                       CASE WHEN p.brand_id IS NOT NULL THEN 'BRAND' END,
                       CASE WHEN c.id IS NOT NULL THEN 'CATEGORY' END,
                       CASE WHEN p.weight IS NOT NULL THEN 'WEIGHT' END,
                       CASE WHEN p.width IS NOT NULL AND p.height IS NOT NULL AND p.depth IS NOT NULL
                            THEN 'DIMENSIONS' END,
                       CASE WHEN EXISTS (SELECT 1 FROM product_prices pp
                                         WHERE pp.product_id = p.id AND pp.is_active IS TRUE) THEN 'PRICE' END,
                       CASE WHEN EXISTS (SELECT 1 FROM product_stocks ps WHERE ps.product_id = p.id)
                            THEN 'STOCK' END,
                       CASE WHEN old.has_image THEN 'IMAGE' END
                   ], NULL) AS present
            FROM products p
            LEFT JOIN categories c ON c.id = p.category_id
            LEFT JOIN product_completeness old ON old.product_id = p.id
            WHERE p.id = ANY (ids)
        ) b
    ) s
    ON CONFLICT (product_id) DO UPDATE
        SET score = EXCLUDED.score, missing = EXCLUDED.missing, computed_at = EXCLUDED.computed_at
        WHERE (pc.score, pc.missing) IS DISTINCT FROM (EXCLUDED.score, EXCLUDED.missing);
$$;

CREATE OR REPLACE FUNCTION trg_completeness_new_products() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_product_completeness(ARRAY(SELECT DISTINCT id FROM new_rows));
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION trg_completeness_new_children() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_product_completeness(ARRAY(SELECT DISTINCT product_id FROM new_rows WHERE product_id IS NOT NULL));
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION trg_completeness_old_children() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_product_completeness(ARRAY(SELECT DISTINCT product_id FROM old_rows WHERE product_id IS NOT NULL));
    RETURN NULL;
END;
$$;

