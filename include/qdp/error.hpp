#pragma once
// qdp::Error: the one exception type qdp throws for user mistakes, bad input and failures.
// It carries a code (what kind of failure, for callers and the Python front end to branch on),
// the message (what went wrong and what to do) and its context (plugin, layer, phase), each
// set once: wrapping an error adds context it lacks and never repeats a prefix.
#include <fmt/format.h>

#include <qdp/api.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace qdp {

enum class ErrorCode : uint8_t {
  InvalidArgument,  // a user mistake: bad shapes, attributes, options, definitions
  NotFound,         // something named is absent: a plugin, a tensor, a file, a symbol
  CorruptFile,      // an engine or model file that is truncated, damaged or not ours
  VersionMismatch,  // a file or library made for another version of qdp
  Unsupported,      // valid, but not available here (no GPU, no AOT path on this backend)
  OutOfMemory,      // an allocation failed
  RuntimeFailure,   // an impl, a kernel or a device call failed while running
};

// "invalid argument", "not found", ...
QDP_API std::string_view name(ErrorCode code);

// Where an error happened; empty fields are unknown.
struct ErrorContext {
  std::string plugin;  // plugin ID
  std::string layer;   // layer (node) name
  std::string phase;   // "desc", "autotune", "aot_impl", "impl", "load", ...
};

class QDP_API Error : public std::runtime_error {
 public:
  explicit Error(std::string message, ErrorCode code = ErrorCode::InvalidArgument,
                 ErrorContext context = {});
  ~Error() override;
  Error(Error const&) = default;
  Error& operator=(Error const&) = default;

  ErrorCode code() const noexcept { return code_; }
  // The message without the context prefix.
  std::string const& message() const noexcept { return message_; }
  ErrorContext const& context() const noexcept { return context_; }

  // This error with the fields of `outer` it does not have yet: how a layer wraps an error
  // from below without repeating what it already says.
  Error with_context(ErrorContext const& outer) const;

 private:
  ErrorCode code_;
  std::string message_;
  ErrorContext context_;
};

// Called inside a catch block: rethrows the exception being handled as with_error_context does.
// For hot paths, which then build `context` only when something was thrown.
[[noreturn]] QDP_API void rethrow_with_context(ErrorContext const& context);

// Runs `f`, turning any exception it throws into a qdp::Error with `context`: a qdp::Error
// keeps its code and gains the context it lacks; any other std::exception (a user impl's)
// becomes a RuntimeFailure with its what(). Returns what `f` returns.
template <class F>
decltype(auto) with_error_context(ErrorContext const& context, F&& f) {
  try {
    return std::forward<F>(f)();
  } catch (...) {
    rethrow_with_context(context);
  }
}

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}
template <class... Args>
[[noreturn]] void fail(ErrorCode code, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...), code);
}

}  // namespace qdp
