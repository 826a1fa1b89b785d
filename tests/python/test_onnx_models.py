"""Small real models with one custom plugin node (SPEC §9 acceptance 2), built by onnx_models.py
with random weights, imported by qdp's ONNX importer and checked against onnxruntime running the
same model with the plugin node replaced by its standard equivalent. On the CPU unless
QDP_TEST_DEVICE=cuda. And the bad models the importer must refuse with a clear message.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import onnx_models as M
import qdp
from conftest import build_bin
from qdp.runner import CreateConfig, Profile, TrtRunner, engine_from_network, network_from_onnx_path

ort = pytest.importorskip("onnxruntime")

DEVICE = os.environ.get("QDP_TEST_DEVICE", "cpu").strip().lower() or "cpu"
RTOL = 1e-4  # FP32: relative to the output's largest magnitude where an element is near zero


@pytest.fixture(scope="module")
def sample_plugins() -> None:
    """sample::circ_pad_plugin, from the build tree's libqdp_sample_plugins.so."""
    if "sample::circ_pad_plugin" in qdp._core.plugin_ids():
        return
    bin_dir = build_bin()
    if bin_dir is None:
        pytest.skip("libqdp_sample_plugins.so is not in the build tree (build the samples)")
    qdp.load_plugin_library(str(bin_dir / "libqdp_sample_plugins.so"))


def _save(model: onnx.ModelProto, folder: pathlib.Path, name: str) -> pathlib.Path:
    path = folder / f"{name}.onnx"
    onnx.save(model, str(path))
    return path


def build(path: pathlib.Path, profiles: dict[str, tuple] | None = None, device: str = DEVICE):
    """qdp's engine for an ONNX file: imported, built with strict types (FP32 stays FP32)."""
    builder, network, _ = network_from_onnx_path(path)
    profile = Profile()
    for name, (mn, opt, mx) in (profiles or {}).items():
        profile.add(name, min=mn, opt=opt, max=mx)
    config = CreateConfig(strict_types=True, device=device, profiles=[profile] if profile else None)
    return engine_from_network((builder, network), config)


def reference(model: onnx.ModelProto, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
    ref = M.reference_model(model)
    session = ort.InferenceSession(ref.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feed)


def assert_close(got: np.ndarray, want: np.ndarray, what: str) -> None:
    assert got.shape == want.shape, f"{what}: shape {got.shape}, onnxruntime's {want.shape}"
    scale = float(np.max(np.abs(want))) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=RTOL * scale, err_msg=what)


# ---- the reference itself -----------------------------------------------------------------

@pytest.mark.parametrize("pads, shape", [([2, 2], (3, 5)), ([1, 1, 1, 1], (2, 3, 4, 4)),
                                         ([0, 0, 1, 1], (2, 4, 6)), ([3, 0, 0, 2], (2, 5, 4))])
def test_reference_subgraph_is_a_circular_pad(pads, shape):
    g = M.GraphBuilder("pad", 0)
    g.circ_pad("x", pads)
    g.nodes[-1].output[0] = "y"
    model = g.model([helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                    [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    np.testing.assert_array_equal(reference(model, {"x": x})[0], M.circ_pad_numpy(x, pads))


@pytest.mark.parametrize("name", list(M.MODELS))
def test_models_hold_one_plugin_node_and_their_reference_is_valid_onnx(name):
    model = M.MODELS[name]()
    assert [n.op_type for n in model.graph.node].count(M.PLUGIN_OP) == 1
    onnx.checker.check_model(M.reference_model(model), full_check=True)


def test_plugin_node_alone(tmp_path, sample_plugins):
    """The importer's plugin path with no standard operator: works before any onnx:: op."""
    g = M.GraphBuilder("pad", 0)
    g.circ_pad("x", [1, 2, 2, 1])
    g.nodes[-1].output[0] = "y"
    model = g.model([helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4, 5])],
                    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, 7, 8])])
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float32)
    with TrtRunner(build(_save(model, tmp_path, "pad"))) as runner:
        y = runner.infer({"x": x})["y"]
    np.testing.assert_array_equal(y, M.circ_pad_numpy(x, [1, 2, 2, 1]))


# ---- the models ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(M.MODELS))
def test_model_matches_onnxruntime(name, tmp_path, sample_plugins):
    model = M.MODELS[name]()
    engine = build(_save(model, tmp_path, name), {"x": M.PROFILES[name]})
    rng = np.random.default_rng(42)
    with TrtRunner(engine) as runner:
        for shape in M.RUN_SHAPES[name]:
            x = rng.standard_normal(shape).astype(np.float32)
            want = reference(model, {"x": x})[0]
            got = runner.infer({"x": x})["y"]
            assert_close(got, want, f"{name}, x{shape}")


def test_model_engine_round_trip(tmp_path, sample_plugins):
    """The CNN's engine serialized and loaded back gives the same result (weights in the file)."""
    model = M.cnn()
    engine = build(_save(model, tmp_path, "cnn"), {"x": M.PROFILES["cnn"]})
    loaded = qdp.Runtime().deserialize_cuda_engine(engine.serialize())
    x = np.random.default_rng(7).standard_normal((2, 3, 16, 16)).astype(np.float32)
    with TrtRunner(engine) as a, TrtRunner(loaded) as b:
        np.testing.assert_array_equal(a.infer({"x": x})["y"], b.infer({"x": x})["y"])


def test_external_data_in_the_models_folder(tmp_path, sample_plugins):
    """Initializers stored beside the model (onnx's external data) load like embedded ones."""
    model = M.mlp()
    folder = tmp_path / "m"
    folder.mkdir()
    onnx.save(model, str(folder / "mlp.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
              location="mlp.weights", size_threshold=0)
    assert (folder / "mlp.weights").exists()
    engine = build(folder / "mlp.onnx", {"x": M.PROFILES["mlp"]})
    x = np.random.default_rng(3).standard_normal((2, 16)).astype(np.float32)
    with TrtRunner(engine) as runner:
        assert_close(runner.infer({"x": x})["y"], reference(M.mlp(), {"x": x})[0], "mlp (external data)")


# ---- bad models: refused with a clear error ------------------------------------------------

def _one_node_model(node: onnx.NodeProto, inputs, outputs, inits=()) -> onnx.ModelProto:
    graph = helper.make_graph([node], "bad", inputs, outputs, list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", M.OPSET)])
    m.ir_version = 8
    return m


def _f32(name: str, shape) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def import_and_build(path: pathlib.Path) -> None:
    """What a user does: parse, then build (some mistakes can only show when shapes are known)."""
    build(path, device="cpu")


def _unsupported_op() -> str:
    have = {i.split("::", 1)[1] for i in qdp._core.plugin_ids() if i.startswith("onnx::")}
    for op in ("Det", "Hardmax", "Einsum", "Celu", "Shrink"):
        if op not in have:
            return op
    pytest.skip("qdp has every candidate operator")


def test_unsupported_operator_names_node_op_opset_and_the_supported_list(tmp_path):
    op = _unsupported_op()
    node = helper.make_node(op, ["x"], ["y"], name="the_node")
    path = _save(_one_node_model(node, [_f32("x", [3, 3])], [_f32("y", [3, 3])]), tmp_path, "op")
    with pytest.raises(qdp.Error, match=op) as info:
        import_and_build(path)
    msg = str(info.value)
    assert "the_node" in msg, msg
    assert str(M.OPSET) in msg and "opset" in msg.lower(), msg
    assert "supported" in msg.lower(), msg
    supported = sorted({i.split("::", 1)[1] for i in qdp._core.plugin_ids() if i.startswith("onnx::")})
    if supported:  # the list of what qdp has
        assert any(s in msg for s in supported[:3]), msg


def test_attribute_the_op_does_not_take(tmp_path):
    node = helper.make_node("Relu", ["x"], ["y"], name="relu_node", alpha=0.5)  # Relu has none
    path = _save(_one_node_model(node, [_f32("x", [4])], [_f32("y", [4])]), tmp_path, "attr")
    with pytest.raises(qdp.Error, match="alpha") as info:
        import_and_build(path)
    assert "relu_node" in str(info.value), info.value


def test_shapes_that_do_not_broadcast(tmp_path):
    node = helper.make_node("Add", ["a", "b"], ["y"], name="add_node")
    path = _save(_one_node_model(node, [_f32("a", [2, 3]), _f32("b", [4, 3])], [_f32("y", [2, 3])]),
                 tmp_path, "bcast")
    with pytest.raises(qdp.Error, match=r"(?i)broadcast") as info:
        import_and_build(path)
    msg = str(info.value)
    assert "add_node" in msg and "2" in msg and "4" in msg, msg


def test_declared_output_type_that_disagrees(tmp_path):
    node = helper.make_node("Relu", ["x"], ["y"], name="relu_node")
    model = _one_node_model(node, [_f32("x", [4])],
                            [helper.make_tensor_value_info("y", TensorProto.INT64, [4])])
    path = _save(model, tmp_path, "outtype")
    with pytest.raises(qdp.Error, match=r"(?i)int64") as info:
        import_and_build(path)
    msg = str(info.value)
    assert "'y'" in msg or "\"y\"" in msg or "output y" in msg, msg
    assert "float" in msg.lower() or "fp32" in msg.lower(), msg


def test_declared_output_shape_that_disagrees(tmp_path):
    node = helper.make_node("Relu", ["x"], ["y"], name="relu_node")
    path = _save(_one_node_model(node, [_f32("x", [4])], [_f32("y", [5])]), tmp_path, "outshape")
    with pytest.raises(qdp.Error, match=r"(?i)shape") as info:
        import_and_build(path)
    assert "y" in str(info.value) and "5" in str(info.value), info.value


def test_truncated_initializer(tmp_path):
    w = numpy_helper.from_array(np.arange(4, dtype=np.float32), "w")
    w.raw_data = w.raw_data[:8]  # dims say 4 floats, 8 bytes are there
    node = helper.make_node("Add", ["x", "w"], ["y"], name="add_node")
    path = _save(_one_node_model(node, [_f32("x", [4])], [_f32("y", [4])], [w]), tmp_path, "trunc")
    with pytest.raises(qdp.Error, match=r"(?i)bytes") as info:
        import_and_build(path)
    msg = str(info.value)
    assert "'w'" in msg or "initializer w" in msg or "\"w\"" in msg, msg
    assert "8" in msg and "16" in msg, msg


def test_truncated_model_file(tmp_path):
    path = _save(M.mlp(), tmp_path, "mlp")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(qdp.Error, match="mlp.onnx"):
        import_and_build(path)


@pytest.mark.parametrize("location", ["../secret.bin", "sub/../../secret.bin", "/SECRET"])
def test_external_data_path_that_leaves_the_models_folder(tmp_path, location):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(4, dtype=np.float32).tobytes())  # there, so not "not found"
    location = location.replace("/SECRET", str(secret))
    w = onnx.TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4])
    w.data_location = onnx.TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", "16")):
        entry = w.external_data.add()
        entry.key, entry.value = k, v
    node = helper.make_node("Add", ["x", "w"], ["y"], name="add_node")
    folder = tmp_path / "model"
    folder.mkdir()
    path = folder / "ext.onnx"
    path.write_bytes(_one_node_model(node, [_f32("x", [4])], [_f32("y", [4])], [w]).SerializeToString())
    with pytest.raises(qdp.Error, match=r"(?i)folder|directory") as info:
        import_and_build(path)
    msg = str(info.value)
    assert location in msg and ("'w'" in msg or "initializer w" in msg), msg
