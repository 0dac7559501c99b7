"""Values the lower layers accept, defined once and free of heavy imports.

The parameter table (:mod:`filmstyle.job.params`) offers them to users; :mod:`filmstyle.io` and
:mod:`filmstyle.models` implement them. Importing this module costs nothing, so the command line
can build its options without loading OpenImageIO or torch.
"""

from __future__ import annotations

__all__ = ["BIT_DEPTHS", "PRECISIONS"]

#: Output depths: EXR half/float, integer bits for DPX/TIFF/PNG.
BIT_DEPTHS = ("half", "float", 8, 10, 12, 16)
#: Network precisions, see :mod:`filmstyle.models.device` (tf32 is CUDA only).
PRECISIONS = ("fp32", "fp16", "bf16", "tf32")
