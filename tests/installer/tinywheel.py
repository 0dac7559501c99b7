"""A minimal wheel writer (PEP 427) and PEP 517 build backend, standard library only.

The environment tests install a tiny package through pip for real; this backend lets pip build it
without downloading setuptools into an isolated build environment.
"""

import base64
import hashlib
import os
import zipfile

NAME, VERSION = "filmstyle", "0.0.1"


def write_wheel(folder, name, version, files):
    """Write ``{archive path: bytes}`` as ``name-version-py3-none-any.whl`` in ``folder``; its file name."""
    info = f"{name}-{version}.dist-info"
    files = dict(files)
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: tinywheel\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    lines = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        lines.append(f"{path},sha256={digest},{len(data)}")
    files[f"{info}/RECORD"] = ("\n".join(lines + [f"{info}/RECORD,,"]) + "\n").encode()
    filename = f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(folder, filename), "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return filename


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    """PEP 517 hook: the checkout's ``core/filmstyle`` package as a wheel."""
    files = {}
    for base, _, names in os.walk(os.path.join("core", "filmstyle")):
        for n in names:
            path = os.path.join(base, n)
            with open(path, "rb") as f:
                files[os.path.relpath(path, "core").replace(os.sep, "/")] = f.read()
    return write_wheel(wheel_directory, NAME, VERSION, files)
