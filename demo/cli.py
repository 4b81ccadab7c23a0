"""`cbamx-demo` (what `./dev demo` runs): the platform with a demo plant on embedded services."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

app = typer.Typer(add_completion=False, rich_markup_mode=None)


@app.command()
def demo(
    port: int = typer.Option(8000, help="Port of the API on 127.0.0.1."),
    data_dir: Path = typer.Option(Path(".cbamx"), help="Where embedded data lives."),
    reset: bool = typer.Option(False, help="Delete the data directory first: start from an empty demo."),
    https: bool = typer.Option(
        False, help="Serve HTTPS with a self-signed certificate kept in <data-dir>/tls (PACT hosts are HTTPS-only)."
    ),
) -> None:
    """Run the platform with a realistic demo plant on embedded services (nothing to configure).

    Starts PostgreSQL and Redis (unless DATABASE_URL and REDIS_URL are set), migrates, adds the
    demo organisations and the plant's history since the first day of last month (with last
    month's calculation), then runs the API, the worker, the plant simulator, the agent and the
    MES until Ctrl-C.
    """
    from demo.run import run_demo

    sys.exit(run_demo(port=port, data_dir=data_dir, reset=reset, https=https))


def main() -> None:
    app()
