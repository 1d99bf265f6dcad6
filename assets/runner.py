"""Run the whole asset graph in-process for ``cdp run``, with live progress and friendly errors."""

import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from assets.definitions import build_defs
from assets.resources import RunOptions, finish_staged_writes
from cdp.errors import CdpError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ProgressCallback = Callable[[str, str], None]
"""Called with (step_key, event) for event in start | success | failure | skipped."""

_STEP_EVENTS = {
    "STEP_START": "start",
    "STEP_SUCCESS": "success",
    "STEP_FAILURE": "failure",
    "STEP_SKIPPED": "skipped",
}


@dataclass(frozen=True)
class PipelineRun:
    run_id: str
    success: bool
    error: str | None


class _ProgressHandler(logging.Handler):
    def __init__(self, callback: ProgressCallback) -> None:
        super().__init__(level=logging.DEBUG)
        self.callback = callback

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "dagster_event", None)
        if event is not None and event.step_key and event.event_type_value in _STEP_EVENTS:
            self.callback(event.step_key, _STEP_EVENTS[event.event_type_value])


def _progress_logger(callback: ProgressCallback) -> dg.LoggerDefinition:
    @dg.logger(description="Reports step progress to the cdp command line.")
    def cdp_progress(_init_context: dg.InitLoggerContext) -> logging.Logger:
        progress = logging.Logger("cdp.progress", level=logging.DEBUG)
        progress.addHandler(_ProgressHandler(callback))
        return progress

    return cdp_progress


def ensure_dagster_home() -> Path:
    """Use $DAGSTER_HOME, or a project-local ./.dagster_home seeded with the repo's dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME") or Path.cwd() / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    instance_yaml = home / "dagster.yaml"
    if not instance_yaml.exists() and (PROJECT_ROOT / "dagster.yaml").exists():
        shutil.copyfile(PROJECT_ROOT / "dagster.yaml", instance_yaml)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def run_pipeline(
    *,
    config_path: Path,
    warehouse_dir: Path,
    options: RunOptions,
    selection: Sequence[str] | None = None,
    on_progress: ProgressCallback | None = None,
) -> PipelineRun:
    """Materialize the asset graph (or only ``selection``) in this process on the persistent instance."""
    if not config_path.exists():
        raise CdpError(f"source config {config_path} does not exist")
    ensure_dagster_home()
    warehouse_dir.mkdir(parents=True, exist_ok=True)
    defs = build_defs(
        "local",
        config_path=config_path.resolve(),
        warehouse_dir=warehouse_dir.resolve(),
        run_options=options,
        loggers={"cdp_progress": _progress_logger(on_progress or (lambda _step, _event: None))},
        background_staging=True,
    )
    job = defs.resolve_job_def("cdp_pipeline")
    if selection:
        job = job.get_subset(asset_selection={dg.AssetKey(name) for name in selection})
    try:
        with dg.DagsterInstance.get() as instance:
            result = job.execute_in_process(
                instance=instance, raise_on_error=False, run_config={"loggers": {"cdp_progress": {}}}
            )
    finally:
        # A run is over when what it staged is on disk (a selection may leave outputs nobody
        # read), and its in-memory hand-offs are dropped even when it was interrupted.
        staging_failure = finish_staged_writes()
    if staging_failure is not None and result.success:
        return PipelineRun(result.run_id, False, staging_failure)
    return PipelineRun(result.run_id, result.success, None if result.success else _first_error(result))


def _first_error(result: dg.ExecuteInProcessResult) -> str:
    """The user-facing message of the first failure: failed quality checks with what failed, else a
    CdpError's own text, else the root cause."""
    failed_checks = [
        event.asset_check_evaluation_data
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION" and not event.asset_check_evaluation_data.passed
    ]
    if failed_checks:
        return "blocking data-quality checks failed, nothing was published:\n" + "\n".join(
            f"  {check.check_name}: {_metadata_text(check.metadata.get('sample'))}" for check in failed_checks
        )
    cdp_error_names = {cls.__name__ for cls in _all_subclasses(CdpError)}
    for event in result.all_events:
        if event.event_type_value != "STEP_FAILURE" or event.step_failure_data is None:
            continue
        error = event.step_failure_data.error
        while error is not None and error.cls_name not in cdp_error_names and error.cause is not None:
            error = error.cause
        if error is not None:
            return f"{event.step_key}: {error.message.strip()}"
    return "the run failed; see the Dagster event log"


def _metadata_text(value: object) -> str:
    text = getattr(value, "value", value)
    return str(text).replace("\n", "\n    ") if text is not None else "see the Dagster event log"


def _all_subclasses(cls: type) -> set[type]:
    found = {cls}
    for sub in cls.__subclasses__():
        found |= _all_subclasses(sub)
    return found
