"""Runs ONNX's backend node tests (onnx/backend/test/data/node, shipped in the onnx wheel) on qdp.

Shared by tests/python/test_onnx_node.py (one pytest test per node test, and the per-operator
summary printed at the end of the session) and scripts/onnx-node-table.py (the same table as
markdown, for the README).

A node test is a folder test_<name>/ with model.onnx and test_data_set_<k>/{input,output}_<i>.pb.
Its verdict:

  pass           every output of every data set matches at the test's tolerances
  fail           an operator qdp has gave a wrong result, crashed, or refused the model with an
                 error that is not an honest "not supported"
  skip           qdp cannot take the test's inputs or outputs (a type qdp lacks: DOUBLE,
                 STRING, UINT16, ...; a sequence or optional value), or refused it with an
                 Unsupported error / a message saying "not supported" (the reason is the message)
  not supported  the model uses an operator qdp lacks (no `onnx::<op_type>` plugin, or a node
                 outside the default domain); skipped quietly and counted apart

The device is the CPU unless QDP_TEST_DEVICE=cuda.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import glob
import json
import os
import pathlib
import re
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

import qdp

# The onnx wheel's node tests; QDP_ONNX_NODE_DIR points elsewhere (a GPU machine whose onnx is
# newer than 1.22, the last that ships them, gets a copy carried there).
NODE_DATA = pathlib.Path(os.environ.get("QDP_ONNX_NODE_DIR") or (
    pathlib.Path(onnx.__file__).resolve().parent / "backend" / "test" / "data" / "node"))
DEFAULT_DOMAINS = ("", "ai.onnx")

# ONNX element types qdp's network I/O takes, with the numpy type the runner feeds. BFLOAT16 is
# a qdp type too, but qdp.nptype has no numpy type for it (qdp.runner cannot feed it).
QDP_IO_TYPES = {
    TensorProto.FLOAT: np.float32, TensorProto.FLOAT16: np.float16, TensorProto.INT8: np.int8,
    TensorProto.UINT8: np.uint8, TensorProto.INT32: np.int32, TensorProto.INT64: np.int64,
    TensorProto.BOOL: np.bool_,
}
# Tolerances: ONNX's backend defaults (onnx/backend/test/loader), or the test's data.json; looser
# where an output is half precision.
RTOL, ATOL = 1e-3, 1e-7
FP16_RTOL, FP16_ATOL = 1e-2, 1e-3

PASS, FAIL, SKIP, UNSUPPORTED = "pass", "fail", "skip", "not supported"
UNSUPPORTED_PREFIX = "operator not in qdp: "


def unsupported_reason(missing: Sequence[str]) -> str:
    return UNSUPPORTED_PREFIX + ", ".join(missing)


def device() -> str:
    d = os.environ.get("QDP_TEST_DEVICE", "cpu").strip().lower() or "cpu"
    if d not in ("cpu", "cuda"):
        raise ValueError(f"QDP_TEST_DEVICE must be cpu or cuda, not {d!r}")
    return d


# ---- which operators qdp has ----------------------------------------------------------------

def _ops_library() -> pathlib.Path | None:
    """build/bin/libqdp_ops.so beside the module when it runs from the build tree."""
    core = pathlib.Path(qdp._core.__file__).resolve()
    for folder in (core.parent.parent.parent / "bin", core.parent):
        if (folder / "libqdp_ops.so").exists():
            return folder / "libqdp_ops.so"
    return None


@functools.lru_cache(maxsize=None)
def supported_ops() -> frozenset[str]:
    """The op types of the registered `onnx::` plugins. Should the module not have registered
    them (libqdp_ops linked but not loaded), libqdp_ops.so from the build tree is loaded once."""
    ids = [i for i in qdp._core.plugin_ids() if i.startswith("onnx::")]
    if not ids:
        lib = _ops_library()
        if lib is not None:
            try:
                qdp.load_plugin_library(str(lib))
            except qdp.Error:
                pass
            ids = [i for i in qdp._core.plugin_ids() if i.startswith("onnx::")]
    # Constant and Split nodes are no plugins: the importer makes them constants and Slices.
    return frozenset(i.split("::", 1)[1] for i in ids) | {"Constant", "Split"}


# ---- what a node test is ----------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _schema_names() -> tuple[str, ...]:
    names = {s.name for s in onnx.defs.get_all_schemas_with_history() if s.domain in DEFAULT_DOMAINS}
    return tuple(sorted(names, key=len, reverse=True))


def _norm(s: str) -> str:
    return s.replace("_", "").lower()


def _nodes(graph: onnx.GraphProto) -> Iterable[onnx.NodeProto]:
    """Every node, those of subgraphs (If, Loop, Scan bodies) included."""
    for n in graph.node:
        yield n
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                yield from _nodes(a.g)
            elif a.type == onnx.AttributeProto.GRAPHS:
                for g in a.graphs:
                    yield from _nodes(g)


@dataclasses.dataclass(frozen=True)
class NodeTest:
    name: str                  # test_<...>, the folder's name
    path: pathlib.Path
    op: str                    # the operator the test is about (for the per-operator counts)
    ops: tuple[str, ...]       # every op type of the model (default domain), sorted
    foreign: tuple[str, ...]   # nodes outside the default domain, as domain::op_type
    rtol: float
    atol: float

    @property
    def model_path(self) -> pathlib.Path:
        return self.path / "model.onnx"

    def missing_ops(self, supported: frozenset[str]) -> list[str]:
        return [*self.foreign, *(o for o in self.ops if o not in supported)]


# Test-name stems that do not spell their operator (normalized: lower case, no underscores).
_NAME_ALIASES = {"greaterequal": "GreaterOrEqual", "lessequal": "LessOrEqual",
                 "sce": "SoftmaxCrossEntropyLoss", "nllloss": "NegativeLogLikelihoodLoss",
                 "batchnorm": "BatchNormalization", "instancenorm": "InstanceNormalization",
                 "groupnormalization": "GroupNormalization", "flexattention": "FlexAttention", "mvn": "MeanVarianceNormalization"}


def _primary_op(name: str, graph_ops: Sequence[str]) -> str:
    """The operator a test is about: a one-node model's op; for an `_expanded` test (the op's
    function body) the op named by the test; otherwise the model's op the test's name starts
    with, else its first."""
    if len(graph_ops) == 1:
        return graph_ops[0]
    stem = _norm(name[len("test_"):])
    for alias in sorted(_NAME_ALIASES, key=len, reverse=True):
        if stem.startswith(alias):
            return _NAME_ALIASES[alias]
    if name.endswith("_expanded") or "_expanded_" in name:
        for s in _schema_names():
            if stem.startswith(_norm(s)):
                return s
    for o in sorted(set(graph_ops), key=len, reverse=True):
        if stem.startswith(_norm(o)):
            return o
    return graph_ops[0] if graph_ops else "?"


@functools.lru_cache(maxsize=None)
def load_test(path: str) -> NodeTest:
    p = pathlib.Path(path)
    model = onnx.load(str(p / "model.onnx"), load_external_data=False)
    ordered: list[str] = []
    foreign: list[str] = []
    for n in _nodes(model.graph):
        if n.domain in DEFAULT_DOMAINS:
            ordered.append(n.op_type)
        else:
            foreign.append(f"{n.domain}::{n.op_type}")
    top = [n.op_type for n in model.graph.node if n.domain in DEFAULT_DOMAINS]
    rtol, atol = RTOL, ATOL
    if (p / "data.json").exists():
        data = json.loads((p / "data.json").read_text())
        rtol, atol = data.get("rtol", rtol), data.get("atol", atol)
    op = _primary_op(p.name, top or ordered) if (top or ordered) else foreign[0]
    return NodeTest(p.name, p, op, tuple(sorted(set(ordered))),
                    tuple(sorted(set(foreign))), rtol, atol)


def all_tests(pattern: str | None = None) -> list[NodeTest]:
    """Every node test (those with a model.onnx), by name; `pattern` (a regular expression, also
    from QDP_NODE_TESTS) keeps those whose name it matches."""
    pattern = pattern if pattern is not None else os.environ.get("QDP_NODE_TESTS")
    rx = re.compile(pattern) if pattern else None
    tests = []
    for d in sorted(NODE_DATA.iterdir()):
        if (d / "model.onnx").exists() and (rx is None or rx.search(d.name)):
            tests.append(load_test(str(d)))
    return tests


# ---- running one --------------------------------------------------------------------------------

class Skip(Exception):
    """The test cannot run on qdp for a stated reason (pytest skips it)."""


class Unsupported(Skip):
    """The model uses an operator qdp lacks (counted as "not supported")."""


def _type_name(elem_type: int) -> str:
    return TensorProto.DataType.Name(elem_type)


def _io_dtype(vi: onnx.ValueInfoProto, what: str) -> Any:
    t = vi.type
    kind = t.WhichOneof("value")
    if kind != "tensor_type":
        raise Skip(f"{what} '{vi.name}' is a {kind or 'value of unknown type'}: qdp's network I/O "
                   "are tensors")
    et = t.tensor_type.elem_type
    if et not in QDP_IO_TYPES:
        if et == TensorProto.BFLOAT16:
            raise Skip(f"{what} '{vi.name}' is BFLOAT16: qdp.nptype has no numpy type for it, "
                       "so qdp.runner cannot feed or read it")
        raise Skip(f"{what} '{vi.name}' is {_type_name(et)}: not a qdp type")
    return QDP_IO_TYPES[et]


def _read_tensor(path: str) -> np.ndarray:
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def _data_sets(test: NodeTest, n_in: int, n_out: int) -> list[tuple[list[np.ndarray], list[np.ndarray]]]:
    """Each test_data_set_<k>: its inputs in graph-input order, its expected outputs in
    graph-output order."""
    sets = []
    for d in sorted(glob.glob(str(test.path / "test_data_set_*"))):
        n_files = len(glob.glob(os.path.join(d, "input_*.pb")))
        if n_files != n_in:
            raise Skip(f"{os.path.basename(d)} has {n_files} input files for {n_in} graph inputs")
        ins = [_read_tensor(os.path.join(d, f"input_{i}.pb")) for i in range(n_in)]
        outs = [_read_tensor(os.path.join(d, f"output_{i}.pb")) for i in range(n_out)]
        sets.append((ins, outs))
    return sets


def honest_unsupported(e: BaseException) -> bool:
    """An error that says qdp does not support something (rather than a crash or a bug)."""
    return isinstance(e, qdp.UnsupportedError) or (
        isinstance(e, qdp.Error) and re.search(r"\bnot supported\b|\bunsupported\b", str(e), re.I) is not None)


def compare(name: str, got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> None:
    """ONNX's backend check: same shape, same dtype, then allclose (exact for integers, bools)."""
    got = np.asarray(got)
    assert got.shape == want.shape, f"output '{name}': shape {got.shape}, expected {want.shape}"
    assert got.dtype == want.dtype, f"output '{name}': dtype {got.dtype}, expected {want.dtype}"
    if want.dtype == np.float16:
        rtol, atol = max(rtol, FP16_RTOL), max(atol, FP16_ATOL)
    if want.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want, err_msg=f"output '{name}'")
    else:
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=f"output '{name}'")


def build_engine(model_path: str | os.PathLike[str], dev: str, feeds: Sequence[Mapping[str, np.ndarray]] = (),
                 fast: bool = True) -> Any:
    """Imports an ONNX file with qdp and builds it for `dev`, with strict types (the declared
    precision: no FP16 candidate replaces an FP32 node in a conformance test). Inputs with
    dynamic dimensions get a profile that spans the shapes of `feeds`."""
    from qdp.runner import CreateConfig, Profile, engine_from_network, network_from_onnx_path

    builder, network, _ = network_from_onnx_path(os.fspath(model_path))
    profile = Profile()
    for i in range(network.num_inputs):
        t = network.get_input(i)
        if t.shape is not None and any(d < 0 for d in t.shape):
            shapes = [np.shape(f[t.name]) for f in feeds if t.name in f]
            if not shapes:
                raise qdp.InvalidArgumentError(f"input '{t.name}' has dynamic dimensions and no "
                                               "feed to size its profile")
            lo = tuple(int(x) for x in np.min(shapes, axis=0))
            hi = tuple(int(x) for x in np.max(shapes, axis=0))
            profile.add(t.name, min=lo, opt=tuple(shapes[0]), max=hi)
    config = CreateConfig(strict_types=True, device=dev, profiles=[profile] if profile else None)
    built = config(builder, network)
    if fast:  # one timed run per candidate: these tests check results, not speed
        built.warmup_runs, built.timed_runs = 0, 1
    return engine_from_network((builder, network), built)


def run_test(test: NodeTest, dev: str | None = None, supported: frozenset[str] | None = None) -> int:
    """Runs a node test on qdp; returns the number of data sets checked. Raises Unsupported or
    Skip (with the reason) where it cannot run, AssertionError or a qdp.Error where it fails."""
    from qdp.runner import TrtRunner

    dev = dev or device()
    supported = supported_ops() if supported is None else supported
    missing = test.missing_ops(supported)
    if missing:
        raise Unsupported(unsupported_reason(missing))
    model = onnx.load(str(test.model_path), load_external_data=False)
    g = model.graph
    inits = {t.name for t in g.initializer}
    inputs = [vi for vi in g.input if vi.name not in inits]
    for vi in inputs:
        _io_dtype(vi, "input")
    for vi in g.output:
        _io_dtype(vi, "output")
    sets = _data_sets(test, len(inputs), len(g.output))
    feeds = [{vi.name: a for vi, a in zip(inputs, ins)} for ins, _ in sets]
    try:
        engine = build_engine(test.model_path, dev, feeds)
    except qdp.Error as e:
        if honest_unsupported(e):
            raise Skip(str(e)) from e
        if SHAPE_INPUT not in str(e):
            raise
        # The test feeds at run time what qdp reads when it builds (a Reshape's shape, Slice's
        # starts, Reduce's axes): real models hold constants there. Freeze the integer inputs to
        # each data set's values and build once per data set.
        for k, ((ins, outs), feed) in enumerate(zip(sets, feeds)):
            frozen = {name: a for name, a in feed.items() if a.dtype in (np.int64, np.int32)}
            _run_sets(test, g, build_frozen(model, frozen, dev, [feed]), [(ins, outs)],
                      [{n: a for n, a in feed.items() if n not in frozen}], first=k)
        return len(sets)
    _run_sets(test, g, engine, sets, feeds)
    return len(sets)


SHAPE_INPUT = "known when the engine is built"  # a shape input, Range's bounds


def build_frozen(model: onnx.ModelProto, frozen: Mapping[str, np.ndarray], dev: str,
                 feeds: Sequence[Mapping[str, np.ndarray]]) -> Any:
    """Builds `model` with the graph inputs in `frozen` turned into initializers."""
    import tempfile

    m = onnx.ModelProto()
    m.CopyFrom(model)
    keep = [vi for vi in m.graph.input if vi.name not in frozen]
    del m.graph.input[:]
    m.graph.input.extend(keep)
    for name, a in frozen.items():
        m.graph.initializer.append(onnx.numpy_helper.from_array(a, name))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.onnx")
        onnx.save(m, path)
        rest = [{n: a for n, a in f.items() if n not in frozen} for f in feeds]
        return build_engine(path, dev, rest)


def _run_sets(test: NodeTest, g: onnx.GraphProto, engine: Any, sets: Sequence[Any],
              feeds: Sequence[Mapping[str, np.ndarray]], first: int = 0) -> None:
    from qdp.runner import TrtRunner

    with TrtRunner(engine) as runner:
        for k, ((ins, outs), feed) in enumerate(zip(sets, feeds), start=first):
            try:
                result = runner.infer(feed)
            except qdp.Error as e:
                if honest_unsupported(e):
                    raise Skip(str(e)) from e
                raise
            for vi, want in zip(g.output, outs):
                assert vi.name in result, f"data set {k}: qdp gave no output '{vi.name}'"
                try:
                    compare(vi.name, result[vi.name], want, test.rtol, test.atol)
                except AssertionError as e:
                    raise AssertionError(f"{test.name}, data set {k}: {e}") from None


def classify(test: NodeTest, dev: str | None = None) -> tuple[str, str]:
    """(verdict, detail) of one node test, as the table script reports it."""
    try:
        run_test(test, dev)
    except Unsupported as e:
        return UNSUPPORTED, str(e)
    except Skip as e:
        return SKIP, str(e)
    except Exception as e:  # noqa: BLE001 -- every other outcome is a failure, reported
        return FAIL, f"{type(e).__name__}: {e}".splitlines()[0][:300]
    return PASS, ""


# ---- the per-operator table -----------------------------------------------------------------

def tally(results: Iterable[tuple[NodeTest, str]]) -> dict[str, collections.Counter[str]]:
    per_op: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for test, verdict in results:
        per_op[test.op][verdict] += 1
    return per_op


def table_lines(per_op: Mapping[str, Mapping[str, int]], markdown: bool = True,
                include_unsupported: bool = False, title: str | None = None) -> list[str]:
    """The per-operator counts: operators with a test that ran (or, with include_unsupported,
    every operator), then a totals row and a line on the operators qdp lacks."""
    rows = sorted(op for op, c in per_op.items()
                  if include_unsupported or sum(v for k, v in c.items() if k != UNSUPPORTED))
    total = collections.Counter()
    for c in per_op.values():
        total.update(c)
    lacking = sorted(op for op, c in per_op.items() if c.get(UNSUPPORTED) and op not in rows)
    lines = []
    if title:
        lines.append(title)
    if markdown:
        lines += ["| operator | passed | failed | skipped | not supported |",
                  "|---|---:|---:|---:|---:|"]
        for op in rows:
            c = per_op[op]
            lines.append(f"| {op} | {c[PASS]} | {c[FAIL]} | {c[SKIP]} | {c[UNSUPPORTED]} |")
        lines.append(f"| **total** | **{total[PASS]}** | **{total[FAIL]}** | **{total[SKIP]}** | "
                     f"**{total[UNSUPPORTED]}** |")
    else:
        w = max([len(op) for op in rows] + [8])
        lines.append(f"{'operator':<{w}}  passed  failed  skipped  not-supported")
        for op in rows:
            c = per_op[op]
            lines.append(f"{op:<{w}}  {c[PASS]:>6}  {c[FAIL]:>6}  {c[SKIP]:>7}  {c[UNSUPPORTED]:>13}")
        lines.append(f"{'total':<{w}}  {total[PASS]:>6}  {total[FAIL]:>6}  {total[SKIP]:>7}  "
                     f"{total[UNSUPPORTED]:>13}")
    if lacking and not include_unsupported:
        n = sum(per_op[op][UNSUPPORTED] for op in lacking)
        lines.append("")
        lines.append(f"{n} test{'s' * (n != 1)} of {len(lacking)} operator{'s' * (len(lacking) != 1)} "
                     "qdp lacks were not run.")
    return lines


# ---- pytest hooks (test_onnx_node.py loads this module as a plugin through pytest_plugins) ----

_TESTS_BY_ID: dict[str, NodeTest] = {}


def register_param(test: NodeTest) -> None:
    _TESTS_BY_ID[test.name] = test


def _verdict(report: Any) -> str | None:
    if report.when == "call" and report.passed:
        return PASS
    if report.failed:
        return FAIL
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        return UNSUPPORTED if reason.removeprefix("Skipped: ").startswith(UNSUPPORTED_PREFIX) else SKIP
    return None


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    verdicts: dict[str, str] = {}
    for key in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(key, []):
            nodeid = getattr(report, "nodeid", "")
            if "test_onnx_node.py::" not in nodeid:
                continue
            m = re.search(r"\[(test_[^\]]+)\]$", nodeid)
            if not m or m.group(1) not in _TESTS_BY_ID:
                continue
            v = _verdict(report)
            if v is None:
                continue
            # A failure in teardown after a pass still counts as a failure.
            if verdicts.get(m.group(1)) != FAIL:
                verdicts[m.group(1)] = v
    if not verdicts:
        return
    per_op = tally((_TESTS_BY_ID[n], v) for n, v in verdicts.items())
    dev = device()
    for line in table_lines(per_op, markdown=False,
                            title=f"ONNX node tests on qdp ({dev}), per operator:"):
        terminalreporter.write_line(line)
    out = os.environ.get("QDP_NODE_RESULTS")
    if out:
        with open(out, "w") as f:
            json.dump({"device": dev, "results": {n: {"op": _TESTS_BY_ID[n].op, "verdict": v}
                                                  for n, v in sorted(verdicts.items())}}, f, indent=1)
