#pragma once
// Tensor: a concrete tensor at run time (SPEC §1): where its data is, its type, format,
// shape and strides. Plugins receive these; they own nothing.
#include <qdp/api.hpp>
#include <qdp/data_type.hpp>
#include <qdp/dims.hpp>
#include <qdp/error.hpp>

namespace qdp {

// Strides in elements of a dense tensor of `shape` stored in `format`, indexed by the
// logical (NCHW) dimension.
QDP_API Dims dense_strides(Dims const& shape, TensorFormat format);

struct QDP_API Tensor {
  void* data = nullptr;
  DataType dtype = DataType::FP32;
  TensorFormat format = TensorFormat::LINEAR;
  Device device = Device::CPU;
  Dims shape;
  Dims strides;
  // A constant of the engine (an initializer, a folded value): the same data at the same address
  // for the engine's life, so an impl may prepare it once (reorder, pack) keyed by its address.
  bool constant = false;

  int64_t numel() const { return shape.numel(); }
  size_t bytes() const { return static_cast<size_t>(numel()) * element_size(dtype); }
  int rank() const { return shape.rank(); }

  template <Element T>
  T* data_as() const {
    if (dtype != dtype_v<T>) fail("tensor holds {}, not {}", name(dtype), name(dtype_v<T>));
    return static_cast<T*>(data);
  }

  // The same memory seen with another shape: how a data-dependent output states its actual
  // extent (the seed's `aliased(shape)`).
  Tensor reshaped(Dims new_shape) const;
};

}  // namespace qdp
