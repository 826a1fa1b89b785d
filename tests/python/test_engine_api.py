"""qdp's engine API under TensorRT's names: builder, network, config, engine, context, ONNX,
output allocators, C++ plugin libraries mixed with Python plugins."""

from __future__ import annotations

import textwrap
from typing import Tuple

import numpy as np
import pytest

import qdp as trt
import qdp.plugin as trtp
from conftest import build_bin, run_python


def define_scale(pid: str) -> None:
    @trtp.register(pid)
    def desc(x: trtp.TensorDesc, factor: float = 2.0) -> trtp.TensorDesc:
        return x.like()

    @trtp.impl(pid)
    def impl(x: trtp.Tensor, factor: float, outputs: Tuple[trtp.Tensor], stream: int) -> None:
        np.multiply(np.asarray(x), factor, out=np.asarray(outputs[0]))


def op_of(pid: str):
    ns, name = pid.split("::")
    return getattr(getattr(trtp.op, ns), name)


def test_data_types_and_their_numpy_types():
    assert trt.float32 == trt.DataType.FLOAT and trt.float16 == trt.DataType.HALF
    assert trt.int8 == trt.DataType.INT8 and trt.bool == trt.DataType.BOOL
    assert trt.nptype(trt.float16) is np.float16 and trt.nptype(trt.int64) is np.int64
    assert trt.float32.itemsize == 4 and trt.bfloat16.itemsize == 2
    with pytest.raises(TypeError, match="no numpy type"):
        trt.nptype(trt.bfloat16)
    assert str(trt.float32) == "DataType.FLOAT"  # what the seed's impls print


def test_errors_are_typed_and_keep_the_core_message():
    assert issubclass(trt.InvalidArgumentError, ValueError)
    assert issubclass(trt.NotFoundError, LookupError)
    assert issubclass(trt.RuntimeFailureError, RuntimeError)
    assert issubclass(trt.OutOfMemoryError, MemoryError)
    with pytest.raises(trt.Error) as caught:
        trt.ICudaEngine.load("/nonexistent/engine.qdp")
    assert caught.value.code in trt.ErrorCode.__members__.values()
    assert "/nonexistent/engine.qdp" in str(caught.value)


def test_builder_context_and_serialized_engine(plugin_id):
    pid = plugin_id("scale")
    define_scale(pid)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network()
    x = network.add_input("x", trt.float32, (-1, 4))
    layer = network.add_plugin(op_of(pid)(x, factor=3.0))
    layer.get_output(0).name = "y"
    network.mark_output(layer.get_output(0))
    with pytest.raises(trt.InvalidArgumentError, match="name it before mark_output"):
        layer.get_output(0).name = "late"
    config = builder.create_builder_config()
    config.device = "cpu"
    config.set_flag(trt.BuilderFlag.STRICT_TYPES)
    config.set_preview_feature(trt.PreviewFeature.ALIASED_PLUGIN_IO_10_03, True)
    profile = builder.create_optimization_profile()
    profile.set_shape("x", (1, 4), (2, 4), (8, 4))
    config.add_optimization_profile(profile)
    data = builder.build_serialized_network(network, config)
    engine = trt.Runtime(logger).deserialize_cuda_engine(data)

    assert engine.device == "cpu" and engine.num_io_tensors == 2
    assert [engine.get_tensor_name(i) for i in range(2)] == ["x", "y"]
    assert engine.get_tensor_mode("x") == trt.TensorIOMode.INPUT
    assert engine.get_tensor_mode("y") == trt.TensorIOMode.OUTPUT
    assert engine.get_tensor_mode("nope") == trt.TensorIOMode.NONE
    assert engine.get_tensor_shape("x") == (-1, 4) and engine.get_tensor_dtype("y") == trt.float32
    assert engine.get_tensor_profile_shape("x", 0) == ((1, 4), (2, 4), (8, 4))

    context = engine.create_execution_context()
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    out = np.empty_like(a)
    assert context.set_input_shape("x", a.shape)
    assert context.get_tensor_shape("y") == (3, 4)
    context.set_tensor_address("x", a.ctypes.data)
    context.set_tensor_address("y", out.ctypes.data)
    assert context.execute_async_v3(0)
    np.testing.assert_array_equal(out, a * 3)
    with pytest.raises(trt.Error, match="outside its profile"):
        context.set_input_shape("x", (9, 4))


def test_output_allocator_receives_a_data_dependent_output(plugin_id):
    pid = plugin_id("positive")

    @trtp.register(pid)
    def desc(x: trtp.TensorDesc) -> Tuple[trtp.TensorDesc, trtp.TensorDesc]:
        st = trtp.size_tensor(x.shape_expr[0] // 2, x.shape_expr[0])
        return trtp.from_shape_expr((st.expr(),), dtype=trt.float32), st

    @trtp.impl(pid)
    def impl(x, outputs, stream):
        kept = np.asarray(x)[np.asarray(x) > 0]
        np.asarray(outputs[0].aliased(kept.shape))[...] = kept
        np.asarray(outputs[1])[...] = kept.size

    class Allocator(trt.IOutputAllocator):
        def __init__(self):
            self.buffer, self.shape = None, None

        def reallocate_output(self, tensor_name, memory, size, alignment):
            self.buffer = np.empty(max(size, 1), np.uint8)
            return self.buffer.ctypes.data

        def notify_shape(self, tensor_name, shape):
            self.shape = tuple(shape)

    builder, network = trt.Builder(), None
    network = builder.create_network()
    x = network.add_input("x", trt.float32, (6,))
    layer = network.add_plugin(op_of(pid)(x))
    layer.get_output(0).name, layer.get_output(1).name = "kept", "count"
    network.mark_output(layer.get_output(0))
    network.mark_output(layer.get_output(1))
    config = builder.create_builder_config()
    config.device = "cpu"
    engine = builder.build_engine_with_config(network, config)
    assert engine.get_tensor_shape("kept") == (-1,)
    context = engine.create_execution_context()
    a = np.array([1, -1, 2, -2, 3, 0], np.float32)
    count = np.zeros((), np.int64)
    allocator = Allocator()
    context.set_tensor_address("x", a.ctypes.data)
    context.set_tensor_address("count", count.ctypes.data)
    context.set_output_allocator("kept", allocator)
    assert context.get_output_allocator("kept") is allocator
    context.execute_async_v3(0)
    assert allocator.shape == (3,) and int(count) == 3
    np.testing.assert_array_equal(allocator.buffer[:12].view(np.float32), [1, 2, 3])
    assert context.get_tensor_shape("kept") == (3,)


def test_onnx_parser(plugin_id, tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    pid = plugin_id("onnxscale")
    define_scale(pid)
    ns, name = pid.split("::")
    node = helper.make_node(name, ["x"], ["y"], name="scale_node", plugin_namespace=ns, factor=0.5)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 2])])
    path = tmp_path / "model.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 16)]), path)

    builder = trt.Builder()
    network = builder.create_network()
    parser = trt.OnnxParser(network, trt.Logger())
    assert parser.parse_from_file(str(path)) and parser.num_errors == 0
    assert network.num_inputs == 1 and network.num_outputs == 1 and network.num_layers == 1
    from qdp.runner import CreateConfig, TrtRunner, engine_from_network, network_from_onnx_path

    engine = engine_from_network(network_from_onnx_path(path), CreateConfig(device="cpu"))
    with TrtRunner(engine) as r:
        np.testing.assert_array_equal(r.infer({"x": np.full((2, 2), 4, np.float32)})["y"],
                                      np.full((2, 2), 2, np.float32))

    bad = trt.OnnxParser(trt.Builder().create_network())
    assert not bad.parse(b"\x08\x07garbage")
    assert bad.num_errors == 1 and bad.get_error(0).desc()
    node.op_type = "missing_plugin"
    onnx.save(helper.make_model(helper.make_graph([node], "g", graph.input, graph.output)), path)
    with pytest.raises(trt.Error, match=f"{ns}::missing_plugin"):
        network_from_onnx_path(path)


def test_prefer_flags_choose_between_jit_and_aot(plugin_id):
    pid = plugin_id("both")
    define_scale(pid)
    trtp.aot_impl(pid)(lambda x, outputs: ("k", "src", trtp.KernelLaunchParams(), trtp.SymIntExprs(0)))
    builder = trt.Builder()
    network = builder.create_network()
    x = network.add_input("x", trt.float32, (2,))
    network.mark_output(network.add_plugin(op_of(pid)(x)).get_output(0))
    config = builder.create_builder_config()
    config.device = "cpu"
    # The CPU runs no AOT kernels: its JIT impl is taken without asking (the choice error is a
    # GPU test).
    assert builder.build_engine_with_config(network, config).layers[0]["implementation"] == "jit"
    config.set_flag(trt.BuilderFlag.PREFER_JIT_PYTHON_PLUGINS)
    engine = builder.build_engine_with_config(network, config)
    assert engine.layers[0]["implementation"] == "jit"
    config.set_flag(trt.BuilderFlag.PREFER_AOT_PYTHON_PLUGINS)
    with pytest.raises(trt.InvalidArgumentError, match="are exclusive"):
        builder.build_engine_with_config(network, config)


def test_python_and_cpp_plugins_mix_in_one_network(tmp_path):
    bin_dir = build_bin()
    if bin_dir is None:
        pytest.skip("the C++ sample plugin library is in the build tree only")
    # A process of its own: the C++ library defines the sample:: IDs the Python samples use.
    script = textwrap.dedent(f"""
        import numpy as np, qdp as trt, qdp.plugin as trtp
        from qdp.runner import CreateConfig, TrtRunner, create_network, engine_from_network
        ids = trt.load_plugin_library({str(bin_dir / 'libqdp_sample_plugins.so')!r})
        assert "sample::elemwise_add_plugin" in ids, ids

        @trtp.register("mix::double")
        def desc(x: trtp.TensorDesc) -> trtp.TensorDesc:
            return x.like()

        @trtp.impl("mix::double")
        def impl(x, outputs, stream):
            np.multiply(np.asarray(x), 2, out=np.asarray(outputs[0]))

        builder, net = create_network()
        x = net.add_input("x", trt.float32, (4,))
        t = net.add_plugin(trtp.op.sample.elemwise_add_plugin(x, block_size=64), aot=False).get_output(0)
        y = net.add_plugin(trtp.op.mix.double(t)).get_output(0)
        y.name = "y"
        net.mark_output(y)
        engine = engine_from_network((builder, net), CreateConfig(device="cpu"))
        with TrtRunner(engine) as r:
            out = r.infer({{"x": np.arange(4, dtype=np.float32)}})["y"]
        assert out.tolist() == [2, 4, 6, 8], out
        print("mixed ok")
        """)
    result = run_python(["-c", script])
    assert result.returncode == 0, result.stderr
    assert "mixed ok" in result.stdout


def test_logger_subclass_receives_the_builders_messages(plugin_id):
    pid = plugin_id("logged")
    define_scale(pid)

    class Collect(trt.Logger):
        def __init__(self):
            super().__init__(trt.Logger.INFO)
            self.messages = []

        def log(self, severity, msg):
            self.messages.append((severity, msg))

    logger = Collect()
    builder = trt.Builder(logger)
    network = builder.create_network()
    x = network.add_input("x", trt.float32, (2,))
    network.mark_output(network.add_plugin(op_of(pid)(x)).get_output(0))
    config = builder.create_builder_config()
    config.device = "cpu"
    builder.build_engine_with_config(network, config)
    assert any(s == trt.Logger.INFO and m.startswith("Finished engine building in")
               for s, m in logger.messages)
    assert all(s <= trt.Logger.INFO for s, _ in logger.messages)  # nothing verbose got through


def test_fp16_and_bf16_flags_let_the_standard_operators_change_precision(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.linspace(-1, 1, 32 * 8, dtype=np.float32).reshape(32, 8), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 8])], [w])
    path = tmp_path / "matmul.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)

    class Collect(trt.Logger):
        def __init__(self):
            super().__init__(trt.Logger.VERBOSE)
            self.text = ""

        def log(self, severity, msg):
            self.text += msg + "\n"

    def build(*flags):
        logger = Collect()
        builder = trt.Builder(logger)
        network = builder.create_network()
        assert trt.OnnxParser(network, logger).parse_from_file(str(path))
        config = builder.create_builder_config()
        config.device = "cpu"
        for f in flags:
            config.set_flag(f)
        return builder.build_engine_with_config(network, config), logger.text

    _, plain = build()
    assert "without the FP16 flag" in plain and "without the BF16 flag" in plain
    from qdp.runner import CreateConfig

    made = CreateConfig(bf16=True, device="cpu")(trt.Builder(), trt.Builder().create_network())
    assert made.get_flag(trt.BuilderFlag.BF16) and not made.get_flag(trt.BuilderFlag.FP16)
    _, fp16 = build(trt.BuilderFlag.FP16)
    assert "for types [FP16, FP16, FP16]" in fp16 and "without the BF16 flag" in fp16
    engine, bf16 = build(trt.BuilderFlag.BF16)
    assert "for types [BF16, BF16, BF16]" in bf16 and "without the FP16 flag" in bf16
    x = np.linspace(-2, 2, 4 * 32, dtype=np.float32).reshape(4, 32)
    from qdp.runner import TrtRunner

    with TrtRunner(engine) as r:
        np.testing.assert_allclose(r.infer({"x": x})["y"], x @ numpy_helper.to_array(w),
                                   rtol=2e-2, atol=2e-2)
