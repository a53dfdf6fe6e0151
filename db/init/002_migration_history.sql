-- The migration history of the schema in 001_schema.sql, in the table graphql_api's
-- migrations keep (graphql_api/migrate.py): a fresh database starts with every migration
-- applied. Add a row here whenever a migration is added and 001_schema.sql brought up to it;
-- tests/deploy/test_migrations.py checks both against the migrations on a real MariaDB.

CREATE TABLE IF NOT EXISTS `tortoise_migrations` (
    `id` INT NOT NULL PRIMARY KEY AUTO_INCREMENT,
    `app` VARCHAR(255) NOT NULL,
    `name` VARCHAR(255) NOT NULL,
    `applied_at` DATETIME(6) NOT NULL,
    UNIQUE KEY `uid_tortoise_mi_app_3803a5` (`app`, `name`)
) CHARACTER SET utf8mb4;
INSERT INTO `tortoise_migrations` (`app`, `name`, `applied_at`) VALUES
    ('models', '0001_initial', UTC_TIMESTAMP(6)),
    ('models', '0002_exact_usernames', UTC_TIMESTAMP(6)),
    ('models', '0003_conversation_trees', UTC_TIMESTAMP(6)),
    ('models', '0004_conversation_model', UTC_TIMESTAMP(6)),
    ('models', '0005_client_ids', UTC_TIMESTAMP(6)),
    ('models', '0008_post_search', UTC_TIMESTAMP(6)),
    ('models', '0009_sessions_pins_titles', UTC_TIMESTAMP(6)),
    ('models', '0010_shares', UTC_TIMESTAMP(6)),
    ('models', '0011_roles_usage_audit', UTC_TIMESTAMP(6)),
    ('models', '0013_identities', UTC_TIMESTAMP(6)),
    ('models', '0014_api_keys', UTC_TIMESTAMP(6)),
    ('models', '0015_password_change_required', UTC_TIMESTAMP(6));
