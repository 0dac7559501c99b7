"""The FilmStyle Fuse's way into the worker: one frame per call, a result cache, shot state.

A Fuse has no Python; it writes the frame as EXR, writes a request file and runs::

    <python> <plugin folder>/filmstyle_plugin/fuse_bridge.py render REQUEST.json

(or ``python -m filmstyle_plugin.fuse_bridge``). The last line printed is always one of::

    FILMSTYLE OK <path of the result EXR>
    FILMSTYLE ERROR <one line saying what failed>

and the exit status is 0 or 1. Request file (JSON)::

    {"version": 1,
     "tool": "<stable id of the Fuse instance: letters, digits, _ - .>",
     "frame": 12,                                    # the comp time asked for
     "input": ".../in.exr", "mask": ".../mask.exr" | null,
     "values": {"style": "starry-blue", "strength": 0.8, ...},   # schema values at this frame
     "cache_dir": "<folder shared by every FilmStyle tool>",
     "work_dir": "<folder of this tool>",
     "cache_mb": 2048,                               # optional budget of the cache
     "result_file": ".../result.txt"}                # optional: the result line is written there too

Results are cached by (input pixels, mask pixels, every value at that frame, style image and OCIO
file stamps); a cached frame comes back without the worker. With ``temporal`` or
``temporal_anchor`` > 0 a frame also depends on the frames before it: the cache key then chains the
key of the previous frame this tool served when that was frame - 1 (else the shot starts here),
the worker keeps the tool's state
(``/shots/{tool}/frames``), and the source of each frame is kept beside its result so the state
can be rebuilt when the previous frame came from the cache.
"""

import hashlib
import json
import os
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

if __package__ in (None, ""):  # run as a file by the Fuse: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from filmstyle_plugin import protocol  # noqa: E402
from filmstyle_plugin.client import WorkerClient, WorkerError  # noqa: E402
from filmstyle_plugin.exr_header import pixel_digest  # noqa: E402
from filmstyle_plugin.schema import Param, load_schema  # noqa: E402

__all__ = ["RESULT_OK", "RESULT_ERROR", "BridgeError", "render", "main", "MASK_CHANNELS", "DEFAULT_CACHE_MB",
           "build_frame_job", "look_key", "chain_signature", "evict"]

RESULT_OK = "FILMSTYLE OK"
RESULT_ERROR = "FILMSTYLE ERROR"
REQUEST_VERSION = 1
DEFAULT_CACHE_MB = 2048
CACHE_ENV = "FILMSTYLE_FUSE_CACHE_MB"
#: ``mask_channel`` choices → the EXR channel a Fusion image is written with.
MASK_CHANNELS = {"rgba.alpha": "A", "rgba.red": "R", "rgba.green": "G", "rgba.blue": "B"}
_TOOL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
#: Inputs that make a frame depend on the frames before it when above 0.
STATEFUL = ("temporal", "temporal_anchor")
_LOCK_STALE_S = 15 * 60.0
_RENDER_TIMEOUT_S = 30 * 60.0
#: Cache files younger than this are never evicted (another tool may be about to read them).
_EVICT_GRACE_S = 120.0


class BridgeError(Exception):
    """A request the bridge cannot serve; the message is the one line the Fuse shows."""


# ------------------------------------------------------------------------------------ request


def _load_request(path: Path) -> Dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BridgeError(f"request {path.name}: unreadable ({exc})") from None
    if not isinstance(data, dict):
        raise BridgeError(f"request {path.name}: expected a JSON object")
    if data.get("version") != REQUEST_VERSION:
        raise BridgeError(f"request {path.name}: version {data.get('version')!r}, this bridge reads {REQUEST_VERSION} "
                          "(reinstall FilmStyle so the Fuse and the plugin match)")
    for key in ("tool", "input", "cache_dir", "work_dir"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise BridgeError(f"request: {key}: expected a non-empty string")
    if not set(data["tool"]) <= _TOOL_CHARS or len(data["tool"]) > 200:
        raise BridgeError(f"request: tool {data['tool']!r}: only letters, digits, '_', '-' and '.' are allowed")
    frame = data.get("frame")
    if isinstance(frame, bool) or not isinstance(frame, (int, float)):
        raise BridgeError(f"request: frame: expected a number, got {frame!r}")
    if not isinstance(data.get("values", {}), dict):
        raise BridgeError("request: values: expected an object of parameter values")
    if not Path(data["input"]).is_file():
        raise BridgeError(f"input frame {data['input']} was not written")
    mask = data.get("mask")
    if mask is not None and (not isinstance(mask, str) or not Path(mask).is_file()):
        raise BridgeError(f"mask frame {mask} was not written")
    return data


def _values(raw: Dict[str, Any], params: List[Param]) -> Dict[str, Any]:
    """The request's values checked against the schema (unknown names and bad types refused)."""
    by_name = {p.name: p for p in params}
    unknown = sorted(set(raw) - set(by_name))
    if unknown:
        raise BridgeError(f"parameter {unknown[0]!r} is not in this FilmStyle's schema "
                          "(reinstall FilmStyle so the Fuse and the plugin match)")
    out: Dict[str, Any] = {}
    for name, value in raw.items():
        p = by_name[name]
        if p.type in ("float", "int"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise BridgeError(f"{p.label}: expected a number, got {value!r}")
        elif p.type == "bool":
            value = bool(value)
        elif p.type == "enum":
            if value not in p.choices:
                raise BridgeError(f"{p.label}: {value!r} is not one of {', '.join(p.choices)}")
        elif not isinstance(value, str):
            raise BridgeError(f"{p.label}: expected text, got {value!r}")
        out[name] = value
    return out


def build_frame_job(request: Dict[str, Any], values: Dict[str, Any], output: str,
                    params: List[Param]) -> Dict[str, Any]:
    """The one-frame job for ``request``: the schema values, and the Mask input as a region."""
    job = protocol.build_job(values, input=request["input"], output=output, overwrite=True, schema=params)
    mask = request.get("mask")
    if mask:
        channel = MASK_CHANNELS.get(str(values.get("mask_channel", "rgba.alpha")))
        if channel is None:
            raise BridgeError(f"mask channel {values.get('mask_channel')!r}: expected one of {', '.join(MASK_CHANNELS)}")
        # The look inside the mask; outside it the source comes back bit for bit.
        job["regions"] = [{"name": "mask", "mask": {"file": mask, "channel": channel, "fit": "stretch"}}]
    return job


def _stamp(path: str) -> Any:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [path, st.st_size, st.st_mtime_ns]


def look_key(request: Dict[str, Any], job: Dict[str, Any]) -> str:
    """What decides the frame's pixels, as a hash: the pixels in, every value, files the look reads."""
    look = {k: v for k, v in job.items() if k not in ("input", "output", "overwrite", "regions")}
    deps = [_stamp(s["style"]) for s in job.get("styles", []) if os.path.sep in s["style"] or "/" in s["style"]]
    ocio = (job.get("color") or {}).get("ocio")
    if ocio and not str(ocio).startswith("ocio://"):
        deps.append(_stamp(ocio))
    mask = request.get("mask")
    regions = job.get("regions") or []
    state = {
        "input": pixel_digest(request["input"]),
        "mask": pixel_digest(mask) if mask else None,
        "mask_channel": regions[0]["mask"]["channel"] if regions else None,
        "look": look,
        "files": deps,
    }
    blob = json.dumps(state, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:40]


def chain_signature(values: Dict[str, Any], params: List[Param], masked: bool) -> str:
    """What must stay the same for a frame to continue the temporal chain of the frame before:
    every value that cannot be keyed (styles, colour, device...) and whether a mask is connected.
    Keyed values (strength, blend, temporal amount) change from frame to frame within a chain."""
    fixed = {p.name: values.get(p.name, p.default) for p in params if not p.animatable}
    blob = json.dumps({"fixed": fixed, "masked": masked}, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]


# ------------------------------------------------------------------------------ tool state


class _ToolLock:
    """An exclusive lock file in the tool's folder (frames of one tool are served one at a time)."""

    def __init__(self, folder: Path, wait: float = 600.0) -> None:
        self.path = folder / ".lock"
        self.wait = wait
        self.fd: Optional[int] = None

    def __enter__(self) -> "_ToolLock":
        deadline = time.monotonic() + self.wait
        while True:
            try:
                self.fd = os.open(str(self.path), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                os.write(self.fd, str(os.getpid()).encode())
                return self
            except FileExistsError:
                try:
                    if self._stale():
                        self.path.unlink()  # left by a bridge that was killed
                        continue
                except OSError:
                    continue
                if time.monotonic() > deadline:
                    raise BridgeError(f"{self.path}: another render of this tool did not finish "
                                      f"within {self.wait:g} s") from None
                time.sleep(0.05)

    def _stale(self) -> bool:
        if time.time() - self.path.stat().st_mtime > _LOCK_STALE_S:
            return True
        if sys.platform == "win32":
            return False  # no cheap liveness test: the age decides
        try:
            pid = int(self.path.read_text().strip() or "0")
        except (OSError, ValueError):
            return False  # being written right now
        if pid <= 0:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def __exit__(self, *exc: Any) -> None:
        if self.fd is not None:
            os.close(self.fd)
        try:
            self.path.unlink()
        except OSError:
            pass


def _read_state(folder: Path) -> Optional[Dict[str, Any]]:
    try:
        data = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: Dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(str(tmp), str(path))


def _copy_into(src: str, dst: Path) -> None:
    tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex[:8]}.tmp")
    shutil.copyfile(src, str(tmp))
    os.replace(str(tmp), str(dst))


def evict(cache: Path, budget_mb: float) -> int:
    """Delete the least recently used results until the cache fits ``budget_mb``; returns files removed."""
    entries: List[Tuple[float, int, Path]] = []
    for path in cache.glob("*.exr"):
        try:
            st = path.stat()
        except OSError:
            continue
        entries.append((st.st_mtime, st.st_size, path))
    total = sum(size for _, size, _ in entries)
    limit = budget_mb * 1024 * 1024
    removed = 0
    now = time.time()
    for mtime, size, path in sorted(entries):
        if total <= limit:
            break
        if now - mtime < _EVICT_GRACE_S:
            continue
        try:
            path.unlink()
        except OSError:
            continue
        total -= size
        removed += 1
    return removed


def _log(work: Path, line: str) -> None:
    """One line per frame served in the tool's ``bridge.log`` (kept short: the last ~1000 lines)."""
    path = work / "bridge.log"
    try:
        if path.exists() and path.stat().st_size > 200_000:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[-1000:]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")
    except OSError:
        pass


# ----------------------------------------------------------------------------------- render


def render(request: Dict[str, Any], *, client: Optional[WorkerClient] = None) -> str:
    """Serve one frame: the path of the result EXR (from the cache, else from the worker)."""
    # Only the Fuse's own inputs: a control other hosts show (the preview proxy of Nuke and the
    # panel) takes the job's default, since a Fuse render is the final render in Resolve.
    params = load_schema(host="fuse")
    values = _values(request.get("values") or {}, params)
    cache = Path(request["cache_dir"])
    work = Path(request["work_dir"])
    cache.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    time_asked = float(request["frame"])
    frame = int(round(time_asked))
    whole = abs(time_asked - frame) < 1e-6
    temp_out = work / f"out-{os.getpid()}-{uuid.uuid4().hex[:8]}.exr"
    job = build_frame_job(request, values, str(temp_out), params)
    base = look_key(request, job)
    stateful = any(float(values.get(name) or 0.0) > 0.0 for name in STATEFUL)
    tool = request["tool"]
    budget = float(request.get("cache_mb") or os.environ.get(CACHE_ENV) or DEFAULT_CACHE_MB)
    chain = chain_signature(values, params, bool(request.get("mask")))
    with _ToolLock(work):
        previous = None
        if stateful:
            state = _read_state(work)
            if (whole and state and state.get("frame") == frame - 1 and state.get("tool") == tool
                    and state.get("chain") == chain):
                previous = state
            after = previous["key"] if previous else "start"
            key = hashlib.sha256(f"{base}|{tool}|{frame}|{after}".encode()).hexdigest()[:40]
        else:
            key = base
        result = cache / f"{key}.exr"
        source_copy = cache / f"{key}.src.exr"
        if result.is_file():
            os.utime(str(result))
            _log(work, f"frame {frame}: cached {key}")
        else:
            try:
                _render_with_worker(client, tool, frame, key, job, previous, temp_out)
                os.replace(str(temp_out), str(result))
            finally:
                if temp_out.exists():
                    temp_out.unlink()
            _log(work, f"frame {frame}: rendered {key}" + (f" after {previous['key']}" if previous else ""))
        if stateful:
            if not source_copy.is_file():
                _copy_into(request["input"], source_copy)
            else:
                os.utime(str(source_copy))
            _write_json(work / "state.json", {"tool": tool, "frame": frame, "key": key, "chain": chain,
                                              "input": str(source_copy), "output": str(result)})
        elif (work / "state.json").exists():
            (work / "state.json").unlink()  # a stateless frame breaks the temporal chain
    evict(cache, budget)
    return str(result)


def _render_with_worker(client: Optional[WorkerClient], tool: str, frame: int, key: str, job: Dict[str, Any],
                        previous: Optional[Dict[str, Any]], output: Path) -> None:
    client = client or WorkerClient.connect(start=True)
    body: Dict[str, Any] = {"frame": frame, "key": key, "job": job, "previous": None}
    if previous:
        body["previous"] = {k: previous[k] for k in ("frame", "key", "input", "output")}
    status = client.request("POST", f"/shots/{tool}/frames", body)
    final = client.wait(status["id"], timeout=_RENDER_TIMEOUT_S)
    if final["state"] != "done":
        reason = final.get("error") or final["state"]
        raise BridgeError(f"frame {frame}: worker {final['state']}: {reason}")
    if not output.is_file():
        raise BridgeError(f"frame {frame}: the worker reported done but wrote no {output.name}")


def _check() -> str:
    """One line about the environment the Fuse would use (for the README's troubleshooting)."""
    client = WorkerClient.connect(start=False)
    health = client.health()
    return f"worker {health.get('version')} pid {health.get('pid')} at {client.base_url}, python {sys.executable}"


def _report(request_path: Optional[Path], line: str) -> None:
    """Print the result line, and write it to the request's ``result_file`` when it names one
    (a Fuse on Windows runs ``pythonw``, which has no stdout)."""
    print(line, flush=True)
    if request_path is None:
        return
    try:
        target = json.loads(request_path.read_text(encoding="utf-8")).get("result_file")
    except (OSError, ValueError, AttributeError):
        return
    if isinstance(target, str) and target:
        try:
            _write_text(Path(target), line + "\n")
        except OSError:
            pass


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(str(tmp), str(path))


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    request_path = Path(args[1]) if len(args) == 2 and args[0] == "render" else None
    try:
        if request_path is not None:
            line = f"{RESULT_OK} {render(_load_request(request_path))}"
        elif args == ["check"]:
            line = f"{RESULT_OK} {_check()}"
        else:
            raise BridgeError("usage: fuse_bridge.py render REQUEST.json | fuse_bridge.py check")
    except (BridgeError, WorkerError) as exc:
        _report(request_path, f"{RESULT_ERROR} {' '.join(str(exc).split())}")
        return 1
    except Exception as exc:  # a bug: still one line for the Fuse, never a traceback in its console
        _report(request_path, f"{RESULT_ERROR} internal error: {type(exc).__name__}: {' '.join(str(exc).split())}")
        return 1
    _report(request_path, line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
