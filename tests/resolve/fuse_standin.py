"""Run a Fuse under LuaJIT (PyPI ``lupa``) inside a stand-in of Fusion's Fuse environment.

``fusion_env.lua`` holds the Fuse API (FuRegisterClass, AddInput, Image, Pixel, Clip, requests);
this module keeps the pixels (numpy, bottom-left origin as in Fusion [FSDK part18]) and reads and
writes EXR files with OpenImageIO for ``Clip``. :class:`FuseHost` loads a Fuse the way Fusion does
(the file runs once, ``FuRegisterClass`` registers it), :meth:`FuseHost.add_tool` runs ``Create``,
and :meth:`FuseTool.render` asks for a frame as Fusion does for a tool with ``REG_SupportsDoD``: a
pre-calc request first, then the real one [PUTF]; ``Process`` must set the output exactly once.
Each tool runs in its own Lua state, as each Fuse instance does in Fusion.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
from lupa import luajit21

ENV_LUA = Path(__file__).with_name("fusion_env.lua")
#: Fusion image depths [DOCS Image.md]: 5-8 are RGBA 8/16-bit int, 16-bit float, 32-bit float.
RGBA_DEPTHS = {5: "uint8", 6: "uint16", 7: "half", 8: "float"}


class _Img:
    def __init__(self, width: int, height: int, depth: int, window: tuple[int, int, int, int], nodata: bool):
        self.width, self.height, self.depth = width, height, depth
        self.window = window  # left, bottom, right, top; right/top exclusive
        self.nodata = nodata
        self.pixels = None if nodata else np.zeros((height, width, 4), np.float32)  # row 0 = bottom


class PixelHost:
    """The Python side of ``fusion_env.lua`` (the Lua global ``FS_HOST``)."""

    def __init__(self) -> None:
        self.images: dict[int, _Img] = {}
        self._next = 1
        self.writes: list[str] = []

    def _add(self, img: _Img) -> int:
        self.images[self._next] = img
        self._next += 1
        return self._next - 1

    def _get(self, image_id: int) -> _Img:
        return self.images[int(image_id)]

    def _data(self, image_id: int) -> _Img:
        img = self._get(image_id)
        if img.nodata:
            raise RuntimeError("image has no data (IMG_NoData, a pre-calc image)")
        return img

    # -- called from Lua --------------------------------------------------------------------
    def attribute(self, image_id, key):
        img = self._get(image_id)
        return {"Width": img.width, "Height": img.height, "Depth": img.depth, "XScale": 1.0, "YScale": 1.0,
                "ProxyScale": 1, "OriginalWidth": img.width, "OriginalHeight": img.height}[key]

    def data_window(self, image_id):
        return tuple(self._get(image_id).window)

    def new_like(self, image_id, depth, nodata):
        src = self._get(image_id)
        depth = int(depth) or src.depth
        if depth not in RGBA_DEPTHS:
            raise ValueError(f"Image: IMG_Depth {depth} is not an RGBA depth")
        return self._add(_Img(src.width, src.height, depth, src.window, bool(nodata)))

    def new_image(self, width, height, depth, nodata):
        return self._add(_Img(int(width), int(height), int(depth), (0, 0, int(width), int(height)), bool(nodata)))

    def _check(self, img: _Img, x, y, write: bool) -> tuple[int, int]:
        if int(x) != x or int(y) != y:
            raise ValueError(f"pixel ({x}, {y}): coordinates are whole numbers")
        x, y = int(x), int(y)
        if not (0 <= x < img.width and 0 <= y < img.height):
            raise IndexError(f"pixel ({x}, {y}) outside the {img.width}x{img.height} image")
        left, bottom, right, top = img.window
        if write and not (left <= x < right and bottom <= y < top):
            raise IndexError(f"SetPixel ({x}, {y}) outside the data window {img.window}")
        return x, y

    def get_pixel(self, image_id, x, y):
        img = self._data(image_id)
        x, y = self._check(img, x, y, write=False)
        r, g, b, a = (float(v) for v in img.pixels[y, x])
        return r, g, b, a

    def set_pixel(self, image_id, x, y, r, g, b, a):
        img = self._data(image_id)
        x, y = self._check(img, x, y, write=True)
        px = np.array([r, g, b, a], np.float32)
        img.pixels[y, x] = px.astype(np.float16).astype(np.float32) if img.depth == 7 else px

    def fill(self, image_id, r, g, b, a):
        img = self._data(image_id)
        left, bottom, right, top = img.window
        img.pixels[bottom:top, left:right] = (r, g, b, a)

    def crop(self, src_id, dst_id, dx, dy):
        src, dst = self._get(src_id), self._get(dst_id)
        if src.nodata or dst.nodata:
            return  # a copy of nothing (pre-calc)
        dx, dy = int(dx), int(dy)
        h = min(src.height, dst.height - dy)
        w = min(src.width, dst.width - dx)
        if h > 0 and w > 0:
            block = src.pixels[:h, :w]
            if dst.depth == 7:
                block = block.astype(np.float16).astype(np.float32)
            dst.pixels[dy:dy + h, dx:dx + w] = block

    def write_exr(self, path, image_id, frame):
        img = self._data(image_id)
        path = str(path)
        if not path.lower().endswith(".exr"):
            return False  # this stand-in knows one format: the one the Fuse uses
        left, bottom, right, top = img.window
        spec = oiio.ImageSpec(right - left, top - bottom, 4, RGBA_DEPTHS[img.depth] if img.depth >= 7 else "half")
        spec.x, spec.y = left, img.height - top  # EXR rows run top-down
        spec.full_x, spec.full_y, spec.full_width, spec.full_height = 0, 0, img.width, img.height
        spec.channelnames = ("R", "G", "B", "A")
        spec.attribute("compression", "zip")
        # A real host stamps its files; the bridge's cache must not care.
        spec.attribute("capDate", f"2026:01:01 00:00:{len(self.writes) % 60:02d}")
        spec.attribute("comments", f"written for frame {frame} (write {len(self.writes)})")
        data = np.ascontiguousarray(img.pixels[bottom:top, left:right][::-1])
        out = oiio.ImageOutput.create(path)
        if out is None or not out.open(path, spec):
            return False
        ok = out.write_image(data)
        out.close()
        self.writes.append(path)
        return bool(ok)

    def read_exr(self, path):
        inp = oiio.ImageInput.open(str(path))
        if inp is None:
            return None
        spec = inp.spec()
        pixels = np.asarray(inp.read_image(0, 0, 0, spec.nchannels, "float"))
        inp.close()
        names = list(spec.channelnames)
        rgba = np.zeros((spec.height, spec.width, 4), np.float32)
        for i, ch in enumerate("RGBA"):
            if ch in names:
                rgba[..., i] = pixels[..., names.index(ch)]
            elif ch == "A":
                rgba[..., 3] = 1.0
        width, height = spec.full_width, spec.full_height
        top = height - spec.y
        window = (spec.x, top - spec.height, spec.x + spec.width, top)
        img = _Img(width, height, 8, window, False)
        img.pixels[window[1]:window[3], window[0]:window[2]] = rgba[::-1]
        return self._add(img)

    def exists(self, path):
        return os.path.exists(str(path))

    def isdir(self, path):
        return os.path.isdir(str(path))

    def makedirs(self, path):
        os.makedirs(str(path), exist_ok=True)
        return True

    # -- for tests --------------------------------------------------------------------------
    def image_from_array(self, rgba_top_down: np.ndarray, window: tuple[int, int, int, int] | None = None,
                         depth: int = 7) -> int:
        h, w = rgba_top_down.shape[:2]
        window = window or (0, 0, w, h)
        img = _Img(w, h, depth, window, False)
        left, bottom, right, top = window
        flipped = np.asarray(rgba_top_down, np.float32)[::-1]
        img.pixels[bottom:top, left:right] = flipped[bottom:top, left:right]
        if depth == 7:
            img.pixels = img.pixels.astype(np.float16).astype(np.float32)
        return self._add(img)

    def to_array(self, image_id) -> tuple[np.ndarray, tuple[int, int, int, int], int]:
        img = self._data(image_id)
        return img.pixels[::-1].copy(), img.window, img.depth


class FuseTool:
    """One instance of the Fuse in a comp (its own Lua state)."""

    def __init__(self, host: "FuseHost", name: str) -> None:
        self.pixels = PixelHost()
        self.lua = luajit21.LuaRuntime(unpack_returned_tuples=True)
        g = self.lua.globals()
        g.FS_HOST = self.pixels
        self.lua.execute(ENV_LUA.read_text(encoding="utf-8"))
        self.lua.execute(host.source)
        self.registered = g.FS_REGISTERED
        self.tool = g.FS_MakeTool(name, host.comp_name, str(host.temp_dir))
        g.self = self.tool
        g.Create()
        self.g = g

    # -- inputs -----------------------------------------------------------------------------
    def input(self, script_name: str):
        inp = self.tool.inputs[script_name]
        if inp is None:
            raise KeyError(script_name)
        return inp

    def input_ids(self) -> list[str]:
        order = self.tool.order
        return [order[i] for i in range(1, len(order) + 1)]

    def set(self, script_name: str, value) -> None:
        inp = self.input(script_name)
        if inp.attrs.LINKID_DataType == "Number":
            self.g.FS_SetNumber(inp, value)
        else:
            inp.value = value

    def animate(self, script_name: str, keys: dict[int, float]) -> None:
        """Per-frame values (what a spline gives at each asked time)."""
        inp = self.input(script_name)
        inp.keys = self.lua.table_from(keys)

    def connect(self, script_name: str, rgba_top_down: np.ndarray | None,
                window: tuple[int, int, int, int] | None = None, depth: int = 7) -> None:
        inp = self.input(script_name)
        if rgba_top_down is None:
            inp.image = None
            return
        inp.image = self.g.FS_WrapImage(self.pixels.image_from_array(rgba_top_down, window, depth))

    def status(self) -> str:
        return str(self.input("Status").source_value or "")

    @property
    def console(self) -> list[str]:
        c = self.g.FS_CONSOLE
        return [c[i] for i in range(1, len(c) + 1)]

    # -- rendering --------------------------------------------------------------------------
    def _process(self, time: float, precalc: bool):
        req = self.g.FS_MakeRequest(time, precalc)
        self.g.FS_CURRENT_REQUEST = req
        out = self.tool.outputs["Output"]
        out.sets, out.image = 0, None
        self.g.self = self.tool
        try:
            self.g.Process(req)
        finally:
            self.g.FS_CURRENT_REQUEST = None
        if out.sets != 1:
            raise AssertionError(f"Process set the output {out.sets} times (Fusion needs exactly one)")
        return out.image

    def render(self, time: float) -> tuple[np.ndarray, tuple[int, int, int, int], int]:
        """The output at ``time``: ``(rgba top-down, data window, depth)``."""
        main = self.input("Input")
        if main.image is None:
            raise AssertionError("the main input is not connected: Fusion would not call Process")
        if self.registered.attrs.REG_SupportsDoD:
            pre = self._process(time, precalc=True)
            src_window = self.pixels.data_window(self.g.FS_ImageId(main.image))
            if self.pixels.data_window(self.g.FS_ImageId(pre)) != src_window:
                raise AssertionError("pre-calc output's data window differs from the input's")
            if not self.pixels._get(self.g.FS_ImageId(pre)).nodata:
                raise AssertionError("pre-calc request answered with pixels (IMG_NoData expected)")
        image = self._process(time, precalc=False)
        return self.pixels.to_array(self.g.FS_ImageId(image))


class FuseHost:
    """A comp that can hold instances of one Fuse file."""

    def __init__(self, fuse_path: Path, temp_dir: Path, comp_name: str = "Composition1") -> None:
        self.source = Path(fuse_path).read_text(encoding="utf-8")
        self.temp_dir = Path(temp_dir)
        self.comp_name = comp_name

    def add_tool(self, name: str = "FilmStyle1") -> FuseTool:
        return FuseTool(self, name)
