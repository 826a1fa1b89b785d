#pragma once
// Array: an owning, dense, host-side n-d array (LINEAR), what the Runner takes and returns.
#include <cstddef>
#include <qdp/api.hpp>
#include <qdp/data_type.hpp>
#include <qdp/dims.hpp>
#include <qdp/error.hpp>
#include <vector>

namespace qdp {

class QDP_API Array {
 public:
  Array() = default;
  Array(DataType dtype, Dims shape)
      : dtype_(dtype),
        shape_(shape),
        bytes_(static_cast<size_t>(shape.numel()) * element_size(dtype)) {}

  template <Element T>
  static Array from(Dims shape, std::vector<T> const& values) {
    if (static_cast<int64_t>(values.size()) != shape.numel())
      fail("Array::from: {} values for shape {}", values.size(), to_string(shape));
    Array a(dtype_v<T>, shape);
    for (size_t i = 0; i < values.size(); ++i) a.data<T>()[i] = values[i];
    return a;
  }

  DataType dtype() const { return dtype_; }
  Dims const& shape() const { return shape_; }
  int64_t numel() const { return shape_.numel(); }
  size_t bytes() const { return static_cast<size_t>(numel()) * element_size(dtype_); }
  void* raw() { return bytes_.data(); }
  void const* raw() const { return bytes_.data(); }

  template <Element T>
  T* data() {
    check<T>();
    return reinterpret_cast<T*>(bytes_.data());
  }
  template <Element T>
  T const* data() const {
    check<T>();
    return reinterpret_cast<T const*>(bytes_.data());
  }
  // Keeps the first elements, seen with a smaller shape (data-dependent outputs).
  void reshape(Dims shape) {
    if (shape.numel() > shape_.numel())
      fail("Array::reshape: {} is larger than {}", to_string(shape), to_string(shape_));
    shape_ = shape;
    bytes_.resize(bytes());
  }

 private:
  template <class T>
  void check() const {
    if (dtype_ != dtype_v<T>) fail("Array holds {}, not {}", name(dtype_), name(dtype_v<T>));
  }
  DataType dtype_ = DataType::FP32;
  Dims shape_;
  std::vector<std::byte> bytes_;
};

}  // namespace qdp
