"""Everything slow, off the UI thread: reading frames, talking to the worker, previews, renders.

The panel is a client of the local worker (``filmstyle serve``), through the standard-library
:class:`filmstyle_plugin.client.WorkerClient` every host uses: it finds the running worker from
``worker.json`` or starts one in the background (``$FILMSTYLE_PYTHON`` or ``host.json``'s python,
else this interpreter), and never loads a network itself. Four threads, none of them the UI's:

* **link** finds or starts the worker;
* **loader** reads the current frame and its masks for the viewer (only the latest request is
  kept: scrubbing skips frames it has left);
* **previews** sends preview jobs (the latest request only; one that is overtaken while it
  renders is finished, since a frame cannot be interrupted, and dropped) and, when no preview
  waits, thumbnail jobs; thumbnails are cached on disk by shot frame, style and colour settings;
* **render** sends the whole job and polls its progress; cancelling asks the worker to stop after
  the current frame.

The worker runs one job at a time, so a preview asked for during a render waits for the render.
Results come back as Qt signals, which Qt delivers on the UI thread. Files the previews need
live in a temp folder removed by :meth:`WorkerLink.close` (a worker started with
``--allow-path`` must allow that folder).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from filmstyle.errors import FilmStyleError, one_line
from filmstyle.job.model import Job
from filmstyle.panel.display import SourceView, image_thumbnail, load_source_view, read_display
from filmstyle.panel.preview import THUMBNAIL_SIDE, preview_job, preview_suffix, thumbnail_job, write_plate

__all__ = ["PreviewRequest", "ThumbnailRequest", "WorkerLink", "thumbnail_cache_dir"]

_POLL = 0.05
#: Reduced plates kept (the frames visited last); older ones are deleted from the temp folder.
_PLATES = 8


def thumbnail_cache_dir() -> Path:
    """``<filmstyle cache>/panel-thumbnails`` (``$FILMSTYLE_CACHE_DIR`` or the user cache folder)."""
    root = os.environ.get("FILMSTYLE_CACHE_DIR")
    if not root:
        import platformdirs

        root = platformdirs.user_cache_dir("filmstyle")
    return Path(root) / "panel-thumbnails"


@dataclass(frozen=True, eq=False)
class PreviewRequest:
    serial: int
    data: dict[str, Any]  # the job, every path absolute
    view: SourceView
    factor: int


@dataclass(frozen=True, eq=False)
class ThumbnailRequest:
    style: str
    data: dict[str, Any]
    view: SourceView
    image: Path | None = None  # an image style is its own thumbnail
    part: int | str | None = None


@dataclass
class _Slot:
    """The latest request of one kind (older ones are dropped) and a queue of thumbnails."""

    cond: threading.Condition = field(default_factory=threading.Condition)
    latest: Any = None
    queue: deque = field(default_factory=deque)


def _one_line(exc: BaseException) -> str:
    return one_line(exc) or type(exc).__name__


class WorkerLink(QObject):
    """The panel's background work; see the module docstring."""

    status = Signal(str)
    ready = Signal(str)
    linkFailed = Signal(str)
    viewLoaded = Signal(int, object)
    viewFailed = Signal(int, str)
    previewDone = Signal(int, object, float)
    previewFailed = Signal(int, str)
    thumbnailDone = Signal(str, object)
    thumbnailFailed = Signal(str, str)
    renderProgress = Signal(dict)
    renderDone = Signal(dict)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.client = None
        self.temp = Path(tempfile.mkdtemp(prefix="filmstyle-panel-"))
        self._stop = threading.Event()
        self._client_ready = threading.Event()
        self._views = _Slot()
        self._previews = _Slot()
        self._plates: dict[tuple, Any] = {}
        self._folders = itertools.count(1)
        self._render_cancel = threading.Event()
        self._render_thread: threading.Thread | None = None
        self.link_error: str | None = None
        self._threads = [threading.Thread(target=self._connect, name="panel-link", daemon=True),
                         threading.Thread(target=self._load_loop, name="panel-loader", daemon=True),
                         threading.Thread(target=self._preview_loop, name="panel-previews", daemon=True)]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def close(self) -> None:
        """Stop the threads (a render in flight is cancelled) and remove the temp folder."""
        self._stop.set()
        self._render_cancel.set()
        for slot in (self._views, self._previews):
            with slot.cond:
                slot.cond.notify_all()
        for t in self._threads + ([self._render_thread] if self._render_thread else []):
            t.join(timeout=5)
        shutil.rmtree(self.temp, ignore_errors=True)

    # -- link --------------------------------------------------------------------------------------
    def _connect(self) -> None:
        from filmstyle_plugin import paths
        from filmstyle_plugin.client import WorkerClient, WorkerError, read_host_config

        try:
            if not os.environ.get(paths.PYTHON_ENV) and not read_host_config().get("python"):
                # The panel runs in the filmstyle environment: its worker can too.
                os.environ[paths.PYTHON_ENV] = sys.executable
            client = WorkerClient.find()
            if client is None:
                self.status.emit("starting the worker…")
                client = WorkerClient.launch().wait(120.0, should_continue=lambda: not self._stop.is_set())
        except WorkerError as exc:
            self.link_error = _one_line(exc)
            self.linkFailed.emit(self.link_error)
            return
        self.client = client
        self._client_ready.set()
        self.ready.emit(client.base_url)
        with self._previews.cond:
            self._previews.cond.notify_all()

    # -- viewer frames -----------------------------------------------------------------------------
    def load_view(self, serial: int, job: Job, frame: int, proxy: str) -> None:
        """Read ``frame`` for the viewer at the ``proxy`` size choice (see :func:`auto_factor`)."""
        with self._views.cond:
            self._views.latest = (serial, job, frame, proxy)
            self._views.cond.notify_all()

    def _load_loop(self) -> None:
        slot = self._views
        while True:
            with slot.cond:
                while slot.latest is None and not self._stop.is_set():
                    slot.cond.wait()
                if self._stop.is_set():
                    return
                serial, job, frame, proxy = slot.latest
                slot.latest = None
            try:
                self.viewLoaded.emit(serial, load_source_view(job, frame, proxy))
            except Exception as exc:  # noqa: BLE001 - any failure is one line in the viewer
                self.viewFailed.emit(serial, _one_line(exc))

    # -- previews and thumbnails -------------------------------------------------------------------
    def request_preview(self, request: PreviewRequest) -> None:
        with self._previews.cond:
            self._previews.latest = request
            self._previews.cond.notify_all()

    def request_thumbnails(self, requests: list[ThumbnailRequest], *, replace: bool = False) -> None:
        """Queue thumbnails after those still queued (``replace``: instead of them)."""
        with self._previews.cond:
            if replace:
                self._previews.queue.clear()
            self._previews.queue.extend(requests)
            self._previews.cond.notify_all()

    def _preview_loop(self) -> None:
        slot = self._previews
        while True:
            with slot.cond:
                while not self._stop.is_set() and (
                        (slot.latest is None and not slot.queue) or not self._client_ready.is_set()):
                    slot.cond.wait(0.5)
                if self._stop.is_set():
                    return
                if slot.latest is not None:
                    task, slot.latest = slot.latest, None
                else:
                    task = slot.queue.popleft()
            if isinstance(task, PreviewRequest):
                self._preview(task)
            else:
                self._thumbnail(task)

    def _run(self, job: dict[str, Any]) -> dict[str, Any]:
        """Submit ``job`` and wait for it (stops waiting when the panel closes)."""
        client = self.client
        assert client is not None
        record = client.submit(job)
        while True:
            status = client.status(record["id"])
            if status["state"] in ("done", "failed", "cancelled"):
                return status
            if self._stop.is_set():
                client.cancel(record["id"])
                return status
            time.sleep(_POLL)

    def _plate(self, source: Path, frame: int, *, factor: int = 1, size: tuple[int, int] | None = None,
               part: int | str | None = None, name: str = "plate", colorspace: str | None = None):
        """A reduced copy of ``source`` (kept for the last :data:`_PLATES` frames, then deleted)."""
        st = source.stat()
        key = (str(source), st.st_mtime_ns, st.st_size, frame, factor, size, part, name, colorspace)
        if key in self._plates:
            self._plates[key] = self._plates.pop(key)  # most recently used last
            return self._plates[key]
        while len(self._plates) >= _PLATES:
            old = self._plates.pop(next(iter(self._plates)))
            shutil.rmtree(Path(old.pattern).parent, ignore_errors=True)
        folder = self.temp / f"{name}-{next(self._folders)}"
        self._plates[key] = write_plate(source, frame, folder, size=size, factor=factor, part=part, name=name,
                                        colorspace=colorspace)
        return self._plates[key]

    def _preview(self, req: PreviewRequest) -> None:
        from filmstyle_plugin.client import WorkerError

        started = time.monotonic()
        view = req.view
        try:
            out = self.temp / "previews"
            out.mkdir(exist_ok=True)
            pattern = str(out / f"preview{req.serial}.####{preview_suffix(view.path)}")
            status = self._run(preview_job(req.data, view.frame, pattern, factor=req.factor,
                                           colorspace=view.colorspace))
            if status["state"] != "done":
                self.previewFailed.emit(req.serial, status.get("error") or status["state"])
                return
            from filmstyle import io

            path = io.FrameSequence(pattern, (view.frame,)).path(view.frame)
            image = read_display(path, view.transform, view.size)
            path.unlink(missing_ok=True)
            self.previewDone.emit(req.serial, image, time.monotonic() - started)
        except (FilmStyleError, WorkerError, OSError) as exc:
            self.previewFailed.emit(req.serial, _one_line(exc))

    def _thumbnail_key(self, req: ThumbnailRequest) -> str:
        st = req.view.path.stat()
        basis = {"style": req.style, "source": str(req.view.path), "mtime": st.st_mtime_ns, "size": st.st_size,
                 "frame": req.view.frame, "color": req.data.get("color"), "layer": req.data.get("layer"),
                 "part": req.part, "side": THUMBNAIL_SIDE}
        if req.image is not None and req.image.is_file():
            ist = req.image.stat()
            basis["image"] = [str(req.image), ist.st_mtime_ns, ist.st_size]
        return hashlib.sha1(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()[:20]

    def _thumbnail(self, req: ThumbnailRequest) -> None:
        from filmstyle_plugin.client import WorkerError

        try:
            cache = thumbnail_cache_dir() / f"{self._thumbnail_key(req)}.png"
            if cache.is_file():
                self.thumbnailDone.emit(req.style, _read_png(cache))
                return
            if req.image is not None:
                image = image_thumbnail(req.image, req.view.transform.config, THUMBNAIL_SIDE)
            else:
                w, h = req.view.full_size
                scale = min(1.0, THUMBNAIL_SIDE / max(w, h))
                size = (max(8, round(w * scale)), max(8, round(h * scale)))
                plate = self._plate(req.view.path, req.view.frame, size=size, part=req.part, name="thumb",
                                    colorspace=req.view.colorspace)
                out = self.temp / "thumbs"
                out.mkdir(exist_ok=True)
                pattern = str(out / f"thumb.####{preview_suffix(req.view.path)}")
                status = self._run(thumbnail_job(req.data, req.style, plate, pattern))
                if status["state"] != "done":
                    self.thumbnailFailed.emit(req.style, status.get("error") or status["state"])
                    return
                from filmstyle import io

                path = io.FrameSequence(pattern, (req.view.frame,)).path(req.view.frame)
                image = read_display(path, req.view.transform)
            _write_png(cache, image)
            self.thumbnailDone.emit(req.style, image)
        except (FilmStyleError, WorkerError, OSError) as exc:
            self.thumbnailFailed.emit(req.style, _one_line(exc))

    # -- renders -----------------------------------------------------------------------------------
    @property
    def rendering(self) -> bool:
        return self._render_thread is not None and self._render_thread.is_alive()

    def start_render(self, data: dict[str, Any]) -> None:
        """Render the whole job (``data`` with absolute paths); progress arrives as signals."""
        if self.rendering:
            raise FilmStyleError("render: a render is already running")
        self._render_cancel.clear()
        self._render_thread = threading.Thread(target=self._render, args=(data,), name="panel-render", daemon=True)
        self._render_thread.start()

    def cancel_render(self) -> None:
        self._render_cancel.set()

    def _render(self, data: dict[str, Any]) -> None:
        from filmstyle_plugin.client import WorkerError

        if not self._client_ready.wait(timeout=120) or self.client is None:
            self.renderDone.emit({"state": "failed", "error": self.link_error or "the worker is not running"})
            return
        client = self.client
        try:
            record = client.submit(data)
            asked = False
            while True:
                status = client.status(record["id"])
                self.renderProgress.emit(status)
                if status["state"] in ("done", "failed", "cancelled"):
                    self.renderDone.emit(status)
                    return
                if self._render_cancel.is_set() and not asked:
                    client.cancel(record["id"])
                    asked = True
                time.sleep(0.1)
        except WorkerError as exc:
            self.renderDone.emit({"state": "failed", "error": _one_line(exc)})


def _write_png(path: Path, rgb: np.ndarray) -> None:
    import OpenImageIO as oiio

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.png")
    buf = oiio.ImageBuf(oiio.ImageSpec(rgb.shape[1], rgb.shape[0], 3, "uint8"))
    buf.set_pixels(oiio.ROI(), np.ascontiguousarray(rgb))
    if buf.write(str(tmp)):
        os.replace(tmp, path)


def _read_png(path: Path) -> np.ndarray:
    import OpenImageIO as oiio

    buf = oiio.ImageBuf(str(path))
    return np.ascontiguousarray(buf.get_pixels(oiio.UINT8)[..., :3])
