"""Where a FilmStyle node keeps its frames, and how it knows a frame there is still its own.

Layout: ``<cache folder>/<node id>/`` holds ``src.####.exr`` (the Source as the node last wrote
it), ``out.####.exr`` (the worker's result) and ``rec.####.json`` (one record per frame). The
cache folder is a knob, beside the script by default; the node id is unique in the script (a
pasted copy gets a new one), so two nodes never share or overwrite a folder.

A record says what made ``out``: the key of the parameter values and colour settings at that
frame, the content stamp of the source frame, and the size and time of the source file and of
``out``. A frame is *baked* when its record matches the node now; a file changed or replaced by
anything else no longer matches.
"""

import hashlib
import json
import os

__all__ = ["CacheError", "frame_file", "pattern", "file_stamp", "stat_of", "frame_key",
           "read_record", "write_record", "bake_current", "render_current"]

RECORD_VERSION = 1
# Header attributes that change on every write although the pixels do not.
_VOLATILE_EXR_ATTRIBUTES = {b"DateTime", b"capDate", b"utcOffset"}


class CacheError(RuntimeError):
    """The cache folder cannot be used; the message names the node and says what to do."""


def pattern(folder, kind):
    """``folder/kind.####.exr`` with forward slashes (safe in knobs and jobs on every OS)."""
    return folder.replace("\\", "/") + "/" + kind + ".####.exr"


def frame_file(folder, kind, frame):
    ext = "json" if kind == "rec" else "exr"
    return os.path.join(folder, "%s.%04d.%s" % (kind, frame, ext))


def file_stamp(path):
    """Hash of a frame file, ignoring the write time EXR writers put in the header."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        data = fh.read()
    pos = 8
    if data[:4] == b"\x76\x2f\x31\x01" and not data[5] & 0x10:  # EXR magic, not multi-part
        try:
            while data[pos] != 0:
                name_end = data.index(b"\0", pos)
                type_end = data.index(b"\0", name_end + 1)
                size = int.from_bytes(data[type_end + 1:type_end + 5], "little")
                end = type_end + 5 + size
                if data[pos:name_end] not in _VOLATILE_EXR_ATTRIBUTES:
                    digest.update(data[pos:end])
                pos = end
            data = data[pos:]
        except (ValueError, IndexError):
            pass
    digest.update(data)
    return digest.hexdigest()


def stat_of(path):
    """``[size, mtime_ns]`` of a file, or ``None`` when it is missing."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def frame_key(values_at_frame, colour, node_id):
    blob = json.dumps({"values": values_at_frame, "colour": colour, "node": node_id},
                      sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:32]


def read_record(folder, frame):
    try:
        with open(frame_file(folder, "rec", frame), encoding="utf-8") as fh:
            record = json.load(fh)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("version") == RECORD_VERSION else None


def write_record(folder, frame, *, key, source_file, source_stamp):
    """Record ``out`` for ``frame`` as made from ``source_file`` with parameters ``key``."""
    record = {"version": RECORD_VERSION, "key": key, "source": source_file.replace("\\", "/"),
              "source_stamp": source_stamp, "source_stat": stat_of(source_file),
              "out": stat_of(frame_file(folder, "out", frame))}
    path = frame_file(folder, "rec", frame)
    tmp = "%s.tmp%d" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(record, fh, sort_keys=True)
    os.replace(tmp, path)
    return record


def bake_current(record, folder, frame, key, source_stamp):
    """The Render button's test: same parameters, same source pixels, ``out`` untouched."""
    return (record is not None and record.get("key") == key and record.get("source_stamp") == source_stamp
            and record.get("out") is not None and stat_of(frame_file(folder, "out", frame)) == record["out"])


def render_current(record, folder, frame, key):
    """A render's test (no source to compare): same parameters, the source file it was made from
    and ``out`` both untouched since."""
    return (record is not None and record.get("key") == key and record.get("out") is not None
            and stat_of(frame_file(folder, "out", frame)) == record["out"]
            and record.get("source_stat") is not None and stat_of(record.get("source", "")) == record["source_stat"])
