"""qdp.plugin: quickly deployable plugins in Python, under tensorrt.plugin's names (SPEC §8).

A plugin is a few decorated functions::

    import qdp.plugin as trtp

    @trtp.register("sample::elemwise_add_plugin")
    def add_desc(inp0: trtp.TensorDesc, block_size: int) -> trtp.TensorDesc:
        return inp0.like()

    @trtp.impl("sample::elemwise_add_plugin")
    def add_impl(inp0: trtp.Tensor, block_size: int, outputs: Tuple[trtp.Tensor], stream: int):
        np.add(np.asarray(inp0), 1, out=np.asarray(outputs[0]))

desc's parameters are the schema: those annotated TensorDesc are the inputs, every other one an
attribute typed by its annotation or its default. impl, autotune and aot_impl take the inputs,
any subset of the attributes, then ``outputs`` and (impl) ``stream`` and an optional ``tactic``;
their annotations may be omitted and are checked when present. Each definition becomes a core
PluginDefinition in the one registry that C++ plugins use too, as soon as it has an impl or an
aot_impl.
"""

from __future__ import annotations

import atexit
import collections.abc
import inspect
import typing
from typing import Any, Callable, Sequence, TypeVar

import numpy as np
import numpy.typing as npt

from . import _core
from ._core import (AutoTuneCombination, DataType, Shape, ShapeExpr, ShapeExprs, Tensor,
                    TensorDesc, TensorFormat, cdiv, from_shape_expr, max, min, size_tensor)
from ._errors import InvalidArgumentError, NotFoundError

AttrType = _core.AttrType
F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "register", "impl", "autotune", "aot_impl", "op", "TensorDesc", "Tensor", "Shape",
    "ShapeExpr", "ShapeExprs", "AutoTuneCombination", "KernelLaunchParams", "SymInt32",
    "SymExprs", "SymIntExprs", "from_shape_expr", "size_tensor", "cdiv", "max", "min",
    "DataType", "TensorFormat",
]

# ---- attribute types ------------------------------------------------------------------------

# Python's own widths: an int attribute is int64, a float one float64.
_SCALAR_TYPES: dict[type, AttrType] = {
    bool: AttrType.BOOL, int: AttrType.INT64, float: AttrType.FLOAT64,
    str: AttrType.STRING, bytes: AttrType.BYTES,
}
_ARRAY_TYPES: dict[np.dtype, AttrType] = {
    np.dtype(np.int8): AttrType.INT8S, np.dtype(np.int16): AttrType.INT16S,
    np.dtype(np.int32): AttrType.INT32S, np.dtype(np.int64): AttrType.INT64S,
    np.dtype(np.float16): AttrType.FLOAT16S, np.dtype(np.float32): AttrType.FLOAT32S,
    np.dtype(np.float64): AttrType.FLOAT64S, np.dtype(np.bool_): AttrType.BOOLS,
}
_SUPPORTED = ("int, float, bool, str, bytes, or npt.NDArray[np.<type>] with int8, int16, int32, "
              "int64, float16, float32, float64 or bool_")


def _attr_type_of_annotation(annotation: Any) -> AttrType | None:
    if annotation in _SCALAR_TYPES:
        return _SCALAR_TYPES[annotation]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    scalar: tuple[Any, ...] = ()
    if origin is npt.NDArray and args:  # npt.NDArray[np.int32] (a type alias in numpy >= 2.3)
        scalar = args[:1]
    elif origin is np.ndarray and args:  # np.ndarray[shape, np.dtype[np.int32]]
        scalar = typing.get_args(args[-1])
    if scalar:
        try:
            return _ARRAY_TYPES.get(np.dtype(scalar[0]))
        except TypeError:
            return None
    return None


def _attr_type_of_value(value: Any) -> AttrType | None:
    if isinstance(value, np.ndarray):
        return _ARRAY_TYPES.get(value.dtype) if value.ndim == 1 else None
    for t in (bool, int, float, str, bytes):  # bool first: it is an int too
        if isinstance(value, t):
            return _SCALAR_TYPES[t]
    return None


def _compatible(declared: AttrType, value_type: AttrType) -> bool:
    return declared == value_type or (declared == AttrType.FLOAT64 and value_type == AttrType.INT64)


def _annotation_name(annotation: Any) -> str:
    return getattr(annotation, "__qualname__", None) or repr(annotation)


# ---- signatures -------------------------------------------------------------------------------

_EMPTY = inspect.Parameter.empty


class _Where:
    """Names the plugin and the function in every message about it."""

    def __init__(self, plugin_id: str, role: str, fn: Callable[..., Any]) -> None:
        self.plugin_id, self.role = plugin_id, role
        self.fn_name = getattr(fn, "__qualname__", repr(fn))

    def error(self, message: str) -> InvalidArgumentError:
        return InvalidArgumentError(f"{self.role} {self.fn_name}: {message}", plugin=self.plugin_id)


def _parameters(fn: Callable[..., Any], where: _Where) -> tuple[list[inspect.Parameter], Any]:
    if not callable(fn):
        raise where.error(f"a {type(fn).__name__} is not a function")
    try:
        sig = inspect.signature(fn, eval_str=True)
    except (NameError, TypeError, ValueError) as e:
        raise where.error(f"cannot read its signature: {e}") from e
    params = list(sig.parameters.values())
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise where.error(f"parameter '{p.name}': *args and **kwargs are not supported; "
                              "name every input and attribute")
    return params, sig.return_annotation


def _is_sequence_of(annotation: Any, cls: type) -> bool:
    origin = typing.get_origin(annotation)
    if annotation in (tuple, list) or origin is None and annotation is collections.abc.Sequence:
        return True
    if origin not in (tuple, list, collections.abc.Sequence):
        return False
    return all(a is cls or a is Ellipsis for a in typing.get_args(annotation))


class _CalleePlan:
    """How to call an impl, autotune or aot_impl: which attributes it takes, in its order,
    and whether it takes a tactic."""

    def __init__(self, fn: Callable[..., Any], attr_names: list[str], takes_tactic: bool,
                 where: _Where) -> None:
        self.fn, self.attr_names, self.takes_tactic, self.where = fn, attr_names, takes_tactic, where


class _PluginDef:
    """A Python plugin definition: desc and what the other decorators attach to it. The extension
    reads id, num_inputs, num_outputs, attr_specs, impl_attrs_used, has_autotune and has_aot_impl,
    and calls the _run_* / _bind_impl methods from the builder and the runtime."""

    def __init__(self, plugin_id: str, desc: Callable[..., Any]) -> None:
        where = _Where(plugin_id, "desc", desc)
        params, returns = _parameters(desc, where)
        self.id = plugin_id
        self.desc_where = where
        self.desc_fn = desc
        self.input_names: list[str] = []
        self.attr_types: dict[str, AttrType] = {}
        self.attr_specs: list[tuple[str, AttrType, bool, Any]] = []
        self._desc_plan: list[tuple[bool, str | int]] = []  # (is input, index or attribute name)
        for p in params:
            if p.annotation is TensorDesc:
                self._desc_plan.append((True, len(self.input_names)))
                self.input_names.append(p.name)
                continue
            if p.annotation is Tensor:
                raise where.error(f"parameter '{p.name}' is annotated Tensor; desc describes its "
                                  "inputs with qdp.plugin.TensorDesc")
            attr_type = self._attr_type(p, where)
            self.attr_types[p.name] = attr_type
            self.attr_specs.append((p.name, attr_type, p.default is not _EMPTY,
                                    None if p.default is _EMPTY else p.default))
            self._desc_plan.append((False, p.name))
        if not self.input_names:
            raise where.error("no inputs: annotate each input parameter with qdp.plugin.TensorDesc")
        self.num_outputs = self._count_outputs(returns, where)
        self.impls: dict[str | None, _CalleePlan] = {}  # by device; None: every device
        self.autotune: _CalleePlan | None = None
        self.aot: _CalleePlan | None = None

    @staticmethod
    def _attr_type(p: inspect.Parameter, where: _Where) -> AttrType:
        from_default = _attr_type_of_value(p.default) if p.default is not _EMPTY else None
        if p.annotation is _EMPTY:
            if from_default is None:
                raise where.error(
                    f"parameter '{p.name}': the type of this attribute is unknown; annotate it "
                    f"({_SUPPORTED}) or give it a default (inputs are annotated "
                    "qdp.plugin.TensorDesc)")
            return from_default
        declared = _attr_type_of_annotation(p.annotation)
        if declared is None:
            raise where.error(f"parameter '{p.name}': {_annotation_name(p.annotation)} is not an "
                              f"attribute type; use {_SUPPORTED}")
        if p.default is not _EMPTY and (from_default is None or not _compatible(declared, from_default)):
            raise where.error(f"parameter '{p.name}': the default {p.default!r} is not a "
                              f"{declared.type_name}, the type its annotation gives")
        return declared

    @staticmethod
    def _count_outputs(returns: Any, where: _Where) -> int:
        if returns is TensorDesc:
            return 1
        args = typing.get_args(returns)
        if typing.get_origin(returns) is tuple and args and Ellipsis not in args and all(
                a is TensorDesc for a in args):
            return len(args)
        raise where.error("annotate its return type with the outputs it describes: "
                          "-> qdp.plugin.TensorDesc, or -> Tuple[TensorDesc, TensorDesc] for two")

    # -- what the extension reads -------------------------------------------------------------
    @property
    def num_inputs(self) -> int:
        return len(self.input_names)

    @property
    def impl_attrs_used(self) -> list[tuple[str, list[str]]]:
        return [(device, self._impl_for(device).attr_names)
                for device in ("cpu", "cuda") if self._impl_for(device) is not None]

    @property
    def has_autotune(self) -> bool:
        return self.autotune is not None

    @property
    def has_aot_impl(self) -> bool:
        return self.aot is not None

    @property
    def complete(self) -> bool:
        return bool(self.impls) or self.aot is not None

    def _impl_for(self, device: str) -> _CalleePlan | None:
        return self.impls.get(device) or self.impls.get(None)

    # -- attaching the other functions ----------------------------------------------------------
    def plan(self, fn: Callable[..., Any], role: str, input_cls: type,
             trailing: Sequence[str], optional: str | None) -> _CalleePlan:
        """Checks fn's parameters against desc: the inputs, then attributes of the plugin, then
        `trailing` (and `optional`, which may be left out)."""
        where = _Where(self.id, role, fn)
        params, _ = _parameters(fn, where)
        n_in = self.num_inputs
        shape = f"({', '.join(['<inputs>', '<attributes>', *trailing])}" + (
            f"[, {optional}])" if optional else ")")
        inputs = params[:n_in]
        for p in inputs:
            if p.name in self.attr_types or p.name in (*trailing, optional):
                raise where.error(
                    f"parameter '{p.name}' stands where input {inputs.index(p)} goes: the plugin has "
                    f"{n_in} input(s) ({', '.join(self.input_names)}), and {role} takes {shape}")
            if p.annotation is not _EMPTY and p.annotation is not input_cls:
                raise where.error(f"parameter '{p.name}' is input {inputs.index(p)} and is annotated "
                                  f"{_annotation_name(p.annotation)}; {role} receives inputs as "
                                  f"qdp.plugin.{input_cls.__name__}")
        rest = params[n_in:]
        attr_names: list[str] = []
        while rest and rest[0].name in self.attr_types:
            p = rest.pop(0)
            if p.annotation is not _EMPTY and _attr_type_of_annotation(p.annotation) != self.attr_types[p.name]:
                raise where.error(
                    f"parameter '{p.name}' is annotated {_annotation_name(p.annotation)}, but desc "
                    f"{self.desc_where.fn_name} declares the attribute as "
                    f"{self.attr_types[p.name].type_name}")
            attr_names.append(p.name)
        names = [p.name for p in rest]
        expected_names = [*trailing, optional][:len(rest)]
        if (len(rest) < len(trailing) or len(rest) > len(trailing) + (optional is not None)
                or names != expected_names):
            unknown = [n for n in names if n not in (*trailing, optional)]
            if len(params) < n_in:
                raise where.error(f"it takes {len(params)} parameter(s), fewer than the plugin's "
                                  f"{n_in} input(s) ({', '.join(self.input_names)}); {role} takes {shape}")
            if unknown:
                known = ", ".join(self.attr_types) or "none"
                raise where.error(f"parameter '{unknown[0]}' is not an attribute of the plugin (desc "
                                  f"{self.desc_where.fn_name} declares: {known}); {role} takes {shape}")
            raise where.error(f"after the inputs and attributes it takes ({', '.join(names)}); "
                              f"{role} takes {shape}")
        for p in rest:
            if p.annotation is _EMPTY:
                continue
            ok = _is_sequence_of(p.annotation, input_cls) if p is rest[0] else p.annotation is int
            if not ok:
                expected = f"Tuple[qdp.plugin.{input_cls.__name__}]" if p is rest[0] else "int"
                raise where.error(f"parameter '{p.name}' is annotated "
                                  f"{_annotation_name(p.annotation)}; it receives {expected}")
        return _CalleePlan(fn, attr_names, len(rest) > len(trailing), where)

    def sync(self) -> None:
        """Registers this definition in the core (again, after a change) once it can run."""
        if self.complete:
            _core.register_python_plugin(self)

    # -- what the builder and runtime call --------------------------------------------------------
    def _run_desc(self, inputs: list[TensorDesc], attrs: dict[str, Any]) -> list[TensorDesc]:
        args = [inputs[key] if is_input else attrs[key] for is_input, key in self._desc_plan]
        result = self.desc_fn(*args)
        outs = (result,) if isinstance(result, TensorDesc) else result
        if not isinstance(outs, (tuple, list)) or not all(isinstance(o, TensorDesc) for o in outs):
            raise self.desc_where.error(
                f"returned {_describe(result)}, not a TensorDesc: return descs made with like(), "
                "aliased(), from_shape_expr() or size_tensor() (a tuple of them for several outputs)")
        if len(outs) != self.num_outputs:
            raise self.desc_where.error(f"returned {len(outs)} output desc(s); its return "
                                        f"annotation declares {self.num_outputs}")
        return list(outs)

    def _args(self, plan: _CalleePlan, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
        return [*inputs, *(attrs[name] for name in plan.attr_names)]

    def _run_autotune(self, inputs: list[TensorDesc], attrs: dict[str, Any],
                      outputs: list[TensorDesc]) -> list[AutoTuneCombination]:
        assert self.autotune is not None
        result = self.autotune.fn(*self._args(self.autotune, inputs, attrs), tuple(outputs))
        if not isinstance(result, (list, tuple)) or not all(
                isinstance(c, AutoTuneCombination) for c in result):
            raise self.autotune.where.error(f"returned {_describe(result)}; autotune returns a list "
                                            "of qdp.plugin.AutoTuneCombination")
        return list(result)

    def _run_aot_impl(self, inputs: list[TensorDesc], attrs: dict[str, Any],
                      outputs: list[TensorDesc], tactic: int) -> tuple[Any, ...]:
        assert self.aot is not None
        args = [*self._args(self.aot, inputs, attrs), tuple(outputs)]
        if self.aot.takes_tactic:
            args.append(tactic)
        return _normalise_kernel(self.aot.fn(*args), self.aot.where)

    def _bind_impl(self, device: str, attrs: dict[str, Any]) -> tuple[Any, ...]:
        plan = self._impl_for(device)
        assert plan is not None
        return (plan.fn, tuple(attrs[name] for name in plan.attr_names), plan.takes_tactic,
                plan.where.fn_name)


def _describe(value: Any) -> str:
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} ({', '.join(type(v).__name__ for v in value)})"
    return "None" if value is None else f"a {type(value).__name__}"


# ---- the registry's Python half -----------------------------------------------------------------
# Definitions by ID, from register() on: the core registry holds each one as soon as it has an
# implementation, and knows nothing of those still waiting for one.
_definitions: dict[str, _PluginDef] = {}


def _existing(plugin_id: str, decorator: str) -> _PluginDef:
    _core.validate_plugin_id(plugin_id)
    definition = _definitions.get(plugin_id)
    if definition is not None:
        return definition
    if plugin_id in _core.plugin_ids():
        raise InvalidArgumentError(f"@{decorator}: plugin {plugin_id} is defined in C++ (or a plugin "
                                   "library); a Python function cannot be attached to it")
    raise NotFoundError(f"@{decorator}: plugin {plugin_id} is not registered: decorate its desc "
                        f"with @qdp.plugin.register(\"{plugin_id}\") first")


def register(plugin_id: str, lazy_register: bool = False) -> Callable[[F], F]:
    """Registers the decorated function as the desc of plugin `plugin_id` ("namespace::name"):
    it receives the inputs' TensorDescs and the attributes, and returns the outputs' descs.
    (`lazy_register` is accepted for compatibility; registration is always immediate.)"""
    _core.validate_plugin_id(plugin_id)

    def decorator(fn: F) -> F:
        if plugin_id in _definitions or plugin_id in _core.plugin_ids():
            raise InvalidArgumentError(f"plugin {plugin_id} is already registered: a plugin ID is "
                                       "registered once")
        _definitions[plugin_id] = _PluginDef(plugin_id, fn)
        return fn

    return decorator


def impl(plugin_id: str, device: str | None = None) -> Callable[[F], F]:
    """Attaches the decorated function as the JIT implementation: it receives the inputs'
    Tensors, the attributes it names, the outputs' Tensors, the stream (an int) and optionally
    the tactic. `device` ("cpu" or "cuda", a qdp extension) limits it to one backend; without it
    the function is the impl for every device that has no impl of its own."""
    if device not in (None, "cpu", "cuda"):
        raise InvalidArgumentError(f"@impl(\"{plugin_id}\"): device must be \"cpu\", \"cuda\" or "
                                   f"None, not {device!r}")

    def decorator(fn: F) -> F:
        definition = _existing(plugin_id, "impl")
        if device in definition.impls:
            raise InvalidArgumentError(
                f"plugin {plugin_id} already has an impl"
                f"{' for ' + device if device else ''}: {definition.impls[device].where.fn_name}")
        definition.impls[device] = definition.plan(fn, "impl", Tensor, ("outputs", "stream"), "tactic")
        definition.sync()
        return fn

    return decorator


def autotune(plugin_id: str) -> Callable[[F], F]:
    """Attaches the decorated function as the autotune definition: it receives the inputs'
    TensorDescs, the attributes it names and the outputs' TensorDescs, and returns a list of
    AutoTuneCombination."""

    def decorator(fn: F) -> F:
        definition = _existing(plugin_id, "autotune")
        if definition.autotune is not None:
            raise InvalidArgumentError(f"plugin {plugin_id} already has an autotune: "
                                       f"{definition.autotune.where.fn_name}")
        definition.autotune = definition.plan(fn, "autotune", TensorDesc, ("outputs",), None)
        definition.sync()
        return fn

    return decorator


def aot_impl(plugin_id: str) -> Callable[[F], F]:
    """Attaches the decorated function as the AOT implementation: it receives the inputs'
    TensorDescs, the attributes it names, the outputs' TensorDescs and optionally the tactic, and
    returns (kernel name, code, KernelLaunchParams, SymExprs): code is CUDA C++ source, PTX (e.g.
    triton.compile(...).asm["ptx"]) or a cubin; the SymExprs are the kernel's extra int32
    arguments, which come after its input pointers and before its output pointers."""

    def decorator(fn: F) -> F:
        definition = _existing(plugin_id, "aot_impl")
        if definition.aot is not None:
            raise InvalidArgumentError(f"plugin {plugin_id} already has an aot_impl: "
                                       f"{definition.aot.where.fn_name}")
        definition.aot = definition.plan(fn, "aot_impl", TensorDesc, ("outputs",), "tactic")
        definition.sync()
        return fn

    return decorator


def _unregister(plugin_id: str) -> None:
    """Forgets a plugin (for tests): the Python definition and the core's."""
    _definitions.pop(plugin_id, None)
    _core.unregister_plugin(plugin_id)


# The registry is a C++ static that outlives the interpreter: drop its Python callables first.
atexit.register(_core.unregister_python_plugins)

# ---- AOT kernels ----------------------------------------------------------------------------------

class KernelLaunchParams:
    """How an AOT kernel is launched: grid and block dimensions and dynamic shared memory in
    bytes, each an int or a ShapeExpr (evaluated when the input shapes are known)."""

    _FIELDS = ("grid_x", "grid_y", "grid_z", "block_x", "block_y", "block_z", "shared_mem")

    def __init__(self, grid_x: int | ShapeExpr = 1, grid_y: int | ShapeExpr = 1,
                 grid_z: int | ShapeExpr = 1, block_x: int | ShapeExpr = 1,
                 block_y: int | ShapeExpr = 1, block_z: int | ShapeExpr = 1,
                 shared_mem: int | ShapeExpr = 0) -> None:
        self.grid_x, self.grid_y, self.grid_z = grid_x, grid_y, grid_z
        self.block_x, self.block_y, self.block_z = block_x, block_y, block_z
        self.shared_mem = shared_mem

    def __repr__(self) -> str:
        return "KernelLaunchParams(" + ", ".join(f"{f}={getattr(self, f)}" for f in self._FIELDS) + ")"


class SymInt32:
    """A 32-bit integer expression: an extra scalar argument of an AOT kernel."""

    def __init__(self, value: int | ShapeExpr | SymInt32) -> None:
        expr = value.expr if isinstance(value, SymInt32) else value
        if not isinstance(expr, (int, ShapeExpr)) or isinstance(expr, bool):
            raise InvalidArgumentError(f"SymInt32 takes an int or a ShapeExpr, not a {type(value).__name__}")
        self.expr: ShapeExpr = ShapeExpr(expr) if isinstance(expr, int) else expr

    def __repr__(self) -> str:
        return f"SymInt32({self.expr})"


class SymExprs:
    """A fixed-length list of symbolic scalars (the extra arguments of an AOT kernel)."""

    def __init__(self, length: int = 0) -> None:
        self._items: list[SymInt32 | None] = [None] * length

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i: int) -> SymInt32 | None:
        return self._items[i]

    def __setitem__(self, i: int, value: int | ShapeExpr | SymInt32) -> None:
        self._items[i] = SymInt32(value)

    def __iter__(self) -> typing.Iterator[SymInt32 | None]:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._items})"


class SymIntExprs(SymExprs):
    """SymExprs of 32-bit integers."""

    @classmethod
    def from_tuple(cls, values: Sequence[int | ShapeExpr | SymInt32]) -> SymIntExprs:
        exprs = cls(len(values))
        for i, v in enumerate(values):
            exprs[i] = v
        return exprs


def _extent(value: Any, what: str, where: _Where) -> ShapeExpr:
    if isinstance(value, ShapeExpr):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return ShapeExpr(int(value))
    raise where.error(f"{what} is a {type(value).__name__}; expected an int or a ShapeExpr")


def _normalise_kernel(result: Any, where: _Where) -> tuple[Any, ...]:
    """aot_impl's result in the one shape the extension reads."""
    expected = "aot_impl returns (kernel name, code, KernelLaunchParams, SymExprs)"
    if not isinstance(result, tuple) or len(result) != 4:
        raise where.error(f"returned {_describe(result)}; {expected}")
    name, code, launch, extra = result
    if isinstance(name, bytes):
        name = name.decode()
    if not isinstance(name, str) or not name:
        raise where.error(f"the kernel name is {_describe(name)}, not a non-empty str; {expected}")
    if isinstance(code, str):
        code = code.encode()
    if not isinstance(code, bytes) or not code:
        raise where.error(f"the kernel code is {_describe(code)}, not non-empty str or bytes; {expected}")
    if code.startswith(b"\x7fELF"):
        kind = "cubin"
    elif b".entry" in code and b".version" in code:
        kind = "ptx"
    else:
        kind = "cuda"
    if not isinstance(launch, KernelLaunchParams):
        raise where.error(f"the launch parameters are {_describe(launch)}, not a "
                          f"qdp.plugin.KernelLaunchParams; {expected}")
    if isinstance(extra, SymExprs):
        items = list(extra)
    elif isinstance(extra, (tuple, list)):
        items = [SymInt32(v) if not isinstance(v, SymInt32) else v for v in extra]
    else:
        raise where.error(f"the extra arguments are {_describe(extra)}, not a qdp.plugin.SymExprs; "
                          f"{expected}")
    for i, item in enumerate(items):
        if item is None:
            raise where.error(f"extra argument {i} of {len(items)} was never set")
    f = [_extent(getattr(launch, name_), f"KernelLaunchParams.{name_}", where)
         for name_ in KernelLaunchParams._FIELDS]
    return (name, code, kind, tuple(f[0:3]), tuple(f[3:6]), f[6], [s.expr for s in items])


# ---- op.<namespace>.<name>(...) ---------------------------------------------------------------------


class OpCall:
    """A plugin applied to network tensors with attribute values: what network.add_plugin takes."""

    def __init__(self, plugin_id: str, inputs: tuple[Any, ...], attrs: _core.AttrSet) -> None:
        self.plugin_id, self.inputs, self.attrs = plugin_id, inputs, attrs

    def __repr__(self) -> str:
        return f"op.{self.plugin_id.replace('::', '.')}({len(self.inputs)} input(s), {self.attrs})"


class _Op:
    def __init__(self, plugin_id: str) -> None:
        self.plugin_id = plugin_id

    def __call__(self, *inputs: Any, **attrs: Any) -> OpCall:
        pending = _definitions.get(self.plugin_id)
        if pending is not None and not pending.complete:
            raise InvalidArgumentError(f"op.{self.plugin_id.replace('::', '.')}: the plugin has a "
                                       "desc but no impl or aot_impl yet; define one first",
                                       plugin=self.plugin_id)
        schema = _core.plugin_schema(self.plugin_id)  # NotFoundError naming how to define it
        if len(inputs) != schema["num_inputs"]:
            raise InvalidArgumentError(f"op.{self.plugin_id.replace('::', '.')}: the plugin takes "
                                       f"{schema['num_inputs']} input(s), {len(inputs)} given",
                                       plugin=self.plugin_id)
        return OpCall(self.plugin_id, inputs, _core.resolve_attrs(self.plugin_id, attrs))

    def __repr__(self) -> str:
        return f"<op {self.plugin_id}>"


class _Namespace:
    def __init__(self, namespace: str) -> None:
        self._namespace = namespace

    def __getattr__(self, name: str) -> _Op:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Op(f"{self._namespace}::{name}")


class _Ops:
    """op.<namespace>.<name>(*inputs, **attrs): the plugin `namespace::name` applied."""

    def __getattr__(self, namespace: str) -> _Namespace:
        if namespace.startswith("__"):
            raise AttributeError(namespace)
        return _Namespace(namespace)


op = _Ops()
