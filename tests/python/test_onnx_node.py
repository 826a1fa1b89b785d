"""ONNX's backend node tests on qdp (SPEC §9 acceptance 1): one pytest test per folder of
onnx/backend/test/data/node whose operators are all `onnx::` plugins of qdp, run on the CPU
(QDP_TEST_DEVICE=cuda: on the GPU) and checked at ONNX's tolerances. Tests of operators qdp
lacks are skipped quietly; the per-operator counts are printed at the end of the session
(onnx_node_runner.pytest_terminal_summary) and written as JSON to $QDP_NODE_RESULTS if set.

  QDP_NODE_TESTS=REGEX   runs only the node tests whose name matches
  scripts/onnx-node-table.py   prints the same counts as a markdown table
"""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("onnx_node_runner")  # before the import: its asserts explain

import onnx_node_runner as R  # noqa: E402

# The runner's pytest_terminal_summary prints the per-operator table.
pytest_plugins = ["onnx_node_runner"]


def _params() -> list:
    supported = R.supported_ops()
    params = []
    for t in R.all_tests():
        R.register_param(t)
        missing = t.missing_ops(supported)
        marks = [pytest.mark.skip(reason=R.unsupported_reason(missing))] if missing else []
        params.append(pytest.param(t, id=t.name, marks=marks))
    return params


@pytest.mark.parametrize("node_test", _params())
def test_onnx_node(node_test: R.NodeTest) -> None:
    try:
        R.run_test(node_test)
    except R.Skip as e:
        pytest.skip(str(e))
