"""One server process for the benchmark: ours (`leadcycle`) or the bare baseline (`bare`), one worker.

python -m bench.server leadcycle --port 8001 --database-url postgresql://...
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette

from bench import baseline_app
from leadcycle.graph.app import create_app
from leadcycle.graph.settings import Settings


def build(which: str, database_url: str) -> Starlette:
    if which == "leadcycle":
        return create_app(Settings(), database_url)
    return baseline_app.create_app(database_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("app", choices=["leadcycle", "bare"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    options = parser.parse_args()
    # uvicorn's defaults otherwise (uvloop and httptools when installed, as `leadcycle serve` gets them).
    uvicorn.run(
        build(options.app, options.database_url),
        host="127.0.0.1",
        port=options.port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
