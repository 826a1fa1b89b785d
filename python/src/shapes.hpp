#pragma once
// Build-time descriptions for Python: TensorDesc (with a read-only flag for the descs handed to
// desc as inputs) and the shape expressions it holds.
#include <qdp/tensor_desc.hpp>

#include "common.hpp"

namespace qdp::py {

struct PyTensorDesc {
  TensorDesc desc;
  bool read_only = false;  // an input desc: what desc receives is not desc's to change

  void check_writable(std::string_view what) const {
    if (read_only)
      fail("TensorDesc.{}: this is an input's desc, which is read-only; describe an output with "
           "like(), aliased() or from_shape_expr() and change that",
           what);
  }
};

// Python objects for descs: inputs (read-only copies) and outputs.
nb::object desc_to_python(TensorDesc const& d, bool read_only);
nb::list descs_to_python(std::span<const TensorDesc> descs, bool read_only);
// The core desc inside a Python TensorDesc; `where` names the caller in the TypeError.
TensorDesc const& desc_from_python(nb::handle h, std::string_view where);

}  // namespace qdp::py
