-- The schema a fresh MariaDB container creates on first start (mounted at
-- /docker-entrypoint-initdb.d). It must equal what the migrations in graphql_api/migrations/
-- create, and so what the models in graphql_api/models.py declare: tests/api/test_schema.py
-- and tests/deploy/test_migrations.py compare them on a real MariaDB.
-- Tables `users`, `conversation` and `posts` keep their first columns and meaning; `users.password`
-- holds an argon2id hash, never a password.

CREATE TABLE IF NOT EXISTS `users` (
    `id` INT NOT NULL PRIMARY KEY AUTO_INCREMENT,
    `username` VARCHAR(64) COLLATE utf8mb4_bin NOT NULL UNIQUE,
    `password` VARCHAR(255) NOT NULL,
    `created_at` DATETIME(6) NOT NULL,
    `daily_token_quota` BIGINT,
    `disabled_at` DATETIME(6),
    `monthly_token_quota` BIGINT,
    `role` ENUM('user','admin') NOT NULL DEFAULT 'user' COMMENT 'USER: user\nADMIN: admin',
    `password_change_required` BOOL NOT NULL DEFAULT 0,
    KEY `idx_users_role` (`role`)
) CHARACTER SET utf8mb4;
CREATE TABLE IF NOT EXISTS `conversation` (
    `id` INT NOT NULL PRIMARY KEY AUTO_INCREMENT,
    `status` ENUM('online','deleted') NOT NULL COMMENT 'ONLINE: online\nDELETED: deleted',
    `created_at` DATETIME(6) NOT NULL,
    `title` VARCHAR(200) NOT NULL,
    `instructions` LONGTEXT,
    `updated_at` DATETIME(6) NOT NULL,
    `user_id` INT NOT NULL,
    `current_post_id` INT,
    `model` VARCHAR(200),
    `pinned_at` DATETIME(6),
    `title_source` VARCHAR(16) NOT NULL DEFAULT 'prompt',
    CONSTRAINT `fk_conversa_users_1f06f602` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE,
    KEY `idx_conv_user_list` (`user_id`, `status`, `updated_at`, `id`)
) CHARACTER SET utf8mb4;
CREATE TABLE IF NOT EXISTS `posts` (
    `id` INT NOT NULL PRIMARY KEY AUTO_INCREMENT,
    `prompt` LONGTEXT NOT NULL,
    `body` LONGTEXT NOT NULL,
    `created_at` DATETIME(6) NOT NULL,
    `status` ENUM('pending','streaming','complete','cancelled','failed') NOT NULL COMMENT 'PENDING: pending\nSTREAMING: streaming\nCOMPLETE: complete\nCANCELLED: cancelled\nFAILED: failed',
    `finish_reason` VARCHAR(32),
    `model` VARCHAR(200),
    `prompt_tokens` INT,
    `completion_tokens` INT,
    `latency_ms` INT,
    `error` VARCHAR(500),
    `options` JSON,
    `superseded` BOOL NOT NULL,
    `worker` VARCHAR(32),
    `updated_at` DATETIME(6) NOT NULL,
    `conversation_id` INT NOT NULL,
    `replaced_post_id` INT,
    `user_id` INT NOT NULL,
    `parent_id` INT,
    `client_id` VARCHAR(64),
    CONSTRAINT `fk_posts_conversa_13dcb88c` FOREIGN KEY (`conversation_id`) REFERENCES `conversation` (`id`) ON DELETE CASCADE,
    CONSTRAINT `fk_posts_posts_f5bf0bc7` FOREIGN KEY (`replaced_post_id`) REFERENCES `posts` (`id`) ON DELETE SET NULL,
    CONSTRAINT `fk_posts_users_10758681` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE,
    KEY `idx_posts_conversation` (`conversation_id`, `superseded`, `id`),
    KEY `idx_posts_parent` (`conversation_id`, `parent_id`),
    UNIQUE KEY `uid_posts_user_id_46d277` (`user_id`, `client_id`),
    FULLTEXT KEY `ft_posts_text` (`prompt`, `body`),
    KEY `idx_posts_user` (`user_id`, `id`),
    KEY `idx_posts_status` (`status`)
) CHARACTER SET utf8mb4;
CREATE TABLE IF NOT EXISTS `sessions` (
    `jti` VARCHAR(32) NOT NULL PRIMARY KEY,
    `created_at` DATETIME(6) NOT NULL,
    `expires_at` DATETIME(6) NOT NULL,
    `revoked_at` DATETIME(6),
    `user_id` INT NOT NULL,
    `address` VARCHAR(64),
    `user_agent` VARCHAR(200),
    CONSTRAINT `fk_sessions_users_0c63f6d3` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE,
    KEY `idx_sessions_revoked` (`revoked_at`)
) CHARACTER SET utf8mb4 COMMENT='One login: a token\'s `jti`, revoked by logout or a password reset.';
CREATE TABLE IF NOT EXISTS `refresh_tokens` (
    `id` INT NOT NULL PRIMARY KEY AUTO_INCREMENT,
    `family` VARCHAR(32) NOT NULL,
    `token_hash` VARCHAR(64) NOT NULL UNIQUE,
    `session_jti` VARCHAR(32) NOT NULL,
    `created_at` DATETIME(6) NOT NULL,
    `expires_at` DATETIME(6) NOT NULL,
    `used_at` DATETIME(6),
    `revoked_at` DATETIME(6),
    `user_id` INT NOT NULL,
    CONSTRAINT `fk_refresh__users_1c3fe0a4` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE,
    KEY `idx_refresh_family` (`family`)
) CHARACTER SET utf8mb4;
CREATE TABLE IF NOT EXISTS `shares` (
    `id` INT NOT NULL PRIMARY KEY AUTO_INCREMENT,
    `token` VARCHAR(64) NOT NULL,
    `token_hash` VARCHAR(64) NOT NULL UNIQUE,
    `title` VARCHAR(200) NOT NULL,
    `post_count` INT NOT NULL,
    `snapshot` LONGTEXT NOT NULL,
    `conversation_created_at` DATETIME(6) NOT NULL,
    `created_at` DATETIME(6) NOT NULL,
    `revoked_at` DATETIME(6),
    `conversation_id` INT NOT NULL,
    `user_id` INT NOT NULL,
    CONSTRAINT `fk_shares_conversa_42418fe1` FOREIGN KEY (`conversation_id`) REFERENCES `conversation` (`id`) ON DELETE CASCADE,
    CONSTRAINT `fk_shares_users_93044e6b` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE,
    KEY `idx_shares_user` (`user_id`, `revoked_at`, `id`)
) CHARACTER SET utf8mb4;
CREATE TABLE IF NOT EXISTS `usage_days` (
    `id` BIGINT NOT NULL PRIMARY KEY AUTO_INCREMENT,
    `day` DATE NOT NULL,
    `prompt_tokens` BIGINT NOT NULL,
    `completion_tokens` BIGINT NOT NULL,
    `prompts` INT NOT NULL,
    `user_id` INT NOT NULL,
    UNIQUE KEY `uid_usage_days_user_id_613100` (`user_id`, `day`),
    CONSTRAINT `fk_usage_da_users_40a91470` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE
) CHARACTER SET utf8mb4;
CREATE TABLE IF NOT EXISTS `audit_log` (
    `id` BIGINT NOT NULL PRIMARY KEY AUTO_INCREMENT,
    `actor_id` INT,
    `actor` VARCHAR(64) NOT NULL,
    `action` VARCHAR(32) NOT NULL,
    `target_id` INT,
    `target` VARCHAR(64),
    `detail` JSON,
    `created_at` DATETIME(6) NOT NULL
) CHARACTER SET utf8mb4;
CREATE TABLE IF NOT EXISTS `identities` (
    `id` INT NOT NULL PRIMARY KEY AUTO_INCREMENT,
    `issuer` VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
    `subject` VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
    `email` VARCHAR(320),
    `created_at` DATETIME(6) NOT NULL,
    `last_login_at` DATETIME(6),
    `user_id` INT NOT NULL,
    UNIQUE KEY `uid_identities_issuer_1dda2d` (`issuer`, `subject`),
    CONSTRAINT `fk_identiti_users_fb488572` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE
) CHARACTER SET utf8mb4;
CREATE TABLE IF NOT EXISTS `api_keys` (
    `id` INT NOT NULL PRIMARY KEY AUTO_INCREMENT,
    `name` VARCHAR(100) NOT NULL,
    `key_hash` VARCHAR(64) NOT NULL UNIQUE,
    `created_at` DATETIME(6) NOT NULL,
    `last_used_at` DATETIME(6),
    `revoked_at` DATETIME(6),
    `user_id` INT NOT NULL,
    CONSTRAINT `fk_api_keys_users_14eca04b` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE,
    KEY `idx_api_keys_revoked` (`revoked_at`)
) CHARACTER SET utf8mb4;
