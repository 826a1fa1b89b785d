"""Every bad input of issue #11's table, each with its message checked."""

from __future__ import annotations

from typing import List, Tuple

import numpy as np
import numpy.typing as npt
import pytest

import qdp
import qdp.plugin as trtp
from qdp.runner import CreateConfig, TrtRunner, create_network, engine_from_network


def op_of(pid: str) -> trtp._Op:
    ns, name = pid.split("::")
    return getattr(getattr(trtp.op, ns), name)


def identity(pid: str, **extra_attrs) -> None:
    """Registers pid as y = x (desc like(), a numpy impl)."""

    @trtp.register(pid)
    def desc(x: trtp.TensorDesc) -> trtp.TensorDesc:
        return x.like()

    @trtp.impl(pid)
    def impl(x: trtp.Tensor, outputs: Tuple[trtp.Tensor], stream: int) -> None:
        np.asarray(outputs[0])[...] = np.asarray(x)


def build(pid: str, shape=(2, 3), **attrs) -> qdp.ICudaEngine:
    builder, net = create_network()
    x = net.add_input("x", qdp.float32, shape)
    layer = net.add_plugin(op_of(pid)(x, **attrs))
    for i in range(layer.num_outputs):
        layer.get_output(i).name = f"out{i}"
        net.mark_output(layer.get_output(i))
    return engine_from_network((builder, net), CreateConfig(device="cpu"))


# ---- decorators -----------------------------------------------------------------------------


def test_decorator_on_an_unknown_id(plugin_id):
    pid = plugin_id("unknown")
    with pytest.raises(qdp.NotFoundError, match=f"@impl: plugin {pid} is not registered: decorate "
                       rf"its desc with @qdp.plugin.register\(\"{pid}\"\) first"):
        @trtp.impl(pid)
        def impl(x, outputs, stream):
            pass
    for decorator in (trtp.autotune, trtp.aot_impl):
        with pytest.raises(qdp.NotFoundError, match="is not registered"):
            decorator(pid)(lambda x, outputs: [])


@pytest.mark.parametrize("bad", ["noseparator", "ns::", "::name", "ns::9name", "n s::x"])
def test_decorator_on_a_malformed_id(bad):
    with pytest.raises(qdp.InvalidArgumentError, match=f"plugin ID '{bad}' is malformed: write it "
                       "as namespace::name"):
        trtp.register(bad)
    with pytest.raises(qdp.InvalidArgumentError, match="is malformed"):
        trtp.impl(bad)(lambda x, outputs, stream: None)


def test_registering_twice(plugin_id):
    pid = plugin_id("twice")
    identity(pid)
    with pytest.raises(qdp.InvalidArgumentError, match=f"plugin {pid} is already registered: a "
                       "plugin ID is registered once"):
        @trtp.register(pid)
        def again(x: trtp.TensorDesc) -> trtp.TensorDesc:
            return x.like()
    with pytest.raises(qdp.InvalidArgumentError, match=f"plugin {pid} already has an impl: "):
        trtp.impl(pid)(lambda x, outputs, stream: None)


def test_desc_without_a_usable_schema(plugin_id):
    pid = plugin_id("schema")
    with pytest.raises(qdp.InvalidArgumentError, match=r"desc .*nameless: parameter 'k': the type "
                       "of this attribute is unknown; annotate it"):
        @trtp.register(pid)
        def nameless(x: trtp.TensorDesc, k) -> trtp.TensorDesc:
            return x.like()
    with pytest.raises(qdp.InvalidArgumentError, match=r"parameter 'k': the default 'a' is not a "
                       "int64, the type its annotation gives"):
        @trtp.register(pid)
        def mismatch(x: trtp.TensorDesc, k: int = "a") -> trtp.TensorDesc:
            return x.like()
    with pytest.raises(qdp.InvalidArgumentError, match="annotate its return type"):
        @trtp.register(pid)
        def unannotated(x: trtp.TensorDesc):
            return x.like()
    with pytest.raises(qdp.InvalidArgumentError, match="parameter 'k': dict is not an attribute type"):
        @trtp.register(pid)
        def badtype(x: trtp.TensorDesc, k: dict) -> trtp.TensorDesc:
            return x.like()


@pytest.fixture
def two_inputs(plugin_id):
    pid = plugin_id("sig")

    @trtp.register(pid)
    def sig_desc(a: trtp.TensorDesc, b: trtp.TensorDesc, block: int,
                 pads: npt.NDArray[np.int32]) -> trtp.TensorDesc:
        return a.like()

    @trtp.aot_impl(pid)  # an implementation, so that op calls resolve; impls are the tests' own
    def sig_aot(a, b, outputs):
        raise AssertionError("never built")

    return pid


@pytest.mark.parametrize("impl_src, message", [
    ("def f(a, block, outputs, stream): pass",
     r"parameter 'block' stands where input 1 goes: the plugin has 2 input\(s\) \(a, b\)"),
    ("def f(a, b, blok, outputs, stream): pass",
     r"parameter 'blok' is not an attribute of the plugin \(desc .*sig_desc declares: block, pads\)"),
    ("def f(a, b, outputs): pass",
     r"after the inputs and attributes it takes \(outputs\); impl takes \(<inputs>, <attributes>, "
     r"outputs, stream\[, tactic\]\)"),
    ("def f(a: trtp.TensorDesc, b, outputs, stream): pass",
     "parameter 'a' is input 0 and is annotated TensorDesc; impl receives inputs as qdp.plugin.Tensor"),
    ("def f(a, b, block: str, outputs, stream): pass",
     r"parameter 'block' is annotated str, but desc .*sig_desc declares the attribute as int64"),
    ("def f(a, b, outputs, stream: float): pass", "parameter 'stream' is annotated float; it receives int"),
    ("def f(a, b, *args): pass", r"parameter 'args': \*args and \*\*kwargs are not supported"),
])
def test_impl_whose_parameters_do_not_match_desc(two_inputs, impl_src, message):
    scope = {"trtp": trtp}
    exec(impl_src, scope)
    with pytest.raises(qdp.InvalidArgumentError, match=rf"plugin {two_inputs}: impl f: {message}"):
        trtp.impl(two_inputs)(scope["f"])


def test_autotune_whose_parameters_do_not_match_desc(two_inputs):
    with pytest.raises(qdp.InvalidArgumentError, match=r"autotune .*: parameter 'a' is input 0 and is "
                       "annotated Tensor; autotune receives inputs as qdp.plugin.TensorDesc"):
        @trtp.autotune(two_inputs)
        def tune(a: trtp.Tensor, b, outputs):
            return []


# ---- op calls -------------------------------------------------------------------------------


def test_attribute_of_the_wrong_type_or_an_unknown_name(two_inputs):
    _, net = create_network()
    a, b = net.add_input("a", qdp.float32, (2,)), net.add_input("b", qdp.float32, (2,))
    op = op_of(two_inputs)
    with pytest.raises(qdp.InvalidArgumentError, match=rf"plugin {two_inputs}: attribute 'block' "
                       r"expects int64 but received string \(\"big\"\)"):
        op(a, b, block="big", pads=[1])
    with pytest.raises(qdp.InvalidArgumentError, match=rf"plugin {two_inputs}: unknown attribute "
                       r"'blocks' \(the plugin's attributes are: block, pads\)"):
        op(a, b, blocks=1, pads=[1])
    with pytest.raises(qdp.InvalidArgumentError, match=r"attribute 'pads' expects int32\[\] but "
                       r"received int64\[\] \(\[1, 4294967296\]\): 4294967296 is out of range"):
        op(a, b, block=1, pads=[1, 2**32])
    with pytest.raises(qdp.InvalidArgumentError, match=r"attribute 'block' \(int64\) is required"):
        op(a, b, pads=[1])
    with pytest.raises(qdp.InvalidArgumentError, match=r"the plugin takes 2 input\(s\), 1 given"):
        op(a, block=1, pads=[1])


# ---- desc, autotune, impl, aot_impl at build and run time --------------------------------------


def test_desc_returning_something_that_is_not_a_tensor_desc(plugin_id):
    pid = plugin_id("notdesc")

    @trtp.register(pid)
    def shapes_only(x: trtp.TensorDesc) -> trtp.TensorDesc:
        return x.shape_expr

    trtp.impl(pid)(lambda x, outputs, stream: None)
    with pytest.raises(qdp.Error, match=rf"layer '.*' \(plugin {pid}\): desc: desc .*"
                       r"shapes_only: returned a ShapeExprs, not a TensorDesc"):
        build(pid)


def test_desc_changing_an_input_desc(plugin_id):
    pid = plugin_id("readonly")

    @trtp.register(pid)
    def grows_its_input(x: trtp.TensorDesc) -> trtp.TensorDesc:
        x.shape_expr[0] += 1
        return x

    trtp.impl(pid)(lambda x, outputs, stream: None)
    with pytest.raises(qdp.Error, match=r"TensorDesc.shape_expr\[i\] = ...: this is an input's desc, "
                       r"which is read-only; describe an output with like\(\)"):
        build(pid)


def test_autotune_string_with_a_bad_type(plugin_id):
    with pytest.raises(qdp.InvalidArgumentError, match=r"autotune combination types \"FP32\|FP61, "
                       r"FP32\|FP16\": entry 1 \"FP32\|FP61\": unknown type \"FP61\"; expected one of FP32"):
        trtp.AutoTuneCombination("FP32|FP61, FP32|FP16")
    pid = plugin_id("tune")
    identity(pid)

    @trtp.autotune(pid)
    def tune(x: trtp.TensorDesc, outputs) -> List[trtp.AutoTuneCombination]:
        return [trtp.AutoTuneCombination("FP32, INT4")]

    with pytest.raises(qdp.Error, match=rf"plugin {pid}.*autotune.*unknown type \"INT4\""):
        build(pid)


def test_autotune_returning_the_wrong_thing(plugin_id):
    pid = plugin_id("tune_ret")
    identity(pid)
    trtp.autotune(pid)(lambda x, outputs: "FP32, FP32")
    with pytest.raises(qdp.Error, match="returned a str; autotune returns a list of "
                       "qdp.plugin.AutoTuneCombination"):
        build(pid)


def test_an_impl_that_raises(plugin_id):
    pid = plugin_id("raises")

    @trtp.register(pid)
    def desc(x: trtp.TensorDesc) -> trtp.TensorDesc:
        return x.like()

    @trtp.impl(pid)
    def exploding_impl(x, outputs, stream):
        raise ZeroDivisionError("the impl's own bug")

    @trtp.autotune(pid)  # two candidates: the builder runs the impl to time them
    def tune(x, outputs):
        return [trtp.AutoTuneCombination("FP32, FP32", "LINEAR", [1, 2])]

    with pytest.raises(qdp.Error) as caught:
        build(pid)
    text = str(caught.value)
    assert f"plugin {pid}" in text and "impl" in text
    assert "ZeroDivisionError: the impl's own bug" in text
    assert "Traceback (most recent call last)" in text and "exploding_impl" in text
    # At run time too, with the layer: the impl fails only at inference here.
    pid2 = pid + "_run"

    @trtp.register(pid2)
    def desc2(x: trtp.TensorDesc) -> trtp.TensorDesc:
        return x.like()

    @trtp.impl(pid2)
    def impl2(x, outputs, stream):  # one candidate: not run while building
        raise KeyError("second call")

    engine = build(pid2)
    with pytest.raises(qdp.Error) as caught, TrtRunner(engine) as r:
        r.infer({"x": np.zeros((2, 3), np.float32)})
    text = str(caught.value)
    assert f"layer '{engine.layers[0]['name']}' (plugin {pid2})" in text
    assert "KeyError: 'second call'" in text and "Traceback" in text and "impl2" in text
    trtp._unregister(pid2)


def test_aliased_shape_beyond_the_upper_bound(plugin_id):
    pid = plugin_id("dds")

    @trtp.register(pid)
    def desc(x: trtp.TensorDesc) -> Tuple[trtp.TensorDesc, trtp.TensorDesc]:
        st = trtp.size_tensor(x.shape_expr[0] // 2, x.shape_expr[0])
        return trtp.from_shape_expr((st.expr(),), dtype=qdp.float32), st

    @trtp.impl(pid)
    def impl(x, outputs, stream):
        n = x.shape[0] + 1  # one row more than the upper bound
        outputs[0].aliased((n,))

    engine = build(pid, shape=(4,))
    with pytest.raises(qdp.Error, match=r"cannot view a tensor of shape 4 as 5: that needs more "
                       "elements than it has"), TrtRunner(engine) as r:
        r.infer({"x": np.zeros(4, np.float32)})


def test_a_size_beyond_the_upper_bound_is_refused(plugin_id):
    pid = plugin_id("dds_size")

    @trtp.register(pid)
    def desc(x: trtp.TensorDesc) -> Tuple[trtp.TensorDesc, trtp.TensorDesc]:
        st = trtp.size_tensor(x.shape_expr[0] // 2, x.shape_expr[0])
        return trtp.from_shape_expr((st.expr(),), dtype=qdp.float32), st

    @trtp.impl(pid)
    def impl(x, outputs, stream):
        np.asarray(outputs[1])[...] = 99

    with pytest.raises(qdp.Error, match=r"reported a data-dependent extent of 99, outside \[0, 4\]"):
        engine = build(pid, shape=(4,))
        with TrtRunner(engine) as r:
            r.infer({"x": np.zeros(4, np.float32)})


@pytest.mark.parametrize("returned, message", [
    ("('k', 'code', trtp.KernelLaunchParams())",
     r"returned a tuple of 3 \(str, str, KernelLaunchParams\); aot_impl returns \(kernel name, code, "
     r"KernelLaunchParams, SymExprs\)"),
    ("None", "returned None; aot_impl returns"),
    ("('k', 'code', (1, 1, 1), trtp.SymIntExprs(0))",
     "the launch parameters are a tuple of 3 .*, not a qdp.plugin.KernelLaunchParams"),
    ("('k', 42, trtp.KernelLaunchParams(), trtp.SymIntExprs(0))",
     "the kernel code is a int, not non-empty str or bytes"),
    ("('k', 'code', trtp.KernelLaunchParams(grid_x='1'), trtp.SymIntExprs(0))",
     "KernelLaunchParams.grid_x is a str; expected an int or a ShapeExpr"),
    ("('k', 'code', trtp.KernelLaunchParams(), trtp.SymIntExprs(2))",
     "extra argument 0 of 2 was never set"),
])
def test_an_aot_impl_returning_the_wrong_tuple(plugin_id, returned, message):
    pid = plugin_id("aot_bad")

    @trtp.register(pid)
    def desc(x: trtp.TensorDesc) -> trtp.TensorDesc:
        return x.like()

    scope = {"trtp": trtp}
    exec(f"def bad_aot(x, outputs):\n    return {returned}", scope)
    trtp.aot_impl(pid)(scope["bad_aot"])
    x = trtp.TensorDesc((4,), qdp.float32)
    with pytest.raises(qdp.InvalidArgumentError, match=rf"plugin {pid}: aot_impl bad_aot: {message}"):
        qdp._core.aot_kernel(pid, [x], qdp._core.resolve_attrs(pid, {}), [x.like()], 0)


def test_a_jit_engine_loaded_without_its_definitions(plugin_id):
    pid = plugin_id("gone")
    identity(pid)
    data = build(pid).serialize()
    trtp._unregister(pid)
    with pytest.raises(qdp.Error, match=rf"the engine's layer '.*' runs plugin {pid}, which is not "
                       "defined in this process"):
        qdp.Runtime().deserialize_cuda_engine(data)
    identity(pid)  # defined again, the same bytes load
    assert qdp.Runtime().deserialize_cuda_engine(data).num_io_tensors == 2


def test_corrupt_engine_bytes(plugin_id):
    pid = plugin_id("corrupt")
    identity(pid)
    data = bytearray(build(pid).serialize())
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(qdp.Error, match="checksum|corrupt|damaged"):
        qdp.Runtime().deserialize_cuda_engine(bytes(data))
    with pytest.raises(qdp.Error):
        qdp.Runtime().deserialize_cuda_engine(b"not an engine")


# ---- infer ------------------------------------------------------------------------------------


class FakeCudaArray:
    """What torch or cupy show of a GPU tensor, without a GPU."""
    __cuda_array_interface__ = {"shape": (2, 3), "typestr": "<f4", "data": (0x1000, False),
                                "strides": None, "version": 3}


def test_feeding_infer_a_wrong_shape_dtype_device_or_name(plugin_id):
    pid = plugin_id("feed")
    identity(pid)
    with TrtRunner(build(pid)) as r:
        with pytest.raises(qdp.InvalidArgumentError, match=r"infer: input 'x' has shape \(3, 2\); "
                           r"the engine expects \(2, 3\)"):
            r.infer({"x": np.zeros((3, 2), np.float32)})
        with pytest.raises(qdp.InvalidArgumentError, match="infer: input 'x' has dtype float64; the "
                           "engine expects float32"):
            r.infer({"x": np.zeros((2, 3))})
        with pytest.raises(qdp.InvalidArgumentError, match="infer: input 'x' is on the GPU but the "
                           "engine runs on the cpu"):
            r.infer({"x": FakeCudaArray()})
        with pytest.raises(qdp.InvalidArgumentError, match=r"infer: input 'x' is missing from the "
                           r"feed \(the engine's inputs: x\)"):
            r.infer({})
        with pytest.raises(qdp.InvalidArgumentError, match="'z' is not an input of the engine"):
            r.infer({"x": np.zeros((2, 3), np.float32), "z": 1})


def test_a_shape_outside_the_profile(plugin_id):
    pid = plugin_id("profile")
    identity(pid)
    builder, net = create_network()
    x = net.add_input("x", qdp.float32, (-1, 3))
    layer = net.add_plugin(op_of(pid)(x))
    layer.get_output(0).name = "y"
    net.mark_output(layer.get_output(0))
    from qdp.runner import Profile
    engine = engine_from_network((builder, net), CreateConfig(
        device="cpu", profiles=[Profile().add("x", (1, 3), (2, 3), (4, 3))]))
    with TrtRunner(engine) as r:
        y = r.infer({"x": np.ones((3, 3), np.float32)})["y"]
        assert y.shape == (3, 3)
        with pytest.raises(qdp.InvalidArgumentError, match=r"input 'x' shape 5x3 is outside its "
                           r"profile: dimension 0 must be within \[1, 4\]"):
            r.infer({"x": np.ones((5, 3), np.float32)})
