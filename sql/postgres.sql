-- PostgreSQL reference DDL: exactly what the service's migrations create for PIPELINE_TABLE=pipeline_runs
-- (Sources/PipelineStore/Postgres/PostgresSchema.swift; a test checks that the two agree).
-- The service applies this itself on start-up. Run it by hand only to create the schema ahead of time;
-- the last statement records the migration, so the service then treats the table as its own.
--
-- Every time is exact to the microsecond: start_utc/end_utc are instants (timestamptz), start_local/end_local
-- wall-clock times without a zone (timestamp). The service's sessions run with TimeZone=UTC.

-- Named migrations applied per table, one row each.
CREATE TABLE IF NOT EXISTS pipeline_service_migrations (
    "table_name" TEXT NOT NULL,
    "migration" TEXT NOT NULL,
    "applied_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY ("table_name", "migration")
);

-- One row per run; id is the insertion order that breaks ties between equal start_utc values.
-- The unique key made (pipeline_name, date_code) idempotent until 7_add_run_id replaced it with run_id.
-- NULL pipeline names never collide: runs without a pipeline_name were never deduplicated.
CREATE TABLE "pipeline_runs" (
    "id" BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "start_local" TIMESTAMP NOT NULL,
    "end_local" TIMESTAMP NOT NULL,
    "start_utc" TIMESTAMPTZ NOT NULL,
    "end_utc" TIMESTAMPTZ NOT NULL,
    "elapsed_seconds" DOUBLE PRECISION NOT NULL,
    "elapsed_human" TEXT NOT NULL,
    "output_file" TEXT NOT NULL,
    "rowcount" BIGINT NOT NULL,
    "log_file" TEXT NOT NULL,
    "pid" BIGINT NOT NULL,
    "date_code" TEXT NOT NULL,
    "pipeline_name" TEXT,
    "script_name" TEXT,
    "pipeline_type" TEXT,
    "environment" TEXT,
    "archived_file" TEXT,
    CONSTRAINT "pipeline_runs_run_key" UNIQUE ("pipeline_name", "date_code")
);

-- Result order (start_utc DESC, id DESC) for unfiltered pages and keyset cursors. 4_covering_indexes
-- rebuilds it below with the columns a time window or row count range reads.
CREATE INDEX "pipeline_runs_by_start" ON "pipeline_runs" ("start_utc" DESC, "id" DESC);

-- The same order within one pipeline, the most common filter; also rebuilt by 4_covering_indexes.
CREATE INDEX "pipeline_runs_by_pipeline" ON "pipeline_runs" ("pipeline_name", "start_utc" DESC, "id" DESC);

-- Per-signature totals, updated in the transaction of every insert. The signature is the JSON
-- array of the four grouping fields (e.g. ["ingest","ingest.py","batch",null]), never NULL.
CREATE TABLE "pipeline_runs_summary" (
    "signature" TEXT PRIMARY KEY,
    "pipeline_name" TEXT,
    "script_name" TEXT,
    "pipeline_type" TEXT,
    "environment" TEXT,
    "total_runs" BIGINT NOT NULL,
    "last_run" TIMESTAMPTZ NOT NULL,
    "duration_sum" DOUBLE PRECISION NOT NULL,
    "duration_count" BIGINT NOT NULL,
    "rowcount_sum" BIGINT NOT NULL,
    "rowcount_count" BIGINT NOT NULL
);

INSERT INTO pipeline_service_migrations ("table_name", "migration") VALUES ('pipeline_runs', '1_create_runs_and_summary');

-- 2_index_rowcount: row count ranges (min_rowcount / max_rowcount) without a scan of the whole table.
CREATE INDEX "pipeline_runs_by_rowcount" ON "pipeline_runs" ("rowcount", "start_utc" DESC, "id" DESC);

INSERT INTO pipeline_service_migrations ("table_name", "migration") VALUES ('pipeline_runs', '2_index_rowcount');

-- 3_add_status_exit_code: run status (optional). Runs stored before have neither field, so none of
-- them failed and failed_runs starts at 0. A table without these two columns still works: the
-- service runs without them and says so once at start-up.
ALTER TABLE "pipeline_runs" ADD COLUMN "status" TEXT, ADD COLUMN "exit_code" BIGINT;
ALTER TABLE "pipeline_runs_summary" ADD COLUMN "failed_runs" BIGINT NOT NULL DEFAULT 0;

INSERT INTO pipeline_service_migrations ("table_name", "migration") VALUES ('pipeline_runs', '3_add_status_exit_code');

-- 4_covering_indexes: the columns filters, counts and history samples read ride in the start and
-- pipeline indexes, so on a vacuumed table a count, a history or a filtered page of one pipeline is an
-- index-only scan instead of one heap fetch per matching run (pipeline-service import vacuums after loading).
DROP INDEX "pipeline_runs_by_start";
CREATE INDEX "pipeline_runs_by_start" ON "pipeline_runs" ("start_utc" DESC, "id" DESC) INCLUDE ("end_utc", "rowcount");
DROP INDEX "pipeline_runs_by_pipeline";
CREATE INDEX "pipeline_runs_by_pipeline" ON "pipeline_runs" ("pipeline_name", "start_utc" DESC, "id" DESC)
    INCLUDE ("environment", "script_name", "pipeline_type", "rowcount", "elapsed_seconds", "end_utc", "status", "exit_code");

INSERT INTO pipeline_service_migrations ("table_name", "migration") VALUES ('pipeline_runs', '4_covering_indexes');

-- 5_wide_rowcount_sums: the rowcount sum is 128 bits wide, rowcount_sum holding its low 63 bits and
-- rowcount_sum_high the bits above; every sum stored before fits in rowcount_sum, so 0 is exact.
ALTER TABLE "pipeline_runs_summary" ADD COLUMN "rowcount_sum_high" BIGINT NOT NULL DEFAULT 0;

INSERT INTO pipeline_service_migrations ("table_name", "migration") VALUES ('pipeline_runs', '5_wide_rowcount_sums');

-- 6_index_date_code: runs by date code (archived-file downloads, the date_code filter).
CREATE INDEX "pipeline_runs_date_code" ON "pipeline_runs" ("date_code", "id");

INSERT INTO pipeline_service_migrations ("table_name", "migration") VALUES ('pipeline_runs', '6_index_date_code');

-- 7_add_run_id: runs are keyed by run_id (a UUID) alone. A run posted without one gets the
-- name-based id of its (pipeline_name, date_code): SHA-256 of the parts, each as its UTF-8 length
-- (8 bytes, big-endian) then its bytes, after a 1 byte (or, without a name, a 0 byte, the date code,
-- and the row's id); its first 16 bytes with the version 8 and variant bits set. Posting the same
-- pair again names the same id, so the pair stays the key old clients know. Stored runs get that id
-- here, and the unique key on the pair goes, so that runs of one pipeline in one second with ids of
-- their own can all be stored.
ALTER TABLE "pipeline_runs" ADD COLUMN "run_id" TEXT;
UPDATE "pipeline_runs" SET "run_id" = encode(set_byte(set_byte(h, 6, (get_byte(h, 6) & 15) | 128), 8, (get_byte(h, 8) & 63) | 128), 'hex')::uuid::text
    FROM (SELECT "id" AS row_id, substring(sha256(
        CASE WHEN "pipeline_name" IS NULL
        THEN decode('00', 'hex') || int8send(octet_length(convert_to("date_code", 'UTF8'))::int8) || convert_to("date_code", 'UTF8') || int8send("id"::int8)
        ELSE decode('01', 'hex') || int8send(octet_length(convert_to("pipeline_name", 'UTF8'))::int8) || convert_to("pipeline_name", 'UTF8')
            || int8send(octet_length(convert_to("date_code", 'UTF8'))::int8) || convert_to("date_code", 'UTF8') END
    ) FROM 1 FOR 16) AS h FROM "pipeline_runs") AS hashed
    WHERE "pipeline_runs"."id" = hashed.row_id;
ALTER TABLE "pipeline_runs" ADD CONSTRAINT "pipeline_runs_run_id" UNIQUE ("run_id");
ALTER TABLE "pipeline_runs" DROP CONSTRAINT "pipeline_runs_run_key";
-- Runs still running are left out of every read that does not ask for them, so the query indexes
-- hold finished runs only: their WHERE is the very condition those reads carry, and no read checks
-- a status row by row. One small index holds the running runs.
DROP INDEX "pipeline_runs_by_start";
DROP INDEX "pipeline_runs_by_pipeline";
DROP INDEX "pipeline_runs_by_rowcount";
DROP INDEX "pipeline_runs_date_code";
CREATE INDEX "pipeline_runs_by_start" ON "pipeline_runs" ("start_utc" DESC, "id" DESC) INCLUDE ("end_utc", "rowcount")
    WHERE ("status" IS NULL OR "status" <> 'running');
CREATE INDEX "pipeline_runs_by_pipeline" ON "pipeline_runs" ("pipeline_name", "start_utc" DESC, "id" DESC)
    INCLUDE ("environment", "script_name", "pipeline_type", "rowcount", "elapsed_seconds", "end_utc", "status", "exit_code")
    WHERE ("status" IS NULL OR "status" <> 'running');
CREATE INDEX "pipeline_runs_by_rowcount" ON "pipeline_runs" ("rowcount", "start_utc" DESC, "id" DESC) WHERE ("status" IS NULL OR "status" <> 'running');
CREATE INDEX "pipeline_runs_date_code" ON "pipeline_runs" ("date_code", "id") WHERE ("status" IS NULL OR "status" <> 'running');
CREATE INDEX "pipeline_runs_running" ON "pipeline_runs" ("start_utc" DESC, "id" DESC) WHERE "status" = 'running';

INSERT INTO pipeline_service_migrations ("table_name", "migration") VALUES ('pipeline_runs', '7_add_run_id');

-- 8_index_running_by_signature: the runs still running counted by signature with the oldest start
-- (health, the pipeline cap), read from this index, however many there are.
CREATE INDEX "pipeline_runs_running_by_signature" ON "pipeline_runs" ("pipeline_name", "script_name", "pipeline_type", "environment", "start_utc")
    WHERE "status" = 'running';

INSERT INTO pipeline_service_migrations ("table_name", "migration") VALUES ('pipeline_runs', '8_index_running_by_signature');
