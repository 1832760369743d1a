ALTER TABLE `tenants` ADD `uploads_per_day` integer;--> statement-breakpoint
ALTER TABLE `tenants` ADD `upload_bytes_per_day` integer;