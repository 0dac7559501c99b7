""""FilmStyle: Stylize clips": timeline items → worker renders → takes on the same items.

For each target item (the clip under the playhead, or every item of a chosen clip colour on a
video track) the plan is: its media (an image sequence or a movie), the media frames it uses plus
handles, keys from its ``filmstyle`` markers (see :mod:`~filmstyle_plugin.resolve.markers`) or a
job file, and an output sequence ``<root>/<media>_fs<id>/<media>_fs<id>.####.exr`` whose ``<id>`` hashes
everything that decides its pixels, so running the script again with the same settings resumes
or reuses that render. Every item is planned before anything renders: one bad marker anywhere
stops the run with every problem listed, and nothing is rendered or added.

After a render finishes with every frame written, the sequence is imported into the media pool's
"FilmStyle" bin and added to the item as a take covering exactly the item's frames (the handles
stay in the media for trims), and that take is selected. A cancelled or failed render adds
nothing; its complete frames stay on disk and a rerun continues from them.
"""

import hashlib
import json
import os
import re
import subprocess
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence

from filmstyle_plugin import protocol
from filmstyle_plugin.client import WorkerClient, worker_python
from filmstyle_plugin.resolve.markers import MarkerError, parse_markers
from filmstyle_plugin.resolve.media import MediaError, MediaInfo, media_info, sequence_pattern
from filmstyle_plugin.resolve.timeline import ItemRange, TimelineError, items_with_colour, timeline_fps

if TYPE_CHECKING:
    from fusionscript import Folder, MediaPool, MediaPoolItem, Project, Timeline, TimelineItem

__all__ = ["Options", "ClipPlan", "PlanError", "TakeError", "BIN_NAME", "target_items", "load_job_file",
           "base_look", "plan_clips", "render_clip", "land_take", "summary", "describe_failure", "LOOK_FIELDS"]

BIN_NAME = "FilmStyle"
#: Job fields a job file contributes (input, output, frames and overwrite come from the timeline).
LOOK_FIELDS = ("styles", "strength", "layer", "part", "color", "device", "precision", "regions", "default",
               "bit_depth", "compression", "clean_nans", "temporal", "temporal_cut_threshold", "preserve_color",
               "histogram_match", "stroke_scale", "stroke_detail", "tiling", "tile_size", "shot_stats")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class PlanError(Exception):
    """Problems found while planning; ``lines`` lists every one."""

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = list(lines)


class TakeError(Exception):
    """The render could not be added as a take; nothing was left half-added."""


class Options:
    """What the window asks for.

    Attributes:
        target: ``"current"`` (the item under the playhead) or ``"colour"``.
        track, colour: the video track and clip colour for ``"colour"``.
        handles: frames rendered before and after each item (as far as the media has them).
        style, strength: the look when neither markers nor a job file say otherwise.
        job_file: a job file whose look (styles, curves, colour, quality options) is used.
        output_root: where renders go ("" = a ``filmstyle`` folder beside each clip's media).
        input_colorspace: the media's colourspace ("" = filmstyle's default for the format).
    """

    def __init__(self, target: str = "current", track: int = 1, colour: str = "Orange", handles: int = 8,
                 style: str = "starry-blue", strength: float = 1.0, job_file: str = "", output_root: str = "",
                 input_colorspace: str = "") -> None:
        self.target, self.track, self.colour, self.handles = target, track, colour, handles
        self.style, self.strength, self.job_file = style, strength, job_file
        self.output_root, self.input_colorspace = output_root, input_colorspace


class ClipPlan:
    """One item to render: the item, its range, the job and where its frames go."""

    def __init__(self, item: "TimelineItem", rng: ItemRange, job: Dict[str, Any], markers: int) -> None:
        self.item, self.range, self.job, self.markers = item, rng, job, markers

    @property
    def name(self) -> str:
        return self.range.name

    @property
    def frames(self) -> int:
        return self.range.last_frame - self.range.first_frame + 1

    @property
    def output(self) -> str:
        return str(self.job["output"])


# ----------------------------------------------------------------------------------- planning


def target_items(timeline: "Timeline", options: Options) -> List["TimelineItem"]:
    """The items the run stylizes (raises :class:`PlanError` when there are none)."""
    if options.target == "current":
        item = timeline.GetCurrentVideoItem()
        if item is None:
            raise PlanError(["no clip under the playhead: move it onto the clip to stylize, or choose a clip colour"])
        return [item]
    try:
        items = items_with_colour(timeline, int(options.track), options.colour)
    except TimelineError as exc:
        raise PlanError([str(exc)]) from None
    if not items:
        raise PlanError([f"no items with clip colour {options.colour} on video track {options.track}"])
    return items


def load_job_file(path: str, *, python: Optional[str] = None, timeout: float = 120.0,
                  fields: Optional[Sequence[str]] = LOOK_FIELDS) -> Dict[str, Any]:
    """A job file read by the filmstyle environment (``filmstyle job json``): absolute paths,
    curves as keys; only ``fields`` (default: the look, see :data:`LOOK_FIELDS`; None: all)."""
    if not os.path.isfile(path):
        raise PlanError([f"job file {path} does not exist"])
    exe = python or worker_python()
    args = [exe, "-c", "from filmstyle.cli import main; main()", "job", "json", path]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH")}
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PlanError([f"job file {path}: cannot run the filmstyle environment ({exc})"]) from None
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines() or [f"exit status {proc.returncode}"]
        raise PlanError([f"job file {os.path.basename(path)}: {lines[-1].replace('filmstyle: error: ', '')}"])
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        raise PlanError([f"job file {path}: unexpected output from `filmstyle job json`"]) from None
    return dict(data) if fields is None else {k: v for k, v in data.items() if k in fields}


def base_look(options: Options, job_data: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The look before markers: the job file's, else the window's style and strength."""
    if job_data:
        look = dict(job_data)
        look.setdefault("styles", [{"style": options.style, "weight": 1.0}])
        return look
    return {"styles": [{"style": options.style, "weight": 1.0}], "strength": float(options.strength)}


def _safe(name: str) -> str:
    return _UNSAFE.sub("_", name).strip("._") or "clip"


def _media_stem(media: MediaInfo) -> str:
    """``plates/sh010.####.exr`` → ``sh010``; ``A001C003.mov`` → ``A001C003``."""
    stem = os.path.splitext(os.path.basename(media.pattern))[0]
    return _safe(re.sub(r"#+", "", stem).strip("._- ")) or _safe(media.name)


def _output_pattern(root: str, media: MediaInfo, job: Dict[str, Any], last_frame: int) -> str:
    blob = json.dumps({k: v for k, v in job.items() if k != "output"}, sort_keys=True, default=str)
    tag = hashlib.sha1(blob.encode("utf-8")).hexdigest()[:8]
    ext = media.extension if media.kind == "sequence" else ".exr"
    base = f"{_media_stem(media)}_fs{tag}"
    # As wide as the last frame number, so the pattern Resolve reports back has the same padding.
    pad = "#" * max(4, len(str(abs(last_frame))))
    return os.path.join(root or os.path.join(media.folder, "filmstyle"), base, f"{base}.{pad}{ext}")


def _strength_problem(job: Dict[str, Any], name: str) -> Optional[str]:
    """Built-in looks go to strength 1 (image styles to 2): say so before anything renders."""
    from filmstyle_plugin.schema import load_schema

    builtins = next((p.choices for p in load_schema() if p.name == "style"), [])
    if not all(str(s.get("style", "")) in builtins for s in job.get("styles", [])):
        return None
    strength = job.get("strength", 1.0)
    keys = strength.get("keys", []) if isinstance(strength, dict) else strength
    values = [k[1] for k in keys] if isinstance(keys, list) else [keys]
    high = max((float(v) for v in values), default=0.0)
    if high > 1.0:
        return f"{name}: strength {high:g} is above 1, the most a built-in look takes (a style image goes to 2)"
    return None


def plan_clips(timeline: "Timeline", items: Sequence["TimelineItem"], options: Options,
               look: Dict[str, Any]) -> List[ClipPlan]:
    """Plan every item; :class:`PlanError` lists every problem found (nothing is half-planned)."""
    fps = timeline_fps(timeline)
    plans: List[ClipPlan] = []
    errors: List[str] = []
    for item in items:
        label = str(item.GetName() or "item")
        mpi = item.GetMediaPoolItem()
        if mpi is None:
            errors.append(f"{label}: no media (a generator, title or transition)")
            continue
        try:
            media = media_info(mpi)
            rng = ItemRange(item, media, options.handles, fps)
        except (MediaError, TimelineError) as exc:
            errors.append(str(exc))
            continue
        try:
            keys = parse_markers(item.GetMarkers() or {}, to_offset=rng.marker_offset, to_frame=media.frame,
                                 describe=rng.describe)
        except MarkerError as exc:
            errors += exc.lines
            continue
        job = keys.apply(dict(look))
        problem = _strength_problem(job, rng.name)
        if problem:
            errors.append(problem)
            continue
        job.update({"filmstyle": protocol.JOB_VERSION, "input": media.pattern, "frames": rng.frame_range,
                    "overwrite": False})
        if options.input_colorspace:
            job["color"] = dict(job.get("color") or {}, input_colorspace=options.input_colorspace)
        job["output"] = _output_pattern(options.output_root, media, job, rng.last_frame)
        plans.append(ClipPlan(item, rng, job, keys.count))
    if errors:
        raise PlanError(errors)
    return plans


# ------------------------------------------------------------------------------------- rendering


def render_clip(client: WorkerClient, plan: ClipPlan, on_status: Callable[[Dict[str, Any]], None],
                cancelled: Callable[[], bool], *, poll: float = 0.25) -> Dict[str, Any]:
    """Render one plan through the worker; returns the final status (``state`` done/failed/cancelled).

    ``on_status`` gets every status polled; ``cancelled()`` returning True cancels the job (the
    worker finishes the frame it is on). A refused job raises :class:`WorkerError` with the worker's line.
    """
    os.makedirs(os.path.dirname(plan.output), exist_ok=True)
    status = client.submit(plan.job)
    asked = False
    while True:
        on_status(status)
        if status["state"] in ("done", "failed", "cancelled"):
            return status
        if cancelled() and not asked:
            client.cancel(status["id"])
            asked = True
        time.sleep(poll)
        status = client.status(status["id"])


# ------------------------------------------------------------------------------------ the take


def _printf(pattern: str) -> str:
    return re.sub(r"#+", lambda m: f"%0{len(m.group(0))}d", pattern)


def _same_id(a: Any, b: Any) -> bool:
    ida = a.GetUniqueId() if a is not None else None
    return ida is not None and ida == (b.GetUniqueId() if b is not None else None)


def _bin(pool: "MediaPool", name: str) -> "Folder":
    root = pool.GetRootFolder()
    if root is None:
        raise TakeError("the media pool has no root folder")
    for folder in root.GetSubFolderList() or []:
        if folder is not None and folder.GetName() == name:
            return folder
    folder = pool.AddSubFolder(root, name)
    if not folder:
        raise TakeError(f"cannot create the media pool bin {name!r}")
    return folder


def _find_clip(folder: "Folder", pattern: str, first: int, last: int) -> Optional["MediaPoolItem"]:
    for clip in folder.GetClipList() or []:
        seq = sequence_pattern(str(clip.GetClipProperty("File Path") or ""))
        if seq is not None and seq[0] == pattern and (seq[1], seq[2]) in ((first, last), (-1, -1)):
            return clip
    return None


def _import(pool: "MediaPool", folder: "Folder", pattern: str, first: int, last: int) -> "MediaPoolItem":
    previous = pool.GetCurrentFolder()
    if not pool.SetCurrentFolder(folder):  # ImportMedia always imports into the current folder
        raise TakeError(f"cannot open the media pool bin {folder.GetName()!r}")
    try:
        items = pool.ImportMedia([{"FilePath": _printf(pattern), "StartIndex": first, "EndIndex": last}])
    finally:
        if previous is not None:
            pool.SetCurrentFolder(previous)
    items = [i for i in (items or []) if i is not None]
    if len(items) != 1:
        if items:
            pool.DeleteClips(items)
        raise TakeError(f"Resolve imported {len(items)} clips from {os.path.basename(pattern)} frames {first}-{last} "
                        "(expected one; is 'Show Individual Frames' on in the preferences?)")
    return items[0]


def land_take(project: "Project", plan: ClipPlan, *, bin_name: str = BIN_NAME) -> str:
    """Import ``plan``'s finished render into the bin and add it to the item as the selected take.

    Returns a one-line summary. Raises :class:`TakeError` (and removes a clip it imported) when
    Resolve refuses a step.
    """
    pool = project.GetMediaPool()
    if pool is None:
        raise TakeError("the project has no media pool")
    rng = plan.range
    first, last = rng.first_frame, rng.last_frame
    folder = _bin(pool, bin_name)
    mpi = _find_clip(folder, plan.output, first, last)
    imported = mpi is None
    if mpi is None:
        mpi = _import(pool, folder, plan.output, first, last)
    item = plan.item
    count = item.GetTakesCount() or 0
    for index in range(1, count + 1):
        info = item.GetTakeByIndex(index)
        if info and _same_id(info.get("mediaPoolItem"), mpi) and (info.get("startFrame"), info.get("endFrame")) == (
                rng.take_start, rng.take_end):
            item.SelectTakeByIndex(index)
            return f"{plan.name}: take {index} selected again (already added)"
    if not item.AddTake(mpi, rng.take_start, rng.take_end):
        if imported:
            pool.DeleteClips([mpi])
        raise TakeError(f"{plan.name}: Resolve refused the take (AddTake frames {rng.take_start}-{rng.take_end})")
    count = item.GetTakesCount() or 0
    if count and not item.SelectTakeByIndex(count):
        raise TakeError(f"{plan.name}: the take was added but could not be selected (take {count})")
    return f"{plan.name}: take {count} added ({rng.duration} frames, handles {rng.head}+{rng.tail})"


def summary(plans: Sequence[ClipPlan]) -> List[str]:
    lines = []
    for p in plans:
        keys = f"{p.markers} marker key(s)" if p.markers else "no markers"
        lines.append(f"{p.name}: frames {p.range.frame_range} ({p.frames}), {keys} → {os.path.dirname(p.output)}")
    return lines


def describe_failure(status: Dict[str, Any]) -> str:
    if status.get("state") == "cancelled":
        return f"cancelled after {status.get('written', 0)} frame(s); no take added (complete frames kept)"
    return f"failed: {status.get('error') or status.get('state')}; no take added"

