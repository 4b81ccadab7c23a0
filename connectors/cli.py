"""`cbamx-agent` command line."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from connectors.config import AgentConfig, ConfigError, config_warnings, load_config
from connectors.logs import LogFormat, configure_logging

if TYPE_CHECKING:
    from connectors.buffer import ReadingBuffer

app = typer.Typer(
    name="cbamx-agent",
    help="On-site connector: reads plant meters (Modbus, OPC UA) and forwards readings to cbamx.",
    no_args_is_help=True,
    add_completion=False,
)

ConfigArg = Annotated[Path, typer.Argument(help="Agent configuration (YAML).", exists=False)]
LevelOpt = Annotated[str, typer.Option("--log-level", help="debug, info, warning or error.")]
FormatOpt = Annotated[LogFormat, typer.Option("--log-format", help="console or json.")]


def _load(path: Path, *, require_secret: bool) -> AgentConfig:
    try:
        return load_config(path, require_secret=require_secret)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2)


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)


@app.command()
def run(config: ConfigArg, log_level: LevelOpt = "info", log_format: FormatOpt = "console") -> None:
    """Run the agent: poll, buffer, upload and report status until stopped (SIGTERM / Ctrl-C)."""
    settings = _load(config, require_secret=True)
    configure_logging(log_level, log_format)
    from connectors.agent import Agent

    for warning in config_warnings(settings):
        logging.getLogger("connectors").warning("configuration: %s", warning)

    async def main() -> None:
        try:
            agent = Agent.from_config(settings)
        except ConfigError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2)
        stop = asyncio.Event()
        _stop_on_signals(stop)
        await agent.run(stop)

    asyncio.run(main())


@app.command()
def check(config: ConfigArg, log_level: LevelOpt = "warning") -> None:
    """Read every configured point once and print a table; exit 1 if any point is missing."""
    settings = _load(config, require_secret=False)
    configure_logging(log_level)
    from connectors.check import format_table, run_check, summary

    for warning in config_warnings(settings):
        typer.echo(f"warning: {warning}", err=True)

    try:
        result = asyncio.run(run_check(settings))
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2)
    typer.echo(format_table(result.readings))
    typer.echo("")
    typer.echo(summary(result))
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def points(config: ConfigArg) -> None:
    """List what to declare in cbamx: every (meter, quantity) this configuration sends, with its unit."""
    settings = _load(config, require_secret=False)
    from connectors.check import format_columns
    from connectors.inventory import configured_points

    rows = [(p.meter, p.quantity, p.unit, p.kind, f"{p.device}.{p.point}") for p in configured_points(settings)]
    typer.echo(format_columns(("METER", "QUANTITY", "UNIT", "KIND", "FROM"), rows))


@app.command()
def profiles(
    name: Annotated[str | None, typer.Argument(help="Show one profile's registers.")] = None,
) -> None:
    """List the built-in meter profiles, or show one."""
    from connectors.profiles.loader import ProfileError, builtin_names, load_builtin

    if name is None:
        for profile_name in builtin_names():
            typer.echo(f"{profile_name:18} {load_builtin(profile_name).description}")
        typer.echo(f"{'sunspec':18} any SunSpec meter model found by discovery (201-204, 211-214)")
        return
    try:
        profile = load_builtin(name)
    except ProfileError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2)
    typer.echo(f"{profile.name}: {profile.description}")
    if profile.sunspec_model is not None:
        typer.echo(f"SunSpec model {profile.sunspec_model}: addresses are offsets from the model ID register")
    for point_name, p in profile.registers.items():
        scale = f" x10^[{p.scale_factor_address}]" if p.scale_factor_address is not None else ""
        scale += f" x{p.scale:g}" if p.scale != 1 else ""
        typer.echo(
            f"  {point_name:24} fc{p.function_code} {p.address:>5} (doc {p.doc_ref}) "
            f"{p.type}/{p.word_order}{scale} {p.unit} {p.kind}"
        )


@app.command()
def buffer(
    config: ConfigArg,
    requeue_rejected: Annotated[bool, typer.Option(help="Send every reading set aside again.")] = False,
    show: Annotated[int, typer.Option(help="How many readings set aside to list.")] = 20,
) -> None:
    """Show the local buffer: pending depth, oldest pending reading, readings set aside."""
    settings = _load(config, require_secret=False)
    from connectors.buffer import ReadingBuffer

    store = ReadingBuffer(settings.agent.buffer_path)
    try:
        if requeue_rejected:
            typer.echo(f"requeued {store.requeue_rejected()} rejected reading(s)")
        stats = store.stats()
        typer.echo(
            f"pending: {stats.depth}  oldest pending: {stats.oldest_pending_ts or '-'}  "
            f"rejected: {stats.rejected_count}  deferred: {stats.deferred_count}"
        )
        for item in store.rejected(show):
            p = item.payload
            typer.echo(f"  #{item.seq} {p['meter']} {p['quantity']} {p['ts']}: {item.reason}")
    finally:
        store.close()


set_aside_app = typer.Typer(
    help="Readings cbamx refused (HTTP 4xx), kept in the buffer with the server's answer.",
    no_args_is_help=True,
)
app.add_typer(set_aside_app, name="set-aside")
RecordArg = Annotated[int, typer.Argument(help="Number of the set-aside record (from `set-aside list`).")]


@contextlib.contextmanager
def _buffer_of(config: Path) -> Iterator[ReadingBuffer]:
    settings = _load(config, require_secret=False)
    from connectors.buffer import ReadingBuffer

    store = ReadingBuffer(settings.agent.buffer_path)
    try:
        yield store
    finally:
        store.close()


@set_aside_app.command("list")
def set_aside_list(
    config: ConfigArg, limit: Annotated[int, typer.Option(help="How many records, newest first.")] = 50
) -> None:
    """One line per refused batch: when, the HTTP status, how many readings still wait, the answer."""
    with _buffer_of(config) as store:
        batches = store.set_aside_batches(limit)
        if not batches:
            typer.echo("nothing set aside")
        for b in batches:
            state = f"discarded {b.discarded_at}" if b.discarded_at else f"{b.waiting} of {b.readings} waiting"
            typer.echo(f"#{b.id}  {b.set_aside_at}  HTTP {b.status or '-'}  {state}  {b.summary}")


@set_aside_app.command("show")
def set_aside_show(
    config: ConfigArg,
    record: RecordArg,
    limit: Annotated[int, typer.Option(help="How many readings to list.")] = 1000,
) -> None:
    """The server's full answer for one record, and its readings with the reason for each."""
    with _buffer_of(config) as store:
        batch = store.set_aside_batch(record)
        if batch is None:
            typer.echo(f"no set-aside record #{record}", err=True)
            raise typer.Exit(2)
        typer.echo(f"#{batch.id} set aside {batch.set_aside_at}, HTTP {batch.status or '-'}: {batch.summary}")
        if batch.answer:
            typer.echo(f"answer: {batch.answer}")
        for item in store.rejected(limit, set_aside_id=record):
            p = item.payload
            typer.echo(f"  {p['meter']} {p['quantity']} {p['ts']} = {p['value']} {p['unit']}: {item.reason}")


@set_aside_app.command("requeue")
def set_aside_requeue(
    config: ConfigArg,
    record: Annotated[int | None, typer.Argument(help="Only this record; all when left out.")] = None,
) -> None:
    """Send readings set aside again (after the cause was fixed in cbamx or in the configuration)."""
    with _buffer_of(config) as store:
        typer.echo(f"requeued {store.requeue_rejected(record)} reading(s)")


@set_aside_app.command("discard")
def set_aside_discard(config: ConfigArg, record: RecordArg) -> None:
    """Delete the readings of one record for good (the record itself stays, marked discarded)."""
    with _buffer_of(config) as store:
        if store.set_aside_batch(record) is None:
            typer.echo(f"no set-aside record #{record}", err=True)
            raise typer.Exit(2)
        typer.echo(f"discarded {store.discard(record)} reading(s)")


@app.command()
def simulate(
    modbus_port: Annotated[int, typer.Option(help="Modbus TCP port (gateway, one unit id per meter).")] = 5020,
    opcua_port: Annotated[int, typer.Option(help="OPC UA port.")] = 4840,
    no_opcua: Annotated[bool, typer.Option("--no-opcua", help="Serve Modbus only.")] = False,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    speed: Annotated[float, typer.Option(help="Plant seconds per real second.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same plant.")] = 42,
    start: Annotated[str | None, typer.Option(help="Plant start time (ISO 8601 with offset); default now.")] = None,
    history_start: Annotated[
        str | None, typer.Option(help="The plant has run since this time (ISO 8601); counters continue from it.")
    ] = None,
    step: Annotated[float, typer.Option(help="Simulation step [s].")] = 1.0,
    log_level: LevelOpt = "info",
) -> None:
    """Simulate an aluminium extrusion plant's meters over Modbus TCP and OPC UA."""
    configure_logging(log_level)
    from connectors.simulator import NAMESPACE_URI, PlantSimulator

    start_at = datetime.fromisoformat(start) if start else None
    if start_at is not None and start_at.tzinfo is None:
        typer.echo("--start needs a UTC offset, e.g. 2026-11-23T06:00:00+01:00", err=True)
        raise typer.Exit(2)

    history_at = datetime.fromisoformat(history_start) if history_start else None
    if history_at is not None and history_at.tzinfo is None:
        typer.echo("--history-start needs a UTC offset", err=True)
        raise typer.Exit(2)

    async def main() -> None:
        sim = PlantSimulator(
            seed=seed,
            speed=speed,
            start=start_at,
            history_start=history_at,
            step_s=step,
            host=host,
            modbus_port=modbus_port,
            opcua_port=None if no_opcua else opcua_port,
        )
        stop = asyncio.Event()
        _stop_on_signals(stop)
        async with sim:
            typer.echo(f"Modbus TCP gateway on {host}:{sim.modbus_port}")
            for meter in sim.layout:
                typer.echo(f"  unit {meter.unit_id:>3}  {meter.code:14} {meter.profile:16} {meter.description}")
            if sim.opcua_endpoint:
                typer.echo(f"OPC UA server {sim.opcua_endpoint} (namespace {NAMESPACE_URI})")
            typer.echo(f"plant time starts {sim.model.start.isoformat()}, speed x{speed:g}, seed {seed}")
            await stop.wait()

    asyncio.run(main())


def main() -> None:
    app()


if __name__ == "__main__":
    main()
