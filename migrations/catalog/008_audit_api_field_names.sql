-- migrate:up
-- Audit entries name what they record as the API does (camelCase field names: isActive, minimumOrderAmount),
-- the one shape every service writes (see the README, "Audit entries"). Catalog's updates used to record
-- column names instead (is_active, minimum_order_amount): catalog's entries not yet delivered get the API's
-- names, so that the audit log reads in one vocabulary. Free-form entries (recordAuditLog) are left as written.
CREATE FUNCTION audit_api_names(o JSONB) RETURNS JSONB LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    result JSONB := '{}';
    k TEXT;
    v JSONB;
BEGIN
    IF o IS NULL OR jsonb_typeof(o) <> 'object' THEN
        RETURN o;
    END IF;
    FOR k, v IN SELECT * FROM jsonb_each(o) LOOP
        IF k = 'details' THEN
            v := audit_api_names(v);
        END IF;
        IF k = 'completeness_required' THEN
            k := 'completenessRules';
        ELSIF k ~ '^[a-z0-9]+(_[a-z0-9]+)+$' THEN
            SELECT string_agg(CASE WHEN i = 1 THEN part ELSE initcap(part) END, '' ORDER BY i) INTO k
            FROM unnest(string_to_array(k, '_')) WITH ORDINALITY AS t(part, i);
        END IF;
        result := result || jsonb_build_object(k, v);
    END LOOP;
    RETURN result;
END
$$;

UPDATE audit_outbox
SET changes = changes
    || CASE WHEN jsonb_typeof(changes -> 'before') = 'object'
        THEN jsonb_build_object('before', audit_api_names(changes -> 'before')) ELSE '{}' END
    || CASE WHEN jsonb_typeof(changes -> 'after') = 'object'
        THEN jsonb_build_object('after', audit_api_names(changes -> 'after')) ELSE '{}' END
WHERE entity_type IN (
        'product', 'brand', 'category', 'product_variant', 'supplier', 'product_price', 'product_stock'
    )
    AND (changes -> 'before' IS NOT NULL OR changes -> 'after' IS NOT NULL);

DROP FUNCTION audit_api_names(JSONB);

-- migrate:down
-- Nothing to undo: the rewritten entries say the same in the API's names.
