"""qdp.plugin's types: shape expressions, descs, autotune combinations, attributes, op calls."""

from __future__ import annotations

from typing import List, Tuple

import numpy as np
import numpy.typing as npt
import pytest

import qdp
import qdp.plugin as trtp
import qdp.runner


def test_shape_expr_arithmetic_folds_constants_and_stays_symbolic():
    e = trtp.ShapeExpr(3) + 4
    assert e.is_constant and e.constant_value == 7 and int(e) == 7
    assert (2 * e - 1) // 3 == trtp.ShapeExpr(4)
    assert 10 - e == 3 and 14 // e == 2
    assert trtp.cdiv(10, 3) == 4 and isinstance(trtp.cdiv(10, 3), int)
    assert trtp.cdiv(e, 2) == 4
    assert trtp.max(e, 9) == 9 and trtp.min(e, 9) == 7 and trtp.max(2, 5) == 5


def test_tensor_desc_shape_expr_is_indexable_and_assignable():
    d = trtp.TensorDesc((10, 3, 32, 32), qdp.float32)
    assert d.ndim == 4 and d.dtype == qdp.float32 and d.format == qdp.TensorFormat.LINEAR
    out = d.like()
    out.shape_expr[3] += 2
    out.shape_expr[-2] = out.shape_expr[-2] * 2
    assert [int(x) for x in out.shape_expr] == [10, 3, 64, 34]
    assert len(out.shape_expr) == 4 and out.shape_expr.numel() == 10 * 3 * 64 * 34
    assert int(out.numel()) == 10 * 3 * 64 * 34
    out.dtype = qdp.float16
    assert out.dtype == qdp.DataType.HALF and d.dtype == qdp.float32
    with pytest.raises(IndexError):
        out.shape_expr[4]


def test_size_tensor_and_from_shape_expr():
    st = trtp.size_tensor(trtp.ShapeExpr(8), 16)
    assert st.is_size_tensor and st.ndim == 0 and st.dtype == qdp.int64
    out = trtp.from_shape_expr((st.expr(), 2), dtype=qdp.int32)
    assert out.ndim == 2 and out.dtype == qdp.int32 and not out.is_size_tensor
    assert not out.shape_expr[0].is_constant and out.shape_expr[1] == 2


def test_autotune_combination_both_forms_expand():
    c = trtp.AutoTuneCombination("FP32|FP16, FP32|FP16")
    assert [t for t, _, _ in c.candidates(2)] == [[qdp.float32] * 2, [qdp.float16] * 2]
    p = trtp.AutoTuneCombination()
    p.pos([0, 1], "FP32|FP16")
    p.tactics([1, 2])
    assert len(p.candidates(2)) == 4 and {tac for _, _, tac in p.candidates(2)} == {1, 2}
    hwc = trtp.AutoTuneCombination("FP32, FP32", "LINEAR*HWC")
    assert {tuple(f) for _, f, _ in hwc.candidates(2)} == {
        (qdp.TensorFormat.LINEAR,) * 2, (qdp.TensorFormat.LINEAR, qdp.TensorFormat.HWC),
        (qdp.TensorFormat.HWC, qdp.TensorFormat.LINEAR), (qdp.TensorFormat.HWC,) * 2}


def test_attributes_typed_from_annotations_and_defaults(plugin_id):
    pid = plugin_id("attrs")
    seen = {}

    @trtp.register(pid)
    def desc(x: trtp.TensorDesc, i: int, f: float, b: bool, s: str, raw: bytes,
             a32: npt.NDArray[np.int32], a16: npt.NDArray[np.float16], flags: npt.NDArray[np.bool_],
             d=2.5, n=7) -> trtp.TensorDesc:
        seen.update(i=i, f=f, b=b, s=s, raw=raw, a32=a32, a16=a16, flags=flags, d=d, n=n)
        return x.like()

    @trtp.impl(pid)
    def impl(x, outputs, stream):
        pass

    schema = qdp._core.plugin_schema(pid)
    types = {name: t.type_name for name, t, _ in schema["attrs"]}
    assert types == {"i": "int64", "f": "float64", "b": "bool", "s": "string", "raw": "bytes",
                     "a32": "int32[]", "a16": "float16[]", "flags": "bool[]", "d": "float64",
                     "n": "int64"}
    _, net = qdp.runner.create_network()
    x = net.add_input("x", qdp.float32, (2,))
    call = trtp.op.test.__getattr__(pid.split("::")[1])(
        x, i=3, f=1, b=True, s="hi", raw=b"\x00\xff", a32=[1, 2], a16=np.array([0.5], np.float16),
        flags=[True, False])
    assert call.attrs.to_dict()["f"] == 1.0 and call.attrs.to_dict()["n"] == 7
    layer = net.add_plugin(call)
    net.mark_output(layer.get_output(0))
    qdp.Builder().build_engine_with_config(net, _cpu_config())
    assert seen["i"] == 3 and seen["s"] == "hi" and seen["raw"] == b"\x00\xff" and seen["b"] is True
    assert seen["a32"].dtype == np.int32 and list(seen["a32"]) == [1, 2]
    assert seen["a16"].dtype == np.float16 and seen["flags"].dtype == np.bool_
    assert not seen["a32"].flags.writeable  # an impl cannot change what the engine stores


def _cpu_config() -> qdp.IBuilderConfig:
    config = qdp.Builder().create_builder_config()
    config.device = "cpu"
    return config


def test_attribute_int_converts_to_float_but_not_back(plugin_id):
    pid = plugin_id("conv")

    @trtp.register(pid)
    def desc(x: trtp.TensorDesc, scale: float, count: int) -> trtp.TensorDesc:
        return x.like()

    @trtp.impl(pid)
    def impl(x, outputs, stream):
        pass

    op = getattr(trtp.op.test, pid.split("::")[1])
    _, net = qdp.runner.create_network()
    x = net.add_input("x", qdp.float32, (2,))
    assert op(x, scale=2, count=np.int32(3)).attrs.to_dict() == {"scale": 2.0, "count": 3}
    with pytest.raises(qdp.InvalidArgumentError, match="attribute 'count' expects int64 but received float64"):
        op(x, scale=2.0, count=1.5)


def test_impl_takes_a_subset_of_attributes_and_the_tactic(plugin_id):
    pid = plugin_id("subset")
    calls = []

    @trtp.register(pid)
    def desc(x: trtp.TensorDesc, a: int, b: float = 0.5) -> trtp.TensorDesc:
        return x.like()

    @trtp.autotune(pid)
    def tune(x: trtp.TensorDesc, outputs: Tuple[trtp.TensorDesc]) -> List[trtp.AutoTuneCombination]:
        return [trtp.AutoTuneCombination("FP32, FP32", "LINEAR", [3, 5])]

    @trtp.impl(pid)
    def impl(x: trtp.Tensor, b: float, outputs: Tuple[trtp.Tensor], stream: int, tactic: int):
        calls.append((b, stream, tactic))
        np.asarray(outputs[0])[...] = np.asarray(x) * b

    builder, net = qdp.runner.create_network()
    x = net.add_input("x", qdp.float32, (4,))
    layer = net.add_plugin(getattr(trtp.op.test, pid.split("::")[1])(x, a=1, b=2.0))
    layer.get_output(0).name = "y"
    net.mark_output(layer.get_output(0))
    engine = builder.build_engine_with_config(net, _cpu_config())
    assert {tac for _, _, tac in calls} == {3, 5}  # both tactics timed while building
    (layer_info,) = engine.layers
    calls.clear()
    with qdp.runner.TrtRunner(engine) as r:
        y = r.infer({"x": np.arange(4, dtype=np.float32)})["y"]
    assert calls == [(2.0, 0, layer_info["tactic"])]
    np.testing.assert_array_equal(y, np.arange(4, dtype=np.float32) * 2)


def test_tensor_views_are_zero_copy_and_die_with_the_call(plugin_id):
    pid = plugin_id("views")
    kept = {}

    @trtp.register(pid)
    def desc(x: trtp.TensorDesc) -> trtp.TensorDesc:
        return x.like()

    @trtp.impl(pid)
    def impl(x: trtp.Tensor, outputs: Tuple[trtp.Tensor], stream: int):
        a = np.asarray(x)
        assert a.ctypes.data == x.data_ptr and not a.flags.writeable  # inputs are read-only
        out = np.asarray(outputs[0])
        assert out.flags.writeable and out.ctypes.data == outputs[0].data_ptr
        assert isinstance(x.shape, trtp.Shape) and x.shape == (2, 3) and x.shape == [2, 3]
        assert list(x.shape) == [2, 3] and x.shape.numel() == 6
        assert x.ndim == 2 and x.numel() == 6 and x.strides == (3, 1) and x.device == "cpu"
        assert x.dtype == qdp.float32 and x.format == qdp.TensorFormat.LINEAR
        assert x.__dlpack_device__() == (1, 0)
        np.testing.assert_array_equal(np.from_dlpack(x), a)
        with pytest.raises(AttributeError):
            x.__cuda_array_interface__
        out[...] = a + 1
        kept["view"], kept["alias"] = x, outputs[0].aliased((3, 2))

    builder, net = qdp.runner.create_network()
    t = net.add_input("x", qdp.float32, (2, 3))
    layer = net.add_plugin(getattr(trtp.op.test, pid.split("::")[1])(t))
    layer.get_output(0).name = "y"
    net.mark_output(layer.get_output(0))
    engine = builder.build_engine_with_config(net, _cpu_config())
    with qdp.runner.TrtRunner(engine) as r:
        r.infer({"x": np.ones((2, 3), np.float32)})
    for view in kept.values():
        with pytest.raises(ReferenceError, match="used after the impl returned"):
            view.shape
        with pytest.raises(ReferenceError):
            np.asarray(view)
        assert "released" in repr(view)


def test_op_call_for_an_unknown_plugin_names_it():
    with pytest.raises(qdp.Error, match="plugin nowhere::nothing is not defined in this process"):
        trtp.op.nowhere.nothing()


def test_aot_kernel_is_what_aot_impl_returns(plugin_id):
    pid = plugin_id("aot")

    @trtp.register(pid)
    def desc(x: trtp.TensorDesc, block: int = 128) -> trtp.TensorDesc:
        return x.like()

    @trtp.aot_impl(pid)
    def aot(x: trtp.TensorDesc, block: int, outputs: Tuple[trtp.TensorDesc], tactic: int):
        n = x.shape_expr.numel()
        launch = trtp.KernelLaunchParams(grid_x=trtp.cdiv(n, block), block_x=block, shared_mem=64)
        return "k", 'extern "C" __global__ void k() {}', launch, trtp.SymIntExprs.from_tuple([n, 7])

    x = trtp.TensorDesc((10, 30), qdp.float32)
    attrs = qdp._core.resolve_attrs(pid, {})
    k = qdp._core.aot_kernel(pid, [x], attrs, [x.like()], 0)
    assert k["name"] == "k" and k["kind"] == "cuda" and k["grid"] == ["3", "1", "1"]
    assert k["block"] == ["128", "1", "1"] and k["shared_mem"] == "64"
    assert k["extra_args"] == ["300", "7"]
    # Without a JIT impl the plugin is AOT only: a CPU build says where it can run.
    builder, net = qdp.runner.create_network()
    t = net.add_input("x", qdp.float32, (10, 30))
    net.mark_output(net.add_plugin(getattr(trtp.op.test, pid.split("::")[1])(t)).get_output(0))
    with pytest.raises(qdp.Error, match="the plugin has only an aot_impl, and the cpu backend runs no AOT kernels"):
        builder.build_engine_with_config(net, _cpu_config())


def test_hwc_views_have_the_logical_shape_and_channels_last_strides(plugin_id):
    pid = plugin_id("hwc")
    formats = []

    @trtp.register(pid)
    def desc(x: trtp.TensorDesc) -> trtp.TensorDesc:
        return x.like()

    @trtp.autotune(pid)
    def tune(x, outputs):
        return [trtp.AutoTuneCombination("FP32, FP32", "HWC")]

    @trtp.impl(pid)
    def impl(x: trtp.Tensor, outputs: Tuple[trtp.Tensor], stream: int):
        formats.append(x.format)
        a, y = np.asarray(x), np.asarray(outputs[0])
        assert a.shape == (1, 3, 2, 2) and x.strides == (12, 1, 6, 3)
        y[...] = a * 10  # elementwise on the logical NCHW view: the layout is the engine's

    builder, net = qdp.runner.create_network()
    t = net.add_input("x", qdp.float32, (1, 3, 2, 2))
    layer = net.add_plugin(getattr(trtp.op.test, pid.split("::")[1])(t))
    layer.get_output(0).name = "y"
    net.mark_output(layer.get_output(0))
    engine = builder.build_engine_with_config(net, _cpu_config())
    x = np.arange(12, dtype=np.float32).reshape(1, 3, 2, 2)
    with qdp.runner.TrtRunner(engine) as r:
        np.testing.assert_array_equal(r.infer({"x": x})["y"], x * 10)
    assert formats and set(formats) == {qdp.TensorFormat.HWC}
