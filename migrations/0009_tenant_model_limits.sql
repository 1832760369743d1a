ALTER TABLE `tenants` ADD `model_files` integer;--> statement-breakpoint
ALTER TABLE `tenants` ADD `model_bytes` integer;