// onnx::MatMul's and onnx::Gemm's products on the CPU: oneDNN matmul, primitives cached per
// shape, FP32 results (the callers apply Gemm's epilogue and convert). A constant B (a layer's
// weights) is copied once into the primitive's type, untransposed, with a leading dimension
// that is not a multiple of 512 bytes: oneDNN 2.6's jit gemm reads B in place, and rows a
// power of two apart share cache sets (BERT's 256 x 1024 up-projection: 1.0 ms in place,
// 0.52 ms padded; lab figures in bench/results/cpu-onnx-models-2026-12-08.txt).

#include <unordered_map>

#include "ops/nn/nn_matmul.hpp"
#include "ops/nn/onednn.hpp"

namespace qdp::ops::nn {
namespace {

using dnnl::memory;

struct CpuMatmulPrimitive {
  dnnl::matmul prim;
  memory::desc a, b, y;
  memory scratchpad;       // see qdp_attr(); used with CpuMatmul::mutex held
  bool in_float = false;   // no fast kernel for the 16-bit type on this CPU: run in FP32
  bool per_batch = false;  // one 2-D product per batch entry (broadcast batches)
  // A constant B, packed into `b` (row-major, leading dimension ldb) from the data at
  // packed_from on the first run that sees it there.
  memory packed;
  void const* packed_from = nullptr;
  int64_t ldb = 0;
};

struct MatmulCache {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::map<std::vector<int64_t>, CpuMatmulPrimitive> cache;
  std::vector<float> af, bf, yf;
};

// The leading dimension of a packed B of n columns: n, or 64 bytes more where n elements fill a
// multiple of 512 bytes and more than one row of A reads them (a vector-matrix product gains
// nothing from it).
int64_t packed_ld(int64_t n, int64_t m, size_t esize) {
  bool aliased = (static_cast<size_t>(n) * esize) % 512 == 0;
  return aliased && m > 1 ? n + static_cast<int64_t>(64 / esize) : n;
}

// pack_b: the primitive reads B from its own copy (B is an engine constant, one per batch entry).
CpuMatmulPrimitive make_cpu_matmul(dnnl::engine const& eng, MatmulPlan const& p,
                                   memory::data_type type, bool pack_b) {
  bool batched = p.batch > 1 && p.equal_batches;
  bool per_batch = p.batch > 1 && !batched;
  pack_b = pack_b && !per_batch;
  int64_t nb = batched ? p.batch : 1;
  memory::dims ad{nb, p.m, p.k}, bd{nb, p.k, p.n}, yd{nb, p.m, p.n};
  // op(A) is m x k: stored k x m when transposed, read through strides.
  memory::dims as = p.ta ? memory::dims{p.m * p.k, 1, p.m} : memory::dims{p.m * p.k, p.k, 1};
  memory::dims bs = p.tb ? memory::dims{p.k * p.n, 1, p.k} : memory::dims{p.k * p.n, p.n, 1};
  memory::dims ys{p.m * p.n, p.n, 1};
  auto make = [&](memory::data_type t) {
    CpuMatmulPrimitive c;
    c.a = memory::desc(ad, t, as);
    if (pack_b) {
      c.ldb = packed_ld(p.n, p.m, memory::data_type_size(t));
      c.b = memory::desc(bd, t, memory::dims{p.k * c.ldb, c.ldb, 1});
    } else {
      c.b = memory::desc(bd, t, bs);
    }
    c.y = memory::desc(yd, memory::data_type::f32, ys);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(c.a, c.b, c.y), qdp_attr(), eng);
    c.prim = dnnl::matmul(pd);
    c.scratchpad = scratchpad_for(pd, eng);
    c.per_batch = per_batch;
    if (pack_b) c.packed = memory(c.b, eng);
    return std::pair{std::move(c), std::move(pd)};
  };
  return in_fastest_type(type, make);
}

// Copies B (T, op(B) k x n per batch entry) into c.packed, in the primitive's type U.
template <class T, class U>
void pack_b(MatmulPlan const& p, int64_t batches, T const* b, CpuMatmulPrimitive& c) {
  auto* out = static_cast<U*>(c.packed.get_data_handle());
  for (int64_t e = 0; e < batches; ++e) {
    T const* be = b + e * p.k * p.n;
    U* oe = out + e * p.k * c.ldb;
    for (int64_t i = 0; i < p.k; ++i)
      for (int64_t j = 0; j < p.n; ++j)
        oe[i * c.ldb + j] =
            static_cast<U>(static_cast<float>(p.tb ? be[j * p.k + i] : be[i * p.n + j]));
  }
}

// y (FP32, batch x m x n) = op(A) op(B) through oneDNN; T is a float type.
template <class T>
void matmul_cpu_f32out(MatmulCache& s, MatmulPlan const& p, CpuMatmulPrimitive& c, Tensor const& a,
                       Tensor const& b, float* y) {
  void const* ap = a.data;
  void const* bp = b.data;
  size_t esize = sizeof(T);
  if (c.packed && c.packed_from != b.data) {  // the first run on this constant
    int64_t batches = c.b.dims()[0];
    if (c.in_float)
      pack_b<T, float>(p, batches, static_cast<T const*>(b.data), c);
    else
      pack_b<T, T>(p, batches, static_cast<T const*>(b.data), c);
    c.packed_from = b.data;
  }
  if (c.in_float) {
    s.af.resize(static_cast<size_t>(a.numel()));
    to_float(static_cast<T const*>(a.data), s.af.data(), a.numel());
    ap = s.af.data();
    if (!c.packed) {
      s.bf.resize(static_cast<size_t>(b.numel()));
      to_float(static_cast<T const*>(b.data), s.bf.data(), b.numel());
      bp = s.bf.data();
    }
    esize = sizeof(float);
  }
  auto run = [&](int64_t oa, int64_t ob, int64_t oy) {
    auto const* ac = static_cast<char const*>(ap) + oa * static_cast<int64_t>(esize);
    auto const* bc = static_cast<char const*>(bp) + ob * static_cast<int64_t>(esize);
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, memory(c.a, s.engine, const_cast<char*>(ac))},
        {DNNL_ARG_WEIGHTS, c.packed ? c.packed : memory(c.b, s.engine, const_cast<char*>(bc))},
        {DNNL_ARG_DST, memory(c.y, s.engine, y + oy)}};
    if (c.scratchpad) args.emplace(DNNL_ARG_SCRATCHPAD, c.scratchpad);
    c.prim.execute(s.stream, args);
  };
  if (c.per_batch)
    for (int64_t i = 0; i < p.batch; ++i)
      run(p.off_a[static_cast<size_t>(i)], p.off_b[static_cast<size_t>(i)], i * p.m * p.n);
  else
    run(0, 0, 0);
  s.stream.wait();
}

// The primitive for `key`, whether B is constant (packed) or not.
CpuMatmulPrimitive& cpu_primitive(MatmulCache& s, std::vector<int64_t> key, MatmulPlan const& plan,
                                  memory::data_type type, bool constant_b, std::string_view op) {
  key.push_back(constant_b);
  auto it = s.cache.find(key);
  if (it != s.cache.end()) return it->second;
  try {
    return s.cache.emplace(key, make_cpu_matmul(s.engine, plan, type, constant_b)).first->second;
  } catch (dnnl::error const& e) {
    fail(ErrorCode::RuntimeFailure, "{}: oneDNN cannot run this product: {}", op, e.what());
  }
}

template <class T>
void product(MatmulCache& s, std::vector<int64_t> const& key, MatmulPlan const& plan,
             Tensor const& a, Tensor const& b, float* y, std::string_view op) {
  matmul_cpu_f32out<T>(s, plan, cpu_primitive(s, key, plan, dnnl_type<T>(), b.constant, op), a, b,
                       y);
}

}  // namespace

struct CpuMatmul::State : MatmulCache {};

CpuMatmul::CpuMatmul() : s_(std::make_unique<State>()) {}
CpuMatmul::~CpuMatmul() = default;

void CpuMatmul::product(std::vector<int64_t> const& key, MatmulPlan const& plan, Tensor const& a,
                        Tensor const& b, float* y, std::string_view op) {
  switch (a.dtype) {
    case DataType::FP32:
      return nn::product<float>(*s_, key, plan, a, b, y, op);
    case DataType::FP16:
      return nn::product<half>(*s_, key, plan, a, b, y, op);
    case DataType::BF16:
      return nn::product<bfloat16>(*s_, key, plan, a, b, y, op);
    default:
      fail("{}: oneDNN products take FP32, FP16 or BF16, not {}", op, name(a.dtype));
  }
}

float* CpuMatmul::scratch(size_t n) {
  s_->yf.resize(n);
  return s_->yf.data();
}

}  // namespace qdp::ops::nn
