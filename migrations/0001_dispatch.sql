CREATE TABLE `gpu_hosts` (
	`id` text PRIMARY KEY NOT NULL,
	`pool` text NOT NULL,
	`url` text NOT NULL,
	`slots` integer NOT NULL,
	`secret_ciphertext` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`draining_at` integer
);
--> statement-breakpoint
CREATE INDEX `gpu_hosts_pool_idx` ON `gpu_hosts` (`pool`);--> statement-breakpoint
CREATE TABLE `job_inputs` (
	`job_id` text NOT NULL,
	`id` text NOT NULL,
	`node_id` text NOT NULL,
	`input_name` text NOT NULL,
	`r2_key` text NOT NULL,
	`filename` text NOT NULL,
	`content_type` text NOT NULL,
	`size` integer NOT NULL,
	`sha256` text NOT NULL,
	PRIMARY KEY(`job_id`, `id`),
	FOREIGN KEY (`job_id`) REFERENCES `jobs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `job_outputs` (
	`job_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`name` text NOT NULL,
	`content_type` text NOT NULL,
	`size` integer NOT NULL,
	`sha256` text NOT NULL,
	`r2_key` text NOT NULL,
	`node_id` text NOT NULL,
	`kind` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`job_id`, `attempt`, `name`),
	FOREIGN KEY (`job_id`) REFERENCES `jobs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `uploads` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`user_id` text NOT NULL,
	`r2_key` text NOT NULL,
	`content_type` text NOT NULL,
	`size` integer NOT NULL,
	`sha256` text NOT NULL,
	`width` integer NOT NULL,
	`height` integer NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `uploads_tenant_user_idx` ON `uploads` (`tenant_id`,`user_id`,`created_at`);--> statement-breakpoint
ALTER TABLE `jobs` ADD `pool` text DEFAULT 'default' NOT NULL;--> statement-breakpoint
ALTER TABLE `jobs` ADD `host_id` text;