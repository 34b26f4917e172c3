"""The llm service's SQL; nothing else touches its tables."""

from services.llm.store.reading import session_exists, session_tasks, sessions, task
from services.llm.store.spending import job_spend, locked_model_state, record_usage, save_model_state
from services.llm.store.tasks import (
    active_queries,
    add_queries,
    cached_output,
    cancel_run_tasks,
    complete_task,
    fail_attempt,
    forget_run,
    give_back,
    insert_task,
    keep_waiting_item,
    lease_tasks,
    note_waiting,
    on_demand_session,
    retry_failed,
    run_session,
    take_waiting_items,
)

__all__ = [
    "active_queries",
    "add_queries",
    "cached_output",
    "cancel_run_tasks",
    "complete_task",
    "fail_attempt",
    "forget_run",
    "give_back",
    "insert_task",
    "job_spend",
    "keep_waiting_item",
    "lease_tasks",
    "locked_model_state",
    "note_waiting",
    "on_demand_session",
    "record_usage",
    "retry_failed",
    "run_session",
    "save_model_state",
    "session_exists",
    "session_tasks",
    "sessions",
    "take_waiting_items",
    "task",
]
