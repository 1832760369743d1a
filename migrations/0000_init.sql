CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text,
	`secret_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `api_keys_tenant_idx` ON `api_keys` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `job_workflows` (
	`job_id` text PRIMARY KEY NOT NULL,
	`workflow` text NOT NULL,
	FOREIGN KEY (`job_id`) REFERENCES `jobs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`user_id` text NOT NULL,
	`status` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`queue_deadline_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	`cancel_requested_at` integer,
	`attempt` integer DEFAULT 0 NOT NULL,
	`node_count` integer NOT NULL,
	`progress` text,
	`error` text,
	`metadata` text,
	`webhook_url` text,
	`webhook_events` text,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `jobs_user_created_idx` ON `jobs` (`tenant_id`,`user_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `jobs_user_status_created_idx` ON `jobs` (`tenant_id`,`user_id`,`status`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `jobs_active_idx` ON `jobs` (`status`,`created_at`) WHERE status IN ('queued', 'running');--> statement-breakpoint
CREATE TABLE `tenants` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`max_active_jobs_per_user` integer,
	`max_active_jobs_per_tenant` integer,
	`requests_per_minute` integer,
	`jwt_issuer` text,
	`jwt_audience` text,
	`jwt_jwks_url` text,
	`jwt_public_key` text,
	`jwt_algorithms` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tenants_jwt_issuer_uq` ON `tenants` (`jwt_issuer`);--> statement-breakpoint
CREATE TABLE `webhook_secrets` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`secret_ciphertext` text NOT NULL,
	`created_at` integer NOT NULL,
	`retired_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `webhook_secrets_tenant_idx` ON `webhook_secrets` (`tenant_id`,`created_at`);