// onnx::MatMul's and onnx::Gemm's products on the CPU: oneDNN matmul, primitives cached per
// shape, FP32 results (the callers apply Gemm's epilogue and convert).

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
};

struct MatmulCache {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::map<std::vector<int64_t>, CpuMatmulPrimitive> cache;
  std::vector<float> af, bf, yf;
};

CpuMatmulPrimitive make_cpu_matmul(dnnl::engine const& eng, MatmulPlan const& p,
                                   memory::data_type type) {
  bool batched = p.batch > 1 && p.equal_batches;
  int64_t nb = batched ? p.batch : 1;
  memory::dims ad{nb, p.m, p.k}, bd{nb, p.k, p.n}, yd{nb, p.m, p.n};
  // op(A) is m x k: stored k x m when transposed, read through strides.
  memory::dims as = p.ta ? memory::dims{p.m * p.k, 1, p.m} : memory::dims{p.m * p.k, p.k, 1};
  memory::dims bs = p.tb ? memory::dims{p.k * p.n, 1, p.k} : memory::dims{p.k * p.n, p.n, 1};
  memory::dims ys{p.m * p.n, p.n, 1};
  auto make = [&](memory::data_type t) {
    CpuMatmulPrimitive c;
    c.a = memory::desc(ad, t, as);
    c.b = memory::desc(bd, t, bs);
    c.y = memory::desc(yd, memory::data_type::f32, ys);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(c.a, c.b, c.y), qdp_attr(), eng);
    c.prim = dnnl::matmul(pd);
    c.scratchpad = scratchpad_for(pd, eng);
    c.per_batch = p.batch > 1 && !batched;
    return std::pair{std::move(c), std::move(pd)};
  };
  return in_fastest_type(type, make);
}

// y (FP32, batch x m x n) = op(A) op(B) through oneDNN; T is a float type.
template <class T>
void matmul_cpu_f32out(MatmulCache& s, MatmulPlan const& p, CpuMatmulPrimitive const& c,
                       Tensor const& a, Tensor const& b, float* y) {
  void const* ap = a.data;
  void const* bp = b.data;
  size_t esize = sizeof(T);
  if (c.in_float) {
    s.af.resize(static_cast<size_t>(a.numel()));
    s.bf.resize(static_cast<size_t>(b.numel()));
    to_float(static_cast<T const*>(a.data), s.af.data(), a.numel());
    to_float(static_cast<T const*>(b.data), s.bf.data(), b.numel());
    ap = s.af.data();
    bp = s.bf.data();
    esize = sizeof(float);
  }
  auto run = [&](int64_t oa, int64_t ob, int64_t oy) {
    auto const* ac = static_cast<char const*>(ap) + oa * static_cast<int64_t>(esize);
    auto const* bc = static_cast<char const*>(bp) + ob * static_cast<int64_t>(esize);
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, memory(c.a, s.engine, const_cast<char*>(ac))},
        {DNNL_ARG_WEIGHTS, memory(c.b, s.engine, const_cast<char*>(bc))},
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

CpuMatmulPrimitive const& cpu_primitive(MatmulCache& s, std::vector<int64_t> const& key,
                                        MatmulPlan const& plan, memory::data_type type,
                                        std::string_view op) {
  auto it = s.cache.find(key);
  if (it != s.cache.end()) return it->second;
  try {
    return s.cache.emplace(key, make_cpu_matmul(s.engine, plan, type)).first->second;
  } catch (dnnl::error const& e) {
    fail(ErrorCode::RuntimeFailure, "{}: oneDNN cannot run this product: {}", op, e.what());
  }
}

template <class T>
void product(MatmulCache& s, std::vector<int64_t> const& key, MatmulPlan const& plan,
             Tensor const& a, Tensor const& b, float* y, std::string_view op) {
  matmul_cpu_f32out<T>(s, plan, cpu_primitive(s, key, plan, dnnl_type<T>(), op), a, b, y);
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
