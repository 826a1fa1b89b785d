#pragma once
// The AOT variant of sample::circ_pad_plugin: the staged kernel of circ_pad_staged.cuh, compiled
// by NVRTC from the same text the JIT impl includes. The kernel moves elements by their size (2
// or 4 bytes), so one source serves every type; shapes, pads and the rows each block stages
// arrive as int32 extra arguments, so the engine follows the run-time shape.
//   tactic 1: 8 KB staged per block of 128 threads, 15 KB of shared memory asked for;
//   tactic 2: 12 KB per block of 128 threads, 22 KB asked for.
// The shared memory beyond the stage caps the blocks resident per SM (13 and 9 of a 228 KB SM):
// fewer blocks writing at once move more bytes. H200, (64,64,256,256), pads 1, the kernel alone,
// lab sweep of 2026-12-02 (bench/results/gpu-check-h200-2026-12-02-d.txt), FP16 / FP32 ms:
//   8 KB x 128: 16 blocks/SM 0.2777 / 0.5266, 13 0.2730 / 0.5244, 12 0.2746 / 0.5291;
//   12 KB x 128: 16 0.2962 / 0.5349, 9 0.2740 / 0.5245; 16 KB x 256 (8/SM) 0.2791 / 0.5299;
//   a copy of the same bytes 0.260 / 0.509. gpu-check times the engines.
#include <qdp/plugin.hpp>
#include <string>
#include <vector>

#include "plugins/circ_pad_staged_source.hpp"

namespace qdp::samples {

// Bytes staged per block and its threads (one task per block), and the dynamic shared memory a
// launch asks for at least (under the 48 KB a launch gets without opting in): what caps the
// blocks per SM.
struct CircPadStaging {
  int64_t bytes_per_stage;
  int threads;
  int64_t min_shared_bytes;
};
inline constexpr CircPadStaging kCircPadStaging[2] = {{8192, 128, 15 << 10},
                                                      {12288, 128, 22 << 10}};

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
  // circ_pad_stage_vectors(per_block, width, bytes) 16-byte vectors, or the occupancy cap's more.
  k.shared_memory =
      max(16 * ((per_block * row_bytes + 15) / 16 + 1), ShapeExpr(staging.min_shared_bytes));
  k.extra_args = {rows,        in_dims[0],  in_dims[1], in_dims[2], in_dims[3],
                  begins[0],   begins[1],   begins[2],  begins[3],  out_dims[1],
                  out_dims[2], out_dims[3], per_block};
  return k;
}

}  // namespace qdp::samples
