-- Workflow history in one row per step a person or the API takes
-- (docs/WORKFLOWS.md, "History").
--
-- When a step lands a task on a routing stage (logic, sampling, consensus
-- agreement, a webhook that does not wait), the workflow carries it on by
-- itself, possibly over several stages. Those hops were one task_history row
-- each; they are now the route of the row of the step that caused them: a
-- JSON array of {"from_stage", "from_state", "port", "to_stage", "to_state"}
-- objects in the order taken (NULL when the step was not routed on). Reading
-- a task's history expands them into "route" steps after their row, at its
-- time, without actor: what the API answers is the same as before. Entering
-- a workflow through a sampling stage thus writes one history row per task
-- instead of three.
ALTER TABLE task_history ADD COLUMN route jsonb
    CHECK (route IS NULL OR (jsonb_typeof(route) = 'array' AND jsonb_array_length(route) > 0));

-- The history rows of a task go with it by a statement-level trigger on
-- tasks (one DELETE per statement, as the board counts are kept) rather
-- than by foreign keys, whose checks ran once per history row written: the
-- rows are written with their task in hand (created, or locked FOR UPDATE,
-- in the same transaction), so the task exists. actor_id and subject_id
-- keep naming users without a foreign key: their ON DELETE SET NULL could
-- never run on this append-only table (users are not deleted).
ALTER TABLE task_history DROP CONSTRAINT task_history_task_id_fkey,
    DROP CONSTRAINT task_history_actor_id_fkey,
    DROP CONSTRAINT task_history_subject_id_fkey;

CREATE FUNCTION tasks_history_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM task_history h USING old_rows o WHERE h.task_id = o.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER tasks_history_delete AFTER DELETE ON tasks REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tasks_history_delete();

-- Likewise a workflow's tasks go with it by a statement-level trigger on
-- workflows: every statement that creates tasks holds their workflow's row
-- FOR SHARE (so it cannot be deleted meanwhile) and takes team and workflow
-- from it, which the composite foreign key checked again row by row.
ALTER TABLE tasks DROP CONSTRAINT tasks_workflow_id_team_id_fkey;

CREATE FUNCTION workflows_tasks_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM tasks t USING old_rows o WHERE t.workflow_id = o.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER workflows_tasks_delete AFTER DELETE ON workflows REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION workflows_tasks_delete();

-- And a task goes with its item by a statement-level trigger on items: the
-- statement that creates tasks locks their items FOR KEY SHARE itself, in
-- one pass (lp_db_wf_tasks_enter), which the foreign key did again row by
-- row.
ALTER TABLE tasks DROP CONSTRAINT tasks_item_id_fkey;

CREATE FUNCTION items_tasks_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM tasks t USING old_items o WHERE t.item_id = o.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER items_tasks_delete AFTER DELETE ON items REFERENCING OLD TABLE AS old_items
    FOR EACH STATEMENT EXECUTE FUNCTION items_tasks_delete();

-- Events go with their team by a statement-level trigger on teams: every
-- event is written with its team in hand (from the row it is about, or the
-- workflow), and the foreign key was checked once per event written.
ALTER TABLE events DROP CONSTRAINT events_team_id_fkey;

CREATE FUNCTION teams_events_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM events e USING old_teams o WHERE e.team_id = o.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER teams_events_delete AFTER DELETE ON teams REFERENCING OLD TABLE AS old_teams
    FOR EACH STATEMENT EXECUTE FUNCTION teams_events_delete();
