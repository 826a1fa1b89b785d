// onnx::GatherND (opset 13): slices of `data` picked by k-tuples of indices.
//   data [b..., d_b, ..., d_{r-1}], indices [b..., n..., k], batch_dims = len(b...)
//   out  [b..., n..., d_{b+k}, ..., d_{r-1}]
//   out[b, n, s] = data[b, idx[b, n, 0], ..., idx[b, n, k-1], s]
// Negative indices wrap; one out of range is an error (the CPU throws; a CUDA kernel writes
// zeros, reads nothing out of range and records the fault, which the context raises).
#include <cstring>

#include "ops/movement/movement.hpp"

#ifdef __CUDACC__
#define QDP_GATHER_ND_HD __host__ __device__
#else
#define QDP_GATHER_ND_HD
#endif

namespace qdp::ops {
namespace {

struct GatherNDAttrs {
  int64_t batch_dims = 0;
};
QDP_ATTRS(GatherNDAttrs, batch_dims);

// The geometry at run time: batches, gathers per batch, the tuple size, the slice each copies.
struct NdGeometry {
  int64_t batches = 1, gathers = 1, k = 1, slice = 1, batch_stride = 1;
  int64_t extent[kMaxRank] = {};  // data's extents of the indexed dimensions
  int64_t stride[kMaxRank] = {};  // their strides, in elements
};

NdGeometry geometry(Dims const& data, Dims const& indices, int64_t batch_dims) {
  NdGeometry g;
  int b = static_cast<int>(batch_dims), r = data.rank(), q = indices.rank();
  g.k = indices[q - 1];
  g.batches = extent_product(indices, 0, b);
  g.gathers = extent_product(indices, b, q - 1);
  g.slice = extent_product(data, b + static_cast<int>(g.k), r);
  g.batch_stride = extent_product(data, b, r);
  for (int j = 0; j < g.k; ++j) {
    g.extent[j] = data[b + j];
    g.stride[j] = extent_product(data, b + j + 1, r);
  }
  return g;
}

TensorDesc gather_nd_desc(TensorDesc const& data, TensorDesc const& indices,
                          GatherNDAttrs const& a) {
  int r = data.rank(), q = indices.rank();
  if (indices.dtype != DataType::INT64)
    fail(ErrorCode::Unsupported, "GatherND: indices of type {} are not supported; they are INT64",
         name(indices.dtype));
  if (r < 1 || q < 1) fail("GatherND: data and indices need rank >= 1 (got {} and {})", r, q);
  if (a.batch_dims < 0 || a.batch_dims >= std::min(r, q))
    fail("GatherND: batch_dims {} must be in [0, min(rank(data), rank(indices))) = [0, {})",
         a.batch_dims, std::min(r, q));
  auto const& last = indices.shape_expr.back();
  if (!last.is_constant())
    fail("GatherND: the last dimension of indices (the tuple size) must be static, it is {}",
         last.to_string());
  int64_t k = last.constant(), b = a.batch_dims;
  if (k < 1 || k > r - b)
    fail("GatherND: tuples of {} indices for data of rank {} with {} batch dims (valid: 1..{})", k,
         r, b, r - b);
  for (int i = 0; i < b; ++i) {
    auto const &x = data.shape_expr[static_cast<size_t>(i)],
               &y = indices.shape_expr[static_cast<size_t>(i)];
    if (x.is_constant() && y.is_constant() && x.constant() != y.constant())
      fail("GatherND: batch dimension {} is {} in data but {} in indices", i, x.constant(),
           y.constant());
  }
  std::vector<ShapeExpr> shape(indices.shape_expr.begin(), indices.shape_expr.end() - 1);
  shape.insert(shape.end(), data.shape_expr.begin() + b + k, data.shape_expr.end());
  return from_shape_expr(shape, data.dtype);
}

// The element offset of gather g's slice in data, or -1 with `bad` set to the index at fault.
QDP_GATHER_ND_HD inline int64_t slice_offset(NdGeometry const& g, int64_t const* idx, int64_t gi,
                                             int64_t& bad) {
  int64_t batch = gi / g.gathers, offset = batch * g.batch_stride;
  for (int j = 0; j < g.k; ++j) {
    int64_t v = idx[gi * g.k + j];
    int64_t w = v < 0 ? v + g.extent[j] : v;
    if (w < 0 || w >= g.extent[j]) {
      bad = v;
      return -1;
    }
    offset += w * g.stride[j];
  }
  return offset;
}

template <class E>
void gather_nd_cpu(Tensor const& data, Tensor const& indices, Tensor const& out, int64_t b) {
  NdGeometry g = geometry(data.shape, indices.shape, b);
  auto const* idx = static_cast<int64_t const*>(indices.data);
  auto const* src = static_cast<E const*>(data.data);
  auto* dst = static_cast<E*>(out.data);
  for (int64_t gi = 0; gi < g.batches * g.gathers; ++gi) {
    int64_t bad = 0, offset = slice_offset(g, idx, gi, bad);
    if (offset < 0)
      fail("onnx::GatherND: index {} (tuple {}) is out of range for data of shape {}", bad, gi,
           to_string(data.shape));
    if (g.slice > 0)  // empty slices copy nothing (and data may be null)
      std::memcpy(dst + gi * g.slice, src + offset, static_cast<size_t>(g.slice) * sizeof(E));
  }
}

#ifdef __CUDACC__
template <class E>
__global__ void gather_nd_kernel(NdGeometry g, E const* __restrict__ src,
                                 int64_t const* __restrict__ idx, E* __restrict__ dst,
                                 int64_t total, IndexFault* fault) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    int64_t gi = i / g.slice, bad = 0, offset = slice_offset(g, idx, gi, bad);
    if (offset < 0) {
      dst[i] = E{};
      record_fault(fault, bad);
    } else {
      dst[i] = src[offset + i % g.slice];
    }
  }
}
#endif

QDP_PLUGIN(gather_nd, "onnx::GatherND")
    .desc([](TensorDesc const& data, TensorDesc const& indices, GatherNDAttrs const& a) {
      return gather_nd_desc(data, indices, a);
    })
    // The CUDA kernel's fault record outside an execution context.
    .workspace([](TensorDesc const&, TensorDesc const&) {
      return static_cast<int64_t>(sizeof(IndexFault));
    })
    .autotune(FloatTypes<2>{})
    .impl<qdp::cpu>([](In<> data, In<> indices, Out<> out, GatherNDAttrs const& a) {
      with_element_bytes(element_size(data.dtype()), [&]<class E>(E) {
        gather_nd_cpu<E>(data.tensor(), indices.tensor(), out.tensor(), a.batch_dims);
      });
    })
    .impl<qdp::cuda>([](In<> data, In<> indices, Out<> out, GatherNDAttrs const& a, Stream s,
                        Workspace w) {
#ifdef __CUDACC__
      NdGeometry g = geometry(data.shape(), indices.shape(), a.batch_dims);
      int64_t total = out.numel();
      if (total == 0) return;
      IndexFault* fault = w.fault ? reinterpret_cast<IndexFault*>(w.fault) : w.as<IndexFault>();
      if (!w.fault) QDP_CUDA_CHECK(cudaMemsetAsync(fault, 0, sizeof(IndexFault), native(s)));
      int64_t blocks = std::min<int64_t>((total + 255) / 256, int64_t{1} << 16);
      with_element_bytes(element_size(data.dtype()), [&]<class E>(E) {
        gather_nd_kernel<<<static_cast<unsigned>(blocks), 256, 0, native(s)>>>(
            g, static_cast<E const*>(data.data()), static_cast<int64_t const*>(indices.data()),
            static_cast<E*>(out.data()), total, fault);
      });
      QDP_CUDA_CHECK(cudaGetLastError());
#else
      (void)data, (void)indices, (void)out, (void)a, (void)s, (void)w;
#endif
    });

}  // namespace
}  // namespace qdp::ops
