#pragma once
// The AOT variant of sample::circ_pad_plugin: one block per output row, the source index wrapped
// around each dimension. The kernel moves elements by their size (2 or 4 bytes), so one
// source serves every type; shapes and pads arrive as int32 extra arguments, so the engine follows
// the run-time shape. Tactic 2 launches blocks of 1024 threads, otherwise 256.
#include <qdp/plugin.hpp>
#include <string>
#include <vector>

namespace qdp::samples {

inline constexpr char kCircPadAotSource[] = R"(
// One block per output row (every dimension but the last), its threads across the row: the
// source row is worked out once per row, loads and stores are coalesced.
template <class T>
__device__ void circ_pad(T const* x, int rows, int i0, int i1, int i2, int i3, int b0, int b1, int b2, int b3,
                         int o1, int o2, int o3, T* y) {
  for (int row = blockIdx.x; row < rows; row += gridDim.x) {
    int r = row;
    int c2 = r % o2; r /= o2;
    int c1 = r % o1;
    int c0 = r / o1;
    int s0 = ((c0 - b0) % i0 + i0) % i0, s1 = ((c1 - b1) % i1 + i1) % i1, s2 = ((c2 - b2) % i2 + i2) % i2;
    T const* src = x + ((static_cast<long long>(s0) * i1 + s1) * i2 + s2) * i3;
    T* dst = y + static_cast<long long>(row) * o3;
    for (int c = threadIdx.x; c < o3; c += blockDim.x) {
      int s3 = c - b3;  // wrap; pads may exceed the extent only on dynamic shapes, hence loops
      while (s3 < 0) s3 += i3;
      while (s3 >= i3) s3 -= i3;
      dst[c] = src[s3];
    }
  }
}
extern "C" __global__ void circ_pad_b4(unsigned const* x, int rows, int i0, int i1, int i2, int i3, int b0, int b1,
                                       int b2, int b3, int o1, int o2, int o3, unsigned* y) {
  circ_pad(x, rows, i0, i1, i2, i3, b0, b1, b2, b3, o1, o2, o3, y);
}
extern "C" __global__ void circ_pad_b2(unsigned short const* x, int rows, int i0, int i1, int i2, int i3, int b0,
                                       int b1, int b2, int b3, int o1, int o2, int o3, unsigned short* y) {
  circ_pad(x, rows, i0, i1, i2, i3, b0, b1, b2, b3, o1, o2, o3, y);
}
)";

// `pads` in torch F.pad order (last dimension first); `out` is desc's output.
inline AotKernel circ_pad_aot_kernel(TensorDesc const& x, std::vector<int32_t> const& pads,
                                     TensorDesc const& out, Tactic tactic) {
  if (x.rank() > 4)
    fail("the AOT circ_pad kernel takes tensors of rank 4 or less, not {}", x.rank());
  size_t bytes = element_size(x.dtype);
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
  int block = tactic.value == 2 ? 1024 : 256;
  AotKernel k;
  k.name = bytes == 4 ? "circ_pad_b4" : "circ_pad_b2";
  k.code = kCircPadAotSource;
  ShapeExpr rows = out_dims[0] * out_dims[1] * out_dims[2];  // one block per output row
  k.grid = {rows, 1, 1};
  k.block = {block, 1, 1};
  k.extra_args = {rows,      in_dims[0], in_dims[1], in_dims[2],  in_dims[3],  begins[0],
                  begins[1], begins[2],  begins[3],  out_dims[1], out_dims[2], out_dims[3]};
  return k;
}

}  // namespace qdp::samples
