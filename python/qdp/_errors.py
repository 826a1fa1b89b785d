"""qdp's exceptions: one class per core error code, each also a subclass of the built-in
exception that fits it (``except ValueError`` catches an InvalidArgumentError). This table is the
one place that maps the core's codes to Python."""

from __future__ import annotations

import traceback

from . import _core

ErrorCode = _core.ErrorCode


class Error(Exception):
    """An error from qdp. ``str(e)`` is the full text; ``message`` is it without the context
    prefix; ``plugin``, ``layer`` and ``phase`` say where (empty where unknown)."""

    code: ErrorCode = ErrorCode.InvalidArgument

    def __init__(self, message: str, *, plugin: str = "", layer: str = "", phase: str = "",
                 text: str | None = None) -> None:
        super().__init__(text if text is not None else _prefix(plugin, layer, phase) + message)
        self.message = message
        self.plugin = plugin
        self.layer = layer
        self.phase = phase


class InvalidArgumentError(Error, ValueError):
    code = ErrorCode.InvalidArgument


class NotFoundError(Error, LookupError):
    code = ErrorCode.NotFound


class CorruptFileError(Error, ValueError):
    code = ErrorCode.CorruptFile


class VersionMismatchError(Error, ValueError):
    code = ErrorCode.VersionMismatch


class UnsupportedError(Error, NotImplementedError):
    code = ErrorCode.Unsupported


class OutOfMemoryError(Error, MemoryError):
    code = ErrorCode.OutOfMemory


class RuntimeFailureError(Error, RuntimeError):
    code = ErrorCode.RuntimeFailure


_BY_CODE: dict[ErrorCode, type[Error]] = {
    cls.code: cls
    for cls in (InvalidArgumentError, NotFoundError, CorruptFileError, VersionMismatchError,
                UnsupportedError, OutOfMemoryError, RuntimeFailureError)
}


def _prefix(plugin: str, layer: str, phase: str) -> str:
    # The same prefix as the core's: "layer 'x' (plugin a::b): impl: ".
    p = f"layer '{layer}'" if layer else ""
    if plugin:
        p += f" (plugin {plugin})" if p else f"plugin {plugin}"
    if phase:
        p += (": " if p else "") + phase
    return p + ": " if p else ""


def from_core(code: ErrorCode, message: str, plugin: str, layer: str, phase: str,
              text: str) -> Error:
    """The exception for a qdp::Error (called by the extension)."""
    return _BY_CODE[code](message, plugin=plugin, layer=layer, phase=phase, text=text)


def format_exception(exc: BaseException) -> str:
    """An exception raised by user code inside a plugin callable, as the core's message gets it."""
    summary = "".join(traceback.format_exception_only(exc)).strip()
    return summary + "\n" + "".join(traceback.format_exception(exc)).rstrip()


__all__ = ["Error", "ErrorCode", "InvalidArgumentError", "NotFoundError", "CorruptFileError",
           "VersionMismatchError", "UnsupportedError", "OutOfMemoryError", "RuntimeFailureError"]
