-- Image datasets (seed 004): what decoding each image found, where it came from, and the
-- validation jobs that judge a run's images against rules, with a verdict per image.
ALTER TABLE crawl_runs ADD COLUMN project_id uuid;
CREATE INDEX crawl_runs_project_idx ON crawl_runs (tenant_id, project_id) WHERE project_id IS NOT NULL;

ALTER TABLE images
    ADD COLUMN alt_text         text,
    ADD COLUMN label            text,              -- the keyword that found it
    ADD COLUMN provenance       jsonb,
    ADD COLUMN sha256           text,
    ADD COLUMN phash            bigint,            -- ImageHash pHash, 64 bits
    ADD COLUMN exif_orientation smallint,
    ADD COLUMN pixel_stddev     real,              -- grey levels; ~0 for a blank image
    ADD COLUMN decode_error     text,              -- corrupt | truncated
    ADD COLUMN thumbnail_key    text,
    ADD COLUMN content_type     text;
CREATE INDEX images_sha256_idx ON images (tenant_id, sha256) WHERE s3_key IS NOT NULL;

CREATE TABLE validations (
    validation_id  uuid PRIMARY KEY,
    tenant_id      uuid        NOT NULL,
    run_id         uuid        NOT NULL REFERENCES crawl_runs (run_id) ON DELETE CASCADE,
    rules          jsonb       NOT NULL,
    status         text        NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'running', 'completed', 'failed')),
    total          integer     NOT NULL DEFAULT 0,
    validated      integer     NOT NULL DEFAULT 0,
    invalid        integer     NOT NULL DEFAULT 0,
    max_image_id   bigint      NOT NULL DEFAULT 0,   -- the run's images when the job was asked for
    last_image_id  bigint      NOT NULL DEFAULT 0,   -- images are judged in id order, in batches
    error_message  text,
    lease_owner    uuid,
    leased_until   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    completed_at   timestamptz
);
CREATE INDEX validations_open_idx ON validations (created_at) WHERE status IN ('pending', 'running');
CREATE INDEX validations_run_idx ON validations (run_id, created_at);

CREATE TABLE image_verdicts (
    validation_id uuid    NOT NULL REFERENCES validations (validation_id) ON DELETE CASCADE,
    image_id      bigint  NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    tenant_id     uuid    NOT NULL,
    valid         boolean NOT NULL,
    reasons       text[]  NOT NULL DEFAULT '{}',
    duplicate_of  bigint,                              -- the image it repeats, for duplicates
    PRIMARY KEY (validation_id, image_id)
);
