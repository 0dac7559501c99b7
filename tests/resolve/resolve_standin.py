"""A stand-in of DaVinci Resolve's scripting API, as strict as the real one where sources say how.

Method names and signatures follow PyPI ``fusionscript-stubs`` 21.0.0 (a test compares them); the
behaviours follow the team's resolve-standin notes, cited by section:

* failure is a falsy return (None or False), never an exception (1.2);
* ``hasattr`` is True for any name on a Resolve object and ``getattr`` of an unknown name gives
  None (1.2): calling a method a version lacks fails with ``'NoneType' object is not callable``;
* indices are 1-based (1.2); clip properties are strings, unknown ones "" (1.2, 1.6);
* ``GetStart``/``GetEnd`` are absolute timeline frames, the timeline at 01:00:00:00 starts at 86400
  at 24 fps, ``GetEnd`` is exclusive (1.3); 18.x has no ``subframe_precision`` argument and no
  ``GetSourceStartFrame`` (1.3);
* ``GetMarkers`` keys are floats; item markers count from the media's first frame by default (a
  parameter: the origin is not documented) (1.4); AddMarker on an existing frame returns False;
* ``ImportMedia`` imports into the current folder only; sequences are ``{FilePath, StartIndex,
  EndIndex}`` with EndIndex inclusive (1.6); with "Show Individual Frames" on, one item per frame;
* ``AddTake(mpi, start, end)``: media frames of ``mpi`` from 0, inclusive (measured usage
  ``AddTake(mpi, 24, 71)``); the original becomes take 1 (1.5, both unverified: parameters here);
  ``GetTakesCount``/``GetSelectedTakeIndex`` are 0 until then;
* ``SetClipColor`` takes the 16 clip colours only; ``GetClipColor`` is "" when unset (1.8).

The Fusion side (``FusionApp``: UIManager, comps with tools and BezierSplines) is in
:mod:`tests.resolve.fusion_ui_standin`.
"""

from __future__ import annotations

import itertools
import os
import re
from typing import Any

CLIP_COLORS = ("Orange", "Apricot", "Yellow", "Lime", "Olive", "Green", "Teal", "Navy", "Blue", "Purple",
               "Violet", "Pink", "Tan", "Beige", "Brown", "Chocolate")
MARKER_COLORS = ("Blue", "Cyan", "Green", "Yellow", "Red", "Pink", "Purple", "Fuchsia", "Rose", "Lavender",
                 "Sky", "Mint", "Lemon", "Sand", "Cocoa", "Cream")
_ids = itertools.count(1)


class ResolveObject:
    """hasattr(obj, anything) is True and unknown attributes read as None [notes 1.2]."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return None

    def GetUniqueId(self) -> str:
        if "_uid" not in self.__dict__:
            self.__dict__["_uid"] = f"uid-{next(_ids)}"
        return self.__dict__["_uid"]


def tc_frames(tc: str, fps: int) -> int:
    h, m, s, f = (int(x) for x in re.split(r"[:;]", tc))
    return ((h * 60 + m) * 60 + s) * fps + f


def frames_tc(frame: int, fps: int) -> str:
    s, f = divmod(frame, fps)
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}:{f:02d}"


class MediaPoolItem(ResolveObject):
    def __init__(self, name: str, properties: dict[str, str], frames: int) -> None:
        self._name = name
        self._props = {k: str(v) for k, v in properties.items()}  # strings, as Resolve gives them
        self._frames = frames
        self._markers: dict[float, dict] = {}
        self._color = ""

    def GetName(self) -> str:
        return self._name

    def GetClipProperty(self, propertyName: str | None = None) -> str | dict:
        if propertyName is None:
            return dict(self._props)
        return self._props.get(propertyName, "")  # an unknown key: a trivial result [1.2]

    def GetMediaId(self) -> str:
        return self.GetUniqueId()

    def GetMarkers(self) -> dict[float, dict]:
        return {k: dict(v) for k, v in self._markers.items()}

    def GetClipColor(self) -> str:
        return self._color


def sequence_item(pattern: str, first: int, last: int, fps: float = 24.0, name: str | None = None) -> MediaPoolItem:
    """A media pool item for frames ``first..last`` of a ``name.####.ext`` sequence on disk."""
    folder, base = os.path.split(pattern)
    m = re.search(r"#+", base)
    assert m, pattern
    pad = len(m.group(0))
    shown = base[:m.start()] + f"[{first:0{pad}d}-{last:0{pad}d}]" + base[m.end():]
    props = {"File Path": os.path.join(folder, shown), "Frames": last - first + 1, "FPS": f"{fps:.3f}",
             "Start TC": "00:00:00:00", "Type": "Video", "Start": first, "End": last}
    return MediaPoolItem(name or shown, props, last - first + 1)


def movie_item(path: str, frames: int, fps: float = 24.0, start_tc: str = "00:00:00:00") -> MediaPoolItem:
    props = {"File Path": path, "Frames": frames, "FPS": f"{fps:.3f}", "Start TC": start_tc, "Type": "Video"}
    return MediaPoolItem(os.path.basename(path), props, frames)


class Folder(ResolveObject):
    def __init__(self, name: str) -> None:
        self._name = name
        self._clips: list[MediaPoolItem] = []
        self._subfolders: list[Folder] = []

    def GetName(self) -> str:
        return self._name

    def GetClipList(self) -> list[MediaPoolItem]:
        return list(self._clips)

    def GetSubFolderList(self) -> list[Folder]:
        return list(self._subfolders)


class MediaPool(ResolveObject):
    def __init__(self, show_individual_frames: bool = False) -> None:
        self._root = Folder("Master")
        self._current = self._root
        self.show_individual_frames = show_individual_frames
        self.imports: list[Any] = []

    def GetRootFolder(self) -> Folder:
        return self._root

    def GetCurrentFolder(self) -> Folder:
        return self._current

    def SetCurrentFolder(self, folder: Folder) -> bool:
        if not isinstance(folder, Folder):
            return False
        self._current = folder
        return True

    def AddSubFolder(self, folder: Folder, name: str) -> Folder | None:
        if not isinstance(folder, Folder) or not name:
            return None
        sub = Folder(name)
        folder._subfolders.append(sub)
        return sub

    def ImportMedia(self, items: list) -> list[MediaPoolItem]:
        """Into the current folder only [1.6]; a missing frame imports nothing."""
        self.imports.append(items)
        made: list[MediaPoolItem] = []
        for entry in items:
            if isinstance(entry, dict):
                path, first, last = entry["FilePath"], int(entry["StartIndex"]), int(entry["EndIndex"])
                files = [path % f for f in range(first, last + 1)]
                if not all(os.path.isfile(f) for f in files):
                    return []
                pattern = re.sub(r"%0(\d+)d", lambda m: "#" * int(m.group(1)), path)
                if self.show_individual_frames:
                    made += [MediaPoolItem(os.path.basename(f), {"File Path": f, "Frames": "1"}, 1) for f in files]
                else:
                    made.append(sequence_item(pattern, first, last))
            else:
                if not os.path.isfile(entry):
                    return []
                made.append(MediaPoolItem(os.path.basename(entry), {"File Path": entry, "Frames": "1"}, 1))
        self._current._clips += made
        return made

    def DeleteClips(self, clips: list[MediaPoolItem]) -> bool:
        removed = False
        stack = [self._root]
        while stack:
            folder = stack.pop()
            for clip in clips:
                if clip in folder._clips:
                    folder._clips.remove(clip)
                    removed = True
            stack += folder._subfolders
        return removed

    def all_clips(self) -> list[tuple[str, MediaPoolItem]]:
        out, stack = [], [("", self._root)]
        while stack:
            prefix, folder = stack.pop()
            path = f"{prefix}/{folder.GetName()}"
            out += [(path, c) for c in folder._clips]
            stack += [(path, f) for f in folder._subfolders]
        return out


class TimelineItem(ResolveObject):
    """An item at 100 % speed; ``version`` (major, minor, patch) gates 19.0.2's additions [1.3]."""

    def __init__(self, timeline: "Timeline", mpi: MediaPoolItem | None, record_start: int, duration: int,
                 left: int, name: str | None = None) -> None:
        self._timeline = timeline
        self._mpi = mpi
        self._start = record_start
        self._duration = duration
        self._left = left
        self._name = name or (mpi.GetName() if mpi else "Generator")
        self._markers: dict[float, dict] = {}
        self._color = ""
        self._takes: list[dict] = []  # take selector: [{"startFrame", "endFrame", "mediaPoolItem"}]
        self._selected = 0

    def _new(self) -> bool:
        return self._timeline._version >= (19, 0, 2)

    def GetName(self) -> str:
        return self._name

    # Frame getters: no argument on 18.x; an optional subframe_precision from 19.0.2 [1.3].
    def GetStart(self, *subframe_precision: bool) -> int:
        if subframe_precision and not self._new():
            raise TypeError("GetStart() takes no arguments (Resolve 18)")
        return self._start

    def GetEnd(self, *subframe_precision: bool) -> int:
        if subframe_precision and not self._new():
            raise TypeError("GetEnd() takes no arguments (Resolve 18)")
        return self._start + self._duration  # exclusive [1.3]

    def GetDuration(self, *subframe_precision: bool) -> int:
        if subframe_precision and not self._new():
            raise TypeError("GetDuration() takes no arguments (Resolve 18)")
        return self._duration

    def GetLeftOffset(self, *subframe_precision: bool) -> int:
        if subframe_precision and not self._new():
            raise TypeError("GetLeftOffset() takes no arguments (Resolve 18)")
        return self._left

    def GetRightOffset(self, *subframe_precision: bool) -> int:
        if subframe_precision and not self._new():
            raise TypeError("GetRightOffset() takes no arguments (Resolve 18)")
        total = self._mpi._frames if self._mpi else self._duration
        return total - (self._left + self._duration)

    def __getattr__(self, name: str) -> Any:
        if name in ("GetSourceStartFrame", "GetSourceEndFrame") and self._new():
            # 19.0.2+; measured off by one against GetLeftOffset on some items [1.3].
            return (lambda: self._left + 1) if name == "GetSourceStartFrame" else (lambda: self._left + self._duration)
        if name == "GetTrackTypeAndIndex" and self._timeline._version >= (19, 0, 0):
            index = next(i for i, t in enumerate(self._timeline._tracks, 1) if self in t)
            return lambda: ["video", index]
        return super().__getattr__(name)

    def __dir__(self) -> list[str]:
        # dir() is the reliable probe on Resolve objects [1.2]: it lists what this version has.
        names = [n for n in type(self).__dict__ if n[0].isupper()]
        if self._new():
            names += ["GetSourceStartFrame", "GetSourceEndFrame"]
        if self._timeline._version >= (19, 0, 0):
            names.append("GetTrackTypeAndIndex")
        return sorted(set(names) | set(ResolveObject.__dict__))

    def GetMediaPoolItem(self) -> MediaPoolItem | None:
        return self._mpi  # None for generators, titles, transitions [1.3]

    def AddMarker(self, frameId: float, color: str, name: str, note: str, duration: float,
                  customData: str | None = None) -> bool:
        key = float(frameId)
        if color not in MARKER_COLORS or key in self._markers:
            return False
        self._markers[key] = {"color": color, "duration": float(duration), "note": note, "name": name,
                              "customData": customData or ""}
        return True

    def GetMarkers(self) -> dict[float, dict]:
        return {k: dict(v) for k, v in self._markers.items()}

    def GetClipColor(self) -> str:
        return self._color

    def SetClipColor(self, colorName: str) -> bool:
        if colorName not in CLIP_COLORS:
            return False
        self._color = colorName
        return True

    def AddTake(self, mediaPoolItem: MediaPoolItem, startFrame: int | None = None, endFrame: int | None = None) -> bool:
        if not isinstance(mediaPoolItem, MediaPoolItem):
            return False
        total = mediaPoolItem._frames
        start = 0 if startFrame is None else int(startFrame)
        end = total - 1 if endFrame is None else int(endFrame)
        if not (0 <= start <= end < total):
            return False
        if not self._takes:
            # The item becomes a take selector; the original is take 1 [1.5, unverified].
            self._takes.append({"startFrame": self._left, "endFrame": self._left + self._duration - 1,
                                "mediaPoolItem": self._mpi})
            self._selected = 1
        self._takes.append({"startFrame": start, "endFrame": end, "mediaPoolItem": mediaPoolItem})
        return True

    def GetTakesCount(self) -> int:
        return len(self._takes)

    def GetSelectedTakeIndex(self) -> int:
        return self._selected

    def SelectTakeByIndex(self, idx: int) -> bool:
        if not 1 <= int(idx) <= len(self._takes):
            return False
        self._selected = int(idx)
        return True

    def GetTakeByIndex(self, idx: int) -> dict | None:
        if not 1 <= int(idx) <= len(self._takes):
            return None
        return dict(self._takes[int(idx) - 1])


class Timeline(ResolveObject):
    def __init__(self, name: str = "Timeline 1", fps: int = 24, start_tc: str = "01:00:00:00",
                 version: tuple[int, int, int] = (19, 1, 0)) -> None:
        self._name = name
        self._fps = fps
        self._start = tc_frames(start_tc, fps)  # 86400 at 24 fps [1.7]
        self._version = version
        self._tracks: list[list[TimelineItem]] = [[]]
        self._markers: dict[float, dict] = {}
        self.playhead: int | None = None

    def GetName(self) -> str:
        return self._name

    def GetStartFrame(self) -> int:
        return self._start

    def GetEndFrame(self) -> int:
        items = [i for t in self._tracks for i in t]
        return max([self._start] + [i._start + i._duration for i in items])

    def GetSetting(self, settingName: str) -> str:
        return {"timelineFrameRate": str(self._fps)}.get(settingName, "")

    def GetTrackCount(self, trackType: str) -> int:
        return len(self._tracks) if trackType == "video" else 0

    def GetItemListInTrack(self, trackType: str, index: int) -> list[TimelineItem] | None:
        if trackType != "video" or not 1 <= int(index) <= len(self._tracks):
            return None  # out of range: unverified; callers guard with `or []`
        return list(self._tracks[int(index) - 1])

    def GetCurrentVideoItem(self) -> TimelineItem | None:
        if self.playhead is None:
            return None
        for track in reversed(self._tracks):
            for item in track:
                if item._start <= self.playhead < item._start + item._duration:
                    return item
        return None

    def GetMarkers(self) -> dict[float, dict]:
        return {k: dict(v) for k, v in self._markers.items()}

    # -- building (tests) ------------------------------------------------------------------------
    def append(self, mpi: MediaPoolItem | None, left: int, duration: int, track: int = 1,
               record_offset: int | None = None) -> TimelineItem:
        while len(self._tracks) < track:
            self._tracks.append([])
        items = self._tracks[track - 1]
        start = self._start + (record_offset if record_offset is not None else
                               sum(i._duration for i in items))
        item = TimelineItem(self, mpi, start, duration, left)
        items.append(item)
        return item


class Project(ResolveObject):
    def __init__(self, name: str = "Project", pool: MediaPool | None = None) -> None:
        self._name = name
        self._pool = pool or MediaPool()
        self._timelines: list[Timeline] = []
        self._current: Timeline | None = None

    def GetName(self) -> str:
        return self._name

    def GetMediaPool(self) -> MediaPool:
        return self._pool

    def GetTimelineCount(self) -> int:
        return len(self._timelines)

    def GetTimelineByIndex(self, idx: int) -> Timeline | None:
        return self._timelines[idx - 1] if 1 <= idx <= len(self._timelines) else None

    def GetCurrentTimeline(self) -> Timeline | None:
        return self._current

    def add_timeline(self, timeline: Timeline) -> Timeline:
        self._timelines.append(timeline)
        self._current = timeline
        return timeline


class ProjectManager(ResolveObject):
    def __init__(self, project: Project | None) -> None:
        self._project = project

    def GetCurrentProject(self) -> Project | None:
        return self._project


class Resolve(ResolveObject):
    def __init__(self, project: Project | None = None, fusion: Any = None, product: str = "DaVinci Resolve Studio",
                 version: tuple[int, int, int] = (19, 1, 0)) -> None:
        self._pm = ProjectManager(project)
        self._fusion = fusion
        self._product = product
        self._version = version

    def GetProjectManager(self) -> ProjectManager:
        return self._pm

    def Fusion(self) -> Any:
        return self._fusion

    def GetProductName(self) -> str:
        return self._product

    def GetVersion(self) -> list:
        return [*self._version, 0, ""]

    def GetVersionString(self) -> str:
        return ".".join(str(v) for v in self._version) + ".0"
