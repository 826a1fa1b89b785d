#pragma once
// onnx::MatMul's and onnx::Gemm's products: the batch plan, shared by both backends, and the
// CPU implementation (oneDNN, in matmul_cpu.cpp: nvcc's C++20 front end cannot parse oneDNN's
// C++ header, so the oneDNN code lives in a C++ file).
#include <memory>
#include <mutex>

#include "ops/nn/nn_common.hpp"

namespace qdp::ops::nn {

// A batch of row-major products Y[b] (m x n) = op(A[b]) op(B[b]), k the reduced extent.
// off_a / off_b: element offsets of each batch's A and B.
struct MatmulPlan {
  int64_t batch = 1, m = 1, n = 1, k = 1;
  bool ta = false, tb = false;
  std::vector<int64_t> off_a, off_b;
  // Uniform strides (cuBLASLt's strided batches; 0 broadcasts), valid when `strided`.
  bool strided = true;
  int64_t stride_a = 0, stride_b = 0;
  bool equal_batches = true;  // stride_a and stride_b both non-zero (or batch 1)
};

// MatMul's plan from the run's shapes (1-D operands are promoted as numpy does).
inline MatmulPlan matmul_plan(Dims const& a, Dims const& b) {
  MatmulPlan p;
  int ra = a.rank(), rb = b.rank();
  p.m = ra == 1 ? 1 : a[ra - 2];
  p.k = a[ra - 1];
  int64_t kb = rb == 1 ? b[0] : b[rb - 2];
  p.n = rb == 1 ? 1 : b[rb - 1];
  if (p.k != kb)
    fail("onnx::MatMul: inner dimensions differ: A is {} and B is {}", to_string(a), to_string(b));
  Dims ba, bb;
  for (int i = 0; i + 2 < ra; ++i) ba.push_back(a[i]);
  for (int i = 0; i + 2 < rb; ++i) bb.push_back(b[i]);
  Dims shapes[] = {ba, bb};
  Dims out = broadcast_dims(shapes, "onnx::MatMul");
  int rank = out.rank();
  p.batch = out.numel();
  int64_t count_a = ba.numel(), count_b = bb.numel();
  // B without batch: the whole of A is one (batch * m) x k matrix.
  if (count_b == 1 && ra >= 2) {
    p.m *= count_a;
    p.batch = 1;
    p.off_a = {0};
    p.off_b = {0};
    p.stride_a = p.stride_b = 0;
    return p;
  }
  p.off_a.resize(static_cast<size_t>(p.batch));
  p.off_b.resize(static_cast<size_t>(p.batch));
  for (int64_t i = 0; i < p.batch; ++i) {
    int64_t rest = i, oa = 0, ob = 0, sa = 1, sb = 1;
    for (int d = rank - 1; d >= 0; --d) {
      int64_t idx = rest % out[d];
      rest /= out[d];
      int da = d - (rank - ba.rank()), db = d - (rank - bb.rank());
      if (da >= 0) {
        oa += (ba[da] == 1 ? 0 : idx) * sa;
        sa *= ba[da];
      }
      if (db >= 0) {
        ob += (bb[db] == 1 ? 0 : idx) * sb;
        sb *= bb[db];
      }
    }
    p.off_a[static_cast<size_t>(i)] = oa * p.m * p.k;
    p.off_b[static_cast<size_t>(i)] = ob * p.k * p.n;
  }
  // Neither side broadcasts: batch i of the output reads batch i of A and of B.
  p.equal_batches = count_a == p.batch && count_b == p.batch;
  if (p.equal_batches) {
    p.stride_a = p.m * p.k;
    p.stride_b = p.k * p.n;
  } else if (count_a == 1) {
    p.stride_a = 0;
    p.stride_b = p.k * p.n;
  } else {
    p.strided = false;  // mixed broadcasting: one product per batch
  }
  return p;
}

// oneDNN matmul primitives of one bound impl, created once per shape.
class CpuMatmul {
 public:
  CpuMatmul();
  ~CpuMatmul();
  CpuMatmul(CpuMatmul const&) = delete;
  CpuMatmul& operator=(CpuMatmul const&) = delete;
  // y (FP32, batch x m x n) = op(A) op(B) for FP32, FP16 or BF16 tensors a and b; the primitive
  // is cached under `key`. Call with `mutex` held.
  void product(std::vector<int64_t> const& key, MatmulPlan const& plan, Tensor const& a,
               Tensor const& b, float* y, std::string_view op);
  // FP32 scratch of n elements, valid until the next call; with `mutex` held.
  float* scratch(size_t n);

  std::mutex mutex;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace qdp::ops::nn
