-- migrate:up
-- db_core: the permission vocabulary (every resource × action the services check), the eight roles and
-- their grants, so that a fresh deployment has them (pm user create-superuser then makes the first account).
-- Rows that already exist (same name) are kept as they are; a grant is added only where its role or its
-- permission is new here, so grants an administrator revoked before stay revoked. The demo seed and
-- packages/seed/src/fixtures.ts roleGrants() expect exactly these (a test compares them).

CREATE TEMPORARY TABLE seeded_permissions (name VARCHAR(100) PRIMARY KEY, resource VARCHAR(100), action VARCHAR(50))
    ON COMMIT DROP;
INSERT INTO seeded_permissions (name, resource, action)
SELECT r || ':' || a, r, a
FROM unnest(ARRAY['product', 'supplier', 'brand', 'category', 'import', 'export', 'media', 'code2asin', 'analytics', 'user', 'settings', 'role', 'apikey', 'notification', 'audit', 'cost', 'supplier_contact']) WITH ORDINALITY AS res(r, i)
CROSS JOIN unnest(ARRAY['create', 'read', 'update', 'delete', 'manage', 'execute']) WITH ORDINALITY AS act(a, j)
ORDER BY i, j;

CREATE TEMPORARY TABLE seeded_roles (name VARCHAR(100) PRIMARY KEY, description TEXT, grants TEXT[] NOT NULL)
    ON COMMIT DROP;
INSERT INTO seeded_roles (name, description, grants) VALUES
    ('admin', 'Administration complète de la plateforme',
        ARRAY['analytics:create', 'analytics:delete', 'analytics:read', 'analytics:update',
        'brand:create', 'brand:delete', 'brand:read', 'brand:update', 'category:create',
        'category:delete', 'category:read', 'category:update', 'code2asin:create',
        'code2asin:delete', 'code2asin:read', 'code2asin:update', 'cost:read', 'export:create',
        'export:delete', 'export:read', 'export:update', 'import:create', 'import:delete',
        'import:read', 'import:update', 'media:create', 'media:delete', 'media:read',
        'media:update', 'product:create', 'product:delete', 'product:read', 'product:update',
        'settings:create', 'settings:delete', 'settings:read', 'settings:update',
        'supplier:create', 'supplier:delete', 'supplier:read', 'supplier:update',
        'supplier_contact:read', 'user:create', 'user:delete', 'user:read', 'user:update']),
    ('manager', 'Responsable catalogue : gère fournisseurs, imports et exports',
        ARRAY['analytics:create', 'analytics:delete', 'analytics:read', 'analytics:update',
        'brand:create', 'brand:delete', 'brand:read', 'brand:update', 'category:create',
        'category:delete', 'category:read', 'category:update', 'code2asin:create',
        'code2asin:delete', 'code2asin:read', 'code2asin:update', 'cost:read', 'export:create',
        'export:delete', 'export:read', 'export:update', 'import:create', 'import:delete',
        'import:read', 'import:update', 'media:create', 'media:delete', 'media:read',
        'media:update', 'product:create', 'product:delete', 'product:read', 'product:update',
        'settings:read', 'supplier:create', 'supplier:delete', 'supplier:read', 'supplier:update',
        'supplier_contact:read', 'user:read']),
    ('editor', 'Rédacteur catalogue : fiches produits, médias, catégories',
        ARRAY['analytics:read', 'brand:create', 'brand:read', 'brand:update', 'category:create',
        'category:read', 'category:update', 'code2asin:read', 'export:read', 'import:read',
        'media:create', 'media:read', 'media:update', 'product:create', 'product:read',
        'product:update', 'settings:read', 'supplier:read', 'user:read']),
    ('importer', 'Opérateur imports : configure et lance les imports fournisseurs',
        ARRAY['analytics:read', 'brand:read', 'category:read', 'code2asin:read', 'cost:read',
        'export:read', 'import:create', 'import:delete', 'import:read', 'import:update',
        'media:read', 'product:create', 'product:read', 'product:update', 'supplier:create',
        'supplier:read', 'supplier:update', 'supplier_contact:read']),
    ('analyst', 'Analyste : lecture seule, rapports et statistiques',
        ARRAY['analytics:read', 'brand:read', 'category:read', 'code2asin:read', 'cost:read',
        'export:read', 'import:read', 'media:read', 'product:read', 'supplier:read', 'user:read']),
    ('user', 'Utilisateur standard : consultation du catalogue',
        ARRAY['brand:read', 'category:read', 'media:read', 'product:read', 'supplier:read']),
    ('partner', 'Partenaire externe : accès API au catalogue et aux exports',
        ARRAY['brand:read', 'category:read', 'export:create', 'export:read', 'media:read',
        'product:read']),
    ('viewer', 'Lecture seule du catalogue',
        ARRAY['brand:read', 'category:read', 'media:read', 'product:read', 'supplier:read']);

-- Rows written earlier with explicit ids (the demo seed did so before this migration) leave the sequences
-- behind: move them past the highest id so the inserts below do not collide.
SELECT setval(pg_get_serial_sequence('permissions', 'id'), GREATEST((SELECT max(id) FROM permissions), 1),
    (SELECT max(id) FROM permissions) IS NOT NULL);
SELECT setval(pg_get_serial_sequence('roles', 'id'), GREATEST((SELECT max(id) FROM roles), 1),
    (SELECT max(id) FROM roles) IS NOT NULL);

-- Data-modifying CTEs see the tables as they were before the statement: `roles`/`permissions` below are
-- the rows that existed already, new_roles/new_permissions the ones made here.
WITH new_permissions AS (
    INSERT INTO permissions (name, resource, action)
    SELECT name, resource, action FROM seeded_permissions
    ON CONFLICT (name) DO NOTHING
    RETURNING id, name
), new_roles AS (
    INSERT INTO roles (name, description, is_active)
    SELECT name, description, TRUE FROM seeded_roles ORDER BY array_position(ARRAY[
        'admin', 'manager', 'editor', 'importer', 'analyst', 'user', 'partner', 'viewer'], name)
    ON CONFLICT (name) DO NOTHING
    RETURNING id, name
), all_permissions AS (
    SELECT id, name, TRUE AS new FROM new_permissions
    UNION ALL
    SELECT id, name, FALSE FROM permissions WHERE name IN (SELECT name FROM seeded_permissions)
), all_roles AS (
    SELECT id, name, TRUE AS new FROM new_roles
    UNION ALL
    SELECT id, name, FALSE FROM roles WHERE name IN (SELECT name FROM seeded_roles)
)
INSERT INTO role_permissions (role_id, permission_id)
SELECT r.id, p.id
FROM seeded_roles s
CROSS JOIN LATERAL unnest(s.grants) AS g(name)
JOIN all_roles r ON r.name = s.name
JOIN all_permissions p ON p.name = g.name
WHERE r.new OR p.new
ON CONFLICT DO NOTHING;

-- migrate:down
-- Takes back the eight roles with their grants, and the vocabulary's permissions, except what is still
-- in use: a role some user has (and its grants), and a permission another role holds.
DELETE FROM role_permissions rp
USING roles r
WHERE rp.role_id = r.id
  AND r.name IN ('admin', 'manager', 'editor', 'importer', 'analyst', 'user', 'partner', 'viewer')
  AND NOT EXISTS (SELECT 1 FROM users u WHERE u.role = r.name);
DELETE FROM roles r
WHERE r.name IN ('admin', 'manager', 'editor', 'importer', 'analyst', 'user', 'partner', 'viewer')
  AND NOT EXISTS (SELECT 1 FROM users u WHERE u.role = r.name);
DELETE FROM permissions p
WHERE p.resource IN ('product', 'supplier', 'brand', 'category', 'import', 'export', 'media', 'code2asin',
                     'analytics', 'user', 'settings', 'role', 'apikey', 'notification', 'audit', 'cost',
                     'supplier_contact')
  AND p.action IN ('create', 'read', 'update', 'delete', 'manage', 'execute')
  AND p.name = p.resource || ':' || p.action
  AND NOT EXISTS (SELECT 1 FROM role_permissions rp WHERE rp.permission_id = p.id);
