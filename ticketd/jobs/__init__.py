"""Jobs: the model and state machine, the journal, the per-printer queues, the manager."""
