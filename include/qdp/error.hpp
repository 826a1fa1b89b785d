#pragma once
// qdp::Error: the one exception type qdp throws for user mistakes and bad input.
// Messages say what went wrong, where (plugin, node, attribute, file offset) and what to do.
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace qdp {

class Error : public std::runtime_error {
 public:
  explicit Error(std::string const& message) : std::runtime_error(message) {}
};

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace qdp
