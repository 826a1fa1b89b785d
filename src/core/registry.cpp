#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <qdp/registry.hpp>

namespace qdp {
namespace {

bool is_identifier(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
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

void Registry::add(PluginDefinition definition) {
  validate_plugin_id(definition.id);
  if (!definition.desc)
    fail("plugin {}: a definition needs desc (what its outputs look like)", definition.id);
  if (definition.impls.empty() && !definition.aot_impl)
    fail("plugin {}: a definition needs an impl or an aot_impl (how to compute it)", definition.id);
  std::lock_guard lock(mutex_);
  for (auto const& p : plugins_)
    if (p->id == definition.id)
      fail("plugin {} is already registered: a plugin ID is registered once", definition.id);
  plugins_.push_back(std::make_unique<PluginDefinition>(std::move(definition)));
}

PluginDefinition const* Registry::find(std::string_view id) const {
  std::lock_guard lock(mutex_);
  for (auto const& p : plugins_)
    if (p->id == id) return p.get();
  return nullptr;
}

PluginDefinition const& Registry::get(std::string_view id) const {
  if (auto const* p = find(id)) return *p;
  fail(
      "plugin {} is not defined in this process: link its definition into the program, or load the "
      "shared "
      "library that defines it (qdpexec --plugins LIB.so, qdp::load_plugin_library)",
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

std::vector<std::string> load_plugin_library(std::string const& path) {
  auto before = Registry::global().ids();
  // The library stays loaded for the life of the process: its definitions live in the registry.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    char const* err = dlerror();
    fail("cannot load plugin library '{}': {}", path, err ? err : "unknown error");
  }
  std::vector<std::string> added;
  for (auto const& id : Registry::global().ids())
    if (std::find(before.begin(), before.end(), id) == before.end()) added.push_back(id);
  return added;
}

}  // namespace qdp
