// What every backend shares: the defaults for what only some backends offer, and the choice of
// backend by device.
#include "backends/backend.hpp"

#include <chrono>
#include <qdp/device_buffer.hpp>
#include <utility>

namespace qdp::detail {

namespace {
class HostClockMarks final : public StreamMarks {
 public:
  explicit HostClockMarks(size_t count) : marks_(count) {}
  void record(size_t index, Stream) override {
    marks_.at(index) = std::chrono::steady_clock::now();
  }
  double elapsed_ms(size_t from, size_t to) override {
    return std::chrono::duration<double, std::milli>(marks_.at(to) - marks_.at(from)).count();
  }

 private:
  std::vector<std::chrono::steady_clock::time_point> marks_;
};
}  // namespace

std::unique_ptr<StreamMarks> Backend::make_marks(size_t count) {
  return std::make_unique<HostClockMarks>(count);
}

std::shared_ptr<void> Backend::capture_graph(std::function<void(Stream)> const&, Stream) {
  fail(ErrorCode::Unsupported, "graph capture needs the CUDA backend; this engine runs on the {}",
       name(device()));
}

void Backend::launch_graph(void*, Stream) {
  fail(ErrorCode::Unsupported, "graph replay needs the CUDA backend; this engine runs on the {}",
       name(device()));
}

PlanKernel Backend::compile_kernel(std::string_view plugin_id, AotKernel const&) {
  fail(ErrorCode::Unsupported,
       "plugin {}: the {} backend has no AOT kernels (they are CUDA kernels): use the plugin's "
       "JIT impl or build for cuda",
       plugin_id, name(device()));
}

std::shared_ptr<const LoadedKernel> Backend::load_kernel(PlanKernel const&, std::string_view step,
                                                         size_t, size_t) {
  fail(ErrorCode::Unsupported,
       "layer '{}' is an AOT kernel, which the {} backend cannot run: build the engine for cuda",
       step, name(device()));
}

Backend& cpu_backend();
#ifdef QDP_WITH_CUDA
Backend* cuda_backend(int index);  // nullptr when that GPU is not usable; in backends/cuda
int cuda_device_count();
#endif

Backend& backend(Device device, int index) {
  if (device == Device::CPU) return cpu_backend();
  if (index < 0) fail("GPU index {} is negative: name a GPU as cuda:0, cuda:1, ...", index);
#ifdef QDP_WITH_CUDA
  if (Backend* b = cuda_backend(index)) return *b;
  int count = cuda_device_count();
  if (count == 0)
    fail(ErrorCode::Unsupported,
         "the CUDA backend is not available: no usable CUDA GPU was found (build and run on the "
         "CPU with --device cpu)");
  fail(ErrorCode::NotFound, "there is no GPU cuda:{}: this machine has {} (cuda:0 to cuda:{})",
       index, count, count - 1);
#else
  fail(ErrorCode::Unsupported,
       "the CUDA backend is not available: this qdp was built without CUDA (use --device cpu)");
#endif
}

}  // namespace qdp::detail

namespace qdp {

bool cuda_available() {
#ifdef QDP_WITH_CUDA
  return detail::cuda_device_count() > 0;
#else
  return false;
#endif
}

int gpu_count() {
#ifdef QDP_WITH_CUDA
  return detail::cuda_device_count();
#else
  return 0;
#endif
}

Device default_device() {
  return cuda_available() ? Device::CUDA : Device::CPU;
}

DeviceBuffer::DeviceBuffer(Device device, size_t bytes, int gpu)
    : device_(device),
      gpu_(gpu),
      data_(detail::backend(device, gpu).allocate(bytes)),
      bytes_(bytes) {}
DeviceBuffer::~DeviceBuffer() {
  release();
}
DeviceBuffer::DeviceBuffer(DeviceBuffer&& o) noexcept
    : device_(o.device_),
      gpu_(o.gpu_),
      data_(std::exchange(o.data_, nullptr)),
      bytes_(std::exchange(o.bytes_, 0)) {}
DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    release();
    device_ = o.device_;
    gpu_ = o.gpu_;
    data_ = std::exchange(o.data_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
  }
  return *this;
}
void DeviceBuffer::release() {
  if (data_) detail::backend(device_, gpu_).deallocate(data_);
  data_ = nullptr;
}
void DeviceBuffer::copy_from_host(void const* src, size_t bytes, size_t offset) {
  if (offset > bytes_ || bytes > bytes_ - offset)
    fail("DeviceBuffer: copy of {} bytes at offset {} overruns its {} bytes", bytes, offset,
         bytes_);
  detail::backend(device_, gpu_)
      .copy_from_host(static_cast<std::byte*>(data_) + offset, src, bytes);
}
void DeviceBuffer::copy_to_host(void* dst, size_t bytes, size_t offset) const {
  if (offset > bytes_ || bytes > bytes_ - offset)
    fail("DeviceBuffer: copy of {} bytes at offset {} overruns its {} bytes", bytes, offset,
         bytes_);
  detail::backend(device_, gpu_)
      .copy_to_host(dst, static_cast<std::byte const*>(data_) + offset, bytes);
}

}  // namespace qdp
