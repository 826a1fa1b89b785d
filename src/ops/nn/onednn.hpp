#pragma once
// What the oneDNN-backed CPU impls (conv_cpu.cpp, matmul_cpu.cpp) share. C++ only: nvcc cannot
// compile oneDNN's header, so only those two sources include this.
#include <oneapi/dnnl/dnnl.hpp>
#include <qdp/data_type.hpp>
#include <string>
#include <type_traits>
#include <utility>

namespace qdp::ops::nn {

template <class T>
constexpr dnnl::memory::data_type dnnl_type() {
  if constexpr (std::is_same_v<T, float>)
    return dnnl::memory::data_type::f32;
  else if constexpr (std::is_same_v<T, half>)
    return dnnl::memory::data_type::f16;
  else
    return dnnl::memory::data_type::bf16;
}

// The attributes of every primitive qdp creates: a scratchpad that qdp provides (each cached
// primitive keeps its own, used under its cache's lock). oneDNN's default, a scratchpad of the
// library's, is per thread and sized on the thread that creates the primitive; the contexts of an
// engine share its primitives from any thread, and a primitive run on a thread other than the one
// that created it found no scratchpad there (a crash in oneDNN;
// tests/runtime/concurrency_test.cpp).
inline dnnl::primitive_attr qdp_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// The scratchpad `pd` asks for, allocated on `eng` (empty when it asks for none).
template <class PrimitiveDesc>
dnnl::memory scratchpad_for(PrimitiveDesc const& pd, dnnl::engine const& eng) {
  dnnl::memory::desc d = pd.scratchpad_desc();
  return d.get_size() == 0 ? dnnl::memory() : dnnl::memory(d, eng);
}

// A primitive in the tensors' own 16-bit `type`, unless oneDNN has no kernel for it on this CPU
// or only its reference one (far slower than converting): then in FP32, with in_float set.
// `make(t)` builds the primitive for type t and returns it with its primitive_desc.
template <class Make>
auto in_fastest_type(dnnl::memory::data_type type, Make make) {
  auto reference = [](auto const& pd) {
    return std::string(pd.impl_info_str()).rfind("ref", 0) == 0;
  };
  if (type != dnnl::memory::data_type::f32) {
    try {
      auto [p, pd] = make(type);
      if (!reference(pd)) return std::move(p);
    } catch (dnnl::error const&) {
      // No kernel for this type on this CPU: FP32 below.
    }
  }
  auto [p, pd] = make(dnnl::memory::data_type::f32);
  p.in_float = type != dnnl::memory::data_type::f32;
  return std::move(p);
}

}  // namespace qdp::ops::nn
