"""Timeline items → the media frames a render needs, with handles, and where a take lands.

Frame spaces (resolve-standin notes 1.3): ``GetStart``/``GetEnd`` are absolute timeline frames (a
timeline starting at 01:00:00:00 at 24 fps starts at frame 86400), ``GetLeftOffset`` is the media
offset of the item's first frame (0 = the media's first frame; exact at 100 % speed, where
``GetSourceStartFrame`` was measured off by one), ``GetRightOffset`` the frames left after its last.

Calls are made without arguments: 18.x has no ``subframe_precision`` argument, 19.0.2+ makes it
optional (the stubs declare it required, hence :func:`frames_of`).
"""

from typing import TYPE_CHECKING, Any, Callable, List, Optional, cast

from filmstyle_plugin.resolve.media import MediaInfo, format_timecode

if TYPE_CHECKING:
    from fusionscript import Timeline, TimelineItem

__all__ = ["ITEM_MARKER_ORIGIN", "CLIP_COLORS", "TimelineError", "ItemRange", "frames_of", "timeline_fps",
           "current_track", "items_with_colour"]

#: Where a TimelineItem marker's frame counts from: "media" (offset from the media's first frame,
#: as OpenPype places item markers at GetLeftOffset() + GetDuration() / 2) or "item" (offset from
#: the item's first frame). Not documented by Blackmagic; see the README's Resolve section.
ITEM_MARKER_ORIGIN = "media"
#: The 16 clip colours SetClipColor accepts [resolve-standin notes 1.8; stubs ColorSet1].
CLIP_COLORS = ("Orange", "Apricot", "Yellow", "Lime", "Olive", "Green", "Teal", "Navy", "Blue", "Purple",
               "Violet", "Pink", "Tan", "Beige", "Brown", "Chocolate")


class TimelineError(Exception):
    """An item or timeline the script cannot use; the message names it."""


def frames_of(method: Any) -> int:
    """Call a frame getter with no arguments (every Resolve version accepts that) as an int."""
    value = cast(Callable[[], Any], method)()
    if value is None or isinstance(value, bool):
        raise TimelineError("Resolve returned no frame number")
    return int(round(float(value)))


def timeline_fps(timeline: "Timeline") -> float:
    try:
        return float(timeline.GetSetting("timelineFrameRate") or 24.0)
    except (TypeError, ValueError):
        return 24.0


class ItemRange:
    """One timeline item's media range with handles.

    Attributes:
        head, tail: handle frames actually available before/after the item (<= the handles asked).
        first_offset, last_offset: media offsets of the first and last frame to render.
        take_start, take_end: the item's frames in the rendered media (0 = its first frame), inclusive.
    """

    def __init__(self, item: "TimelineItem", media: MediaInfo, handles: int, fps: float) -> None:
        self.name = str(item.GetName() or media.name)
        self.media = media
        self.fps = fps
        self.record_start = frames_of(item.GetStart)
        self.duration = frames_of(item.GetDuration)
        self.left = frames_of(item.GetLeftOffset)
        if self.duration <= 0:
            raise TimelineError(f"{self.name}: the item has no frames")
        if self.left < 0 or self.left + self.duration > media.frames:
            raise TimelineError(
                f"{self.name}: uses media frames {self.left}-{self.left + self.duration - 1} of {media.frames} "
                "(a retimed or reversed clip? FilmStyle renders items at 100 % speed)")
        after = media.frames - (self.left + self.duration)
        try:
            right = frames_of(item.GetRightOffset)
            after = min(after, right) if right >= 0 else after
        except TimelineError:
            pass
        handles = max(0, int(handles))
        self.head = min(handles, self.left)
        self.tail = min(handles, max(0, after))
        self.first_offset = self.left - self.head
        self.last_offset = self.left + self.duration - 1 + self.tail
        self.take_start = self.head
        self.take_end = self.head + self.duration - 1

    @property
    def first_frame(self) -> int:
        return self.media.frame(self.first_offset)

    @property
    def last_frame(self) -> int:
        return self.media.frame(self.last_offset)

    @property
    def frame_range(self) -> str:
        return f"{self.first_frame}-{self.last_frame}"

    def marker_offset(self, key: float) -> int:
        """A ``GetMarkers()`` key as a media offset."""
        offset = int(round(float(key)))
        return offset if ITEM_MARKER_ORIGIN == "media" else self.left + offset

    def timecode(self, offset: int) -> str:
        """The record timecode of media offset ``offset`` (where it sits on the timeline)."""
        return format_timecode(self.record_start + (offset - self.left), self.fps)

    def describe(self, offset: int) -> str:
        return f'{self.name}: marker at {self.timecode(offset)}'


def current_track(timeline: "Timeline") -> int:
    """The video track of the item under the playhead (19.0+), else 1."""
    item = timeline.GetCurrentVideoItem()
    if item is not None and "GetTrackTypeAndIndex" in dir(item):  # hasattr lies on Resolve objects
        try:
            kind, index = cast(Callable[[], Any], getattr(item, "GetTrackTypeAndIndex"))()
            if kind == "video" and int(index) >= 1:
                return int(index)
        except (TypeError, ValueError):
            pass
    return 1


def items_with_colour(timeline: "Timeline", track: int, colour: str) -> List["TimelineItem"]:
    """Every item on video track ``track`` whose clip colour is ``colour``."""
    count = timeline.GetTrackCount("video") or 0
    if not 1 <= track <= count:
        raise TimelineError(f"video track {track}: the timeline has {count} video track(s)")
    items = timeline.GetItemListInTrack("video", track) or []
    return [item for item in items if item is not None and (item.GetClipColor() or "") == colour]


def item_label(item: Optional["TimelineItem"]) -> str:
    return "(none)" if item is None else str(item.GetName() or "item")
