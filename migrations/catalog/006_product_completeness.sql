-- migrate:up
-- Completeness: how much of what a product's category requires the product has. The required items are a
-- category's completeness_required (null: the defaults TITLE, DESCRIPTION, EAN, BRAND, PRICE, STOCK, IMAGE);
-- each product's score (0-100, rounded share of the required items present) and missing items are kept in
-- product_completeness by triggers on every write of products, prices, stocks and category rules, so any
-- client (mutations, imports, seeds) keeps them true. Whether a product has an image is media's fact: media
-- tells catalog (has_image), and a full recompute re-reads it from media.
ALTER TABLE categories ADD COLUMN completeness_required TEXT[];

CREATE TABLE product_completeness (
    product_id UUID PRIMARY KEY REFERENCES products(id) ON DELETE CASCADE,
    score SMALLINT NOT NULL CHECK (score BETWEEN 0 AND 100),
    missing TEXT[] NOT NULL DEFAULT '{}',
    has_image BOOLEAN NOT NULL DEFAULT FALSE,
    computed_at TIMESTAMP NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_product_completeness_score ON product_completeness (score, product_id);

CREATE FUNCTION refresh_product_completeness(ids UUID[]) RETURNS void
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

-- Statement-level: one set-based refresh per write statement (an import batch of 5,000 rows is one call).
CREATE FUNCTION trg_completeness_new_products() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_product_completeness(ARRAY(SELECT DISTINCT id FROM new_rows));
    RETURN NULL;
END;
$$;

CREATE FUNCTION trg_completeness_new_children() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_product_completeness(ARRAY(SELECT DISTINCT product_id FROM new_rows WHERE product_id IS NOT NULL));
    RETURN NULL;
END;
$$;

CREATE FUNCTION trg_completeness_old_children() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_product_completeness(ARRAY(SELECT DISTINCT product_id FROM old_rows WHERE product_id IS NOT NULL));
    RETURN NULL;
END;
$$;

CREATE FUNCTION trg_completeness_category_rules() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.completeness_required IS DISTINCT FROM OLD.completeness_required THEN
        PERFORM refresh_product_completeness(ARRAY(SELECT id FROM products WHERE category_id = NEW.id));
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER trg_products_completeness_insert AFTER INSERT ON products
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION trg_completeness_new_products();
CREATE TRIGGER trg_products_completeness_update AFTER UPDATE ON products
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION trg_completeness_new_products();

CREATE TRIGGER trg_product_prices_completeness_insert AFTER INSERT ON product_prices
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION trg_completeness_new_children();
CREATE TRIGGER trg_product_prices_completeness_update AFTER UPDATE ON product_prices
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION trg_completeness_new_children();
CREATE TRIGGER trg_product_prices_completeness_delete AFTER DELETE ON product_prices
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION trg_completeness_old_children();

CREATE TRIGGER trg_product_stocks_completeness_insert AFTER INSERT ON product_stocks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION trg_completeness_new_children();
CREATE TRIGGER trg_product_stocks_completeness_update AFTER UPDATE ON product_stocks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION trg_completeness_new_children();
CREATE TRIGGER trg_product_stocks_completeness_delete AFTER DELETE ON product_stocks
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION trg_completeness_old_children();

CREATE TRIGGER trg_categories_completeness_rules AFTER UPDATE OF completeness_required ON categories
    FOR EACH ROW EXECUTE FUNCTION trg_completeness_category_rules();

-- Products already stored get their score now (without images until media is re-read).
SELECT refresh_product_completeness(ARRAY(SELECT id FROM products));

-- migrate:down
DROP TRIGGER IF EXISTS trg_categories_completeness_rules ON categories;
DROP TRIGGER IF EXISTS trg_product_stocks_completeness_delete ON product_stocks;
DROP TRIGGER IF EXISTS trg_product_stocks_completeness_update ON product_stocks;
DROP TRIGGER IF EXISTS trg_product_stocks_completeness_insert ON product_stocks;
DROP TRIGGER IF EXISTS trg_product_prices_completeness_delete ON product_prices;
DROP TRIGGER IF EXISTS trg_product_prices_completeness_update ON product_prices;
DROP TRIGGER IF EXISTS trg_product_prices_completeness_insert ON product_prices;
DROP TRIGGER IF EXISTS trg_products_completeness_update ON products;
DROP TRIGGER IF EXISTS trg_products_completeness_insert ON products;
DROP FUNCTION IF EXISTS trg_completeness_category_rules();
DROP FUNCTION IF EXISTS trg_completeness_old_children();
DROP FUNCTION IF EXISTS trg_completeness_new_children();
DROP FUNCTION IF EXISTS trg_completeness_new_products();
DROP FUNCTION IF EXISTS refresh_product_completeness(UUID[]);
DROP TABLE IF EXISTS product_completeness;
ALTER TABLE categories DROP COLUMN IF EXISTS completeness_required;
