ALTER TABLE `gpu_hosts` ADD `dispatcher_shard` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `jobs` ADD `dispatcher_shard` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `pools` ADD `dispatcher_shards` integer DEFAULT 1 NOT NULL;