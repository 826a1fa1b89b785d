#pragma once
// The plugin registry: the one piece of global state. Definitions register themselves when
// their translation unit (or plugin library) is loaded; users never touch this directly.
#include <memory>
#include <mutex>
#include <qdp/plugin_definition.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace qdp {

// Throws unless `id` is "namespace::name" with two non-empty identifiers.
void validate_plugin_id(std::string_view id);

class Registry {
 public:
  static Registry& global();

  // Throws on a malformed ID, a duplicate, or a definition missing desc or any impl.
  void add(PluginDefinition definition);
  PluginDefinition const* find(std::string_view id) const;
  // find(), or a qdp::Error that names the plugin and how to provide it.
  PluginDefinition const& get(std::string_view id) const;
  std::vector<std::string> ids() const;
  bool remove(std::string_view id);  // for tests and library unloading

 private:
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<PluginDefinition>> plugins_;
};

// Loads a shared library of plugin definitions (they register on load). Returns the IDs it
// added. Throws with dlerror()'s text when the library cannot be opened.
std::vector<std::string> load_plugin_library(std::string const& path);

}  // namespace qdp
