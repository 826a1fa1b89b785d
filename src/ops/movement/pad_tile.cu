// onnx::Pad(data, pads, constant_value, axes; mode) and onnx::Tile(input, repeats), for every
// element type. pads, axes and repeats are shape inputs: known when the engine is built, so the
// output shapes are shape expressions, and handed to the impls as INT64 host tensors.
//
// Both map each output coordinate, axis by axis, to an input coordinate: Tile wraps it around
// the input's extent, Pad shifts it by the leading pad and then wraps (wrap), clamps (edge),
// mirrors (reflect) or, out of range, takes the constant. One output element a thread on CUDA;
// constant_value is read on the device, so nothing waits for the host.
#include <qdp/plugin.hpp>

#include "ops/common.hpp"
#include "ops/movement/movement.hpp"

#ifdef __CUDACC__
#define QDP_HOST_DEVICE __host__ __device__
#else
#define QDP_HOST_DEVICE
#endif

namespace qdp::ops {
namespace {

enum class PadMode : uint8_t { Constant, Reflect, Edge, Wrap };

struct CoordMap {
  int rank = 0;
  PadMode mode = PadMode::Wrap;
  int64_t out_dims[kMaxRank] = {};
  int64_t in_dims[kMaxRank] = {};
  int64_t in_strides[kMaxRank] = {};
  int64_t begin[kMaxRank] = {};  // leading pad per axis (negative: cropped)
};

// The input offset of output element i, or -1 where it is the constant.
QDP_HOST_DEVICE inline int64_t source_of(CoordMap const& m, int64_t i) {
  int64_t offset = 0;
  for (int d = m.rank - 1; d >= 0; --d) {
    int64_t c = i % m.out_dims[d] - m.begin[d];
    i /= m.out_dims[d];
    int64_t n = m.in_dims[d];
    if (c < 0 || c >= n) {
      switch (m.mode) {
        case PadMode::Constant:
          return -1;
        case PadMode::Edge:
          c = c < 0 ? 0 : n - 1;
          break;
        case PadMode::Wrap:
          c = (c % n + n) % n;
          break;
        case PadMode::Reflect: {
          // Mirrored without repeating the edge: period 2(n - 1).
          int64_t period = 2 * (n - 1);
          if (period == 0) {
            c = 0;
          } else {
            c = (c % period + period) % period;
            if (c >= n) c = period - c;
          }
          break;
        }
      }
    }
    offset += c * m.in_strides[d];
  }
  return offset;
}

CoordMap coord_map(Dims const& in, Dims const& out, PadMode mode, std::span<const int64_t> begin,
                   std::string_view op) {
  CoordMap m;
  m.rank = in.rank();
  m.mode = mode;
  int64_t stride = 1;
  for (int d = in.rank() - 1; d >= 0; --d) {
    m.out_dims[d] = out[d];
    m.in_dims[d] = in[d];
    m.in_strides[d] = stride;
    m.begin[d] = begin.empty() ? 0 : begin[static_cast<size_t>(d)];
    stride *= in[d];
    if (in[d] == 0 && out[d] > 0 && mode != PadMode::Constant)
      fail("{}: axis {} of the input is empty: there is nothing to fill its {} outputs from", op, d,
           out[d]);
  }
  return m;
}

template <class E>
void fill_cpu(E const* x, E* y, CoordMap const& m, E value, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= (int64_t{1} << 16))
  for (int64_t i = 0; i < n; ++i) {
    int64_t s = source_of(m, i);
    y[i] = s < 0 ? value : x[s];
  }
}

#ifdef __CUDACC__
template <class E>
__global__ void fill_kernel(E const* __restrict__ x, E* __restrict__ y, CoordMap m, E const* value,
                            int64_t n) {
  E v = value ? *value : E{};
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    int64_t s = source_of(m, i);
    y[i] = s < 0 ? v : x[s];
  }
}
#endif

// y from x through m; `value`: the constant's element (on the impl's device), or null for 0.
void fill(Device device, Tensor const& x, Tensor const& y, CoordMap const& m, void const* value,
          [[maybe_unused]] Stream stream) {
  int64_t n = y.numel();
  if (n == 0) return;
  with_element_bytes(element_size(x.dtype), [&]<class E>(E) {
    if (device == Device::CPU) {
      E v = value ? *static_cast<E const*>(value) : E{};
      fill_cpu(static_cast<E const*>(x.data), static_cast<E*>(y.data), m, v, n);
      return;
    }
#ifdef __CUDACC__
    constexpr int kThreads = 256;
    fill_kernel<E><<<grid_for(n, kThreads), kThreads, 0, native(stream)>>>(
        static_cast<E const*>(x.data), static_cast<E*>(y.data), m, static_cast<E const*>(value), n);
    QDP_CUDA_CHECK(cudaGetLastError());
#endif
  });
}

// ---- onnx::Tile ---------------------------------------------------------------------------------

TensorDesc tile_desc(TensorDesc const& x, TensorDesc const& repeats) {
  auto const& r = *repeats.value;  // a shape input: always known
  if (repeats.rank() != 1 || static_cast<int>(r.size()) != x.rank())
    fail("onnx::Tile: repeats must be 1-D with one entry per input axis ({}), it has {}", x.rank(),
         r.size());
  std::vector<ShapeExpr> shape;
  for (size_t i = 0; i < r.size(); ++i) {
    if (r[i].is_constant() && r[i].constant() < 0)
      fail("onnx::Tile: repeats[{}] is {}; repeats must be 0 or more", i, r[i].constant());
    shape.push_back(x.shape_expr[i] * r[i]);
  }
  return from_shape_expr(shape, x.dtype);
}

void tile(Device device, Tensor const& x, Tensor const& repeats, Tensor const& y, Stream s) {
  for (int d = 0; d < x.rank(); ++d) {
    int64_t r = index_at(repeats, d);
    if (r < 0) fail("onnx::Tile: repeats[{}] is {}; repeats must be 0 or more", d, r);
  }
  fill(device, x, y, coord_map(x.shape, y.shape, PadMode::Wrap, {}, "onnx::Tile"), nullptr, s);
}

QDP_PLUGIN(tile_plugin, "onnx::Tile")
    .desc(tile_desc)
    .autotune(FloatTypes<2>{})
    .shape_inputs({1})
    .impl<qdp::cpu>([](In<> x, In<int64_t> repeats, Out<> y) {
      tile(Device::CPU, x.tensor(), repeats.tensor(), y.tensor(), {});
    })
#ifdef __CUDACC__
    .impl<qdp::cuda>([](In<> x, In<int64_t> repeats, Out<> y, Stream s) {
      tile(Device::CUDA, x.tensor(), repeats.tensor(), y.tensor(), s);
    })
#endif
    ;

// ---- onnx::Pad ----------------------------------------------------------------------------------

struct PadAttrs {
  std::string mode = "constant";
};
QDP_ATTRS(PadAttrs, mode);

PadMode pad_mode(std::string const& mode) {
  if (mode == "constant") return PadMode::Constant;
  if (mode == "reflect") return PadMode::Reflect;
  if (mode == "edge") return PadMode::Edge;
  if (mode == "wrap") return PadMode::Wrap;
  fail("onnx::Pad: attribute 'mode' is '{}'; it must be 'constant', 'reflect', 'edge' or 'wrap'",
       mode);
}

// The padded axes (axes input, or all), normalized, each once.
template <class V>
std::vector<int> pad_axes(V const& axes, size_t count, int rank) {
  std::vector<int> out;
  if (count == 0) {
    for (int d = 0; d < rank; ++d) out.push_back(d);
    return out;
  }
  for (size_t i = 0; i < count; ++i) {
    int a = normalize_axis(axes(i), rank, "onnx::Pad: axes entry");
    if (std::find(out.begin(), out.end(), a) != out.end())
      fail("onnx::Pad: axis {} appears twice in axes", a);
    out.push_back(a);
  }
  return out;
}

TensorDesc pad_desc(TensorDesc const& x, TensorDesc const& pads, TensorDesc const& value,
                    TensorDesc const& axes, PadAttrs const& a) {
  (void)pad_mode(a.mode);  // refuses an unknown mode
  if (!absent(value) && (value.dtype != x.dtype || numel(value.shape_expr) != ShapeExpr(1)))
    fail("onnx::Pad: constant_value must be one element of the data's type ({}); it is {} of {}",
         name(x.dtype), name(value.dtype), value.rank() == 0 ? "rank 0" : "another shape");
  std::vector<ShapeExpr> const none;
  auto const& axis_values = axes.value ? *axes.value : none;  // absent: no value needed
  std::vector<int> padded = pad_axes(
      [&](size_t i) {
        if (!axis_values[i].is_constant())
          fail("onnx::Pad: axes must be constants; entry {} is {}", i, axis_values[i].to_string());
        return axis_values[i].constant();
      },
      absent(axes) ? 0 : axis_values.size(), x.rank());
  auto const& p = *pads.value;
  if (p.size() != 2 * padded.size())
    fail("onnx::Pad: pads has {} entries; {} padded axes need {} (all begins, then all ends)",
         p.size(), padded.size(), 2 * padded.size());
  std::vector<ShapeExpr> shape = x.shape_expr;
  for (size_t i = 0; i < padded.size(); ++i) {
    auto& e = shape[static_cast<size_t>(padded[i])];
    e = e + p[i] + p[i + padded.size()];
    if (e.is_constant() && e.constant() < 0)
      fail("onnx::Pad: pads {} and {} on axis {} leave a negative extent {}", p[i].to_string(),
           p[i + padded.size()].to_string(), padded[i], e.constant());
  }
  return from_shape_expr(shape, x.dtype);
}

void pad(Device device, Tensor const& x, Tensor const& pads, Tensor const& value,
         Tensor const& axes, Tensor const& y, PadAttrs const& a, Stream s) {
  std::vector<int> padded =
      pad_axes([&](size_t i) { return index_at(axes, static_cast<int64_t>(i)); },
               absent(axes) ? 0 : static_cast<size_t>(axes.numel()), x.rank());
  std::vector<int64_t> begin(static_cast<size_t>(x.rank()), 0);
  for (size_t i = 0; i < padded.size(); ++i)
    begin[static_cast<size_t>(padded[i])] = index_at(pads, static_cast<int64_t>(i));
  CoordMap m = coord_map(x.shape, y.shape, pad_mode(a.mode), begin, "onnx::Pad");
  fill(device, x, y, m, absent(value) ? nullptr : value.data, s);
}

QDP_PLUGIN(pad_plugin, "onnx::Pad")
    .desc(pad_desc)
    .autotune(FloatTypes<4>{})
    .shape_inputs({1, 3})
    .impl<qdp::cpu>([](In<> x, In<int64_t> pads, In<> value, In<int64_t> axes, Out<> y,
                       PadAttrs const& a) {
      pad(Device::CPU, x.tensor(), pads.tensor(), value.tensor(), axes.tensor(), y.tensor(), a, {});
    })
#ifdef __CUDACC__
    .impl<qdp::cuda>([](In<> x, In<int64_t> pads, In<> value, In<int64_t> axes, Out<> y,
                        PadAttrs const& a, Stream s) {
      pad(Device::CUDA, x.tensor(), pads.tensor(), value.tensor(), axes.tensor(), y.tensor(), a, s);
    })
#endif
    ;

}  // namespace
}  // namespace qdp::ops
