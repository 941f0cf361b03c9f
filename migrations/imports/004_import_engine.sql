-- migrate:up
-- What the import engine keeps on a job beyond the seed's counters: where its file comes from, how far it got
-- (the checkpoint: every source row up to it is committed in catalog and counted here), a cancel request, and
-- the lease of the worker running it (a job whose heartbeat is older than the lease has lost its worker).
ALTER TABLE import_jobs
    ADD COLUMN products_unchanged INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN checkpoint_row INTEGER NOT NULL DEFAULT 0 CHECK (checkpoint_row >= 0),
    -- {"kind": "upload" | "path" | "url" | "connection", "uploadId"?, "path"?, "url"?, "fileName"?}
    ADD COLUMN source JSONB,
    ADD COLUMN force BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN cancel_requested_at TIMESTAMP,
    -- Which run of the worker task holds the job, and when it last said so.
    ADD COLUMN runner_id UUID,
    ADD COLUMN heartbeat_at TIMESTAMP,
    -- Progress of the file read (percent and ETA).
    ADD COLUMN bytes_total BIGINT CHECK (bytes_total >= 0),
    ADD COLUMN bytes_read BIGINT NOT NULL DEFAULT 0 CHECK (bytes_read >= 0),
    -- The schedule run that started the job: one job per (schedule, due time), whoever claims it.
    ADD COLUMN schedule_id UUID REFERENCES import_schedules(id),
    ADD COLUMN scheduled_for TIMESTAMP;

-- Whether an import creates the brands and categories its rows name that catalog does not know yet.
ALTER TABLE import_configs
    ADD COLUMN create_brands BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN create_categories BOOLEAN NOT NULL DEFAULT FALSE;

CREATE UNIQUE INDEX uq_import_jobs_schedule_run ON import_jobs(schedule_id, scheduled_for)
    WHERE schedule_id IS NOT NULL;
-- Due schedules, claimed by the minutely task.
CREATE INDEX idx_import_schedules_due ON import_schedules(next_run) WHERE is_active IS TRUE;

-- migrate:down
DROP INDEX idx_import_schedules_due;
DROP INDEX uq_import_jobs_schedule_run;
ALTER TABLE import_configs DROP COLUMN create_categories, DROP COLUMN create_brands;
ALTER TABLE import_jobs
    DROP COLUMN scheduled_for,
    DROP COLUMN schedule_id,
    DROP COLUMN bytes_read,
    DROP COLUMN bytes_total,
    DROP COLUMN heartbeat_at,
    DROP COLUMN runner_id,
    DROP COLUMN cancel_requested_at,
    DROP COLUMN force,
    DROP COLUMN source,
    DROP COLUMN checkpoint_row,
    DROP COLUMN products_unchanged;
