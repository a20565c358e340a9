"""`dicomidx index list` and `dicomidx index query`: what the local index holds.

Patient attributes appear here, on stdout, for the operator who asked; never in a log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from dicomidx.cli import options
from dicomidx.cli.console import OutputFormat, print_json, stdout
from dicomidx.errors import ConfigurationError

app = typer.Typer(
    help="Show what the local index holds.", no_args_is_help=True, rich_markup_mode=None
)

Limit = Annotated[int | None, typer.Option(min=1, help="Show at most this many instances.")]


@app.command("list")
def list_instances(
    limit: Limit = None,
    output: options.Output = OutputFormat.TABLE,
    index: options.Index = None,
    config: options.Config = None,
) -> int:
    """List every indexed instance, by study, series and path."""
    return _show(index, config, output, limit=limit)


@app.command("query")
def query_instances(
    study: Annotated[str | None, typer.Option(help="Study Instance UID.")] = None,
    series: Annotated[str | None, typer.Option(help="Series Instance UID.")] = None,
    patient_id: Annotated[str | None, typer.Option(help="Patient ID.")] = None,
    modality: Annotated[str | None, typer.Option(help="Modality, such as CT.")] = None,
    study_date_from: Annotated[
        str | None, typer.Option(help="Earliest study date, YYYY-MM-DD or YYYYMMDD.")
    ] = None,
    study_date_to: Annotated[
        str | None, typer.Option(help="Latest study date, YYYY-MM-DD or YYYYMMDD.")
    ] = None,
    limit: Limit = None,
    output: options.Output = OutputFormat.TABLE,
    index: options.Index = None,
    config: options.Config = None,
) -> int:
    """Find indexed instances; every filter given must match."""
    return _show(
        index,
        config,
        output,
        limit=limit,
        study_uid=study,
        series_uid=series,
        patient_id=patient_id,
        modality=modality,
        study_date_from=study_date_from,
        study_date_to=study_date_to,
    )


def _show(
    index: str | None,
    config: Path | None,
    output: OutputFormat,
    *,
    limit: int | None,
    **filters: str | None,
) -> int:
    from dicomidx.index import InstanceQuery, SqliteIndex
    from dicomidx.index.store import normalize_date

    settings = options.settings_from(config, index=index)
    for name in ("study_date_from", "study_date_to"):
        value = filters.get(name)
        if value is not None:
            filters[name] = normalize_date(value, flag="--" + name.replace("_", "-"))
    if not Path(settings.index).is_file():
        raise ConfigurationError(
            f"the index {settings.index!r} does not exist",
            hint="run `dicomidx run` first, or point --index or DICOMIDX_INDEX at it",
        )

    store = SqliteIndex(settings.index)
    try:
        instances = store.instances(InstanceQuery(limit=limit, **filters))
    finally:
        store.close()
    render_instances([instance.as_json() for instance in instances], output)
    return 0


def render_instances(instances: list[dict[str, object]], output: OutputFormat) -> None:
    if output is OutputFormat.JSON:
        print_json(instances)
        return

    table = Table(title=f"{len(instances)} instances", title_justify="left")
    columns = ("path", "modality", "study_date", "patient_id", "patient_name", "sop_instance_uid")
    for column in columns:
        table.add_column(column, overflow="fold")
    for instance in instances:
        table.add_row(*(Text(str(instance.get(column) or "")) for column in columns))
    stdout.print(table)
