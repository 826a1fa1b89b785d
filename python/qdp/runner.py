"""qdp.runner: the helpers of Polygraphy's TensorRT backend that the seed uses, with their names
and meaning, so that a runner written against Polygraphy ports by changing its imports::

    from qdp.runner import create_network, engine_from_network, network_from_onnx_path, \\
        CreateConfig, TrtRunner, bytes_from_engine, engine_from_bytes, bytes_from_path
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from . import _core
from ._core import ICudaEngine, TensorIOMode
from ._engine import (Builder, BuilderFlag, IBuilderConfig, INetworkDefinition, IOutputAllocator,
                      Logger, OnnxParser, PreviewFeature, default_device, nptype)
from ._errors import Error, InvalidArgumentError

__all__ = ["create_network", "network_from_onnx_path", "Profile", "CreateConfig",
           "engine_from_network", "engine_from_bytes", "bytes_from_engine", "bytes_from_path",
           "save_engine", "TrtRunner", "DeviceArray"]


def create_network(strongly_typed: bool = False, explicit_batch: bool = True,
                   logger: Logger | None = None) -> tuple[Builder, INetworkDefinition]:
    """A builder and an empty network."""
    builder = Builder(logger)
    return builder, builder.create_network()


def network_from_onnx_path(path: str | os.PathLike[str], strongly_typed: bool = False,
                           logger: Logger | None = None) -> tuple[Builder, INetworkDefinition, OnnxParser]:
    """A builder, the network parsed from the ONNX file and its parser. A model that does not
    parse raises the parser's error."""
    builder, network = create_network(strongly_typed, logger=logger)
    parser = OnnxParser(network, logger)
    if not parser.parse_from_file(path):
        raise parser.get_error(0)._error
    return builder, network, parser


class Profile(dict):  # type: ignore[type-arg]
    """min/opt/max shapes by input name: Profile().add("x", min=..., opt=..., max=...)."""

    def add(self, name: str, min: Sequence[int], opt: Sequence[int], max: Sequence[int]) -> Profile:  # noqa: A002
        self[name] = (tuple(min), tuple(opt), tuple(max))
        return self


class CreateConfig:
    """Makes a builder config: CreateConfig(fp16=..., bf16=..., preview_features=..., device=...)
    and strict_types, profiles, prefer_aot (True / False / None: the plugin's own or an error
    when it has both)."""

    def __init__(self, fp16: bool = False, strict_types: bool = False,
                 preview_features: Sequence[PreviewFeature] | None = None,
                 device: str | None = None, profiles: Sequence[Profile] | None = None,
                 prefer_aot: bool | None = None, bf16: bool = False) -> None:
        self.fp16, self.bf16, self.strict_types = fp16, bf16, strict_types
        self.preview_features = list(preview_features or [])
        self.device = device or default_device()
        self.profiles = list(profiles or [])
        self.prefer_aot = prefer_aot

    def __call__(self, builder: Builder, network: INetworkDefinition) -> IBuilderConfig:
        config = builder.create_builder_config()
        config.device = self.device
        if self.fp16:
            config.set_flag(BuilderFlag.FP16)
        if self.bf16:
            config.set_flag(BuilderFlag.BF16)
        if self.strict_types:
            config.set_flag(BuilderFlag.STRICT_TYPES)
        if self.prefer_aot is not None:
            config.set_flag(BuilderFlag.PREFER_AOT_PYTHON_PLUGINS if self.prefer_aot
                            else BuilderFlag.PREFER_JIT_PYTHON_PLUGINS)
        for feature in self.preview_features:
            config.set_preview_feature(feature, True)
        for p in self.profiles:
            profile = builder.create_optimization_profile()
            for name, (mn, opt, mx) in p.items():
                profile.set_shape(name, mn, opt, mx)
            config.add_optimization_profile(profile)
        return config


def engine_from_network(network: Sequence[Any], config: CreateConfig | IBuilderConfig | None = None) -> ICudaEngine:
    """Builds the engine of (builder, network) or (builder, network, parser)."""
    builder, net = network[0], network[1]
    if config is None:
        config = CreateConfig()
    built = config if isinstance(config, IBuilderConfig) else config(builder, net)
    return builder.build_engine_with_config(net, built)


def bytes_from_engine(engine: ICudaEngine) -> bytes:
    return engine.serialize()


def engine_from_bytes(serialized_engine: bytes | bytearray | memoryview) -> ICudaEngine:
    return ICudaEngine.deserialize(bytes(serialized_engine))


def bytes_from_path(path: str | os.PathLike[str]) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def save_engine(engine: ICudaEngine, path: str | os.PathLike[str]) -> ICudaEngine:
    """Writes the engine file atomically (a temporary name, then a rename)."""
    engine.save(os.fspath(path))
    return engine


class DeviceArray:
    """An output left on the GPU (infer(..., copy_outputs_to_host=False)): zero-copy for torch
    and cupy through __cuda_array_interface__; numpy() copies it to the host."""

    def __init__(self, buffer: _core.DeviceBuffer, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self._buffer, self.shape, self.dtype = buffer, shape, np.dtype(dtype)

    @property
    def ptr(self) -> int:
        return self._buffer.ptr

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    @property
    def __cuda_array_interface__(self) -> dict[str, Any]:
        return {"shape": self.shape, "typestr": self.dtype.str, "data": (self.ptr, False),
                "strides": None, "version": 3, "stream": None}

    def numpy(self) -> np.ndarray:
        out = np.empty(self.shape, self.dtype)
        self._buffer.copy_to_host(out.reshape(-1).view(np.uint8))
        return out


class _OutputAllocator(IOutputAllocator):
    """Memory for a data-dependent output, grown as needed and reused across runs."""

    def __init__(self, device: str) -> None:
        self.device, self.shape = device, ()
        self.buffer: Any = None

    def reallocate_output(self, tensor_name: str, memory: int, size: int, alignment: int) -> int:
        size = max(size, 1)
        if self.device == "cpu":
            if self.buffer is None or self.buffer.nbytes < size:
                self.buffer = np.empty(size, np.uint8)
            return int(self.buffer.ctypes.data)
        if self.buffer is None or self.buffer.nbytes < size:
            self.buffer = _core.DeviceBuffer(_core.Device.CUDA, size)
        return int(self.buffer.ptr)

    def notify_shape(self, tensor_name: str, shape: Sequence[int]) -> None:
        self.shape = tuple(shape)


def _contiguous_strides(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    strides, s = [], itemsize
    for d in reversed(shape):
        strides.append(s)
        s *= d
    return tuple(reversed(strides))


class TrtRunner:
    """Runs an engine on feeds of arrays: with TrtRunner(engine) as runner: runner.infer({...}).
    `engine` may also be a callable that returns one (a loader)."""

    def __init__(self, engine: ICudaEngine | Callable[[], ICudaEngine], name: str | None = None,
                 optimization_profile: int | None = None) -> None:
        self._engine_or_loader = engine
        self.name = name or "qdp-runner"
        self.engine: ICudaEngine | None = None
        self.context: Any = None
        self._inference_time: float | None = None
        self._device_inputs: dict[str, _core.DeviceBuffer] = {}
        self._allocators: dict[str, _OutputAllocator] = {}
        self._sized: set[str] = set()  # outputs whose shape follows from the input shapes

    def __enter__(self) -> TrtRunner:
        self.activate()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.deactivate()

    def activate(self) -> None:
        e = self._engine_or_loader
        self.engine = e if isinstance(e, ICudaEngine) else e()
        self.context = self.engine.create_execution_context()

    def deactivate(self) -> None:
        self.context, self._device_inputs, self._allocators, self._sized = None, {}, {}, set()

    def last_inference_time(self) -> float | None:
        return self._inference_time

    def get_input_metadata(self) -> dict[str, tuple[np.dtype, tuple[int, ...]]]:
        engine = self._active()
        return {n: (np.dtype(nptype(engine.get_tensor_dtype(n))), engine.get_tensor_shape(n))
                for n in self._names(TensorIOMode.INPUT)}

    def _active(self) -> ICudaEngine:
        if self.engine is None:
            raise InvalidArgumentError(f"{self.name}: activate the runner first (use it in a with "
                                       "block, or call activate())")
        return self.engine

    def _names(self, mode: TensorIOMode) -> list[str]:
        engine = self._active()
        return [n for n in (engine.get_tensor_name(i) for i in range(engine.num_io_tensors))
                if engine.get_tensor_mode(n) == mode]

    def infer(self, feed_dict: Mapping[str, Any], check_inputs: bool = True,
              copy_outputs_to_host: bool = True) -> dict[str, Any]:
        """Runs the engine on `feed_dict` (numpy arrays, or device arrays with
        __cuda_array_interface__ on a CUDA engine) and returns every output by name, with its
        actual shape: numpy arrays, or DeviceArrays on a CUDA engine with
        copy_outputs_to_host=False."""
        engine = self._active()
        inputs = self._names(TensorIOMode.INPUT)
        unknown = [k for k in feed_dict if k not in inputs]
        missing = [k for k in inputs if k not in feed_dict]
        if unknown or missing:
            what = (f"'{unknown[0]}' is not an input of the engine" if unknown
                    else f"input '{missing[0]}' is missing from the feed")
            raise InvalidArgumentError(f"infer: {what} (the engine's inputs: {', '.join(inputs)})")
        keep = [self._bind_input(engine, name, feed_dict[name]) for name in inputs]
        outputs = self._bind_outputs(engine)
        start = time.perf_counter()
        self.context.execute_async_v3(0)
        _core.synchronize(0)
        self.context.check_faults()  # what a kernel could not throw (a Gather index out of range)
        self._inference_time = time.perf_counter() - start
        del keep
        return {name: self._collect(name, out, copy_outputs_to_host) for name, out in outputs.items()}

    def _bind_input(self, engine: ICudaEngine, name: str, value: Any) -> Any:
        dtype = np.dtype(nptype(engine.get_tensor_dtype(name)))
        expected = engine.get_tensor_shape(name)
        cuda_interface = getattr(value, "__cuda_array_interface__", None)
        if cuda_interface is None and hasattr(value, "__dlpack_device__") and not isinstance(value, np.ndarray):
            device_type = value.__dlpack_device__()[0]
            if device_type != 1:  # kDLCPU
                raise InvalidArgumentError(
                    f"infer: input '{name}' lives on a DLPack device of type {device_type}, which "
                    "qdp cannot read; pass a numpy array or an array with __cuda_array_interface__")
            value = np.from_dlpack(value)
        if cuda_interface is not None:
            if engine.device != "cuda":
                raise InvalidArgumentError(
                    f"infer: input '{name}' is on the GPU but the engine runs on the {engine.device}; "
                    "pass a host array (e.g. tensor.cpu().numpy())")
            shape = tuple(cuda_interface["shape"])
            got = np.dtype(cuda_interface["typestr"])
            self._check(name, got, shape, dtype, expected)
            strides = cuda_interface.get("strides")
            if strides is not None and tuple(strides) != _contiguous_strides(shape, got.itemsize):
                raise InvalidArgumentError(f"infer: device input '{name}' is not contiguous; make it "
                                           "contiguous first (e.g. tensor.contiguous())")
            self._set_shape(name, shape, expected)
            self.context.set_tensor_address(name, int(cuda_interface["data"][0]))
            return value
        array = np.asarray(value)  # not ascontiguousarray: it makes a 0-d array 1-d
        if not array.flags.c_contiguous:
            array = np.ascontiguousarray(array)
        self._check(name, array.dtype, array.shape, dtype, expected)
        self._set_shape(name, array.shape, expected)
        if engine.device == "cpu":
            self.context.set_tensor_address(name, int(array.ctypes.data))
            return array
        buf = self._device_inputs.get(name)
        if buf is None or buf.nbytes < max(array.nbytes, 1):
            buf = self._device_inputs[name] = _core.DeviceBuffer(_core.Device.CUDA, max(array.nbytes, 1))
        buf.copy_from_host(array.reshape(-1).view(np.uint8))
        self.context.set_tensor_address(name, buf.ptr)
        return buf

    @staticmethod
    def _check(name: str, got: np.dtype, shape: tuple[int, ...], dtype: np.dtype,
               expected: tuple[int, ...]) -> None:
        if got != dtype:
            raise InvalidArgumentError(f"infer: input '{name}' has dtype {got}; the engine expects "
                                       f"{dtype} (convert it, e.g. x.astype(np.{dtype}))")
        if len(shape) != len(expected) or any(e not in (-1, s) for e, s in zip(expected, shape)):
            raise InvalidArgumentError(f"infer: input '{name}' has shape {tuple(shape)}; the engine "
                                       f"expects {expected} (-1: any extent within the profile)")

    def _set_shape(self, name: str, shape: tuple[int, ...], expected: tuple[int, ...]) -> None:
        if -1 in expected:
            self.context.set_input_shape(name, list(shape))

    def _bind_outputs(self, engine: ICudaEngine) -> dict[str, Any]:
        outputs: dict[str, Any] = {}
        for name in self._names(TensorIOMode.OUTPUT):
            dtype = np.dtype(nptype(engine.get_tensor_dtype(name)))
            allocator = self._allocators.get(name)
            if allocator is None and name not in self._sized:
                try:
                    # Before its first run a context cannot know a data-dependent shape; after
                    # one it reports the last run's, which the next run may exceed.
                    self.context.get_tensor_shape(name)
                    self._sized.add(name)
                except Error:  # known after the run, through an output allocator
                    allocator = self._allocators[name] = _OutputAllocator(engine.device)
                    self.context.set_output_allocator(name, allocator)
            if allocator is not None:
                outputs[name] = (allocator, dtype)
                continue
            shape = self.context.get_tensor_shape(name)
            nbytes = max(int(np.prod(shape, dtype=np.int64)) * dtype.itemsize, 1)
            if engine.device == "cpu":
                out: Any = np.empty(shape, dtype)
                self.context.set_tensor_address(name, int(out.ctypes.data))
            else:
                out = DeviceArray(_core.DeviceBuffer(_core.Device.CUDA, nbytes), tuple(shape), dtype)
                self.context.set_tensor_address(name, out.ptr)
            outputs[name] = out
        return outputs

    def _collect(self, name: str, out: Any, to_host: bool) -> Any:
        if isinstance(out, tuple):  # (allocator, dtype): the result takes the allocator's buffer
            allocator, dtype = out
            buffer, allocator.buffer = allocator.buffer, None  # the next run allocates anew
            shape = allocator.shape
            if allocator.device == "cpu":
                n = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
                return buffer[:n].view(dtype).reshape(shape)
            out = DeviceArray(buffer, shape, dtype)
        if isinstance(out, DeviceArray) and to_host:
            return out.numpy()
        return out
