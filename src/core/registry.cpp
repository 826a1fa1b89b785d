#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <mutex>
#include <qdp/plugin_library.hpp>
#include <qdp/registry.hpp>
#include <utility>

namespace qdp {
namespace {

bool is_identifier(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// What QDP_PLUGIN definitions hand in while a library is being loaded on this thread: they are
// held here, not registered, until the library has proved to be a qdp plugin library of this
// ABI. Thread-local, so that loads on other threads and programs' own definitions are unaffected.
struct LibraryLoad {
  std::vector<PluginDefinition> definitions;
  std::vector<std::string> errors;
};
thread_local LibraryLoad* active_load = nullptr;

// Sets active_load for the life of a load, and clears what it held before the library's code
// (which the held definitions' callables point into) can be unloaded.
class LoadScope {
 public:
  explicit LoadScope(LibraryLoad& load) : previous_(std::exchange(active_load, &load)) {}
  ~LoadScope() { active_load = previous_; }
  LoadScope(LoadScope const&) = delete;
  LoadScope& operator=(LoadScope const&) = delete;

 private:
  LibraryLoad* previous_;
};

// dlclose on scope exit unless released.
struct LibraryHandle {
  void* handle = nullptr;
  ~LibraryHandle() {
    if (handle) dlclose(handle);
  }
};

std::string describe_current_exception() {
  try {
    throw;
  } catch (std::exception const& e) {
    return e.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

}  // namespace

void validate_plugin_id(std::string_view id) {
  auto sep = id.find("::");
  if (sep == std::string_view::npos || !is_identifier(id.substr(0, sep)) ||
      !is_identifier(id.substr(sep + 2)))
    fail(
        "plugin ID '{}' is malformed: write it as namespace::name, both parts identifiers "
        "(letters, digits, '_'), e.g. sample::circ_pad_plugin",
        id);
}

Registry& Registry::global() {
  static Registry registry;
  return registry;
}

void Registry::check(PluginDefinition const& definition) {
  validate_plugin_id(definition.id);
  if (!definition.desc)
    fail("plugin {}: a definition needs desc (what its outputs look like)", definition.id);
  if (definition.impls.empty() && !definition.aot_impl)
    fail("plugin {}: a definition needs an impl or an aot_impl (how to compute it)", definition.id);
}

void Registry::add(PluginDefinition definition) {
  std::vector<PluginDefinition> one;
  one.push_back(std::move(definition));
  add_all(std::move(one));
}

void Registry::add_all(std::vector<PluginDefinition> definitions) {
  for (auto const& d : definitions) check(d);
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < definitions.size(); ++i) {
    auto const& id = definitions[i].id;
    bool twice = std::any_of(definitions.begin(), definitions.begin() + static_cast<long>(i),
                             [&](auto const& d) { return d.id == id; });
    if (twice ||
        std::any_of(plugins_.begin(), plugins_.end(), [&](auto const& p) { return p->id == id; }))
      fail("plugin {} is already registered: a plugin ID is registered once", id);
  }
  for (auto& d : definitions)
    plugins_.push_back(std::make_shared<const PluginDefinition>(std::move(d)));
}

std::shared_ptr<const PluginDefinition> Registry::find(std::string_view id) const {
  std::lock_guard lock(mutex_);
  for (auto const& p : plugins_)
    if (p->id == id) return p;
  return nullptr;
}

std::shared_ptr<const PluginDefinition> Registry::get(std::string_view id) const {
  if (auto p = find(id)) return p;
  if (is_standard_operator(id)) {
    ensure_standard_operators();
    if (auto p = find(id)) return p;
    fail(ErrorCode::NotFound, "{} is not one of qdp's standard operators", id);
  }
  fail(ErrorCode::NotFound,
       "plugin {} is not defined in this process: link its definition into the program, or load "
       "the shared library that defines it (qdpexec --plugins LIB.so, qdp::load_plugin_library)",
       id);
}

std::vector<std::string> Registry::ids() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (auto const& p : plugins_) out.push_back(p->id);
  return out;
}

bool Registry::remove(std::string_view id) {
  std::lock_guard lock(mutex_);
  auto it =
      std::find_if(plugins_.begin(), plugins_.end(), [&](auto const& p) { return p->id == id; });
  if (it == plugins_.end()) return false;
  plugins_.erase(it);
  return true;
}

namespace detail {

void commit_definition(PluginDefinition definition, std::exception_ptr error) {
  if (active_load) {  // inside load_plugin_library: held until the library is accepted
    if (error) {
      try {
        std::rethrow_exception(error);
      } catch (...) {
        active_load->errors.push_back(describe_current_exception());
      }
    } else {
      active_load->definitions.push_back(std::move(definition));
    }
    return;
  }
  if (error) std::rethrow_exception(error);
  Registry::global().add(std::move(definition));
}

}  // namespace detail

void ensure_standard_operators() {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  auto ids = Registry::global().ids();
  if (std::any_of(ids.begin(), ids.end(), [](auto const& id) { return id.starts_with("onnx::"); }))
    return;
  Dl_info info{};
  std::string dir = ".";
  if (dladdr(reinterpret_cast<void const*>(&ensure_standard_operators), &info) && info.dli_fname) {
    std::string self = info.dli_fname;
    dir = self.substr(0, self.find_last_of('/'));
  }
  std::string path =
      fmt::format("{}/libqdp_ops.so.{}.{}", dir, QDP_VERSION_MAJOR, QDP_VERSION_MINOR);
  try {
    load_plugin_library(path);
  } catch (Error const& e) {
    fail(ErrorCode::NotFound,
         "the standard operators (onnx::*) are not available: loading libqdp_ops failed: {}; "
         "link qdp::ops into the program, or install libqdp_ops beside libqdp_runtime",
         e.what());
  }
}

std::vector<std::string> load_plugin_library(std::string const& path) {
  auto bad = [&](ErrorCode code, std::string const& why) -> Error {
    return Error(fmt::format("cannot load plugin library '{}': {}", path, why), code);
  };
  LibraryHandle library;  // declared first, so that `load` (its code's callables) goes first
  LibraryLoad load;
  {
    LoadScope scope(load);
    library.handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  }
  if (!library.handle) {
    char const* err = dlerror();
    throw bad(ErrorCode::NotFound, err ? err : "unknown error");
  }
  using EntryPoint = qdp_plugin_library_info const* (*)();
  auto entry = reinterpret_cast<EntryPoint>(dlsym(library.handle, "qdp_plugin_library"));
  if (!entry)
    throw bad(ErrorCode::InvalidArgument,
              "it is not a qdp plugin library: it exports no qdp_plugin_library entry point (add "
              "QDP_PLUGIN_LIBRARY(); to one of its sources, see qdp/plugin_library.hpp)");
  qdp_plugin_library_info const* info = entry();
  if (!info)
    throw bad(ErrorCode::InvalidArgument, "its qdp_plugin_library entry point returned null");
  if (info->abi_version != QDP_ABI_VERSION)
    throw bad(ErrorCode::VersionMismatch,
              fmt::format("it was built for qdp ABI {} (qdp {}), this is qdp {} with ABI {}: "
                          "rebuild the library against this qdp",
                          info->abi_version, info->qdp_version ? info->qdp_version : "?",
                          QDP_VERSION_STRING, QDP_ABI_VERSION));
  if (info->define) {
    LoadScope scope(load);
    try {
      info->define();
    } catch (...) {
      load.errors.push_back(describe_current_exception());
    }
  }
  std::vector<std::string> added;
  try {
    if (!load.errors.empty()) fail("{}", load.errors.front());
    for (auto const& d : load.definitions) added.push_back(d.id);
    Registry::global().add_all(std::move(load.definitions));
  } catch (Error const& e) {
    load.definitions.clear();  // before the library goes: their callables live in it
    std::string more = load.errors.size() > 1
                           ? fmt::format(" (and {} more definition errors)", load.errors.size() - 1)
                           : "";
    throw bad(e.code(),
              fmt::format("a definition failed: {}{}; nothing was registered", e.what(), more));
  }
  library.handle = nullptr;  // its definitions live in the registry now: keep it loaded
  return added;
}

}  // namespace qdp
