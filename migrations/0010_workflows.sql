-- Workflows, tasks and events (docs/WORKFLOWS.md, docs/EVENTS.md).
--
-- A workflow's graph (stages and edges) is one JSON document, validated by
-- src/workflow/graph.c before it is stored: the current version lives on the
-- workflow row, every version (the current one included) in
-- workflow_versions. A dataset feeds at most one workflow, and an item has at
-- most one task, so "where is this item?" has one answer.

CREATE TABLE workflows (
    id         uuid PRIMARY KEY DEFAULT loupe_uuid_v7(),
    team_id    uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    version    integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    seed       bigint NOT NULL,          -- deterministic sampling: chosen once, kept across versions
    definition jsonb NOT NULL,           -- {"stages": [...], "edges": [...]} of the current version
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz(3) NOT NULL DEFAULT now(),
    updated_at timestamptz(3) NOT NULL DEFAULT now(),
    UNIQUE (id, team_id)                 -- target of (workflow_id, team_id) keys
);
CREATE INDEX workflows_team_created_idx ON workflows (team_id, created_at, id);

CREATE TABLE workflow_versions (
    workflow_id uuid NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    version     integer NOT NULL,
    definition  jsonb NOT NULL,
    created_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz(3) NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_id, version)
);

-- The datasets a workflow takes its items from; a dataset feeds at most one.
CREATE TABLE workflow_datasets (
    dataset_id  uuid PRIMARY KEY,
    team_id     uuid NOT NULL,
    workflow_id uuid NOT NULL,
    FOREIGN KEY (dataset_id, team_id) REFERENCES datasets (id, team_id) ON DELETE CASCADE,
    FOREIGN KEY (workflow_id, team_id) REFERENCES workflows (id, team_id) ON DELETE CASCADE
);
CREATE INDEX workflow_datasets_workflow_idx ON workflow_datasets (workflow_id);

-- One task per item in a workflow. stage is the client's stage id; state one
-- of that stage's states. A claim (assignee with claim_expires_at) lapses
-- after task_claim_ttl without activity; an assignment by a manager has no
-- expiry.
CREATE TABLE tasks (
    id               uuid PRIMARY KEY DEFAULT loupe_uuid_v7(),
    team_id          uuid NOT NULL,
    workflow_id      uuid NOT NULL,
    item_id          uuid NOT NULL UNIQUE REFERENCES items (id) ON DELETE CASCADE,
    stage            text NOT NULL,
    state            text NOT NULL,
    assignee_id      uuid REFERENCES users (id) ON DELETE SET NULL,
    claim_expires_at timestamptz(3),
    priority         integer NOT NULL DEFAULT 0,
    stage_entered_at timestamptz(3) NOT NULL DEFAULT now(),
    created_at       timestamptz(3) NOT NULL DEFAULT now(),
    updated_at       timestamptz(3) NOT NULL DEFAULT now(),
    FOREIGN KEY (workflow_id, team_id) REFERENCES workflows (id, team_id) ON DELETE CASCADE
);
-- Filters by stage and state (the items list, bulk actions).
CREATE INDEX tasks_board_idx ON tasks (workflow_id, stage, state);
-- The board: tasks per workflow, stage and state, kept by statement-level
-- triggers on tasks (one upsert per statement whatever its number of rows,
-- none when only the assignee changed), so that reading the board never
-- counts the tasks themselves. Rows that fall to 0 stay (the board skips them).
CREATE TABLE workflow_task_counts (
    workflow_id uuid NOT NULL,
    stage       text NOT NULL,
    state       text NOT NULL,
    count       bigint NOT NULL,
    PRIMARY KEY (workflow_id, stage, state)
);

CREATE FUNCTION tasks_count_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Keys in order, so that concurrent transitions lock count rows in one order.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO workflow_task_counts AS c (workflow_id, stage, state, count)
        SELECT workflow_id, stage, state, count(*) FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (workflow_id, stage, state) DO UPDATE SET count = c.count + EXCLUDED.count;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO workflow_task_counts AS c (workflow_id, stage, state, count)
        SELECT workflow_id, stage, state, -count(*) FROM old_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (workflow_id, stage, state) DO UPDATE SET count = c.count + EXCLUDED.count;
    ELSE
        INSERT INTO workflow_task_counts AS c (workflow_id, stage, state, count)
        SELECT workflow_id, stage, state, sum(d) FROM (
            SELECT workflow_id, stage, state, 1 AS d FROM new_rows
            UNION ALL SELECT workflow_id, stage, state, -1 FROM old_rows) x
        GROUP BY 1, 2, 3 HAVING sum(d) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (workflow_id, stage, state) DO UPDATE SET count = c.count + EXCLUDED.count;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tasks_count_changes();
CREATE TRIGGER tasks_count_update AFTER UPDATE ON tasks REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tasks_count_changes();
CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tasks_count_changes();

-- Claiming: the open tasks of a stage, highest priority first, then oldest.
CREATE INDEX tasks_open_idx ON tasks (workflow_id, stage, priority DESC, created_at, id) WHERE assignee_id IS NULL;
-- A user's tasks, and claims that lapse.
CREATE INDEX tasks_assignee_idx ON tasks (assignee_id, workflow_id, stage) WHERE assignee_id IS NOT NULL;
CREATE INDEX tasks_claim_expiry_idx ON tasks (claim_expires_at) WHERE claim_expires_at IS NOT NULL;

-- Consensus: each annotator's own work on a task, kept apart from the
-- item's annotations until agreement is computed.
CREATE TABLE task_consensus (
    task_id          uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    stage            text NOT NULL,
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    claimed_at       timestamptz(3) NOT NULL DEFAULT now(),
    claim_expires_at timestamptz(3),
    submitted_at     timestamptz(3),
    annotations      jsonb,              -- Darwin JSON 2.0 annotation objects, as submitted
    agreement        double precision,   -- this annotator's mean agreement with the others
    PRIMARY KEY (task_id, stage, user_id)
);

-- Every transition of a task, appended in the transaction that makes it.
-- actor_id NULL: the workflow moved the task by itself (routing stages).
CREATE TABLE task_history (
    id               bigserial PRIMARY KEY,
    task_id          uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    team_id          uuid NOT NULL,
    workflow_id      uuid NOT NULL,
    action           text NOT NULL,      -- created, route, submit, approve, reject, state, assign, unassign, claim, move, continue
    actor_id         uuid REFERENCES users (id) ON DELETE SET NULL,
    subject_id       uuid REFERENCES users (id) ON DELETE SET NULL, -- whose work was judged (approve, reject), or assigned
    from_stage       text,
    from_state       text,
    to_stage         text,
    to_state         text,
    port             text,
    comment          text,
    stage_entered_at timestamptz(3),     -- when the task entered from_stage: time in stage = at - this
    at               timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX task_history_task_idx ON task_history (task_id, id);
CREATE INDEX task_history_stats_idx ON task_history (workflow_id, at);

CREATE FUNCTION task_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'task_history is append-only';
END
$$;
CREATE TRIGGER task_history_no_update BEFORE UPDATE ON task_history
    FOR EACH ROW EXECUTE FUNCTION task_history_append_only();

-- Events: what happened, written in the same transaction as the change, in
-- the order of seq; webhooks deliver from here (docs/EVENTS.md).
CREATE TABLE events (
    id          uuid NOT NULL UNIQUE DEFAULT loupe_uuid_v7(),
    seq         bigserial PRIMARY KEY,
    team_id     uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    type        text NOT NULL CHECK (type ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$'),
    workflow_id uuid,
    item_id     uuid,
    task_id     uuid,
    data        jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX events_team_seq_idx ON events (team_id, seq);

-- Items of a dataset that feeds a workflow enter it when they become ready
-- there (made ready, created ready, or moved there ready):
-- the trigger queues them here in the same transaction, and the workflow
-- router in louped routes them (src/app/workflow_router.c).
CREATE TABLE workflow_inbox (
    item_id     uuid PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE,
    team_id     uuid NOT NULL,
    workflow_id uuid NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    created_at  timestamptz(3) NOT NULL DEFAULT now()
);

CREATE FUNCTION items_workflow_inbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO workflow_inbox (item_id, team_id, workflow_id)
    SELECT NEW.id, NEW.team_id, wd.workflow_id
      FROM workflow_datasets wd
     WHERE wd.dataset_id = NEW.dataset_id
       AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.item_id = NEW.id)
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
        PERFORM pg_notify('loupe_workflow_inbox', '');
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER items_workflow_inbox AFTER UPDATE OF status, dataset_id ON items
    FOR EACH ROW WHEN (NEW.status = 'ready'
                       AND (OLD.status IS DISTINCT FROM 'ready' OR OLD.dataset_id IS DISTINCT FROM NEW.dataset_id))
    EXECUTE FUNCTION items_workflow_inbox();
-- Items created ready (copies of ready items) enter too.
CREATE TRIGGER items_workflow_inbox_insert AFTER INSERT ON items
    FOR EACH ROW WHEN (NEW.status = 'ready')
    EXECUTE FUNCTION items_workflow_inbox();
