-- Import runs: their progress and their per-row report (row numbers, fields, codes; never values).
CREATE TABLE imports (
    import_id uuid PRIMARY KEY,
    status text NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    dry_run boolean NOT NULL,
    media_type text NOT NULL,
    total integer,
    processed integer NOT NULL DEFAULT 0,
    inserted integer NOT NULL DEFAULT 0,
    unchanged integer NOT NULL DEFAULT 0,
    rejected integer NOT NULL DEFAULT 0,
    errors jsonb NOT NULL DEFAULT '[]'::jsonb,
    failure text,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

COMMENT ON TABLE imports IS 'One CSV/JSON/NDJSON import and its report.';
COMMENT ON COLUMN imports.import_id IS 'Id of the import (Location of a 202 answer).';
COMMENT ON COLUMN imports.status IS 'running, completed or failed.';
COMMENT ON COLUMN imports.dry_run IS 'A dry run validates and counts but writes no session.';
COMMENT ON COLUMN imports.media_type IS 'text/csv, application/json or application/x-ndjson.';
COMMENT ON COLUMN imports.total IS 'Records in the file (known after the first pass).';
COMMENT ON COLUMN imports.processed IS 'Records handled so far (progress).';
COMMENT ON COLUMN imports.inserted IS 'Records stored as new sessions.';
COMMENT ON COLUMN imports.unchanged IS 'Records whose session_id was stored already with the same content.';
COMMENT ON COLUMN imports.rejected IS 'Records skipped, each listed in errors.';
COMMENT ON COLUMN imports.errors IS 'Per-row problems: row (header = 1), field, code, message. Capped.';
COMMENT ON COLUMN imports.failure IS 'Why a failed import stopped, and at which row.';
COMMENT ON COLUMN imports.created_by IS 'Subject id of the admin who imported.';
COMMENT ON COLUMN imports.created_at IS 'When the import started.';
COMMENT ON COLUMN imports.finished_at IS 'When it completed or failed.';
