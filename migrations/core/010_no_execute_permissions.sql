-- migrate:up
-- db_core: `execute` leaves the permission vocabulary (packages/service-kit/src/authorization.ts): no field
-- requires it, so a grant of it allowed nothing. Its permissions go, with any grant of them; users.permissions
-- JSON keys naming one already grant nothing (only names of the vocabulary count).
DELETE FROM role_permissions rp
USING permissions p
WHERE rp.permission_id = p.id AND p.action = 'execute';
DELETE FROM permissions WHERE action = 'execute';

-- migrate:down
INSERT INTO permissions (name, resource, action)
SELECT r || ':execute', r, 'execute'
FROM unnest(ARRAY['product', 'supplier', 'brand', 'category', 'import', 'export', 'media', 'code2asin', 'analytics', 'user', 'settings', 'role', 'apikey', 'notification', 'audit', 'cost', 'supplier_contact']) AS res(r)
ON CONFLICT (name) DO NOTHING;
