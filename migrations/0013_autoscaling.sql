CREATE TABLE `gpu_instances` (
	`id` text PRIMARY KEY NOT NULL,
	`pool` text NOT NULL,
	`provider` text NOT NULL,
	`provider_id` text,
	`host_id` text NOT NULL,
	`state` text NOT NULL,
	`launched_at` integer NOT NULL,
	`ready_at` integer,
	`draining_at` integer,
	`terminated_at` integer,
	`terminate_reason` text,
	`last_busy_at` integer,
	`cost_per_hour` real
);
--> statement-breakpoint
CREATE INDEX `gpu_instances_pool_live_idx` ON `gpu_instances` (`pool`) WHERE terminated_at IS NULL;--> statement-breakpoint
CREATE INDEX `gpu_instances_pool_terminated_idx` ON `gpu_instances` (`pool`,`terminated_at`);--> statement-breakpoint
CREATE INDEX `gpu_instances_host_idx` ON `gpu_instances` (`host_id`);--> statement-breakpoint
CREATE TABLE `host_bootstrap_tokens` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`host_id` text NOT NULL,
	`expires_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`host_id`) REFERENCES `gpu_hosts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `host_bootstrap_tokens_host_idx` ON `host_bootstrap_tokens` (`host_id`);--> statement-breakpoint
ALTER TABLE `pools` ADD `autoscaling` text;--> statement-breakpoint
ALTER TABLE `pools` ADD `price_per_gpu_second` real;