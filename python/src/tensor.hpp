#pragma once
// Run-time tensors for Python impls: views of the engine's buffers that live only for the call.
#include <qdp/tensor.hpp>

#include "common.hpp"

namespace qdp::py {

struct PyTensor {
  Tensor tensor;
  bool writable = true;
  bool alive = true;   // false once the impl that received it has returned
  nb::object parent;   // a view made by aliased(shape): valid exactly while its parent is

  bool is_alive() const {
    return parent.is_valid() ? nb::cast<PyTensor const&>(parent).is_alive() : alive;
  }
  // The tensor, or a ReferenceError for a view used after its impl returned.
  Tensor const& get() const;
};

}  // namespace qdp::py
