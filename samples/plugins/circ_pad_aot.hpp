#pragma once
// The AOT variant of sample::circ_pad_plugin: the staged kernel of circ_pad_staged.cuh, compiled
// by NVRTC from the same text the JIT impl includes. The kernel moves elements by their size (2
// or 4 bytes), so one source serves every type; shapes, pads and the rows each block stages
// arrive as int32 extra arguments, so the engine follows the run-time shape.
//   tactic 1: 8 KB staged per block of 128 threads;
//   tactic 2: 16 KB per block of 256 threads.
// (H200, (64,64,256,256), pads 1, measured with the kernel alone: 93-96 % of copy in FP32 and
// 93-94 % in FP16 for both; gpu-check times the engines.)
#include <qdp/plugin.hpp>
#include <string>
#include <vector>

#include "plugins/circ_pad_staged_source.hpp"

namespace qdp::samples {

// Bytes staged per block (under the 48 KB of shared memory a launch gets without opting in)
// and its threads; one task per block.
struct CircPadStaging {
  int64_t bytes_per_stage;
  int threads;
};
inline constexpr CircPadStaging kCircPadStaging[2] = {{8192, 128}, {16384, 256}};

// `pads` in torch F.pad order (last dimension first); `out` is desc's output.
inline AotKernel circ_pad_aot_kernel(TensorDesc const& x, std::vector<int32_t> const& pads,
                                     TensorDesc const& out, Tactic tactic) {
  if (x.rank() > 4)
    fail("the AOT circ_pad kernel takes tensors of rank 4 or less, not {}", x.rank());
  int64_t bytes = static_cast<int64_t>(element_size(x.dtype));
  if (bytes != 2 && bytes != 4)
    fail("the AOT circ_pad kernel moves 2- or 4-byte elements, not {}", name(x.dtype));
  // Seen as rank 4: leading dimensions of extent 1, no padding.
  std::vector<ShapeExpr> in_dims(4, ShapeExpr(1)), out_dims(4, ShapeExpr(1)),
      begins(4, ShapeExpr(0));
  int lead = 4 - x.rank();
  for (int d = 0; d < x.rank(); ++d) {
    in_dims[static_cast<size_t>(lead + d)] = x.shape_expr[static_cast<size_t>(d)];
    out_dims[static_cast<size_t>(lead + d)] = out.shape_expr[static_cast<size_t>(d)];
    size_t pair = static_cast<size_t>(x.rank() - 1 - d);
    if (2 * pair < pads.size()) begins[static_cast<size_t>(lead + d)] = ShapeExpr(pads[2 * pair]);
  }
  CircPadStaging const& staging = kCircPadStaging[tactic.value == 2 ? 1 : 0];
  ShapeExpr row_bytes = max(in_dims[3] * bytes, ShapeExpr(1));  // 1: an empty row divides nothing
  // Rows staged per block; 0 when one row exceeds the budget (the kernel then copies rows
  // straight from global memory, one block per row at a time).
  ShapeExpr per_block = min(ShapeExpr(staging.bytes_per_stage) / row_bytes, ShapeExpr(256));
  ShapeExpr rows = out_dims[0] * out_dims[1] * out_dims[2];
  AotKernel k;
  k.name = bytes == 4 ? "circ_pad_b4" : "circ_pad_b2";
  k.code = std::string("#define QDP_CIRC_PAD_AOT_KERNELS\n") + kCircPadStagedSource;
  k.grid = {cdiv(rows, max(per_block, ShapeExpr(1))), 1, 1};
  k.block = {staging.threads, 1, 1};
  // circ_pad_stage_vectors(per_block, width, bytes) 16-byte vectors.
  k.shared_memory = 16 * ((per_block * row_bytes + 15) / 16 + 1);
  k.extra_args = {rows,        in_dims[0],  in_dims[1], in_dims[2], in_dims[3],
                  begins[0],   begins[1],   begins[2],  begins[3],  out_dims[1],
                  out_dims[2], out_dims[3], per_block};
  return k;
}

}  // namespace qdp::samples
