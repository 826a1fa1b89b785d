#pragma once
// DeviceBuffer: memory on a backend's device (host memory for the CPU), freed on destruction.
#include <cstddef>
#include <qdp/data_type.hpp>

namespace qdp {

class QDP_API DeviceBuffer {
 public:
  DeviceBuffer() = default;
  // `gpu`: which GPU, on the CUDA backend.
  DeviceBuffer(Device device, size_t bytes, int gpu = 0);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(DeviceBuffer const&) = delete;
  DeviceBuffer& operator=(DeviceBuffer const&) = delete;

  void* data() const { return data_; }
  size_t size() const { return bytes_; }
  Device device() const { return device_; }
  int gpu() const { return gpu_; }

  // Synchronous copies between this buffer and host memory.
  void copy_from_host(void const* src, size_t bytes, size_t offset = 0);
  void copy_to_host(void* dst, size_t bytes, size_t offset = 0) const;

 private:
  void release();
  Device device_ = Device::CPU;
  int gpu_ = 0;
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

// Whether a CUDA device is usable in this process (qdp built with CUDA and a GPU present).
QDP_API bool cuda_available();
// How many GPUs this process can use (cuda:0 to cuda:N-1); 0 without CUDA.
QDP_API int gpu_count();
// cuda when available, else cpu: the samples' default.
QDP_API Device default_device();

}  // namespace qdp
