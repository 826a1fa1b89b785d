// onnx::Gather(data, indices; axis) and onnx::GatherElements(data, indices; axis), for every
// element type of data, INT32 or INT64 indices. A negative index counts from the end of the axis.
//
// An index out of range is an error, never a read out of bounds. The CPU impls check every
// index first and fail naming it. The CUDA kernels cannot throw: they write zeros for such an
// element and record the fault (IndexFault, movement.hpp) in the impl's 16-byte workspace.
//
// Gather is a copy of blocks of `inner` elements (the axes after `axis`); on CUDA each block is
// moved in the widest vectors its bytes allow, so an embedding lookup moves 16 bytes a thread.
#include <qdp/plugin.hpp>

#include "ops/common.hpp"
#include "ops/movement/movement.hpp"

namespace qdp::ops {
namespace {

struct GatherAttrs {
  int64_t axis = 0;
};
QDP_ATTRS(GatherAttrs, axis);

void check_indices(std::string_view op, TensorDesc const& data, TensorDesc const& indices) {
  if (!is_index_type(indices.dtype))
    fail("{}: indices must be INT32 or INT64, not {}", op, name(indices.dtype));
  if (data.rank() < 1) fail("{}: data must have rank 1 or more, not 0", op);
}

[[noreturn]] void index_out_of_range(std::string_view op, int64_t index, int64_t position, int axis,
                                     int64_t extent) {
  fail(
      "{}: index {} (element {} of indices) is out of range for axis {} of extent {} (valid: "
      "{}..{})",
      op, index, position, axis, extent, -extent, extent - 1);
}

// Checks every index against the axis' extent (serially: an OpenMP loop cannot throw).
void check_all(std::string_view op, Tensor const& indices, int axis, int64_t extent) {
  for (int64_t i = 0, n = indices.numel(); i < n; ++i) {
    int64_t v = index_at(indices, i);
    if (v < -extent || v >= extent) index_out_of_range(op, v, i, axis, extent);
  }
}

// Gather's data seen as (outer, extent, inner) and the output as (outer, count, inner).
struct GatherShape {
  int axis;
  int64_t outer, extent, inner, count;
};
GatherShape gather_shape(Tensor const& data, Tensor const& indices, int64_t axis_attr) {
  GatherShape g{};
  g.axis = normalize_axis(axis_attr, data.rank(), "onnx::Gather: attribute 'axis'");
  g.outer = extent_product(data.shape, 0, g.axis);
  g.extent = data.shape[g.axis];
  g.inner = extent_product(data.shape, g.axis + 1, data.rank());
  g.count = indices.numel();
  return g;
}

void gather_cpu(Tensor const& data, Tensor const& indices, Tensor const& out, int64_t axis_attr) {
  GatherShape g = gather_shape(data, indices, axis_attr);
  check_all("onnx::Gather", indices, g.axis, g.extent);
  size_t block = static_cast<size_t>(g.inner) * element_size(data.dtype);
  auto const* src = static_cast<unsigned char const*>(data.data);
  auto* dst = static_cast<unsigned char*>(out.data);
  int64_t blocks = g.outer * g.count;
#pragma omp parallel for schedule(static) if (blocks * g.inner >= (int64_t{1} << 16))
  for (int64_t b = 0; b < blocks; ++b) {
    int64_t o = b / g.count;
    int64_t v = index_at(indices, b - o * g.count);
    if (v < 0) v += g.extent;
    std::copy_n(src + static_cast<size_t>(o * g.extent + v) * block, block,
                dst + static_cast<size_t>(b) * block);
  }
}

// GatherElements: out[i] = data[i with its `axis` coordinate replaced by indices[i]].
struct ElementsShape {
  int axis;
  int rank;
  int64_t dims[kMaxRank];          // of indices (and the output)
  int64_t data_strides[kMaxRank];  // of data, in elements
};
ElementsShape elements_shape(Tensor const& data, Tensor const& indices, int64_t axis_attr) {
  if (indices.rank() != data.rank())
    fail("onnx::GatherElements: indices have rank {}, data rank {}; they must be equal",
         indices.rank(), data.rank());
  ElementsShape e{};
  e.axis = normalize_axis(axis_attr, data.rank(), "onnx::GatherElements: attribute 'axis'");
  e.rank = data.rank();
  int64_t s = 1;
  for (int d = e.rank - 1; d >= 0; --d) {
    e.dims[d] = indices.shape[d];
    e.data_strides[d] = s;
    s *= data.shape[d];
    if (d != e.axis && indices.shape[d] > data.shape[d])
      fail(
          "onnx::GatherElements: indices' extent {} on axis {} is larger than data's {} (indices "
          "{}, data {})",
          indices.shape[d], d, data.shape[d], to_string(indices.shape), to_string(data.shape));
  }
  return e;
}

void gather_elements_cpu(Tensor const& data, Tensor const& indices, Tensor const& out,
                         int64_t axis_attr) {
  ElementsShape e = elements_shape(data, indices, axis_attr);
  int64_t extent = data.shape[e.axis];
  check_all("onnx::GatherElements", indices, e.axis, extent);
  with_element_bytes(element_size(data.dtype), [&]<class E>(E) {
    auto const* src = static_cast<E const*>(data.data);
    auto* dst = static_cast<E*>(out.data);
    int64_t n = indices.numel();
#pragma omp parallel for schedule(static) if (n >= (int64_t{1} << 16))
    for (int64_t i = 0; i < n; ++i) {
      int64_t offset = 0;
      for (int64_t d = e.rank - 1, rest = i; d >= 0; --d) {
        int64_t c = rest % e.dims[d];
        rest /= e.dims[d];
        if (d == e.axis) {
          c = index_at(indices, i);
          if (c < 0) c += extent;
        }
        offset += c * e.data_strides[d];
      }
      dst[i] = src[offset];
    }
  });
}

#ifdef __CUDACC__
constexpr int kThreads = 256;

template <class V, class Idx>
__global__ void gather_kernel(V const* __restrict__ data, Idx const* __restrict__ indices,
                              V* __restrict__ out, int64_t extent, int64_t count, int64_t inner,
                              int64_t total, IndexFault* fault) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    int64_t t = i / inner;
    int64_t o = t / count;
    int64_t v = indices[t - o * count];
    int64_t w = v < 0 ? v + extent : v;
    if (w < 0 || w >= extent) {
      out[i] = V{};
      record_fault(fault, v);
    } else {
      out[i] = data[(o * extent + w) * inner + (i - t * inner)];
    }
  }
}

template <class E, class Idx>
__global__ void gather_elements_kernel(E const* __restrict__ data, Idx const* __restrict__ indices,
                                       E* __restrict__ out, ElementsShape s, int64_t extent,
                                       int64_t total, IndexFault* fault) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    int64_t v = indices[i];
    int64_t w = v < 0 ? v + extent : v;
    if (w < 0 || w >= extent) {
      out[i] = E{};
      record_fault(fault, v);
      continue;
    }
    int64_t offset = 0;
    int64_t rest = i;
    for (int d = s.rank - 1; d >= 0; --d) {
      int64_t q = rest / s.dims[d];
      int64_t c = d == s.axis ? w : rest - q * s.dims[d];
      offset += c * s.data_strides[d];
      rest = q;
    }
    out[i] = data[offset];
  }
}

// The workspace holds the IndexFault, cleared before the kernel.
IndexFault* clear_fault(Workspace w, cudaStream_t stream) {
  // In an execution context: the step's fault record, which the context reports after the run.
  static_assert(sizeof(IndexFault) == sizeof(DeviceFault));
  if (w.fault) return reinterpret_cast<IndexFault*>(w.fault);
  if (w.bytes < sizeof(IndexFault))
    fail("an onnx gather was given {} bytes of workspace, {} needed", w.bytes, sizeof(IndexFault));
  QDP_CUDA_CHECK(cudaMemsetAsync(w.data, 0, sizeof(IndexFault), stream));
  return w.as<IndexFault>();
}

template <class F>
void with_index_type(DataType t, F&& f) {
  if (t == DataType::INT32)
    f(int32_t{});
  else
    f(int64_t{});
}

void gather_cuda(Tensor const& data, Tensor const& indices, Tensor const& out, int64_t axis_attr,
                 Workspace w, cudaStream_t stream) {
  GatherShape g = gather_shape(data, indices, axis_attr);
  IndexFault* fault = clear_fault(w, stream);
  int64_t block = g.inner * static_cast<int64_t>(element_size(data.dtype));
  if (g.outer * g.count * block == 0) return;
  size_t vec = vector_bytes(static_cast<size_t>(block), data.data, out.data);
  with_vector_bytes(vec, [&]<class V>(V) {
    with_index_type(indices.dtype, [&]<class Idx>(Idx) {
      int64_t inner = block / static_cast<int64_t>(sizeof(V));
      int64_t total = g.outer * g.count * inner;
      gather_kernel<V, Idx><<<grid_for(total, kThreads), kThreads, 0, stream>>>(
          static_cast<V const*>(data.data), static_cast<Idx const*>(indices.data),
          static_cast<V*>(out.data), g.extent, g.count, inner, total, fault);
      QDP_CUDA_CHECK(cudaGetLastError());
    });
  });
}

void gather_elements_cuda(Tensor const& data, Tensor const& indices, Tensor const& out,
                          int64_t axis_attr, Workspace w, cudaStream_t stream) {
  ElementsShape e = elements_shape(data, indices, axis_attr);
  IndexFault* fault = clear_fault(w, stream);
  int64_t total = indices.numel();
  if (total == 0) return;
  with_element_bytes(element_size(data.dtype), [&]<class E>(E) {
    with_index_type(indices.dtype, [&]<class Idx>(Idx) {
      gather_elements_kernel<E, Idx><<<grid_for(total, kThreads), kThreads, 0, stream>>>(
          static_cast<E const*>(data.data), static_cast<Idx const*>(indices.data),
          static_cast<E*>(out.data), e, data.shape[e.axis], total, fault);
      QDP_CUDA_CHECK(cudaGetLastError());
    });
  });
}
#endif

// Gather on shape tensors (a Shape's output, constant indices) is known at build time: what
// torch exports build Reshape's shapes from.
std::optional<TensorDesc> gather_value(TensorDesc const& data, TensorDesc const& indices,
                                       TensorDesc const& out) {
  if (!data.has_value() || !indices.has_value() || data.rank() != 1 || indices.rank() > 1)
    return std::nullopt;
  auto const& values = *data.value;
  auto extent = static_cast<int64_t>(values.size());
  std::vector<ShapeExpr> picked;
  for (size_t i = 0; i < indices.value->size(); ++i) {
    ShapeExpr const& e = (*indices.value)[i];
    if (!e.is_constant()) return std::nullopt;
    int64_t v = e.constant();
    if (v < -extent || v >= extent)
      index_out_of_range("onnx::Gather", v, static_cast<int64_t>(i), 0, extent);
    picked.push_back(values[static_cast<size_t>(v < 0 ? v + extent : v)]);
  }
  return out.with_value(std::move(picked), indices.rank() == 0);
}

QDP_PLUGIN(gather, "onnx::Gather")
    .desc([](TensorDesc const& data, TensorDesc const& indices, GatherAttrs const& a) {
      check_indices("onnx::Gather", data, indices);
      int axis = normalize_axis(a.axis, data.rank(), "onnx::Gather: attribute 'axis'");
      auto const& d = data.shape_expr;
      std::vector<ShapeExpr> shape(d.begin(), d.begin() + axis);
      shape.insert(shape.end(), indices.shape_expr.begin(), indices.shape_expr.end());
      shape.insert(shape.end(), d.begin() + axis + 1, d.end());
      if (shape.size() > static_cast<size_t>(kMaxRank))
        fail("onnx::Gather: the output would have rank {}, above the supported {}", shape.size(),
             kMaxRank);
      TensorDesc out = from_shape_expr(shape, data.dtype);
      if (auto known = gather_value(data, indices, out)) return *known;
      return out;
    })
    .autotune(FloatTypes<2>{})
    .impl<qdp::cpu>([](In<> data, In<> indices, Out<> out, GatherAttrs const& a) {
      gather_cpu(data.tensor(), indices.tensor(), out.tensor(), a.axis);
    })
#ifdef __CUDACC__
    .impl<qdp::cuda>([](In<> data, In<> indices, Out<> out, GatherAttrs const& a, Workspace w,
                        Stream s) {
      gather_cuda(data.tensor(), indices.tensor(), out.tensor(), a.axis, w, native(s));
    })
#endif
    // The CUDA kernel's fault record.
    .workspace([](TensorDesc const&, TensorDesc const&) {
      return static_cast<int64_t>(sizeof(IndexFault));
    });

QDP_PLUGIN(gather_elements, "onnx::GatherElements")
    .desc([](TensorDesc const& data, TensorDesc const& indices, GatherAttrs const& a) {
      check_indices("onnx::GatherElements", data, indices);
      if (indices.rank() != data.rank())
        fail("onnx::GatherElements: indices have rank {}, data rank {}; they must be equal",
             indices.rank(), data.rank());
      int axis = normalize_axis(a.axis, data.rank(), "onnx::GatherElements: attribute 'axis'");
      for (int d = 0; d < data.rank(); ++d) {
        auto const& i = indices.shape_expr[static_cast<size_t>(d)];
        auto const& x = data.shape_expr[static_cast<size_t>(d)];
        if (d != axis && i.is_constant() && x.is_constant() && i.constant() > x.constant())
          fail("onnx::GatherElements: indices' extent {} on axis {} is larger than data's {}",
               i.constant(), d, x.constant());
      }
      return from_shape_expr(indices.shape_expr, data.dtype);
    })
    .autotune(FloatTypes<2>{})
    .impl<qdp::cpu>([](In<> data, In<> indices, Out<> out, GatherAttrs const& a) {
      gather_elements_cpu(data.tensor(), indices.tensor(), out.tensor(), a.axis);
    })
#ifdef __CUDACC__
    .impl<qdp::cuda>([](In<> data, In<> indices, Out<> out, GatherAttrs const& a, Workspace w,
                        Stream s) {
      gather_elements_cuda(data.tensor(), indices.tensor(), out.tensor(), a.axis, w, native(s));
    })
#endif
    .workspace([](TensorDesc const&, TensorDesc const&) {
      return static_cast<int64_t>(sizeof(IndexFault));
    });

}  // namespace
}  // namespace qdp::ops
