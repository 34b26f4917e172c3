"""The llm service's task runner: keeps up to `TRAWL_LLM_CONCURRENCY` tasks in flight, leasing
more as slots free up. Without an endpoint it runs nothing: tasks wait, saying why."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from services.llm import store
from services.llm.client import ChatModel
from services.llm.commands.planning import NO_ENDPOINT
from services.llm.commands.running import Runner, lease, run_task
from shared.s3 import ObjectStore
from shared.service import ServiceRuntime
from shared.uow import Database

log = logging.getLogger(__name__)


async def run_tasks_forever(runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    db = runtime.resources.get(Database)
    if settings.llm_url is None:
        log.warning("%s", NO_ENDPOINT)
        async with db.unit_of_work() as uow:
            await store.note_waiting(uow.conn, reason=NO_ENDPOINT)
        await asyncio.Event().wait()  # nothing to run until the service is restarted configured
    runner = Runner(db, runtime.resources.get(ChatModel), runtime.resources.get(ObjectStore), settings)
    in_flight: set[asyncio.Task[None]] = set()
    try:
        while True:
            free = settings.llm_concurrency - len(in_flight)
            leased = await lease(runner, free) if free > 0 else []
            for task in leased:
                running = asyncio.create_task(run_task(runner, task), name=f"llm-task-{task.id}")
                in_flight.add(running)
                running.add_done_callback(_finished(in_flight))
            if not leased:
                if in_flight:
                    await asyncio.wait(
                        in_flight, timeout=settings.llm_poll_seconds, return_when=asyncio.FIRST_COMPLETED
                    )
                else:
                    await asyncio.sleep(settings.llm_poll_seconds)
    finally:
        # Tasks cut short keep their lease; another process takes them up when it runs out.
        for running in in_flight:
            running.cancel()
        await asyncio.gather(*in_flight, return_exceptions=True)


def _finished(in_flight: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
    def done(running: asyncio.Task[None]) -> None:
        in_flight.discard(running)
        if not running.cancelled() and (error := running.exception()) is not None:
            log.error(
                "llm task %s stopped: %r (it runs again when its lease runs out)", running.get_name(), error
            )

    return done
