CREATE TABLE `model_blobs` (
	`scope` text NOT NULL,
	`sha256` text NOT NULL,
	`size` integer NOT NULL,
	`state` text NOT NULL,
	`source` text NOT NULL,
	`upload_id` text,
	`part_size` integer,
	`parts` text,
	`error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`scope`, `sha256`)
);
--> statement-breakpoint
CREATE TABLE `models` (
	`id` text PRIMARY KEY NOT NULL,
	`scope` text NOT NULL,
	`folder` text NOT NULL,
	`name` text NOT NULL,
	`sha256` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `models_scope_path_idx` ON `models` (`scope`,`folder`,`name`);--> statement-breakpoint
CREATE INDEX `models_scope_blob_idx` ON `models` (`scope`,`sha256`);