"""The scheduler: which URLs this process fetches next, and the upkeep of the leases it holds.

Ready URLs are leased from the durable frontier run after run (round-robin, so that no run
starves the others), shallowest first, within each run's page and image budget, skipping the
hosts this process is already busy with. Each leased URL comes with its run's view, built once
per run from the run's configuration. Every half second its maintenance renews the leases held,
sends the expired leases of dead workers back to the queue, polls the status of the runs in
flight (a cancelled run's URLs are released unfetched), completes the runs that finished and
updates the gauges.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from uuid import UUID, uuid4

from services.crawler import commands, metrics, store
from services.crawler.domain.known_urls import KnownUrls
from services.crawler.domain.leasing import lease_request, rotated
from services.crawler.domain.records import LeasedUrl, RunBudget
from services.crawler.domain.run_view import RunView
from services.crawler.gate import PolitenessGate
from shared import runs
from shared.config import Settings
from shared.uow import Database

MAINTENANCE_INTERVAL = 0.5
GAUGE_INTERVAL = 5.0
BUSY_HOST_LOAD = 2  # times the run's per-host concurrency: fetch tasks of a host waiting here


class Scheduler:
    def __init__(self, db: Database, gate: PolitenessGate, known: KnownUrls, settings: Settings) -> None:
        self.owner = uuid4()
        self._db = db
        self._gate = gate
        self._known = known
        self._default_user_agent = settings.crawler_user_agent
        self._lease_seconds = settings.crawler_lease_seconds
        self._held: dict[int, LeasedUrl] = {}  # leased and not yet committed
        self._views: dict[UUID, RunView] = {}
        self._cancelled: set[UUID] = set()
        self._round_robin = 0

    @property
    def held(self) -> int:
        return len(self._held)

    def is_cancelled(self, run_id: UUID) -> bool:
        return run_id in self._cancelled

    async def lease(self, free: int) -> list[tuple[LeasedUrl, RunView]]:
        """Up to `free` ready URLs, each with its run's view; held until `settled`."""
        async with self._db.connection() as conn:
            budgets = await store.run_budgets(conn)
        running = {budget.run_id for budget in budgets}
        self._views = {run_id: view for run_id, view in self._views.items() if run_id in running}
        self._known.keep_only(running)
        if not budgets:
            return []
        self._round_robin = (self._round_robin + 1) % len(budgets)
        leased: list[tuple[LeasedUrl, RunView]] = []
        for budget in rotated(budgets, self._round_robin):
            room = free - len(leased)
            if room <= 0:
                break
            view = await self._view(budget)
            if view is None:
                continue
            request = lease_request(budget, collects_images=view.collects_images, room=room)
            if request is None:
                continue
            per_host = view.config.limits.per_host_concurrency
            busy = [host for host in self._busy_hosts() if self._gate.load(host) >= BUSY_HOST_LOAD * per_host]
            async with self._db.unit_of_work() as uow:
                items = await store.lease(
                    uow.conn,
                    owner=self.owner,
                    run_id=budget.run_id,
                    kinds=request.kinds,
                    limit=request.limit,
                    skip_hosts=busy,
                    per_host=per_host,
                    lease_seconds=self._lease_seconds,
                )
            leased += [(item, view) for item in items]
        self._held.update((item.id, item) for item, _view in leased)
        return leased

    def settled(self, items: Iterable[LeasedUrl]) -> None:
        """These leases are committed (or given back): no longer held."""
        for item in items:
            self._held.pop(item.id, None)

    async def release_held(self) -> None:
        """Give back every lease held (the worker is stopping)."""
        async with self._db.unit_of_work() as uow:
            await store.release_leases(uow.conn, owner=self.owner, ids=list(self._held))

    async def maintain_forever(self) -> None:
        last_renewal = last_gauges = time.monotonic()
        while True:
            await asyncio.sleep(MAINTENANCE_INTERVAL)
            now = time.monotonic()
            if now - last_renewal >= self._lease_seconds / 3:
                async with self._db.unit_of_work() as uow:
                    await store.renew_leases(
                        uow.conn, owner=self.owner, ids=list(self._held), lease_seconds=self._lease_seconds
                    )
                last_renewal = now
            async with self._db.unit_of_work() as uow:
                await store.release_expired_leases(uow.conn)
            async with self._db.connection() as conn:
                statuses = await store.run_statuses(conn, list({item.run_id for item in self._held.values()}))
            self._cancelled = {run_id for run_id, status in statuses.items() if status != "running"}
            async with self._db.unit_of_work() as uow:
                await commands.complete_finished_runs(uow)
            metrics.IN_FLIGHT.set(len(self._held))
            if now - last_gauges >= GAUGE_INTERVAL:
                async with self._db.connection() as conn:
                    metrics.FRONTIER_QUEUED.set(await store.queued_urls(conn))
                last_gauges = now

    def _busy_hosts(self) -> set[str]:
        return {item.host for item in self._held.values()}

    async def _view(self, budget: RunBudget) -> RunView | None:
        view = self._views.get(budget.run_id)
        if view is not None:
            return view
        async with self._db.connection() as conn:
            config = await runs.run_config(conn, run_id=budget.run_id, tenant_id=budget.tenant_id)
        if config is None:
            return None
        view = RunView.of(
            run_id=budget.run_id,
            tenant_id=budget.tenant_id,
            job_id=budget.job_id,
            config=config,
            default_user_agent=self._default_user_agent,
        )
        self._views[budget.run_id] = view
        return view
