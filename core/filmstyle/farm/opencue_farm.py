"""An OpenCue job for a farm plan, built with ``opencue-pyoutline``; submitted, or written as XML.

One ``Shell`` layer per shot (a single layer when the job has no cuts), with the shot's frame
range and the plan's chunk size; Cuebot cuts the range into tasks. The command runs
``filmstyle render JOB.yaml --frames #FRAMESPEC#``: ``#FRAMESPEC#`` is replaced at dispatch by
the frames of the task (``1001-1010``, ``1001-1019x2``; Cuebot's ``DispatchSupportService``, the
token list of CueSubmit's ``Constants.COMMAND_TOKENS``). ``#FRAME_START#``-``#FRAME_END#`` is not
used: for a range that does not divide by the chunk size the last task's ``#FRAME_END#`` runs
past the range (OpenCue issue 1129), which would render frames outside the job.

The serialized form is the job spec Cuebot reads (the "cjsl" DTD, version 1.15 as pyoutline
writes it: ``cuebot/src/main/resources/public/dtd/cjsl-1.15.dtd`` in the OpenCue repository):
``spec`` (facility, show, shot, user, email, uid, job), ``job`` (paused, priority, maxretries,
autoeat, env, layers), ``layer`` with the ``name`` and ``type`` attributes (cmd, range, chunk,
env, services, outputs). Layers are launched without the pycuerun wrapper (``serialize_simple``):
the command is the render itself. Submitting needs a Cuebot: ``CUEBOT_HOSTS``, an OpenCue config
file (``OPENCUE_CONFIG_FILE`` or ``~/.config/opencue/opencue.yaml``) or ``--cuebot HOST``.
"""

from __future__ import annotations

import getpass
import os
import re
import shlex
import tempfile
from collections.abc import Sequence
from pathlib import Path

from filmstyle.errors import FilmStyleError
from filmstyle.farm.chunks import FarmPlan, filmstyle_command
from filmstyle.io import format_frame_range
from filmstyle.io.targets import write_file

__all__ = ["build_outline", "serialize", "cuebot_configured", "submit", "layer_command"]


def _token(text: str) -> str:
    """An XML NMTOKEN (job and layer names): letters, digits, ``._-``; anything else becomes ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text) or "filmstyle"


def layer_command(plan: FarmPlan, shot: Sequence[int], executable: Sequence[str] | None = None) -> str:
    """The shell command of the layer that renders ``shot`` (``#FRAMESPEC#`` filled in by Cuebot)."""
    args = [*(executable or filmstyle_command()), "render", str(plan.job_file), "--frames", "#FRAMESPEC#",
            "--progress", "json"]
    if plan.warmup and plan.chunk_size < len(shot):
        args += ["--warmup", str(plan.warmup), "--warmup-from", str(shot[0])]
    return shlex.join(args)


def _outline_modules():
    try:
        import outline
        import outline.cuerun
        import outline.modules.shell
    except ImportError as exc:
        raise FilmStyleError(f"opencue: opencue-pyoutline is not installed or does not import ({exc}); "
                             "pip install opencue-pyoutline") from None
    return outline


def build_outline(plan: FarmPlan, *, show: str | None = None, shot: str | None = None, user: str | None = None,
                  executable: Sequence[str] | None = None, service: str | None = None):
    """The ``outline.Outline`` of ``plan``: one layer per shot, range and chunk size set."""
    outline = _outline_modules()
    ol = outline.Outline(_token(f"filmstyle_{plan.name}"), show=show or outline.config.get("outline", "default_show"),
                         shot=shot or _token(plan.name), user=user or getpass.getuser())
    stats = any("shot_stats" in note for note in plan.notes)
    for frames in plan.shots:
        layer = outline.modules.shell.Shell(
            _token(f"render_{frames[0]}_{frames[-1]}"), command=layer_command(plan, frames, executable),
            range=format_frame_range(frames), chunk=len(frames) if stats else plan.chunk_size)
        if service:
            layer.set_service(service)
        ol.add_layer(layer)
    return ol


def serialize(plan: FarmPlan, **kwargs) -> str:
    """The job spec XML Cuebot would receive for ``plan`` (see :func:`build_outline` for ``kwargs``)."""
    outline = _outline_modules()
    # Setting an outline up writes a session folder; keep it out of the user's home for a dry run.
    previous = outline.config.get("outline", "session_dir")
    with tempfile.TemporaryDirectory(prefix="filmstyle-opencue-") as sessions:
        outline.config.set("outline", "session_dir", sessions)
        try:
            launcher = outline.cuerun.OutlineLauncher(build_outline(plan, **kwargs))
            return launcher.serialize(use_pycuerun=False)
        finally:
            outline.config.set("outline", "session_dir", previous)


def cuebot_configured(cuebot: str | None = None) -> bool:
    """Whether a Cuebot is known: ``cuebot`` given, ``CUEBOT_HOSTS`` set, or an OpenCue config file."""
    if cuebot or os.environ.get("CUEBOT_HOSTS"):
        return True
    for var in ("OPENCUE_CONFIG_FILE", "OPENCUE_CONF"):
        if os.environ.get(var) and Path(os.environ[var]).is_file():
            return True
    base = Path(os.environ["APPDATA"]) / "opencue" if os.name == "nt" and "APPDATA" in os.environ \
        else Path.home() / ".config" / "opencue"
    return (base / "opencue.yaml").is_file()


def write_spec(plan: FarmPlan, out_dir: Path, **kwargs) -> Path:
    """Write the job spec to ``out_dir/<name>.opencue.xml`` (temp file, then rename) and return its path."""
    text = serialize(plan, **kwargs) + "\n"  # refusals before anything is made on disk
    return write_file(out_dir / f"{plan.name}.opencue.xml", text.encode("utf-8"))


def submit(plan: FarmPlan, *, cuebot: str | None = None, **kwargs) -> list[str]:
    """Launch ``plan`` on the configured Cuebot; returns the names of the jobs created."""
    outline = _outline_modules()
    if not cuebot_configured(cuebot):
        raise FilmStyleError("opencue: no Cuebot configured (set CUEBOT_HOSTS, an OpenCue config file, or pass "
                             "--cuebot HOST); --dry-run writes the job spec instead")
    args = {"server": cuebot} if cuebot else {}
    try:
        jobs = outline.cuerun.launch(build_outline(plan, **kwargs), use_pycuerun=False, **args)
    except Exception as exc:  # gRPC and Cuebot errors come in many types; one line for the user
        text = str(exc).strip().splitlines()
        raise FilmStyleError(f"opencue: submission failed: {text[0] if text else type(exc).__name__}") from None
    return [getattr(job, "name", lambda: str(job))() for job in jobs]
