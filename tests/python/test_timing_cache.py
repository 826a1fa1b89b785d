"""The timing cache under TensorRT's names: IBuilderConfig.create_timing_cache / set_timing_cache,
ITimingCache.serialize / combine / reset. A second build with the cache runs no impl while
building and makes the first build's choices; corrupt bytes raise."""

from __future__ import annotations

from typing import List, Tuple

import numpy as np
import pytest

import qdp
import qdp.plugin as trtp
import qdp.runner


def chain(pid: str, calls: list, layers: int = 3):
    @trtp.register(pid)
    def desc(x: trtp.TensorDesc, delta: float) -> trtp.TensorDesc:
        return x.like()

    @trtp.autotune(pid)
    def tune(x: trtp.TensorDesc, outputs: Tuple[trtp.TensorDesc]) -> List[trtp.AutoTuneCombination]:
        return [trtp.AutoTuneCombination("FP32, FP32", "LINEAR", [1, 2, 3])]

    @trtp.impl(pid)
    def impl(x: trtp.Tensor, delta: float, outputs: Tuple[trtp.Tensor], stream: int, tactic: int):
        calls.append(tactic)
        np.add(np.asarray(x), delta, out=np.asarray(outputs[0]))

    builder, net = qdp.runner.create_network()
    h = net.add_input("x", qdp.float32, (4, 16))
    op = getattr(trtp.op.test, pid.split("::")[1])
    for i in range(layers):
        h = net.add_plugin(op(h, delta=float(i + 1))).get_output(0)
    h.name = "y"
    net.mark_output(h)
    return builder, net


def cpu_config(builder):
    config = builder.create_builder_config()
    config.device = "cpu"
    return config


def test_second_build_reuses_the_timings(plugin_id):
    calls: list = []
    builder, net = chain(plugin_id("tc"), calls)
    config = cpu_config(builder)
    cache = config.create_timing_cache(b"")
    assert config.set_timing_cache(cache, ignore_mismatch=False)
    assert config.get_timing_cache() is cache
    first = builder.build_engine_with_config(net, config)
    assert set(calls) == {1, 2, 3} and cache.size == 9 and cache.device.startswith("cpu: ")

    # From its bytes, in a fresh config: nothing runs while building, the same choices.
    data = bytes(cache.serialize())
    calls.clear()
    config2 = cpu_config(builder)
    config2.set_timing_cache(config2.create_timing_cache(data), False)
    second = builder.build_engine_with_config(net, config2)
    assert calls == []
    assert second.layers == first.layers
    with qdp.runner.TrtRunner(second) as r:
        y = r.infer({"x": np.zeros((4, 16), np.float32)})["y"]
    np.testing.assert_array_equal(y, np.full((4, 16), 6, np.float32))


def test_combine_reset_and_corrupt_bytes(plugin_id):
    calls: list = []
    builder, net = chain(plugin_id("tc"), calls, layers=2)
    config = cpu_config(builder)
    a = config.create_timing_cache()
    config.set_timing_cache(a)
    builder.build_engine_with_config(net, config)
    b = config.create_timing_cache()
    assert b.combine(a, ignore_mismatch=False) and b.size == a.size == 6
    assert b.reset() and b.size == 0
    bad = bytearray(a.serialize())
    bad[-2] ^= 0x10
    with pytest.raises(qdp.Error, match="corrupted: checksum mismatch"):
        config.create_timing_cache(bytes(bad))
    with pytest.raises(qdp.Error, match="not a qdp timing cache"):
        config.create_timing_cache(b"hello")
