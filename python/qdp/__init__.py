"""qdp: quickly deployable plugins, and the engine that runs them, from Python (SPEC §8).

Code written for TensorRT's QDP sample runs with its imports changed::

    import qdp as trt            # the engine API, under TensorRT's Python names
    import qdp.plugin as trtp    # the plugin API, under tensorrt.plugin's names
    from qdp.runner import create_network, engine_from_network, CreateConfig, TrtRunner

Errors are qdp.Error subclasses, one per core error code (qdp.InvalidArgumentError is also a
ValueError, qdp.NotFoundError a LookupError, ...), carrying the core's message.
"""

from __future__ import annotations

from . import _core
from ._core import DataType
from ._engine import *  # noqa: F403 -- the engine API is this package's namespace
from ._engine import __all__ as _engine_names
from ._errors import *  # noqa: F403
from ._errors import __all__ as _error_names

# TensorRT's aliases of the data types.
float32, float16, bfloat16 = DataType.FLOAT, DataType.HALF, DataType.BF16
int8, uint8, int32, int64 = DataType.INT8, DataType.UINT8, DataType.INT32, DataType.INT64
bool = DataType.BOOL  # noqa: A001 -- TensorRT's name, shadowing the builtin in this namespace only


def load_plugin_library(path: str) -> list[str]:
    """Loads a shared library of C++ plugin definitions; returns the plugin IDs it added."""
    return _core.load_plugin_library(str(path))


from . import plugin  # noqa: E402 -- `import qdp` makes qdp.plugin available, as tensorrt does

__all__ = [*_engine_names, *_error_names, "float32", "float16", "bfloat16", "int8", "uint8",
           "int32", "int64", "bool", "load_plugin_library", "plugin"]
