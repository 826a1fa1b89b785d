"""The engine API under TensorRT's Python names (SPEC §8): Logger, Builder, the network and its
tensors and layers, the builder config and its flags, profiles, the ONNX parser, the runtime.
Engines and execution contexts are the extension's ICudaEngine and IExecutionContext."""

from __future__ import annotations

import enum
import os
import sys
from typing import Any, Sequence

import numpy as np

from . import _core
from ._core import DataType, ICudaEngine, IExecutionContext, TensorFormat, TensorIOMode
from ._errors import Error, InvalidArgumentError

_NUMPY = {DataType.FLOAT: np.float32, DataType.HALF: np.float16, DataType.INT8: np.int8,
          DataType.UINT8: np.uint8, DataType.INT32: np.int32, DataType.INT64: np.int64,
          DataType.BOOL: np.bool_}


def nptype(dtype: DataType) -> type:
    """The numpy scalar type of a DataType."""
    try:
        return _NUMPY[dtype]
    except KeyError:
        raise TypeError(f"{dtype} has no numpy type (numpy has no bfloat16)") from None


def from_numpy_dtype(dtype: Any) -> DataType:
    d = np.dtype(dtype)
    for t, n in _NUMPY.items():
        if np.dtype(n) == d:
            return t
    raise InvalidArgumentError(f"numpy dtype {d} has no qdp DataType")


def default_device() -> str:
    """cuda where a GPU is usable, else cpu."""
    return "cuda" if _core.cuda_available() else "cpu"


class Logger:
    """Prints messages at or above min_severity as "[I] ..." lines on stdout. Subclass it and
    override log() to send them elsewhere."""

    class Severity(enum.IntEnum):
        INTERNAL_ERROR = 0
        ERROR = 1
        WARNING = 2
        INFO = 3
        VERBOSE = 4

    INTERNAL_ERROR = Severity.INTERNAL_ERROR
    ERROR = Severity.ERROR
    WARNING = Severity.WARNING
    INFO = Severity.INFO
    VERBOSE = Severity.VERBOSE

    def __init__(self, min_severity: Logger.Severity = Severity.WARNING) -> None:
        self.min_severity = Logger.Severity(min_severity)

    def log(self, severity: int, msg: str) -> None:
        print(f"[{'FEWIV'[severity]}] {msg}", file=sys.stdout)


class BuilderFlag(enum.IntEnum):
    FP16 = 0             # the standard operators may run in FP16 (plugins' own changes: always)
    BF16 = 1             # ... or in BF16; with both, the faster of the two
    STRICT_TYPES = 2     # keep the network's declared types: tune formats and tactics only
    OBEY_PRECISION_CONSTRAINTS = 3  # the same as STRICT_TYPES here
    PREFER_AOT_PYTHON_PLUGINS = 4   # plugins with both implementations use their aot_impl
    PREFER_JIT_PYTHON_PLUGINS = 5   # ... or their impl


class PreviewFeature(enum.IntEnum):
    """Accepted for code written for TensorRT; qdp has these behaviours without asking."""
    PROFILE_SHARING_0806 = 0
    ALIASED_PLUGIN_IO_10_03 = 1
    RUNTIME_ACTIVATION_RESIZE_10_10 = 2


class NetworkDefinitionCreationFlag(enum.IntEnum):
    EXPLICIT_BATCH = 0
    STRONGLY_TYPED = 1


class ITensor:
    """A tensor of a network: an input or a layer's output. Name an output before marking it."""

    def __init__(self, network: INetworkDefinition, ref: _core.TensorRef, name: str,
                 dtype: DataType | None = None, shape: tuple[int, ...] | None = None) -> None:
        self._network, self._ref, self._name = network, ref, name
        self.dtype, self.shape = dtype, shape
        self._marked = False

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        if self._marked:
            raise InvalidArgumentError(f"tensor '{self._name}' is already a network output under "
                                       "that name; name it before mark_output")
        self._name = value

    @property
    def is_network_input(self) -> bool:
        return any(t is self for t in self._network._inputs)

    def __repr__(self) -> str:
        return f"ITensor({self._name!r})"


class IPluginV3Layer:
    """A plugin layer of a network."""

    def __init__(self, name: str, plugin_id: str, outputs: list[ITensor]) -> None:
        self.name, self.plugin_id, self._outputs = name, plugin_id, outputs

    @property
    def num_outputs(self) -> int:
        return len(self._outputs)

    def get_output(self, index: int) -> ITensor:
        return self._outputs[index]


class INetworkDefinition:
    """A network of plugin layers, built with add_input / add_plugin / mark_output or parsed
    from ONNX."""

    def __init__(self) -> None:
        self._net = _core.Network()
        self._inputs: list[ITensor] = []
        self._outputs: list[ITensor] = []
        self._layers: list[IPluginV3Layer] = []

    def add_input(self, name: str, dtype: DataType, shape: Sequence[int]) -> ITensor:
        dims = tuple(int(d) for d in shape)
        t = ITensor(self, self._net.add_input(name, dtype, list(dims)), name, dtype, dims)
        self._inputs.append(t)
        return t

    def add_plugin(self, op_call: Any, aot: bool | None = None) -> IPluginV3Layer:
        """Adds the layer op.<ns>.<name>(inputs..., attrs...). aot=True / False picks the AOT or
        the JIT implementation; None leaves it to the plugin (the one it has) or the builder
        flags."""
        from .plugin import OpCall  # the plugin module imports this one

        if not isinstance(op_call, OpCall):
            raise InvalidArgumentError(f"add_plugin takes op.<namespace>.<name>(...), not "
                                       f"{type(op_call).__name__}")
        for i, t in enumerate(op_call.inputs):
            if not isinstance(t, ITensor) or t._network is not self:
                raise InvalidArgumentError(f"add_plugin: input {i} of {op_call.plugin_id} is not a "
                                           "tensor of this network")
        choice = {None: _core.ImplChoice.DEFAULT, True: _core.ImplChoice.AOT,
                  False: _core.ImplChoice.JIT}[aot]
        refs = self._net.add_plugin(op_call.plugin_id, [t._ref for t in op_call.inputs],
                                    op_call.attrs, "", choice)
        name = self._net.layers[-1][0]
        outputs = [ITensor(self, r, f"{name}_out{i}") for i, r in enumerate(refs)]
        layer = IPluginV3Layer(name, op_call.plugin_id, outputs)
        self._layers.append(layer)
        return layer

    def mark_output(self, tensor: ITensor) -> None:
        self._net.mark_output(tensor._ref, tensor.name)
        tensor._marked = True
        self._outputs.append(tensor)

    @property
    def num_inputs(self) -> int:
        return len(self._net.inputs)

    @property
    def num_outputs(self) -> int:
        return len(self._net.outputs)

    @property
    def num_layers(self) -> int:
        return len(self._net.layers)

    def get_input(self, index: int) -> ITensor:
        return self._inputs[index]

    def get_output(self, index: int) -> ITensor:
        return self._outputs[index]

    def get_layer(self, index: int) -> IPluginV3Layer:
        return self._layers[index]

    def _adopt(self, net: _core.Network) -> None:
        """Takes the network an ONNX import built."""
        if self._net.inputs or self._net.layers:
            raise InvalidArgumentError("an ONNX model is parsed into an empty network")
        self._net = net
        self._inputs = [ITensor(self, ref, name, dtype, dims) for name, dtype, dims, ref in net.inputs]
        self._outputs = [ITensor(self, ref, name) for name, ref in net.outputs]
        for t in self._outputs:
            t._marked = True


class IOptimizationProfile:
    """min/opt/max shapes of the network's dynamic inputs; the builder autotunes at opt."""

    def __init__(self) -> None:
        self._shapes: dict[str, tuple[tuple[int, ...], ...]] = {}

    def set_shape(self, input: str, min: Sequence[int], opt: Sequence[int], max: Sequence[int]) -> None:  # noqa: A002
        self._shapes[input] = (tuple(min), tuple(opt), tuple(max))

    def get_shape(self, input: str) -> list[tuple[int, ...]]:  # noqa: A002
        return list(self._shapes[input])


class ITimingCache:
    """The autotuner's timings, kept between builds (qdp::TimingCache): per candidate of a layer,
    keyed by the layer's signature, for one device and qdp version. A build given the cache
    reuses its timings and adds the ones it measures; a cache of another device or version is
    ignored with a warning (and replaced by the build's timings)."""

    def __init__(self, core: _core.TimingCache | None = None) -> None:
        self._core = core if core is not None else _core.TimingCache()

    def serialize(self) -> memoryview:
        return memoryview(self._core.serialize())

    def combine(self, input_cache: ITimingCache, ignore_mismatch: bool) -> bool:
        """Adds input_cache's timings; False (nothing added) when it belongs to another device
        or qdp version (timings of another device are never mixed in, ignore_mismatch or not)."""
        try:
            self._core.combine(input_cache._core)
        except Error:
            return False
        return True

    def reset(self) -> bool:
        self._core.clear()
        return True

    @property
    def size(self) -> int:
        return self._core.size

    @property
    def device(self) -> str:
        return self._core.device


class IBuilderConfig:
    """How to build: the device (config.device = "cpu" / "cuda"), flags, profiles, the timing
    cache."""

    def __init__(self) -> None:
        self.device: str = default_device()
        self._flags: set[BuilderFlag] = set()
        self._preview: dict[PreviewFeature, Any] = {}
        self._profiles: list[IOptimizationProfile] = []
        self.warmup_runs, self.timed_runs = 1, 3
        self._timing_cache: ITimingCache | None = None

    def create_timing_cache(self, serialized_timing_cache: bytes = b"") -> ITimingCache:
        """An empty cache, or the one serialize() wrote (a corrupt one raises qdp.Error)."""
        data = bytes(serialized_timing_cache)
        if not data:
            return ITimingCache()
        return ITimingCache(_core.TimingCache.deserialize(data, "the serialized timing cache"))

    def set_timing_cache(self, cache: ITimingCache | None, ignore_mismatch: bool = False) -> bool:
        """Builds with this config reuse and update `cache`. ignore_mismatch is TensorRT's: here
        a cache of another device is always ignored with a warning, never used."""
        self._timing_cache = cache
        return True

    def get_timing_cache(self) -> ITimingCache | None:
        return self._timing_cache

    def set_flag(self, flag: BuilderFlag) -> None:
        self._flags.add(BuilderFlag(flag))

    def clear_flag(self, flag: BuilderFlag) -> None:
        self._flags.discard(BuilderFlag(flag))

    def get_flag(self, flag: BuilderFlag) -> Any:
        return BuilderFlag(flag) in self._flags

    def set_preview_feature(self, feature: PreviewFeature, enable: Any) -> None:
        self._preview[PreviewFeature(feature)] = enable

    def get_preview_feature(self, feature: PreviewFeature) -> Any:
        return self._preview.get(PreviewFeature(feature), True)

    def add_optimization_profile(self, profile: IOptimizationProfile) -> int:
        self._profiles.append(profile)
        return len(self._profiles) - 1

    @property
    def num_optimization_profiles(self) -> int:
        return len(self._profiles)

    def _core_config(self) -> _core.BuildConfig:
        c = _core.BuildConfig()
        devices = {"cpu": _core.Device.CPU, "cuda": _core.Device.CUDA}
        if self.device not in devices:
            raise InvalidArgumentError(f"config.device must be \"cpu\" or \"cuda\", not {self.device!r}")
        c.device = devices[self.device]
        c.strict_types = bool(self._flags & {BuilderFlag.STRICT_TYPES,
                                             BuilderFlag.OBEY_PRECISION_CONSTRAINTS})
        c.fp16 = BuilderFlag.FP16 in self._flags  # the standard operators may run in FP16
        c.bf16 = BuilderFlag.BF16 in self._flags  # ... or in BF16
        aot, jit = (f in self._flags for f in (BuilderFlag.PREFER_AOT_PYTHON_PLUGINS,
                                                BuilderFlag.PREFER_JIT_PYTHON_PLUGINS))
        if aot and jit:
            raise InvalidArgumentError("PREFER_AOT_PYTHON_PLUGINS and PREFER_JIT_PYTHON_PLUGINS "
                                       "are exclusive: set one")
        c.preference = (_core.ImplPreference.PREFER_AOT if aot else
                        _core.ImplPreference.PREFER_JIT if jit else _core.ImplPreference.NONE)
        c.warmup_runs, c.timed_runs = self.warmup_runs, self.timed_runs
        return c


class Builder:
    def __init__(self, logger: Logger | None = None) -> None:
        self.logger = logger

    def create_network(self, flags: int = 0) -> INetworkDefinition:
        return INetworkDefinition()

    def create_builder_config(self) -> IBuilderConfig:
        return IBuilderConfig()

    def create_optimization_profile(self) -> IOptimizationProfile:
        return IOptimizationProfile()

    def build_engine_with_config(self, network: INetworkDefinition, config: IBuilderConfig) -> ICudaEngine:
        net = network._net
        if config._profiles:
            net = net.copy()
            for profile in config._profiles:
                for name, (mn, opt, mx) in profile._shapes.items():
                    net.set_profile(name, list(mn), list(opt), list(mx))
        cache = config._timing_cache._core if config._timing_cache is not None else None
        return _core.build_engine(net, config._core_config(), self.logger, cache)

    def build_serialized_network(self, network: INetworkDefinition, config: IBuilderConfig) -> bytes:
        return self.build_engine_with_config(network, config).serialize()


class ParserError:
    def __init__(self, error: Error) -> None:
        self._error = error

    def desc(self) -> str:
        return str(self._error)

    def code(self) -> Any:
        return self._error.code

    def __str__(self) -> str:
        return self.desc()


class OnnxParser:
    """Fills a network from an ONNX model whose nodes are plugins (op_type = plugin name,
    attribute plugin_namespace = its namespace). parse() returns False on failure and keeps the
    errors (num_errors, get_error)."""

    def __init__(self, network: INetworkDefinition, logger: Logger | None = None) -> None:
        self._network = network
        self._errors: list[ParserError] = []

    def _run(self, load: Any) -> bool:
        try:
            self._network._adopt(load())
        except Error as e:
            self._errors.append(ParserError(e))
            return False
        return True

    def parse(self, model: bytes, path: str | None = None) -> bool:
        return self._run(lambda: _core.import_onnx_bytes(bytes(model), path or "<memory>"))

    def parse_from_file(self, model: str | os.PathLike[str]) -> bool:
        return self._run(lambda: _core.import_onnx(os.fspath(model)))

    @property
    def num_errors(self) -> int:
        return len(self._errors)

    def get_error(self, index: int) -> ParserError:
        return self._errors[index]

    def clear_errors(self) -> None:
        self._errors.clear()


class Runtime:
    def __init__(self, logger: Logger | None = None) -> None:
        self.logger = logger

    def deserialize_cuda_engine(self, serialized_engine: bytes | bytearray | memoryview) -> ICudaEngine:
        """The engine in these bytes. Unlike TensorRT, a bad engine raises (a qdp.Error saying
        what is wrong) instead of returning None."""
        return ICudaEngine.deserialize(bytes(serialized_engine))


class IOutputAllocator:
    """Provides an output's memory once its size is known (data-dependent shapes): override
    reallocate_output to return an address of at least `size` bytes and notify_shape to learn
    the output's shape."""

    def reallocate_output(self, tensor_name: str, memory: int, size: int, alignment: int) -> int:
        raise NotImplementedError

    def notify_shape(self, tensor_name: str, shape: Sequence[int]) -> None:
        raise NotImplementedError


__all__ = [
    "DataType", "TensorFormat", "TensorIOMode", "nptype", "from_numpy_dtype", "default_device", "Logger",
    "BuilderFlag", "PreviewFeature", "NetworkDefinitionCreationFlag", "ITensor",
    "IPluginV3Layer", "INetworkDefinition", "IOptimizationProfile", "ITimingCache", "IBuilderConfig",
    "Builder",
    "ParserError", "OnnxParser", "Runtime", "ICudaEngine", "IExecutionContext",
    "IOutputAllocator",
]
