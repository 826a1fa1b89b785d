// AOT kernels on CUDA: NVRTC (loaded on first use, so that running an engine never needs it)
// and the runtime's library API (cudaLibraryLoadData, cudaLibraryGetKernel, cudaLaunchKernel).
#include <dlfcn.h>
#include <nvrtc.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <qdp/cuda.hpp>
#include <vector>

#include "backends/backend.hpp"
#include "backends/cuda/aot.hpp"

namespace qdp::detail {
namespace {

// The NVRTC entry points qdp uses, from libnvrtc loaded at the first compilation.
struct Nvrtc {
  decltype(&nvrtcCreateProgram) create;
  decltype(&nvrtcCompileProgram) compile;
  decltype(&nvrtcGetProgramLogSize) log_size;
  decltype(&nvrtcGetProgramLog) log;
  decltype(&nvrtcGetCUBINSize) cubin_size;
  decltype(&nvrtcGetCUBIN) cubin;
  decltype(&nvrtcGetPTXSize) ptx_size;
  decltype(&nvrtcGetPTX) ptx;
  decltype(&nvrtcDestroyProgram) destroy;
  decltype(&nvrtcGetErrorString) error_string;

  static Nvrtc const& get() {
    static Nvrtc const nvrtc = load();  // immutable once loaded
    return nvrtc;
  }

 private:
  static Nvrtc load() {
    void* lib = nullptr;
    for (char const* name : {"libnvrtc.so.13", "libnvrtc.so"})
      if ((lib = dlopen(name, RTLD_NOW | RTLD_LOCAL))) break;
    if (!lib)
      fail(
          "cannot load NVRTC (libnvrtc.so.13), which compiles AOT kernels' CUDA source: install "
          "the CUDA "
          "toolkit's NVRTC or add its folder to LD_LIBRARY_PATH");
    auto sym = [&](char const* name) {
      void* p = dlsym(lib, name);
      if (!p) fail("NVRTC has no symbol {}", name);
      return p;
    };
    Nvrtc n{};
    n.create = reinterpret_cast<decltype(n.create)>(sym("nvrtcCreateProgram"));
    n.compile = reinterpret_cast<decltype(n.compile)>(sym("nvrtcCompileProgram"));
    n.log_size = reinterpret_cast<decltype(n.log_size)>(sym("nvrtcGetProgramLogSize"));
    n.log = reinterpret_cast<decltype(n.log)>(sym("nvrtcGetProgramLog"));
    n.cubin_size = reinterpret_cast<decltype(n.cubin_size)>(sym("nvrtcGetCUBINSize"));
    n.cubin = reinterpret_cast<decltype(n.cubin)>(sym("nvrtcGetCUBIN"));
    n.ptx_size = reinterpret_cast<decltype(n.ptx_size)>(sym("nvrtcGetPTXSize"));
    n.ptx = reinterpret_cast<decltype(n.ptx)>(sym("nvrtcGetPTX"));
    n.destroy = reinterpret_cast<decltype(n.destroy)>(sym("nvrtcDestroyProgram"));
    n.error_string = reinterpret_cast<decltype(n.error_string)>(sym("nvrtcGetErrorString"));
    return n;
  }
};

// Compiles `source` once for `arch_option`; returns the cubin (real arch) or PTX (virtual arch).
std::string nvrtc_compile(std::string_view plugin_id, AotKernel const& k,
                          std::string const& arch_option, bool ptx) {
  Nvrtc const& nvrtc = Nvrtc::get();
  nvrtcProgram program = nullptr;
  std::string source = k.code;
  std::string file = k.name + ".cu";
  if (nvrtcResult r = nvrtc.create(&program, source.c_str(), file.c_str(), 0, nullptr, nullptr);
      r != NVRTC_SUCCESS)
    fail("plugin {}: nvrtcCreateProgram failed: {}", plugin_id, nvrtc.error_string(r));
  std::unique_ptr<nvrtcProgram, void (*)(nvrtcProgram*)> guard(
      &program, [](nvrtcProgram* p) { Nvrtc::get().destroy(p); });
  std::vector<std::string> options = {arch_option, "-std=c++17", "--use_fast_math"};
  for (char const* dir :
       {"/usr/local/cuda/include", "/usr/local/cuda/targets/x86_64-linux/include"})
    if (std::filesystem::exists(dir)) options.push_back(std::string("-I") + dir);
  std::vector<char const*> argv;
  for (auto const& o : options) argv.push_back(o.c_str());
  nvrtcResult result = nvrtc.compile(program, static_cast<int>(argv.size()), argv.data());
  size_t log_size = 0;
  nvrtc.log_size(program, &log_size);
  std::string log(log_size, '\0');
  if (log_size) nvrtc.log(program, log.data());
  if (result != NVRTC_SUCCESS)
    fail("plugin {}: the AOT kernel '{}' does not compile ({}):\n{}", plugin_id, k.name,
         nvrtc.error_string(result), log);
  size_t size = 0;
  std::string out;
  if (ptx) {
    nvrtc.ptx_size(program, &size);
    out.resize(size);
    nvrtc.ptx(program, out.data());
  } else {
    nvrtc.cubin_size(program, &size);
    out.resize(size);
    nvrtc.cubin(program, out.data());
  }
  return out;
}

// A loaded cudaLibrary_t, unloaded when the owner goes (also when loading fails half-way).
struct LibraryUnloader {
  void operator()(cudaLibrary_t library) const noexcept { (void)cudaLibraryUnload(library); }
};
using UniqueLibrary = std::unique_ptr<std::remove_pointer_t<cudaLibrary_t>, LibraryUnloader>;

class CudaKernel final : public LoadedKernel {
 public:
  CudaKernel(PlanKernel const& k, std::string_view step, size_t inputs, size_t outputs, int arch)
      : kernel_(k), inputs_(inputs), outputs_(outputs) {
    void const* image = nullptr;
    if (!k.cubin.empty() && k.arch == arch)
      image = k.cubin.data();
    else if (!k.ptx.empty())
      image = k.ptx.c_str();  // the driver compiles PTX for this GPU
    else
      fail(
          "layer '{}': the engine's AOT kernel '{}' was compiled for sm_{} and has no PTX, so it "
          "cannot run on this "
          "sm_{} GPU: rebuild the engine on this GPU",
          step, k.name, k.arch, arch);
    cudaLibrary_t library = nullptr;
    QDP_CUDA_CHECK(cudaLibraryLoadData(&library, image, nullptr, nullptr, 0, nullptr, nullptr, 0));
    library_.reset(library);
    if (cudaLibraryGetKernel(&function_, library_.get(), k.name.c_str()) != cudaSuccess) {
      (void)cudaGetLastError();
      fail(ErrorCode::NotFound,
           "layer '{}': the AOT code has no kernel named '{}' (declare it extern \"C\" __global__)",
           step, k.name);
    }
    trailing_pointers_ = check_parameters(step);
  }

  void launch(std::span<const Tensor> in, std::span<const Tensor> out, ShapeEnv const& env,
              Stream stream) const override {
    std::vector<void const*> pointers;
    std::vector<int32_t> extra;
    std::vector<void*> args;
    pointers.reserve(in.size() + out.size());
    extra.reserve(kernel_.extra_args.size());
    for (auto const& t : in) pointers.push_back(t.data);
    for (size_t i = 0; i < kernel_.extra_args.size(); ++i) {
      int64_t v = kernel_.extra_args[i].eval(env);
      // Extra arguments are int32 parameters: a value that does not fit must not wrap.
      if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
        fail(ErrorCode::InvalidArgument,
             "AOT kernel '{}': extra argument {} ({}) is {}, outside the int32 range the kernel "
             "takes; use 64-bit indexing in the kernel or smaller shapes",
             kernel_.name, i, kernel_.extra_args[i].to_string(), v);
      extra.push_back(static_cast<int32_t>(v));
    }
    for (auto const& t : out) pointers.push_back(t.data);
    for (size_t i = 0; i < in.size(); ++i) args.push_back(&pointers[i]);
    for (auto& e : extra) args.push_back(&e);
    for (size_t i = in.size(); i < pointers.size(); ++i) args.push_back(&pointers[i]);
    // Triton's trailing scratch pointers (global, profile): null, for kernels that use none.
    void* no_scratch = nullptr;
    for (size_t i = 0; i < trailing_pointers_; ++i) args.push_back(&no_scratch);
    auto dim = [&](std::array<ShapeExpr, 3> const& d) {
      return dim3(static_cast<unsigned>(d[0].eval(env)), static_cast<unsigned>(d[1].eval(env)),
                  static_cast<unsigned>(d[2].eval(env)));
    };
    dim3 grid = dim(kernel_.grid), block = dim(kernel_.block);
    if (grid.x * grid.y * grid.z == 0) return;  // nothing to do (an empty tensor)
    QDP_CUDA_CHECK(
        cudaLaunchKernel(reinterpret_cast<void const*>(function_), grid, block, args.data(),
                         static_cast<size_t>(kernel_.shared_memory.eval(env)), native(stream)));
  }

 private:
  // The kernel must take the pointers and int32 arguments qdp passes, in qdp's order. Returns
  // how many trailing scratch pointers it declares beyond them.
  size_t check_parameters(std::string_view step) const {
    size_t expected = inputs_ + kernel_.extra_args.size() + outputs_;
    std::vector<size_t> sizes;
    size_t offset = 0, size = 0;
    while (cudaFuncGetParamInfo(reinterpret_cast<void const*>(function_), sizes.size(), &offset,
                                &size) == cudaSuccess)
      sizes.push_back(size);
    (void)cudaGetLastError();  // the probe past the last parameter
    // PTX from Triton declares up to two pointers after the outputs (its global and profile
    // scratch); they are accepted and passed null.
    size_t beyond = sizes.size() > expected ? sizes.size() - expected : 0;
    bool scratch_tail = beyond <= kMaxTrailingPointers &&
                        std::all_of(sizes.begin() + static_cast<std::ptrdiff_t>(expected),
                                    sizes.end(), [](size_t n) { return n == sizeof(void*); });
    size_t trailing = scratch_tail ? beyond : 0;
    if (sizes.size() != expected + trailing)
      fail(
          "layer '{}': AOT kernel '{}' takes {} parameters, but qdp passes {}: {} input "
          "pointer(s), {} extra "
          "argument(s), {} output pointer(s) (and up to {} trailing scratch pointers, as Triton "
          "declares)",
          step, kernel_.name, sizes.size(), expected, inputs_, kernel_.extra_args.size(), outputs_,
          kMaxTrailingPointers);
    for (size_t i = 0; i < expected; ++i) {
      bool pointer = i < inputs_ || i >= inputs_ + kernel_.extra_args.size();
      size_t want = pointer ? sizeof(void*) : sizeof(int32_t);
      if (sizes[i] != want)
        fail("layer '{}': parameter {} of AOT kernel '{}' has {} bytes; qdp passes {} there ({})",
             step, i, kernel_.name, sizes[i], want,
             pointer ? "a tensor pointer" : "an int32 extra argument");
    }
    return trailing;
  }

  static constexpr size_t kMaxTrailingPointers = 2;
  PlanKernel kernel_;
  size_t inputs_, outputs_;
  size_t trailing_pointers_ = 0;  // Triton's scratch parameters after the outputs
  UniqueLibrary library_;
  cudaKernel_t function_ = nullptr;
};

}  // namespace

PlanKernel compile_aot_kernel(std::string_view plugin_id, AotKernel const& k, int arch) {
  if (k.name.empty()) fail("plugin {}: aot_impl returned a kernel without a name", plugin_id);
  PlanKernel out;
  out.name = k.name;
  out.grid = k.grid;
  out.block = k.block;
  out.shared_memory = k.shared_memory;
  out.extra_args = k.extra_args;
  switch (k.kind) {
    case AotKernel::CodeKind::CUDA_SOURCE: {
      out.arch = arch;
      out.cubin = nvrtc_compile(plugin_id, k, fmt::format("--gpu-architecture=sm_{}", arch), false);
      out.ptx =
          nvrtc_compile(plugin_id, k, fmt::format("--gpu-architecture=compute_{}", arch), true);
      break;
    }
    case AotKernel::CodeKind::PTX:
      out.ptx = k.code;
      break;
    case AotKernel::CodeKind::CUBIN:
      out.arch = arch;  // a cubin is taken as built for this GPU; loading checks it
      out.cubin = k.code;
      break;
  }
  return out;
}

std::shared_ptr<const LoadedKernel> load_aot_kernel(PlanKernel const& kernel, std::string_view step,
                                                    size_t inputs, size_t outputs, int arch) {
  return std::make_shared<CudaKernel>(kernel, step, inputs, outputs, arch);
}

}  // namespace qdp::detail
