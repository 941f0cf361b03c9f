-- migrate:up
-- Completeness, cheaper per product for the default rules. A product whose category sets no rules (most of them,
-- and every product an import creates in a category it creates) gets its missing items from one expression in the
-- default rules' order, without the subquery over the rules that each product cost (about a fifth less time for
-- the function on 20,000 new products: 578 → 452 ms). A category's own rules take the same path as before. Answers
-- unchanged: the two versions gave the same (score, missing, has_image) for 20,000 products with every mix of
-- empty fields, prices (active or not), stock, images, default rules, custom rules and empty rules.
CREATE OR REPLACE FUNCTION refresh_product_completeness(ids UUID[]) RETURNS void
LANGUAGE sql AS $$
    WITH b AS (
        SELECT p.id,
               c.completeness_required AS rules,
               COALESCE(old.has_image, FALSE) AS has_image,
               COALESCE(btrim(p.title) <> '', FALSE) AS has_title,
               COALESCE(btrim(p.description) <> '', FALSE) AS has_description,
               COALESCE(btrim(p.short_description) <> '', FALSE) AS has_short_description,
               COALESCE(btrim(p.ean) <> '', FALSE) AS has_ean,
               COALESCE(btrim(p.sku) <> '', FALSE) AS has_sku,
               COALESCE(btrim(p.manufacturer_reference) <> '', FALSE) AS has_manufacturer_reference,
               p.brand_id IS NOT NULL AS has_brand,
               c.id IS NOT NULL AS has_category,
               p.weight IS NOT NULL AS has_weight,
               (p.width IS NOT NULL AND p.height IS NOT NULL AND p.depth IS NOT NULL) AS has_dimensions,
               EXISTS (SELECT 1 FROM product_prices pp WHERE pp.product_id = p.id AND pp.is_active IS TRUE) AS has_price,
               EXISTS (SELECT 1 FROM product_stocks ps WHERE ps.product_id = p.id) AS has_stock
        FROM products p
        LEFT JOIN categories c ON c.id = p.category_id
        LEFT JOIN product_completeness old ON old.product_id = p.id
        WHERE p.id = ANY (ids)
    ), s AS MATERIALIZED (
        SELECT b.id, b.has_image,
               COALESCE(b.rules, ARRAY['TITLE', 'DESCRIPTION', 'EAN', 'BRAND', 'PRICE', 'STOCK', 'IMAGE']) AS required,
               CASE WHEN b.rules IS NULL THEN
                   -- The default rules, in their order, without a query per product (most products have them).
                   array_remove(ARRAY[
                       CASE WHEN NOT b.has_title THEN 'TITLE' END,
                       CASE WHEN NOT b.has_description THEN 'DESCRIPTION' END,
                       CASE WHEN NOT b.has_ean THEN 'EAN' END,
                       CASE WHEN NOT b.has_brand THEN 'BRAND' END,
                       CASE WHEN NOT b.has_price THEN 'PRICE' END,
                       CASE WHEN NOT b.has_stock THEN 'STOCK' END,
                       CASE WHEN NOT b.has_image THEN 'IMAGE' END
                   ], NULL)
               ELSE ARRAY(
                   SELECT r FROM unnest(b.rules) WITH ORDINALITY AS t(r, n)
                   WHERE NOT (r = ANY (array_remove(ARRAY[
                       CASE WHEN b.has_title THEN 'TITLE' END,
                       CASE WHEN b.has_description THEN 'DESCRIPTION' END,
                       CASE WHEN b.has_short_description THEN 'SHORT_DESCRIPTION' END,
                       CASE WHEN b.has_ean THEN 'EAN' END,
                       CASE WHEN b.has_sku THEN 'SKU' END,
                       CASE WHEN b.has_manufacturer_reference THEN 'MANUFACTURER_REFERENCE' END,
                       CASE WHEN b.has_brand THEN 'BRAND' END,
                       CASE WHEN b.has_category THEN 'CATEGORY' END,
                       CASE WHEN b.has_weight THEN 'WEIGHT' END,
                       CASE WHEN b.has_dimensions THEN 'DIMENSIONS' END,
                       CASE WHEN b.has_price THEN 'PRICE' END,
                       CASE WHEN b.has_stock THEN 'STOCK' END,
                       CASE WHEN b.has_image THEN 'IMAGE' END
                   ], NULL)))
                   ORDER BY n)
               END AS missing
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

-- migrate:down
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
