ALTER TABLE `job_workflows` ADD `needs` text;--> statement-breakpoint
ALTER TABLE `pools` ADD `model_files` text;