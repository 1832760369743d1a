CREATE TABLE `pools` (
	`name` text PRIMARY KEY NOT NULL,
	`description` text,
	`gpu_model` text,
	`gpu_vram_gb` integer,
	`queue_timeout_seconds` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `tenants` ADD `default_pool` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `allowed_pools` text;