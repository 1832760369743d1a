CREATE TABLE `tenant_storage` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`bytes` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE `gpu_hosts` ADD `previous_secret_ciphertext` text;--> statement-breakpoint
ALTER TABLE `gpu_hosts` ADD `previous_secret_expires_at` integer;--> statement-breakpoint
ALTER TABLE `tenants` ADD `retention_days` integer;--> statement-breakpoint
ALTER TABLE `tenants` ADD `storage_bytes` integer;--> statement-breakpoint
ALTER TABLE `tenants` ADD `deleted_at` integer;--> statement-breakpoint
CREATE INDEX `job_inputs_r2_key_idx` ON `job_inputs` (`r2_key`);--> statement-breakpoint
CREATE INDEX `jobs_tenant_ended_idx` ON `jobs` (`tenant_id`,`finished_at`) WHERE status IN ('succeeded', 'failed', 'cancelled');--> statement-breakpoint
CREATE INDEX `uploads_expires_idx` ON `uploads` (`expires_at`);--> statement-breakpoint
-- What tenants already hold, counted once; from here on every write that adds or removes bytes updates it.
INSERT INTO `tenant_storage` (`tenant_id`, `bytes`)
SELECT `tenant_id`, SUM(`size`) FROM (
  SELECT `jobs`.`tenant_id` AS `tenant_id`, `job_outputs`.`size` AS `size` FROM `job_outputs` JOIN `jobs` ON `jobs`.`id` = `job_outputs`.`job_id`
  UNION ALL SELECT `tenant_id`, `size` FROM `uploads`
  UNION ALL SELECT `scope`, `size` FROM `model_blobs` WHERE `scope` <> 'shared' AND `state` <> 'failed'
) GROUP BY `tenant_id`;
--> statement-breakpoint
-- tenant_storage follows its rows by triggers, so no write path (a cascade included) can forget it.
-- A job's outputs are subtracted before the job goes (a cascade runs after its parent row is gone).
CREATE TRIGGER `tenant_storage_output_added` AFTER INSERT ON `job_outputs` BEGIN
  INSERT INTO `tenant_storage` (`tenant_id`, `bytes`) SELECT `tenant_id`, NEW.`size` FROM `jobs` WHERE `id` = NEW.`job_id` AND true
  ON CONFLICT (`tenant_id`) DO UPDATE SET `bytes` = `bytes` + excluded.`bytes`;
END;
--> statement-breakpoint
CREATE TRIGGER `tenant_storage_output_resized` AFTER UPDATE OF `size` ON `job_outputs` BEGIN
  UPDATE `tenant_storage` SET `bytes` = `bytes` - OLD.`size` + NEW.`size` WHERE `tenant_id` = (SELECT `tenant_id` FROM `jobs` WHERE `id` = NEW.`job_id`);
END;
--> statement-breakpoint
CREATE TRIGGER `tenant_storage_output_removed` AFTER DELETE ON `job_outputs` BEGIN
  UPDATE `tenant_storage` SET `bytes` = `bytes` - OLD.`size` WHERE `tenant_id` = (SELECT `tenant_id` FROM `jobs` WHERE `id` = OLD.`job_id`);
END;
--> statement-breakpoint
CREATE TRIGGER `tenant_storage_job_removed` BEFORE DELETE ON `jobs` BEGIN
  UPDATE `tenant_storage` SET `bytes` = `bytes` - (SELECT COALESCE(SUM(`size`), 0) FROM `job_outputs` WHERE `job_id` = OLD.`id`) WHERE `tenant_id` = OLD.`tenant_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `tenant_storage_upload_added` AFTER INSERT ON `uploads` BEGIN
  INSERT INTO `tenant_storage` (`tenant_id`, `bytes`) VALUES (NEW.`tenant_id`, NEW.`size`)
  ON CONFLICT (`tenant_id`) DO UPDATE SET `bytes` = `bytes` + excluded.`bytes`;
END;
--> statement-breakpoint
CREATE TRIGGER `tenant_storage_upload_removed` AFTER DELETE ON `uploads` BEGIN
  UPDATE `tenant_storage` SET `bytes` = `bytes` - OLD.`size` WHERE `tenant_id` = OLD.`tenant_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `tenant_storage_model_added` AFTER INSERT ON `model_blobs` WHEN NEW.`scope` <> 'shared' AND NEW.`state` <> 'failed' BEGIN
  INSERT INTO `tenant_storage` (`tenant_id`, `bytes`) VALUES (NEW.`scope`, NEW.`size`)
  ON CONFLICT (`tenant_id`) DO UPDATE SET `bytes` = `bytes` + excluded.`bytes`;
END;
--> statement-breakpoint
-- A failed model file holds no bytes (its object is deleted), like src/db/models.ts scopeUsage counts.
CREATE TRIGGER `tenant_storage_model_changed` AFTER UPDATE OF `size`, `state` ON `model_blobs` WHEN NEW.`scope` <> 'shared' BEGIN
  INSERT INTO `tenant_storage` (`tenant_id`, `bytes`)
  VALUES (NEW.`scope`, (NEW.`state` <> 'failed') * NEW.`size` - (OLD.`state` <> 'failed') * OLD.`size`)
  ON CONFLICT (`tenant_id`) DO UPDATE SET `bytes` = `bytes` + excluded.`bytes`;
END;
--> statement-breakpoint
CREATE TRIGGER `tenant_storage_model_removed` AFTER DELETE ON `model_blobs` WHEN OLD.`scope` <> 'shared' AND OLD.`state` <> 'failed' BEGIN
  UPDATE `tenant_storage` SET `bytes` = `bytes` - OLD.`size` WHERE `tenant_id` = OLD.`scope`;
END;
