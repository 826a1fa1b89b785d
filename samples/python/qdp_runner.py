"""The Python samples of qdp (SPEC §3) with the seed's command line, plus --device cpu|cuda:

    python3 qdp_runner.py add [--autotune] [--aot] [-v]
    python3 qdp_runner.py inplace_add [-v]
    python3 qdp_runner.py non_zero [-v]
    python3 qdp_runner.py circ_pad [--multi_tactic] [--aot] [--save_engine] [--load_engine]
                                   --mode {onnx,inetdef} [--artifacts_dir DIR] [-v]

Each prints "Inference result is correct!" and exits 0, or "Inference result is incorrect!"
and exits 1; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import numpy as np

import qdp as trt
import qdp.plugin as trtp
from qdp.runner import (CreateConfig, TrtRunner, bytes_from_path, create_network,
                        engine_from_bytes, engine_from_network, network_from_onnx_path, save_engine)

import qdp_defs

SHAPE = (10, 3, 32, 32)


def verdict(correct: bool) -> int:
    print("Inference result is correct!" if correct else "Inference result is incorrect!")
    return 0 if correct else 1


def make_logger(verbose: bool) -> trt.Logger:
    if verbose:  # the impls log each call, as the seed's do
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    return trt.Logger(trt.Logger.VERBOSE if verbose else trt.Logger.WARNING)


def run_add(args: argparse.Namespace) -> int:
    if args.autotune:
        qdp_defs.register_add_autotune()
    logger = make_logger(args.verbose)
    x = np.random.randint(0, 10, size=SHAPE).astype(np.float32)
    builder, network = create_network(logger=logger)
    inp = network.add_input(name="x", dtype=trt.float32, shape=x.shape)
    out = network.add_plugin(trtp.op.sample.elemwise_add_plugin(inp, block_size=256), aot=args.aot)
    out.get_output(0).name = "y"
    network.mark_output(tensor=out.get_output(0))
    engine = engine_from_network((builder, network), CreateConfig(device=args.device))
    with TrtRunner(engine, "trt_runner") as runner:
        outputs = runner.infer({"x": x})
        return verdict(np.array_equal(outputs["y"], x + 1))


def run_inplace_add(args: argparse.Namespace) -> int:
    logger = make_logger(args.verbose)
    builder, network = create_network(logger=logger)
    inp = network.add_input(name="x", dtype=trt.float32, shape=SHAPE)
    t = network.add_plugin(trtp.op.sample.elemwise_add_plugin_(inp, delta=2)).get_output(0)
    y = network.add_plugin(trtp.op.sample.elemwise_add_plugin_(t, delta=4)).get_output(0)
    y.name = "y"
    network.mark_output(y)
    config = CreateConfig(device=args.device,
                          preview_features=[trt.PreviewFeature.ALIASED_PLUGIN_IO_10_03])
    engine = engine_from_network((builder, network), config)
    # The caller binds x's own buffer as input "x" and output "y": the network runs in place.
    x = np.ones(SHAPE, np.float32)
    context = engine.create_execution_context()
    if engine.device == "cpu":
        context.set_tensor_address("x", x.ctypes.data)
        context.set_tensor_address("y", x.ctypes.data)
        context.execute_async_v3(0)
        result = x
    else:
        import torch

        xt = torch.ones(SHAPE, dtype=torch.float32, device="cuda")
        context.set_tensor_address("x", xt.data_ptr())
        context.set_tensor_address("y", xt.data_ptr())
        context.execute_async_v3(torch.cuda.current_stream().cuda_stream)
        result = xt.cpu().numpy()
    return verdict(bool(np.all(result == 7)))


def run_non_zero(args: argparse.Namespace) -> int:
    logger = make_logger(args.verbose)
    rows, cols = 128, 128
    x = np.random.normal(size=(rows, cols)).astype(np.float32)
    zeros = np.random.randint(0, x.size + 1)
    x.reshape(-1)[np.random.permutation(x.size)[:zeros]] = 0
    builder, network = create_network(logger=logger)
    inp = network.add_input(name="X", dtype=trt.float32, shape=x.shape)
    layer = network.add_plugin(trtp.op.sample.non_zero_plugin(inp))
    layer.get_output(0).name = "Y"
    layer.get_output(1).name = "N"
    network.mark_output(layer.get_output(0))
    network.mark_output(layer.get_output(1))
    engine = engine_from_network((builder, network), CreateConfig(device=args.device))
    with TrtRunner(engine, "trt_runner") as runner:
        outputs = runner.infer({"X": x})
    y, n = outputs["Y"], int(outputs["N"])
    if args.verbose:
        print(f"[I] {n} non-zero entries of {x.size}")
    got = y[np.lexsort((y[:, 1], y[:, 0]))] if len(y) else y
    want = np.argwhere(x).astype(np.int32)
    return verdict(n == len(want) and got.shape == want.shape and np.array_equal(got, want))


def write_circ_pad_onnx(path: str, pads: np.ndarray, aot: bool) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    out_shape = list(SHAPE)
    for i in range(len(pads) // 2):
        out_shape[len(SHAPE) - i - 1] += int(pads[2 * i] + pads[2 * i + 1])
    node = helper.make_node("circ_pad_plugin", ["x"], ["y"],
                            name="circ_pad_plugin_aot" if aot else "circ_pad_plugin",
                            plugin_namespace="sample", aot=int(aot))
    # pads as a TENSOR attribute, the way onnx-graphsurgeon writes a numpy array.
    node.attribute.append(helper.make_attribute("pads", numpy_helper.from_array(pads)))
    graph = helper.make_graph([node], "circ_pad",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 16)]), path)


def run_circ_pad(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.save_engine and args.load_engine:
        parser.error("--save_engine and --load_engine cannot be used together")
    if not args.load_engine and args.mode is None:
        parser.error("--mode {onnx,inetdef} is required unless --load_engine is given")
    if (args.mode == "onnx" or args.save_engine or args.load_engine) and args.artifacts_dir is None:
        parser.error("--mode onnx needs --artifacts_dir (the ONNX file is written there)"
                     if args.mode == "onnx" else "--save_engine and --load_engine need --artifacts_dir")
    if args.artifacts_dir is not None and not os.path.isdir(args.artifacts_dir):
        parser.error(f"--artifacts_dir '{args.artifacts_dir}' does not exist or is not a folder")
    logger = make_logger(args.verbose)
    engine_path = os.path.join(args.artifacts_dir or "", "circ_pad.engine")
    pads = np.array((1, 1, 1, 1), dtype=np.int32)

    if args.load_engine:
        if args.multi_tactic or args.aot or args.mode or args.device:
            logger.log(trt.Logger.WARNING, "--load_engine ignores --mode, --multi_tactic, --aot "
                                           "and --device")
        # Loading needs desc and impl (qdp_defs), not autotune.
        engine = engine_from_bytes(bytes_from_path(engine_path))
    else:
        if args.multi_tactic:
            qdp_defs.register_circ_pad_multi_tactic()
        if args.mode == "onnx":
            onnx_path = os.path.join(args.artifacts_dir, "circ_pad.onnx")
            write_circ_pad_onnx(onnx_path, pads, args.aot)
            builder, network, _ = network_from_onnx_path(onnx_path, logger=logger)
        else:
            builder, network = create_network(logger=logger)
            inp = network.add_input(name="x", dtype=trt.float32, shape=SHAPE)
            out = network.add_plugin(trtp.op.sample.circ_pad_plugin(inp, pads=pads), aot=args.aot)
            out.get_output(0).name = "y"
            network.mark_output(tensor=out.get_output(0))
        # The sample's FP32 network stays FP32: its tactics are what is tuned.
        engine = engine_from_network((builder, network),
                                     CreateConfig(device=args.device, strict_types=True))
        if args.save_engine:
            save_engine(engine, engine_path)
            logger.log(trt.Logger.INFO, f"Saved the engine to {engine_path}")

    x = np.random.normal(size=SHAPE).astype(np.float32)
    with TrtRunner(engine, "trt_runner") as runner:
        outputs = runner.infer({"x": x})
    widths = [(0, 0)] * len(SHAPE)
    for i in range(len(pads) // 2):
        widths[len(SHAPE) - i - 1] = (int(pads[2 * i]), int(pads[2 * i + 1]))
    return verdict(np.array_equal(outputs["y"], np.pad(x, widths, mode="wrap")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The quickly deployable plugin samples on qdp")
    subparsers = parser.add_subparsers(dest="sample", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("-v", "--verbose", action="store_true", help="Enable verbose log output.")
        p.add_argument("--device", choices=("cpu", "cuda"), default=None,
                       help="Where to build and run (default: cuda when a GPU is present, else cpu).")

    add = subparsers.add_parser("add", help="Elementwise add: y = x + 1")
    add.add_argument("--autotune", action="store_true", help="Define an autotune function.")
    add.add_argument("--aot", action="store_true", help="Use the AOT implementation of the plugin.")
    common(add)
    inplace = subparsers.add_parser("inplace_add", help="Two chained in-place adds (+2, +4)")
    inplace.add_argument("--autotune", action="store_true",
                         help="Accepted as in the seed; this sample always autotunes.")
    common(inplace)
    common(subparsers.add_parser("non_zero", help="Coordinates of the non-zero entries"))
    pad = subparsers.add_parser("circ_pad", help="Circular padding, from ONNX or the network API")
    pad.add_argument("--multi_tactic", action="store_true", help="Enable multiple tactics.")
    pad.add_argument("--save_engine", action="store_true", help="Save engine to the artifacts_dir.")
    pad.add_argument("--load_engine", action="store_true",
                     help="Load engine from the artifacts_dir. Ignores all other options.")
    pad.add_argument("--artifacts_dir", help="Where to store (or retrieve) artifacts.")
    pad.add_argument("--mode", choices=("onnx", "inetdef"),
                     help="Whether to use the ONNX parser or the network API to build the network.")
    pad.add_argument("--aot", action="store_true", help="Use the AOT implementation of the plugin.")
    common(pad)

    args = parser.parse_args(argv)
    try:
        if args.sample == "add":
            return run_add(args)
        if args.sample == "inplace_add":
            return run_inplace_add(args)
        if args.sample == "non_zero":
            return run_non_zero(args)
        return run_circ_pad(args, pad)
    except trt.Error as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
