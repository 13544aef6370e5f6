-- Reference DDL for the SQLite backend (PIPELINE_BACKEND=sqlite), for the default table name
-- PIPELINE_TABLE=pipeline_runs. The service creates exactly this itself, as GRDB migrations named
-- "pipeline_runs/v1-create-runs" … "pipeline_runs/v9-index-running-by-signature" (recorded in grdb_migrations),
-- when the table does not exist yet. A table it did not create, or one given a PIPELINE_COLUMN_MAP,
-- is never created or altered: it only needs these columns (under any names the map gives); without
-- "status", "exit_code" and "run_id" it runs without them and says so once at start-up (without
-- "run_id", a run's key stays (pipeline_name, date_code) and reads give run_id null).
--
-- Instants are TEXT in the fixed-width form YYYY-MM-DDTHH:MM:SS.ffffffZ (always 6 fraction digits),
-- so comparing the text compares the instants. Local times are TEXT as YYYY-MM-DDTHH:MM:SS[.ffffff].
-- The connection runs in WAL mode with synchronous=FULL.

-- pipeline_runs/v1-create-runs
CREATE TABLE "pipeline_runs" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "start_local" TEXT NOT NULL,
    "end_local" TEXT NOT NULL,
    "start_utc" TEXT NOT NULL,
    "end_utc" TEXT NOT NULL,
    "elapsed_seconds" REAL NOT NULL,
    "elapsed_human" TEXT NOT NULL,
    "output_file" TEXT NOT NULL,
    "rowcount" INTEGER NOT NULL,
    "log_file" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "date_code" TEXT NOT NULL,
    "pipeline_name" TEXT,
    "script_name" TEXT,
    "pipeline_type" TEXT,
    "environment" TEXT,
    "archived_file" TEXT
-- pipeline_runs/v4-add-status-exit-code adds the run status columns, and v8-add-run-id the run id,
-- with ALTER TABLE … ADD COLUMN, which SQLite records by appending them to this statement, as here:
, "status" TEXT, "exit_code" INTEGER, "run_id" TEXT);

-- v1 also created "pipeline_runs_by_start" and "pipeline_runs_by_name", which v5 rebuilds (below).

-- pipeline_runs/v2-create-summary
-- Per-signature totals for GET /pipelines, updated in the transaction of every insert.
-- "signature" is the JSON array of the four signature fields, e.g. ["etl","etl.py",null,"prod"].
CREATE TABLE "pipeline_runs_summary" (
    "signature" TEXT NOT NULL PRIMARY KEY,
    "pipeline_name" TEXT,
    "script_name" TEXT,
    "pipeline_type" TEXT,
    "environment" TEXT,
    "total_runs" INTEGER NOT NULL,
    "last_run" TEXT NOT NULL,
    "duration_sum" REAL NOT NULL,
    "duration_count" INTEGER NOT NULL,
    "rowcount_sum" INTEGER NOT NULL,
    "rowcount_count" INTEGER NOT NULL
-- pipeline_runs/v4-add-status-exit-code: runs that failed (status "failed", or no status and a
-- non-zero exit_code). Runs stored before v4 have neither field, so 0 is exact for them.
-- pipeline_runs/v6-wide-rowcount-sums: the rowcount sum is 128 bits wide, rowcount_sum holding its
-- low 63 bits and rowcount_sum_high the bits above; every sum stored before fits in rowcount_sum.
, "failed_runs" INTEGER NOT NULL DEFAULT 0, "rowcount_sum_high" INTEGER NOT NULL DEFAULT 0);

-- pipeline_runs/v3-index-rowcount created "pipeline_runs_by_rowcount", v5-covering-indexes rebuilt
-- "pipeline_runs_by_start" and "pipeline_runs_by_name" as covering indexes, and v7-index-date-code
-- created "pipeline_runs_date_code"; v8 rebuilds all four (below).

-- pipeline_runs/v8-add-run-id
-- Idempotency: one run per run_id (a UUID). A run posted without one gets the name-based id of its
-- (pipeline_name, date_code), so that pair stays the key old clients know; v8 gave every stored run
-- that id (without a name: of its date_code and id) and dropped v1's unique index on the pair.
CREATE UNIQUE INDEX "pipeline_runs_run_id" ON "pipeline_runs" ("run_id");

-- Runs still running are left out of every read that does not ask for them, so the query indexes
-- hold finished runs only: their WHERE is the very condition those reads carry, and no read checks
-- a status row by row.
-- History in result order (start_utc descending, id descending), with or without a start_utc bound;
-- end_utc and rowcount let a time window or row count range be checked in the index itself, and
-- status the WHERE every such read carries (SQLite tests it even though the index's WHERE implies it).
CREATE INDEX "pipeline_runs_by_start" ON "pipeline_runs" ("start_utc", "id", "end_utc", "rowcount", "status") WHERE ("status" IS NULL OR "status" <> 'running');

-- History of one pipeline, covering: counts, history samples and filtered pages of one pipeline
-- read every column they test from the index, not from rows spread among all other pipelines' rows.
CREATE INDEX "pipeline_runs_by_name" ON "pipeline_runs" ("pipeline_name", "start_utc", "id", "environment", "script_name", "pipeline_type", "rowcount", "elapsed_seconds", "end_utc", "status", "exit_code") WHERE ("status" IS NULL OR "status" <> 'running');

-- Row count ranges (min_rowcount / max_rowcount) without a scan of the whole table.
CREATE INDEX "pipeline_runs_by_rowcount" ON "pipeline_runs" ("rowcount", "start_utc", "id", "status") WHERE ("status" IS NULL OR "status" <> 'running');

-- Runs by date code (archived-file downloads, the date_code filter).
CREATE INDEX "pipeline_runs_date_code" ON "pipeline_runs" ("date_code", "id") WHERE ("status" IS NULL OR "status" <> 'running');

-- The runs still running (status=running, the dashboard's "running now", stuck health).
CREATE INDEX "pipeline_runs_running" ON "pipeline_runs" ("start_utc", "id") WHERE "status" = 'running';

-- pipeline_runs/v9-index-running-by-signature
-- The runs still running counted by signature with the oldest start (health, the pipeline cap),
-- read from this index alone, however many there are.
CREATE INDEX "pipeline_runs_running_by_signature" ON "pipeline_runs" ("pipeline_name", "script_name", "pipeline_type", "environment", "start_utc") WHERE "status" = 'running';
