// onnx::MatMul (numpy semantics: 1-D operands, batch dimensions broadcast), onnx::Gemm
// (alpha * op(A) op(B) + beta * C, C broadcast to (M, N)) and qdp::MatMulBias (activation(A B +
// bias), what the builder makes of a MatMul by a constant matrix, the Add of a constant vector
// and an activation: builder/fusion.cpp). CPU: oneDNN matmul for the float types, a plain loop
// for the integer ones. CUDA: cuBLASLt, FP32 accumulation, no TF32; a bias and Relu in its
// epilogue.
#include <qdp/plugin.hpp>

#include "core/float_to_integer.hpp"
#include "core/wrapping_arithmetic.hpp"
#include "ops/nn/nn_activation.hpp"
#include "ops/nn/nn_common.hpp"
#include "ops/nn/nn_matmul.hpp"

#ifdef __CUDACC__
#include "ops/nn/nn_cuda.cuh"
#endif

namespace qdp::ops::nn {
namespace {

// ---- CPU ----------------------------------------------------------------------------------
// Integer products wrap around on overflow, as numpy's do (core/wrapping_arithmetic.hpp).
template <class T>
void matmul_cpu_int(MatmulPlan const& p, T const* a, T const* b, T* y) {
  int64_t total = p.batch * p.m;
#pragma omp parallel for schedule(static) if (total * p.n * p.k >= (int64_t{1} << 16))
  for (int64_t r = 0; r < total; ++r) {
    int64_t bi = r / p.m, i = r % p.m;
    T const* ab = a + p.off_a[static_cast<size_t>(bi)];
    T const* bb = b + p.off_b[static_cast<size_t>(bi)];
    T* yr = y + r * p.n;
    for (int64_t j = 0; j < p.n; ++j) yr[j] = 0;
    for (int64_t l = 0; l < p.k; ++l) {
      T av = p.ta ? ab[l * p.m + i] : ab[i * p.k + l];
      for (int64_t j = 0; j < p.n; ++j)
        yr[j] = detail::wrapping_add(
            yr[j], detail::wrapping_mul(av, p.tb ? bb[j * p.k + l] : bb[l * p.n + j]));
    }
  }
}

template <class T>
void matmul_cpu(CpuMatmul& s, Tensor const& a, Tensor const& b, Tensor const& y) {
  if constexpr (std::is_integral_v<T>) {
    matmul_cpu_int(matmul_plan(a.shape, b.shape), static_cast<T const*>(a.data),
                   static_cast<T const*>(b.data), static_cast<T*>(y.data));
  } else {
    std::lock_guard lock(s.mutex);
    MatmulPlan plan = matmul_plan(a.shape, b.shape);
    auto key = plan_key({&a, &b});
    if constexpr (std::is_same_v<T, float>) {
      s.product(key, plan, a, b, static_cast<float*>(y.data), "onnx::MatMul");
    } else {
      float* acc = s.scratch(static_cast<size_t>(y.numel()));
      s.product(key, plan, a, b, acc, "onnx::MatMul");
      from_float(acc, static_cast<T*>(y.data), y.numel());
    }
  }
}

// ---- descs ------------------------------------------------------------------------------------
TensorDesc matmul_desc(TensorDesc const& a, TensorDesc const& b) {
  constexpr char op[] = "onnx::MatMul";
  if (a.dtype != b.dtype) fail("{}: A is {} but B is {}", op, name(a.dtype), name(b.dtype));
  if (a.dtype != DataType::FP32 && a.dtype != DataType::FP16 && a.dtype != DataType::BF16 &&
      a.dtype != DataType::INT32 && a.dtype != DataType::INT64)
    fail("{}: {} is not supported; MatMul takes FP32, FP16, BF16, INT32 or INT64", op,
         name(a.dtype));
  if (a.rank() < 1 || b.rank() < 1) fail("{}: A and B must have rank 1 or more", op);
  int ra = a.rank(), rb = b.rank();
  ShapeExpr k = a.shape_expr.back();
  ShapeExpr kb = rb == 1 ? b.shape_expr[0] : b.shape_expr[static_cast<size_t>(rb - 2)];
  if (k.is_constant() && kb.is_constant() && k.constant() != kb.constant())
    fail("{}: inner dimensions differ: A has {} columns and B has {} rows", op, k.constant(),
         kb.constant());
  TensorDesc ba(a.dtype, {}), bb(b.dtype, {});
  for (int i = 0; i + 2 < ra; ++i) ba.shape_expr.push_back(a.shape_expr[static_cast<size_t>(i)]);
  for (int i = 0; i + 2 < rb; ++i) bb.shape_expr.push_back(b.shape_expr[static_cast<size_t>(i)]);
  TensorDesc both[] = {ba, bb};
  std::vector<ShapeExpr> out = broadcast_shapes(both, op);
  if (ra >= 2) out.push_back(a.shape_expr[static_cast<size_t>(ra - 2)]);
  if (rb >= 2) out.push_back(b.shape_expr.back());
  return from_shape_expr(std::move(out), a.dtype);
}

struct GemmAttrs {
  float alpha = 1.0f;
  float beta = 1.0f;
  int64_t transA = 0;
  int64_t transB = 0;
};
QDP_ATTRS(GemmAttrs, alpha, beta, transA, transB);

constexpr char kGemm[] = "onnx::Gemm";

TensorDesc gemm_desc(TensorDesc const& a, TensorDesc const& b, TensorDesc const& c,
                     GemmAttrs const& at) {
  if (at.transA != 0 && at.transA != 1)
    fail("{}: attribute transA is {}; allowed: 0 or 1", kGemm, at.transA);
  if (at.transB != 0 && at.transB != 1)
    fail("{}: attribute transB is {}; allowed: 0 or 1", kGemm, at.transB);
  if (a.dtype != b.dtype) fail("{}: A is {} but B is {}", kGemm, name(a.dtype), name(b.dtype));
  if (a.dtype != DataType::FP32 && a.dtype != DataType::FP16 && a.dtype != DataType::BF16 &&
      a.dtype != DataType::INT32 && a.dtype != DataType::INT64)
    fail("{}: {} is not supported; Gemm takes FP32, FP16, BF16, INT32 or INT64", kGemm,
         name(a.dtype));
  if (a.rank() != 2 || b.rank() != 2)
    fail("{}: A and B must be matrices (rank 2); they have ranks {} and {}", kGemm, a.rank(),
         b.rank());
  ShapeExpr m = a.shape_expr[at.transA ? 1 : 0], k = a.shape_expr[at.transA ? 0 : 1];
  ShapeExpr kb = b.shape_expr[at.transB ? 1 : 0], n = b.shape_expr[at.transB ? 0 : 1];
  if (k.is_constant() && kb.is_constant() && k.constant() != kb.constant())
    fail("{}: inner dimensions differ: op(A) has {} columns and op(B) has {} rows", kGemm,
         k.constant(), kb.constant());
  if (!absent(c)) {
    if (c.dtype != a.dtype) fail("{}: C is {} but A is {}", kGemm, name(c.dtype), name(a.dtype));
    if (c.rank() > 2) fail("{}: C has rank {}; it must broadcast to (M, N)", kGemm, c.rank());
    // Unidirectional: C's extents are 1 or the output's.
    TensorDesc out(a.dtype, {m, n});
    TensorDesc both[] = {out, c};
    auto shape = broadcast_shapes(both, kGemm);
    if (shape.size() == 2 && m.is_constant() && n.is_constant() &&
        (!shape[0].is_constant() || shape[0].constant() != m.constant() ||
         !shape[1].is_constant() || shape[1].constant() != n.constant()))
      fail("{}: C does not broadcast to ({}, {})", kGemm, m.constant(), n.constant());
  }
  return from_shape_expr({m, n}, a.dtype);
}

struct MatMulBiasAttrs {
  std::string activation;  // nn_activation.hpp
  std::vector<float> activation_params;
};
QDP_ATTRS(MatMulBiasAttrs, activation, activation_params);

constexpr char kMatMulBias[] = "qdp::MatMulBias";

TensorDesc matmul_bias_desc(TensorDesc const& a, TensorDesc const& b, TensorDesc const& bias,
                            MatMulBiasAttrs const& at) {
  activation_from(kMatMulBias, at.activation, at.activation_params);
  if (b.rank() != 2) fail("{}: B must be a matrix (K, N); it has rank {}", kMatMulBias, b.rank());
  if (bias.dtype != a.dtype)
    fail("{}: the bias is {} but A is {}", kMatMulBias, name(bias.dtype), name(a.dtype));
  if (bias.rank() != 1)
    fail("{}: the bias must be a vector (N); it has rank {}", kMatMulBias, bias.rank());
  ShapeExpr n = b.shape_expr[1], nb = bias.shape_expr[0];
  if (n.is_constant() && nb.is_constant() && n.constant() != nb.constant())
    fail("{}: the bias has {} elements but B has {} columns", kMatMulBias, nb.constant(),
         n.constant());
  return matmul_desc(a, b);
}

MatmulPlan gemm_plan(Tensor const& a, Tensor const& b, Tensor const& c, GemmAttrs const& at) {
  MatmulPlan p;
  p.ta = at.transA != 0;
  p.tb = at.transB != 0;
  p.m = a.shape[p.ta ? 1 : 0];
  p.k = a.shape[p.ta ? 0 : 1];
  p.n = b.shape[p.tb ? 0 : 1];
  if (b.shape[p.tb ? 1 : 0] != p.k)
    fail("{}: inner dimensions differ: op(A) is {}x{} and op(B) is {}x{}", kGemm, p.m, p.k,
         b.shape[p.tb ? 1 : 0], p.n);
  p.off_a = {0};
  p.off_b = {0};
  if (!absent(c)) {
    int r = c.rank();
    int64_t cm = r == 2 ? c.shape[0] : 1, cn = r >= 1 ? c.shape[r - 1] : 1;
    if ((cm != 1 && cm != p.m) || (cn != 1 && cn != p.n))
      fail("{}: C has shape {}, which does not broadcast to ({}, {})", kGemm, to_string(c.shape),
           p.m, p.n);
  }
  return p;
}

// The element of C broadcast to (M, N) at (i, j).
struct CIndex {
  int64_t si = 0, sj = 0;  // strides: 0 where C's extent is 1
  CIndex(Tensor const& c) {
    int r = c.rank();
    int64_t cm = r == 2 ? c.shape[0] : 1, cn = r >= 1 ? c.shape[r - 1] : 1;
    sj = cn == 1 ? 0 : 1;
    si = cm == 1 ? 0 : cn;
  }
};

template <class T>
void gemm_cpu(CpuMatmul& s, GemmAttrs const& at, Tensor const& a, Tensor const& b, Tensor const& c,
              Tensor const& y) {
  bool has_c = !absent(c) && at.beta != 0.0f;
  if (!absent(c)) check_same_type(kGemm, "C", c, a.dtype);
  MatmulPlan plan = gemm_plan(a, b, c, at);
  int64_t mn = plan.m * plan.n;
  CIndex ci = has_c ? CIndex(c) : CIndex(a);
  T const* cp = static_cast<T const*>(c.data);
  T* yp = static_cast<T*>(y.data);
  if constexpr (std::is_integral_v<T>) {
    matmul_cpu_int(plan, static_cast<T const*>(a.data), static_cast<T const*>(b.data), yp);
    // alpha and beta are floats in ONNX: as integers they convert as Cast does.
    auto alpha = static_cast<T>(detail::float_to_int64(at.alpha));
    auto beta = static_cast<T>(detail::float_to_int64(at.beta));
#pragma omp parallel for schedule(static) if (mn >= (int64_t{1} << 16))
    for (int64_t e = 0; e < mn; ++e) {
      int64_t i = e / plan.n, j = e % plan.n;
      T scaled = detail::wrapping_mul(alpha, yp[e]);
      yp[e] = has_c ? detail::wrapping_add(scaled,
                                           detail::wrapping_mul(beta, cp[i * ci.si + j * ci.sj]))
                    : scaled;
    }
  } else {
    std::lock_guard lock(s.mutex);
    auto key = plan_key({&a, &b});
    key.push_back(plan.ta);
    key.push_back(plan.tb);
    float* acc = nullptr;
    if constexpr (std::is_same_v<T, float>)
      acc = yp;
    else
      acc = s.scratch(static_cast<size_t>(mn));
    s.product(key, plan, a, b, acc, kGemm);
    float alpha = at.alpha, beta = at.beta;
#pragma omp parallel for schedule(static) if (mn >= (int64_t{1} << 16))
    for (int64_t e = 0; e < mn; ++e) {
      int64_t i = e / plan.n, j = e % plan.n;
      float v = alpha * acc[e];
      if (has_c) v += beta * static_cast<float>(cp[i * ci.si + j * ci.sj]);
      yp[e] = static_cast<T>(v);
    }
  }
}

// y[r, j] = activation(acc[r, j] + bias[j]) for `rows` rows of n, converted to T. In FP32 y is
// acc: the loop reads and writes one array (two pointers to it would fail the compiler's
// run-time overlap check and take its scalar loop).
template <Activation::Kind K, class T>
QDP_CPU_KERNEL void add_bias_and_activate(float const* acc, T const* bias, T* y, int64_t rows,
                                          int64_t n, Activation act) {
  if constexpr (std::is_same_v<T, float>) {
    (void)acc;  // y itself
#pragma omp parallel for schedule(static) if (rows * n >= (int64_t{1} << 16))
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < n; ++j) y[r * n + j] = activate_as<K>(act, y[r * n + j] + bias[j]);
  } else {
#pragma omp parallel for schedule(static) if (rows * n >= (int64_t{1} << 16))
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < n; ++j)
        y[r * n + j] =
            static_cast<T>(activate_as<K>(act, acc[r * n + j] + static_cast<float>(bias[j])));
  }
}

// y = activation(A B + bias): the product in FP32, then one pass that adds, activates, converts.
template <class T>
void matmul_bias_cpu(CpuMatmul& s, MatMulBiasAttrs const& at, Tensor const& a, Tensor const& b,
                     Tensor const& bias, Tensor const& y) {
  Activation act = activation_from(kMatMulBias, at.activation, at.activation_params);
  MatmulPlan plan = matmul_plan(a.shape, b.shape);
  if (bias.numel() != plan.n)
    fail("{}: the bias has {} elements but the product has {} columns", kMatMulBias, bias.numel(),
         plan.n);
  std::lock_guard lock(s.mutex);
  int64_t total = y.numel();
  T* yp = static_cast<T*>(y.data);
  float* acc = nullptr;
  if constexpr (std::is_same_v<T, float>)
    acc = yp;
  else
    acc = s.scratch(static_cast<size_t>(total));
  s.product(plan_key({&a, &b}), plan, a, b, acc, kMatMulBias);
  with_activation_kind(act, [&](auto kind) {
    add_bias_and_activate<decltype(kind)::value>(acc, static_cast<T const*>(bias.data), yp,
                                                 total / plan.n, plan.n, act);
  });
}

// ---- CUDA: cuBLASLt ---------------------------------------------------------------------------
#ifdef __CUDACC__
template <class T>
constexpr cudaDataType_t cuda_type() {
  if constexpr (std::is_same_v<T, float>)
    return CUDA_R_32F;
  else if constexpr (std::is_same_v<T, __half>)
    return CUDA_R_16F;
  else
    return CUDA_R_16BF;
}

using LtDesc = Owned<cublasLtMatmulDesc_t, cublasLtMatmulDescDestroy>;
using LtLayout = Owned<cublasLtMatrixLayout_t, cublasLtMatrixLayoutDestroy>;
using LtPref = Owned<cublasLtMatmulPreference_t, cublasLtMatmulPreferenceDestroy>;

constexpr size_t kLtWorkspace = size_t{32} << 20;

struct LtPlan {
  MatmulPlan p;
  LtDesc desc;
  LtLayout la, lb, lc;  // cuBLASLt's operands: la holds our B, lb our A (see make_lt)
  cublasLtMatmulAlgo_t algo{};
  cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;  // the one it runs: BIAS, RELU_BIAS
  bool bias_epilogue() const { return epilogue != CUBLASLT_EPILOGUE_DEFAULT; }
  int64_t calls = 1;  // products per run: 1, or the batch when batches broadcast unevenly
};

struct CudaMatmulState {
  std::mutex mutex;
  Owned<cublasLtHandle_t, cublasLtDestroy> handle;
  std::map<std::vector<int64_t>, LtPlan> cache;
  Scratch workspace;
};

cublasLtMatrixLayout_t make_layout(LtLayout& owner, cudaDataType_t type, int64_t rows, int64_t cols,
                                   int64_t ld, int64_t batch, int64_t stride) {
  cublasLtMatrixLayout_t l;
  QDP_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&l, type, static_cast<uint64_t>(rows),
                                              static_cast<uint64_t>(cols), ld));
  owner = LtLayout(l);
  if (batch > 1) {
    int32_t count = static_cast<int32_t>(batch);
    QDP_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count,
                                                      sizeof(count)));
    QDP_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(
        l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)));
  }
  return l;
}

// Row-major Y = op(A) op(B) is column-major Y^T = op(B)^T op(A)^T: cuBLASLt's first operand is
// our B, its second our A, with m = n, n = m. A row-major r x c matrix is a column-major c x r
// one with leading dimension c, and the transpose flags carry over unchanged.
template <class T>
LtPlan make_lt(cublasLtHandle_t h, MatmulPlan const& p,
               cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_DEFAULT) {
  LtPlan lt;
  lt.p = p;
  int64_t batch = p.strided ? p.batch : 1;
  lt.calls = p.strided ? 1 : p.batch;
  cudaDataType_t type = cuda_type<T>();
  cublasLtMatmulDesc_t d;
  // FP32 compute for every type: pure FP32 (no TF32) for FP32, FP32 accumulation for 16-bit.
  QDP_CUBLAS_CHECK(cublasLtMatmulDescCreate(&d, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  lt.desc = LtDesc(d);
  cublasOperation_t opa = p.tb ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t opb = p.ta ? CUBLAS_OP_T : CUBLAS_OP_N;
  QDP_CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSA, &opa, sizeof(opa)));
  QDP_CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSB, &opb, sizeof(opb)));
  // Stored shapes (row-major): B is k x n (n x k transposed), A is m x k (k x m transposed).
  int64_t b_rows = p.tb ? p.n : p.k, b_cols = p.tb ? p.k : p.n;
  int64_t a_rows = p.ta ? p.k : p.m, a_cols = p.ta ? p.m : p.k;
  make_layout(lt.la, type, b_cols, b_rows, b_cols, batch, p.stride_b);
  make_layout(lt.lb, type, a_cols, a_rows, a_cols, batch, p.stride_a);
  make_layout(lt.lc, type, p.n, p.m, p.n, batch, p.m * p.n);
  cublasLtMatmulPreference_t pref;
  QDP_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  LtPref pref_owner(pref);
  size_t ws = kLtWorkspace;
  QDP_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
  auto heuristic = [&] {
    cublasLtMatmulHeuristicResult_t r{};
    int found = 0;
    cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(h, d, lt.la.get(), lt.lb.get(), lt.lc.get(),
                                                       lt.lc.get(), pref, 1, &r, &found);
    if (st == CUBLAS_STATUS_SUCCESS && found > 0) {
      lt.algo = r.algo;
      return true;
    }
    return false;
  };
  if (epilogue != CUBLASLT_EPILOGUE_DEFAULT) {
    QDP_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                                                    sizeof(epilogue)));
    if (heuristic()) {
      lt.epilogue = epilogue;
      return lt;
    }
    // No algorithm with the epilogue: the caller adds the bias (and activation) itself.
    cublasLtEpilogue_t plain = CUBLASLT_EPILOGUE_DEFAULT;
    QDP_CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_EPILOGUE, &plain, sizeof(plain)));
  }
  if (!heuristic())
    fail(ErrorCode::RuntimeFailure, "cuBLASLt has no algorithm for a {}x{}x{} product", p.m, p.n,
         p.k);
  return lt;
}

// y (m x n) = C broadcast, before the product accumulates onto it with beta.
template <class T>
__global__ void broadcast_c_kernel(T const* __restrict__ c, T* __restrict__ y, int64_t n,
                                   int64_t si, int64_t sj, int64_t total) {
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < total;
       e += int64_t{gridDim.x} * blockDim.x)
    y[e] = c[(e / n) * si + (e % n) * sj];
}

template <class T>
void lt_run(CudaMatmulState& s, LtPlan const& lt, void const* a, void const* b, void* y,
            float alpha, float beta, void const* bias, cudaStream_t stream) {
  cublasLtHandle_t h = s.handle.get();
  void* ws = s.workspace.get(kLtWorkspace);
  if (lt.bias_epilogue())
    QDP_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(
        lt.desc.get(), CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
  MatmulPlan const& p = lt.p;
  for (int64_t i = 0; i < lt.calls; ++i) {
    auto const* ai = static_cast<T const*>(a) + p.off_a[static_cast<size_t>(i)];
    auto const* bi = static_cast<T const*>(b) + p.off_b[static_cast<size_t>(i)];
    T* yi = static_cast<T*>(y) + i * p.m * p.n;
    QDP_CUBLAS_CHECK(cublasLtMatmul(h, lt.desc.get(), &alpha, bi, lt.la.get(), ai, lt.lb.get(),
                                    &beta, yi, lt.lc.get(), yi, lt.lc.get(), &lt.algo, ws,
                                    kLtWorkspace, stream));
  }
}

void ensure_handle(CudaMatmulState& s) {
  if (s.handle) return;
  cublasLtHandle_t h;
  QDP_CUBLAS_CHECK(cublasLtCreate(&h));
  s.handle = Owned<cublasLtHandle_t, cublasLtDestroy>(h);
}

template <class T>
void matmul_cuda(CudaMatmulState& s, Tensor const& a, Tensor const& b, Tensor const& y,
                 cudaStream_t stream) {
  std::lock_guard lock(s.mutex);
  ensure_handle(s);
  auto key = plan_key({&a, &b});
  auto it = s.cache.find(key);
  if (it == s.cache.end())
    it = s.cache.emplace(key, make_lt<T>(s.handle.get(), matmul_plan(a.shape, b.shape))).first;
  lt_run<T>(s, it->second, a.data, b.data, y.data, 1.0f, 0.0f, nullptr, stream);
}

template <class T>
void gemm_cuda(CudaMatmulState& s, GemmAttrs const& at, Tensor const& a, Tensor const& b,
               Tensor const& c, Tensor const& y, cudaStream_t stream) {
  bool has_c = !absent(c) && at.beta != 0.0f;
  if (!absent(c)) check_same_type(kGemm, "C", c, a.dtype);
  MatmulPlan plan = gemm_plan(a, b, c, at);
  // A C that is a row vector (N) with beta 1 is cuBLASLt's bias epilogue.
  bool vector_c = has_c && at.beta == 1.0f && c.numel() == plan.n && plan.n > 1 &&
                  (c.rank() == 1 || (c.rank() == 2 && c.shape[0] == 1));
  std::lock_guard lock(s.mutex);
  ensure_handle(s);
  auto key = plan_key({&a, &b});
  key.push_back(plan.ta);
  key.push_back(plan.tb);
  key.push_back(vector_c);
  auto it = s.cache.find(key);
  if (it == s.cache.end())
    it =
        s.cache
            .emplace(key, make_lt<T>(s.handle.get(), plan,
                                     vector_c ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT))
            .first;
  LtPlan const& lt = it->second;
  float beta = 0.0f;
  if (has_c && !lt.bias_epilogue()) {
    CIndex ci(c);
    int64_t total = plan.m * plan.n;
    broadcast_c_kernel<T><<<grid_for(total, 256), 256, 0, stream>>>(
        static_cast<T const*>(c.data), static_cast<T*>(y.data), plan.n, ci.si, ci.sj, total);
    QDP_CUDA_CHECK(cudaGetLastError());
    beta = at.beta;
  }
  lt_run<T>(s, lt, a.data, b.data, y.data, at.alpha, beta, lt.bias_epilogue() ? c.data : nullptr,
            stream);
}

// y = activation(A B + bias): the bias in cuBLASLt's epilogue, and Relu with it; another
// activation (or a product without an epilogue algorithm) takes one pass after the product.
template <class T>
void matmul_bias_cuda(CudaMatmulState& s, MatMulBiasAttrs const& at, Tensor const& a,
                      Tensor const& b, Tensor const& bias, Tensor const& y, cudaStream_t stream) {
  Activation act = activation_from(kMatMulBias, at.activation, at.activation_params);
  MatmulPlan plan = matmul_plan(a.shape, b.shape);
  if (bias.numel() != plan.n)
    fail("{}: the bias has {} elements but the product has {} columns", kMatMulBias, bias.numel(),
         plan.n);
  bool relu = act.kind == Activation::Kind::Relu;
  cublasLtEpilogue_t epilogue = relu ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS;
  std::lock_guard lock(s.mutex);
  ensure_handle(s);
  auto key = plan_key({&a, &b});
  key.push_back(epilogue);
  auto it = s.cache.find(key);
  if (it == s.cache.end())
    it = s.cache.emplace(key, make_lt<T>(s.handle.get(), plan, epilogue)).first;
  LtPlan const& lt = it->second;
  lt_run<T>(s, lt, a.data, b.data, y.data, 1.0f, 0.0f, bias.data, stream);
  bool done = lt.bias_epilogue() && (relu || act.kind == Activation::Kind::None);
  if (!done) {
    int64_t total = y.numel();
    auto const* bp = lt.bias_epilogue() ? nullptr : static_cast<T const*>(bias.data);
    bias_activation_kernel<T><<<grid_for(total, 256), 256, 0, stream>>>(
        static_cast<T*>(y.data), bp, plan.n, 1, total, act);
    QDP_CUDA_CHECK(cudaGetLastError());
  }
}
#endif

}  // namespace

QDP_PLUGIN(matmul, "onnx::MatMul")
    .desc([](TensorDesc const& a, TensorDesc const& b) { return matmul_desc(a, b); })
    .autotune(FloatTypes<2>{})
    .impl<qdp::cpu, float, half, bfloat16, int32_t, int64_t>(
        [state = PerBind<CpuMatmul>()]<class T>(In<T> a, In<T> b, Out<T> y) {
          matmul_cpu<T>(*state, a.tensor(), b.tensor(), y.tensor());
        })
#ifdef __CUDACC__
    .impl<qdp::cuda, float, __half, __nv_bfloat16>(
        [state = PerBind<CudaMatmulState>()]<class T>(In<T> a, In<T> b, Out<T> y, Stream s) {
          matmul_cuda<T>(*state, a.tensor(), b.tensor(), y.tensor(), native(s));
        })
#endif
    ;

QDP_PLUGIN(gemm, "onnx::Gemm")
    .desc([](TensorDesc const& a, TensorDesc const& b, TensorDesc const& c, GemmAttrs const& at) {
      return gemm_desc(a, b, c, at);
    })
    .autotune(FloatTypes<3>{})
    .impl<qdp::cpu, float, half, bfloat16, int32_t, int64_t>(
        [state = PerBind<CpuMatmul>()]<class T>(In<T> a, In<T> b, In<> c, Out<T> y,
                                                GemmAttrs const& at) {
          gemm_cpu<T>(*state, at, a.tensor(), b.tensor(), c.tensor(), y.tensor());
        })
#ifdef __CUDACC__
    .impl<qdp::cuda, float, __half, __nv_bfloat16>(
        [state = PerBind<CudaMatmulState>()]<class T>(In<T> a, In<T> b, In<> c, Out<T> y,
                                                      GemmAttrs const& at, Stream s) {
          gemm_cuda<T>(*state, at, a.tensor(), b.tensor(), c.tensor(), y.tensor(), native(s));
        })
#endif
    ;

QDP_PLUGIN(matmul_bias, "qdp::MatMulBias")
    .desc([](TensorDesc const& a, TensorDesc const& b, TensorDesc const& bias,
             MatMulBiasAttrs const& at) { return matmul_bias_desc(a, b, bias, at); })
    .autotune(FloatTypes<3>{})
    .impl<qdp::cpu, float, half, bfloat16>(
        [state = PerBind<CpuMatmul>()]<class T>(In<T> a, In<T> b, In<T> bias, Out<T> y,
                                                MatMulBiasAttrs const& at) {
          matmul_bias_cpu<T>(*state, at, a.tensor(), b.tensor(), bias.tensor(), y.tensor());
        })
#ifdef __CUDACC__
    .impl<qdp::cuda, float, __half, __nv_bfloat16>([state = PerBind<CudaMatmulState>()]<class T>(
                                                       In<T> a, In<T> b, In<T> bias, Out<T> y,
                                                       MatMulBiasAttrs const& at, Stream s) {
      matmul_bias_cuda<T>(*state, at, a.tensor(), b.tensor(), bias.tensor(), y.tensor(), native(s));
    })
#endif
    ;

}  // namespace qdp::ops::nn
