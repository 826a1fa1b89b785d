#pragma once
// Runs one operator's impl directly, on inputs in a layout of the test's choosing: the autotuner
// picks layouts by time, so a test of a channels-last (HWC) impl cannot count on a build to run
// it. Inputs and outputs are LINEAR host arrays; run_impl converts those it is told to HWC.
#include <algorithm>
#include <cstring>
#include <qdp/qdp.hpp>
#include <string>
#include <utility>
#include <vector>

namespace qdp_test {

// NCHW <-> NHWC of a rank-4 array, element by element.
inline qdp::Array to_layout(qdp::Array const& a, bool to_hwc) {
  qdp::Dims s = a.shape();
  qdp::Array out(a.dtype(), s);
  size_t e = qdp::element_size(a.dtype());
  int64_t n = s[0], c = s[1], hw = s[2] * s[3];
  auto const* src = static_cast<std::byte const*>(a.raw());
  auto* dst = static_cast<std::byte*>(out.raw());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < hw; ++p) {
        int64_t linear = (i * c + ch) * hw + p, hwc = (i * hw + p) * c + ch;
        std::memcpy(dst + static_cast<size_t>(to_hwc ? hwc : linear) * e,
                    src + static_cast<size_t>(to_hwc ? linear : hwc) * e, e);
      }
  return out;
}

// `op`'s impl for `device` on `inputs` (those at `hwc_inputs` handed over channels-last, those at
// `constant_inputs` as constants of an engine), with one output of `y_shape` and `y_type` in
// `y_format`; the output back in LINEAR.
inline qdp::Array run_impl(qdp::Device device, std::string_view op,
                           std::vector<std::pair<std::string, qdp::Array>> const& inputs,
                           std::vector<size_t> const& hwc_inputs, qdp::Dims y_shape,
                           qdp::DataType y_type, qdp::TensorFormat y_format,
                           qdp::Attrs const& attrs, int32_t tactic = 0,
                           std::vector<size_t> const& constant_inputs = {}) {
  using namespace qdp;
  auto def = Registry::global().get(op);
  std::vector<Array> hosts;
  std::vector<DeviceBuffer> buffers;
  std::vector<Tensor> ins;
  hosts.reserve(inputs.size() + 1);
  for (size_t i = 0; i < inputs.size(); ++i) {
    bool hwc = std::find(hwc_inputs.begin(), hwc_inputs.end(), i) != hwc_inputs.end();
    hosts.push_back(hwc ? to_layout(inputs[i].second, true) : inputs[i].second);
    Array& host = hosts.back();
    TensorFormat f = hwc ? TensorFormat::HWC : TensorFormat::LINEAR;
    static int64_t absent = 0;  // an omitted input (no elements) is never read, but not null
    void* data = host.numel() == 0 ? &absent : host.raw();
    if (device == Device::CUDA && host.numel() > 0) {
      buffers.emplace_back(Device::CUDA, host.bytes());
      buffers.back().copy_from_host(host.raw(), host.bytes());
      data = buffers.back().data();
    }
    ins.push_back(
        Tensor{data, host.dtype(), f, device, host.shape(), dense_strides(host.shape(), f)});
    ins.back().constant =
        std::find(constant_inputs.begin(), constant_inputs.end(), i) != constant_inputs.end();
  }
  Array y(y_type, y_shape);
  DeviceBuffer y_buffer;
  void* y_data = y.raw();
  if (device == Device::CUDA && y.numel() > 0) {
    y_buffer = DeviceBuffer(Device::CUDA, y.bytes());
    y_data = y_buffer.data();
  }
  Tensor out{y_data, y_type, y_format, device, y_shape, dense_strides(y_shape, y_format)};
  def->impl(device)->bind(resolve_attrs(op, def->attrs, attrs))(ins, std::span(&out, 1), Stream{},
                                                                Tactic{tactic});
  if (device == Device::CUDA && y.numel() > 0) y_buffer.copy_to_host(y.raw(), y.bytes());
  return y_format == TensorFormat::HWC ? to_layout(y, false) : y;
}

}  // namespace qdp_test
