-- Entering a workflow writes less per task (docs/WORKFLOWS.md, "What
-- entering costs"): a task is a row in tasks, task_history and events, and every
-- index entry and row trigger on them is paid once per item entered.

-- The per-annotator statistics (GET /workflows/{id}/stats) read only the
-- submit, approve and reject rows of a time range: the index holds those
-- alone, not the created, route, claim, assign, state and move rows that
-- most steps write (an item entering a workflow writes one "created" row).
DROP INDEX task_history_stats_idx;
CREATE INDEX task_history_stats_idx ON task_history (workflow_id, at)
    WHERE action IN ('submit', 'approve', 'reject');

-- tasks.assignee_id named a user through a foreign key, whose row trigger
-- ran once per task inserted (assignee or not) and locked the user's row at
-- every claim. Assignees are checked as members of the team before they are
-- set (a membership names an existing user); a deleted user's tasks are
-- unassigned by one statement-level trigger, as ON DELETE SET NULL did.
ALTER TABLE tasks DROP CONSTRAINT tasks_assignee_id_fkey;

CREATE FUNCTION users_tasks_unassign() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tasks t SET assignee_id = NULL, claim_expires_at = NULL, updated_at = now()
      FROM old_rows o WHERE t.assignee_id = o.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_tasks_unassign AFTER DELETE ON users REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION users_tasks_unassign();
