CREATE TABLE `gpu_usage_monthly` (
	`tenant_id` text NOT NULL,
	`month` text NOT NULL,
	`pool` text NOT NULL,
	`gpu_ms` integer NOT NULL,
	`jobs` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `month`, `pool`)
);
--> statement-breakpoint
CREATE INDEX `gpu_usage_monthly_month_idx` ON `gpu_usage_monthly` (`month`);--> statement-breakpoint
ALTER TABLE `jobs` ADD `attempt_started_at` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `gpu_ms` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `gpu_seconds_per_month` integer;