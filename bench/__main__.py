"""The benchmark suite: our GraphQL server next to raw asyncpg and a bare Starlette app, same SQL.

    uv run python -m bench                       # the full run (see bench/README.md), a few minutes
    uv run python -m bench --smoke               # every scenario briefly on 1,000 leads; fails on any error
    uv run --with py-spy python -m bench --profile bench/profiles

It creates its own database on --database-url (or LEADCYCLE_DATABASE_URL / DATABASE_URL, else an
embedded Postgres), fills it, starts both servers in processes of their own, drives them over
HTTP and WebSocket from this process, prints the table and writes it to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bench import load, profiling, report, subscriptions
from bench.baseline_sql import keep_as_is, setup_connection
from bench.client import Connection
from bench.database import fresh_database, postgres_server
from bench.fill import fill, stage_mix
from bench.processes import ServerProcess
from bench.scenarios import BY_NAME, SCENARIOS, LeadPools, Requests, Scenario

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
MUTATIONS = {"activity_score", "activity_transition", "transition"}
# Measured in turns, each round starting one further along, so that no system always runs on the
# dead rows of the others' writes (nor always first after the vacuum).
SYSTEMS = ("raw", "bare", "ours")
SUBSCRIBERS_LEAVE = 1.0  # seconds for our server to see closed subscriptions go before it is paused
# Seconds for our resumed server's change feed to pass the changes the bare run wrote meanwhile, before new
# subscribers start from its position: a horizon read in flight when it was paused answers from before them,
# and the next idle pass (every second) follows. Started earlier, they were handed the bare run's changes.
FEED_CATCHES_UP = 1.5


@dataclass(frozen=True)
class Options:
    leads: int
    seconds: float
    warmup: float
    rounds: int
    concurrency: list[int]
    scenarios: list[str]
    subscribers: list[int]
    database_url: str | None
    smoke: bool
    results: Path | None
    profile: Path | None
    profile_scenarios: list[str]
    keep_database: bool
    seed: int


def parse(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000, help="leads to fill (default 100,000)")
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per system, load and round")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each system per load, in turns")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 64], help="concurrent clients")
    names = [s.name for s in SCENARIOS] + ["subscriptions"]
    parser.add_argument("--scenarios", nargs="+", choices=names, default=names, metavar="NAME", help=" ".join(names))
    parser.add_argument("--subscribers", type=int, nargs="+", default=[1, 100, 1000])
    parser.add_argument("--database-url", help="Postgres server to create the database on")
    parser.add_argument("--smoke", action="store_true", help="every scenario briefly on 1,000 leads, for CI")
    parser.add_argument(
        "--results", type=Path, help="Markdown file to update ('-': none; default bench/RESULTS.md for a run of all)"
    )
    parser.add_argument("--profile", type=Path, help="run py-spy on our server into this folder")
    parser.add_argument(
        "--profile-scenarios", nargs="+", default=["leads_page", "activity_score"], help="scenarios or subscriptions"
    )
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.smoke:
        args.leads, args.seconds, args.warmup, args.rounds = 1_000, 0.4, 0.1, 1
        args.concurrency, args.subscribers = [8], [1, 10]
        args.results, args.profile = Path("-"), None
    if args.results is None and set(args.scenarios) == set(names):
        args.results = RESULTS  # only a run of every scenario replaces the recorded table by default
    results = None if args.results is None or str(args.results) == "-" else args.results
    return Options(**(vars(args) | {"results": results}))


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    started = time.perf_counter()
    with postgres_server(options.database_url) as server:
        code = run_to_exit_code(benchmark(options, server))
    print(f"done in {time.perf_counter() - started:.0f} s")
    return code


def run_to_exit_code(coroutine: Coroutine[Any, Any, int]) -> int:
    try:
        import uvloop  # the lighter event loop keeps more of the two cores for the servers
    except ImportError:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


async def benchmark(options: Options, server_url: str) -> int:
    async with fresh_database(server_url, keep=options.keep_database) as url:
        print(f"filling {options.leads:,} leads")
        await fill(url, options.leads, seed=options.seed, archetypes=100 if options.smoke else 300, log=print)
        connection = await asyncpg.connect(url)
        try:
            postgres = await connection.fetchval("SHOW server_version")
            print(
                "  stages:",
                stage_mix(await connection.fetch("SELECT stage, count(*) FROM leads GROUP BY 1 ORDER BY 2 DESC")),
            )
            pools = await LeadPools.load(connection, options.seed)
        finally:
            await connection.close()
        print(f"  lead pools: {pools.sizes()}")
        with tempfile.TemporaryDirectory(prefix="leadcycle-bench-logs-") as logs:
            async with Bench.started(options, url, pools, Path(logs)) as bench:
                await bench.run()
    return bench.finish(postgres)


class Bench:
    """Both servers, the raw pool, and the rows measured so far."""

    def __init__(
        self, options: Options, pools: LeadPools, servers: tuple[ServerProcess, ServerProcess], raw: asyncpg.Pool
    ) -> None:
        self.options, self.pools, self.raw = options, pools, raw
        self.ours, self.bare = servers
        self.rows: list[report.Row] = []
        self.mismatches: list[str] = []

    @classmethod
    @contextlib.asynccontextmanager
    async def started(cls, options: Options, url: str, pools: LeadPools, logs: Path) -> AsyncIterator[Bench]:
        servers = ServerProcess("leadcycle", url, logs), ServerProcess("bare", url, logs)
        bench: Bench | None = None
        try:
            await asyncio.gather(*(server.ready() for server in servers))
            # Sized like our server's pool: 20 connections at most.
            raw = await asyncpg.create_pool(url, min_size=10, max_size=20, init=setup_connection, reset=keep_as_is)
            bench = cls(options, pools, servers, raw)
            try:
                yield bench
            finally:
                await raw.close()
        finally:
            for server in servers:
                if (bench is None or bench.failures()) and server.process.poll() is None:
                    print(f"--- {server.which} server log (tail) ---\n{server.log_tail()}")
                server.stop()

    async def run(self) -> None:
        for scenario in SCENARIOS:
            if scenario.name in self.options.scenarios:
                await self.scenario(scenario)
        if "subscriptions" in self.options.scenarios:
            for count in self.options.subscribers:
                await self.subscriptions(count)

    def _measure(
        self, open_worker: load.OpenWorker, concurrency: int, server: ServerProcess | None = None
    ) -> Coroutine[Any, Any, load.Measurement]:
        return load.run(
            open_worker,
            concurrency=concurrency,
            seconds=self.options.seconds,
            warmup=self.options.warmup,
            server_pid=None if server is None else server.pid,
        )

    async def scenario(self, scenario: Scenario) -> None:
        await self.vacuum()
        if scenario.name not in MUTATIONS:
            await self.same_answer(scenario)
        requests = scenario.prepare(self.pools, self.ours.port, self.bare.port)
        for concurrency in self.options.concurrency:
            runs: dict[str, list[load.Measurement]] = {system: [] for system in SYSTEMS}
            for turn in range(self.options.rounds):
                for system in SYSTEMS[turn % len(SYSTEMS) :] + SYSTEMS[: turn % len(SYSTEMS)]:
                    runs[system].append(await self._measure_system(system, scenario, requests, concurrency))
            self.ours.resume()
            pooled = {system: load.Measurement.pooled(measured) for system, measured in runs.items()}
            self._add(report.Row(scenario.title, str(concurrency), **pooled))
        if self.options.profile is not None and scenario.name in self.options.profile_scenarios:
            await self.profile(scenario, requests.ours, max(self.options.concurrency))

    async def _measure_system(
        self, system: str, scenario: Scenario, requests: Requests, concurrency: int
    ) -> load.Measurement:
        """One run of `system` ("raw", "bare" or "ours") on the scenario's requests.

        Our server sleeps while the baselines run: its change feed would otherwise read (and
        charge the baselines for) every change-log row they write. Woken, it is given time to
        catch up before it is measured.
        """
        if system == "raw":
            self.ours.pause()
            return await self._measure(load.raw_worker(self.raw, requests.raw), concurrency)
        if system == "bare":
            self.ours.pause()
            bare = load.http_worker(self.bare.port, requests.bare, scenario.check)
            return await self._measure(bare, concurrency, self.bare)
        if self.ours.paused:
            self.ours.resume()
            await asyncio.sleep(2.0 if scenario.name in MUTATIONS and not self.options.smoke else 0.2)
        ours = load.http_worker(self.ours.port, requests.ours, scenario.check)
        return await self._measure(ours, concurrency, self.ours)

    async def vacuum(self) -> None:
        """Each scenario starts from vacuumed tables, not from the dead rows of the mutations before it.

        Otherwise an index-only scan (pipeline) pays for earlier scenarios' updates, and autovacuum
        may start in the middle of a measurement.
        """
        async with self.raw.acquire() as connection:
            await connection.execute("VACUUM leads, activities, lead_history, lead_changes")

    async def same_answer(self, scenario: Scenario) -> None:
        """A read must give the same JSON from ours and the bare baseline, or the comparison is void."""
        requests = scenario.prepare(self.pools, self.ours.port, self.bare.port)
        answers = []
        for port, request in ((self.ours.port, next(requests.ours)), (self.bare.port, next(requests.bare))):
            connection = await Connection.open(port)
            try:
                answers.append(json.loads((await connection.request(request))[1]))
            finally:
                connection.close()
        if answers[0] != answers[1]:
            self.mismatches.append(scenario.name)
            print(f"  {scenario.name}: ours and the bare baseline answer differently:\n  {answers[0]}\n  {answers[1]}")

    async def subscriptions(self, count: int) -> None:
        row = report.Row("commit-to-subscriber", f"{count} sub")
        timing: dict[str, Any] = {"seconds": self.options.seconds, "warmup": self.options.warmup}
        # Our server must see the previous count's subscribers leave before it is paused: stopped
        # with them, it kept their group, which the bare run's changes then overflowed, and the
        # next subscribers, joining that group, got its FELL_BEHIND.
        await asyncio.sleep(SUBSCRIBERS_LEAVE)
        self.ours.pause()
        row.bare = await subscriptions.measure(
            self.pools, count, self.bare.port, ours=False, server_pid=self.bare.pid, **timing
        )
        self.ours.resume()
        await asyncio.sleep(FEED_CATCHES_UP)
        row.ours = await subscriptions.measure(
            self.pools, count, self.ours.port, ours=True, server_pid=self.ours.pid, **timing
        )
        self._add(row)
        profiled = self.options.profile is not None and "subscriptions" in self.options.profile_scenarios
        if profiled and count == max(self.options.subscribers):
            name, title = f"subscriptions_{count}", f"commit-to-subscriber, {count} subscribers"
            work = subscriptions.measure(self.pools, count, self.ours.port, ours=True, **timing)
            # Sampled throughout, the subscribers' connecting and the warm-up included.
            await self.profiled(name, title, work, self.options.warmup + self.options.seconds + 3)

    async def profile(self, scenario: Scenario, requests: Any, concurrency: int) -> None:
        work = load.http_worker(self.ours.port, requests, scenario.check)
        run = load.run(work, concurrency=concurrency, seconds=self.options.seconds, warmup=0)
        await self.profiled(scenario.name, f"{scenario.title}, C={concurrency}", run, self.options.seconds)

    async def profiled(
        self, name: str, title: str, work: Coroutine[Any, Any, load.Measurement], seconds: float
    ) -> None:
        """Run `work` again with py-spy sampling our server for `seconds`; write and print the summary."""
        assert self.options.profile is not None
        output = self.options.profile / f"{name}.txt"
        sampler = await profiling.record(self.ours.pid, seconds, output)
        await asyncio.sleep(0.5)  # py-spy attaches
        await work
        await sampler.wait()
        summary = profiling.summarize(output)
        (self.options.profile / f"{name}.md").write_text(f"# {title}\n\n{summary}")
        print(f"\nprofile of our server, {title}:\n{summary}")

    def _add(self, row: report.Row) -> None:
        self.rows.append(row)
        print(report.terminal([row]).splitlines()[1], flush=True)
        for name, measurement in (("ours", row.ours), ("bare", row.bare), ("raw", row.raw)):
            if measurement is not None and measurement.first_failure:
                print(f"  {name}: {measurement.failures} errors, first: {measurement.first_failure}")

    def failures(self) -> int:
        return sum(row.failures() for row in self.rows) + len(self.mismatches)

    def finish(self, postgres: str) -> int:
        o = self.options
        settings = (
            f"concurrency {', '.join(map(str, o.concurrency))}; {o.rounds} rounds of {o.seconds:g} s measured after "
            f"{o.warmup:g} s warm-up per system and load, the systems in turns, pooled (subscriptions: one round); "
            "one uvicorn worker each; load generator in the same 2 cores"
        )
        about = report.machine(postgres, o.leads, settings)
        print("\n" + "\n".join(f"{name}: {value}" for name, value in about) + "\n\n" + report.terminal(self.rows))
        if o.results is not None:
            report.write_results(o.results, report.markdown(self.rows, about))
            print(f"\nwritten to {o.results}")
        missing = [
            s
            for s in o.scenarios
            if s != "subscriptions" and not any(r.scenario == BY_NAME[s].title for r in self.rows)
        ]
        if self.failures() or missing:
            print(f"FAILED: {self.failures()} errors" + (f"; not run: {', '.join(missing)}" if missing else ""))
            return 1
        return 0


if __name__ == "__main__":
    sys.exit(main())
