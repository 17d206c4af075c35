-- Active learning (docs/MODELS.md "Active learning"): what a batch run of a model learned about each
-- item it ran on, predictions or not. A run stores one row per item (its slot, how many detections,
-- the embedding used for novelty: the model's or the built-in image descriptor), with the item's
-- uncertainty scores; when the run finishes, novelty (k-center greedy over the run's embeddings) and
-- one rank per strategy are written for all its rows at once. A rank is 1 for the item to annotate
-- first; ranks are NULL until the run has finished.

CREATE TABLE model_run_items (
    run_id                 uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    item_id                uuid NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    team_id                uuid NOT NULL,
    model_id               uuid NOT NULL,
    slot                   text NOT NULL,
    detections             integer NOT NULL CHECK (detections >= 0),
    least_confidence       real NOT NULL CHECK (least_confidence >= 0 AND least_confidence <= 1),
    margin                 real NOT NULL CHECK (margin >= 0 AND margin <= 1),
    entropy                real NOT NULL CHECK (entropy >= 0 AND entropy <= 1),
    novelty                real CHECK (novelty >= 0),
    embedding              real[] NOT NULL,
    embedding_source       text NOT NULL CHECK (embedding_source IN ('model', 'descriptor')),
    least_confidence_rank  integer,
    margin_rank            integer,
    entropy_rank           integer,
    novelty_rank           integer,
    created_at             timestamptz(3) NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, item_id),
    FOREIGN KEY (model_id, team_id) REFERENCES models (id, team_id) ON DELETE CASCADE
);
CREATE INDEX model_run_items_lc_idx ON model_run_items (run_id, least_confidence_rank);
CREATE INDEX model_run_items_margin_idx ON model_run_items (run_id, margin_rank);
CREATE INDEX model_run_items_entropy_idx ON model_run_items (run_id, entropy_rank);
CREATE INDEX model_run_items_novelty_idx ON model_run_items (run_id, novelty_rank);
-- the latest finished score of an item by a model (the workflow sampling stage)
CREATE INDEX model_run_items_latest_idx ON model_run_items (model_id, item_id, created_at DESC)
    WHERE entropy_rank IS NOT NULL;
