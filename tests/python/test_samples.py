"""The Python samples on the CPU: every option of SPEC §3, the verdicts and the usage errors."""

from __future__ import annotations

import pytest

from conftest import SAMPLES, run_python

CORRECT = "Inference result is correct!"


def runner(*args: str):
    return run_python([str(SAMPLES / "qdp_runner.py"), *args, "--device", "cpu"], cwd=SAMPLES)


@pytest.mark.parametrize("args", [
    ["add"], ["add", "--autotune"], ["inplace_add"], ["inplace_add", "--autotune"], ["non_zero"],
    ["circ_pad", "--mode", "inetdef"], ["circ_pad", "--mode", "inetdef", "--multi_tactic"],
], ids=" ".join)
def test_sample_is_correct(args):
    result = runner(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith(CORRECT)


def test_add_autotune_verbose_shows_each_candidate_and_the_build_time():
    out = runner("add", "--autotune", "-v").stdout
    assert "Executing for inp0.dtype=DataType.FLOAT and output[0].dtype=DataType.FLOAT" in out
    assert "Executing for inp0.dtype=DataType.HALF and output[0].dtype=DataType.HALF" in out
    assert "Finished engine building in" in out and out.strip().endswith(CORRECT)


def test_non_zero_handles_none_and_all(tmp_path):
    # The sample zeroes a random count; the plugin itself is checked at both ends here.
    script = f"""
import sys; sys.path.insert(0, {str(SAMPLES)!r})
import numpy as np, qdp as trt, qdp.plugin as trtp, qdp_defs
from qdp.runner import CreateConfig, TrtRunner, create_network, engine_from_network
builder, net = create_network()
x = net.add_input("X", trt.float32, (8, 8))
layer = net.add_plugin(trtp.op.sample.non_zero_plugin(x))
layer.get_output(0).name, layer.get_output(1).name = "Y", "N"
net.mark_output(layer.get_output(0)); net.mark_output(layer.get_output(1))
with TrtRunner(engine_from_network((builder, net), CreateConfig(device="cpu"))) as r:
    for a in (np.zeros((8, 8), np.float32), np.ones((8, 8), np.float32)):
        out = r.infer({{"X": a}})
        assert int(out["N"]) == np.count_nonzero(a) and out["Y"].shape == (np.count_nonzero(a), 2)
        assert (out["Y"] == np.argwhere(a)).all()
print("ok")
"""
    result = run_python(["-c", script])
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr


def test_circ_pad_onnx_save_and_load(tmp_path):
    art = str(tmp_path)
    result = runner("circ_pad", "--mode", "onnx", "--multi_tactic", "--artifacts_dir", art, "-v")
    assert result.returncode == 0 and CORRECT in result.stdout, result.stderr
    assert (tmp_path / "circ_pad.onnx").exists()
    assert "tactic=1" in result.stdout and "tactic=2" in result.stdout  # both tactics timed
    result = runner("circ_pad", "--mode", "inetdef", "--multi_tactic", "--save_engine",
                    "--artifacts_dir", art)
    assert result.returncode == 0 and (tmp_path / "circ_pad.engine").exists(), result.stderr
    result = run_python([str(SAMPLES / "qdp_runner.py"), "circ_pad", "--load_engine",
                         "--artifacts_dir", art], cwd=SAMPLES)
    assert result.returncode == 0 and result.stdout.strip().endswith(CORRECT), result.stderr
    result = runner("circ_pad", "--load_engine", "--multi_tactic", "--artifacts_dir", art)
    assert "--load_engine ignores" in result.stdout and result.returncode == 0


@pytest.mark.parametrize("args, message", [
    (["circ_pad", "--mode", "onnx"], "--mode onnx needs --artifacts_dir"),
    (["circ_pad", "--save_engine", "--load_engine", "--artifacts_dir", "."],
     "--save_engine and --load_engine cannot be used together"),
    (["circ_pad"], "--mode {onnx,inetdef} is required unless --load_engine is given"),
    (["circ_pad", "--mode", "inetdef", "--artifacts_dir", "/nonexistent/dir"],
     "--artifacts_dir '/nonexistent/dir' does not exist or is not a folder"),
    (["circ_pad", "--mode", "bogus"], "invalid choice: 'bogus'"),
], ids=lambda a: " ".join(a) if isinstance(a, list) else "")
def test_usage_errors_exit_2(args, message):
    result = runner(*args)
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_aot_on_the_cpu_is_an_error_naming_the_device():
    result = runner("add", "--aot")
    assert result.returncode == 1
    assert "the cpu backend runs no AOT kernels" in result.stderr
