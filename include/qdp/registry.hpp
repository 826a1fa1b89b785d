#pragma once
// The plugin registry: the one piece of global state. Definitions register themselves when
// their translation unit is loaded (in a program) or through their library's entry point (in a
// plugin library, see qdp/plugin_library.hpp); users never touch this directly.
#include <exception>
#include <memory>
#include <mutex>
#include <qdp/api.hpp>
#include <qdp/plugin_definition.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace qdp {

// Throws unless `id` is "namespace::name" with two non-empty identifiers.
QDP_API void validate_plugin_id(std::string_view id);

// Whether `id` is one of qdp's standard operators, which its operator library defines (loaded
// on first use): ONNX's operators (onnx::) and the fused ones the builder makes of them (qdp::,
// such as qdp::MatMulBias). The builder treats them alike: folded when constant, FP16 only
// under BuildConfig::fp16.
inline bool is_standard_operator(std::string_view id) {
  return id.starts_with("onnx::") || id.starts_with("qdp::");
}

class QDP_API Registry {
 public:
  static Registry& global();

  // Throws on a malformed ID, a duplicate, or a definition missing desc or any impl.
  void add(PluginDefinition definition);
  // Definitions are shared: one in use by a build or an engine stays valid after remove().
  std::shared_ptr<const PluginDefinition> find(std::string_view id) const;
  // find(), or a qdp::Error (NotFound) that names the plugin and how to provide it.
  std::shared_ptr<const PluginDefinition> get(std::string_view id) const;
  std::vector<std::string> ids() const;
  bool remove(std::string_view id);  // for tests and library unloading

  // Adds all of `definitions` or, on the first that cannot be added, none of them.
  void add_all(std::vector<PluginDefinition> definitions);

 private:
  static void check(PluginDefinition const& definition);
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<const PluginDefinition>> plugins_;
};

// Loads a shared library of plugin definitions: checks that it is a qdp plugin library made for
// this qdp (its entry point's ABI version), then registers its definitions, all or none. Returns
// the IDs it added. Every failure is a qdp::Error naming the library: it cannot be opened
// (NotFound), it is not a qdp plugin library (InvalidArgument), it was built for another qdp ABI
// (VersionMismatch), a definition is malformed, throws or duplicates an ID (InvalidArgument).
// A library that loaded stays loaded for the life of the process.
QDP_API std::vector<std::string> load_plugin_library(std::string const& path);

// The standard ONNX operators (plugins `onnx::*`) live in libqdp_ops, beside libqdp_runtime.
// Loads it unless they are registered already (a program that links qdp::ops); a clear error
// when it cannot. Registry::get and engine loading call this for `onnx::` IDs themselves.
QDP_API void ensure_standard_operators();

namespace detail {
// What the front end's commit() calls: registers a finished definition (in a program) or hands it
// to the plugin-library loader (while load_plugin_library runs on this thread); `error` is what
// went wrong while defining it, if anything.
QDP_API void commit_definition(PluginDefinition definition, std::exception_ptr error);
}  // namespace detail

}  // namespace qdp
