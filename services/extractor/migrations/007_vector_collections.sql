-- The vector collections: which one searches use (the pointer), which one a reindex is
-- building, and how far the build has come (so a killed reindex resumes where it stopped).
CREATE TABLE vector_collections (
    name        text        PRIMARY KEY,
    model       text        NOT NULL,
    backend     text        NOT NULL CHECK (backend IN ('local', 'openai')),
    dimension   integer     NOT NULL CHECK (dimension > 0),
    state       text        NOT NULL CHECK (state IN ('building', 'active', 'retired')),
    reembed     boolean     NOT NULL DEFAULT false, -- embed the text even when the model is the live one
    copied      bigint      NOT NULL DEFAULT 0,
    total       bigint      NOT NULL DEFAULT 0,
    cursor      uuid,
    phase       text        NOT NULL DEFAULT 'copying'
                            CHECK (phase IN ('copying', 'indexing', 'catching_up', 'done')),
    error       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    switched_at timestamptz
);
CREATE UNIQUE INDEX vector_collections_one_active ON vector_collections ((true)) WHERE state = 'active';
CREATE UNIQUE INDEX vector_collections_one_building ON vector_collections ((true)) WHERE state = 'building';
