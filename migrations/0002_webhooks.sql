CREATE TABLE `webhook_attempts` (
	`id` text PRIMARY KEY NOT NULL,
	`message_id` text NOT NULL,
	`job_id` text NOT NULL,
	`attempted_at` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`status_code` integer,
	`error` text,
	`outcome` text NOT NULL,
	FOREIGN KEY (`message_id`) REFERENCES `webhook_messages`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `webhook_attempts_job_idx` ON `webhook_attempts` (`job_id`,`attempted_at`);--> statement-breakpoint
CREATE TABLE `webhook_messages` (
	`id` text PRIMARY KEY NOT NULL,
	`job_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`type` text NOT NULL,
	`job_attempt` integer NOT NULL,
	`url` text NOT NULL,
	`occurred_at` integer NOT NULL,
	`state` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`step` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer,
	`last_attempt_at` integer,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`job_id`) REFERENCES `jobs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_messages_event_uq` ON `webhook_messages` (`job_id`,`type`,`job_attempt`);--> statement-breakpoint
CREATE INDEX `webhook_messages_job_idx` ON `webhook_messages` (`job_id`,`occurred_at`);--> statement-breakpoint
CREATE INDEX `webhook_messages_due_idx` ON `webhook_messages` (`next_attempt_at`) WHERE state = 'pending';--> statement-breakpoint
ALTER TABLE `jobs` ADD `webhook_base_url` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `webhook_gone_at` integer;