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
