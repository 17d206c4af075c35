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

-- Rows that belong to another row go with it by one statement-level
-- trigger on the owner's table (one DELETE per statement, as the board
-- counts are kept) rather than by foreign keys, whose checks ran once per
-- row written. loupe_delete_with(table, column) deletes the rows of table
-- whose column names a deleted row (its old_rows).
CREATE FUNCTION loupe_delete_with() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DELETE FROM %I x USING old_rows o WHERE x.%I = o.id', TG_ARGV[0], TG_ARGV[1]);
    RETURN NULL;
END
$$;

-- A task's history rows go with it: they are written with their task in
-- hand (created, or locked FOR UPDATE, in the same transaction), so the
-- task exists. actor_id and subject_id keep naming users without a foreign
-- key: their ON DELETE SET NULL could never run on this append-only table
-- (users are not deleted).
ALTER TABLE task_history DROP CONSTRAINT task_history_task_id_fkey,
    DROP CONSTRAINT task_history_actor_id_fkey,
    DROP CONSTRAINT task_history_subject_id_fkey;
CREATE TRIGGER tasks_history_delete AFTER DELETE ON tasks REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION loupe_delete_with('task_history', 'task_id');

-- A workflow's tasks go with it: every statement that creates tasks holds
-- their workflow's row FOR SHARE (so it cannot be deleted meanwhile) and
-- takes team and workflow from it, which the composite foreign key checked
-- again row by row.
ALTER TABLE tasks DROP CONSTRAINT tasks_workflow_id_team_id_fkey;
CREATE TRIGGER workflows_tasks_delete AFTER DELETE ON workflows REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION loupe_delete_with('tasks', 'workflow_id');

-- An item's task goes with it: the statement that creates tasks locks
-- their items FOR KEY SHARE itself, in one pass (lp_db_wf_tasks_enter),
-- which the foreign key did again row by row.
ALTER TABLE tasks DROP CONSTRAINT tasks_item_id_fkey;
CREATE TRIGGER items_tasks_delete AFTER DELETE ON items REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION loupe_delete_with('tasks', 'item_id');

-- A team's events go with it: every event is written with its team in
-- hand (from the row it is about, or the workflow).
ALTER TABLE events DROP CONSTRAINT events_team_id_fkey;
CREATE TRIGGER teams_events_delete AFTER DELETE ON teams REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION loupe_delete_with('events', 'team_id');
