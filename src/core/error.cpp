#include <new>
#include <qdp/error.hpp>

namespace qdp {
namespace {

// "layer 'x' (plugin a::b): impl: " -- each part only when known.
std::string prefix(ErrorContext const& c) {
  std::string p;
  if (!c.layer.empty()) p = fmt::format("layer '{}'", c.layer);
  if (!c.plugin.empty())
    p += p.empty() ? fmt::format("plugin {}", c.plugin) : fmt::format(" (plugin {})", c.plugin);
  if (!c.phase.empty()) p += (p.empty() ? "" : ": ") + c.phase;
  return p.empty() ? p : p + ": ";
}

}  // namespace

std::string_view name(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArgument:
      return "invalid argument";
    case ErrorCode::NotFound:
      return "not found";
    case ErrorCode::CorruptFile:
      return "corrupt file";
    case ErrorCode::VersionMismatch:
      return "version mismatch";
    case ErrorCode::Unsupported:
      return "unsupported";
    case ErrorCode::OutOfMemory:
      return "out of memory";
    case ErrorCode::RuntimeFailure:
      return "runtime failure";
  }
  return "unknown";
}

Error::Error(std::string message, ErrorCode code, ErrorContext context)
    : std::runtime_error(prefix(context) + message),
      code_(code),
      message_(std::move(message)),
      context_(std::move(context)) {}

Error::~Error() = default;

void rethrow_with_context(ErrorContext const& context) {
  try {
    throw;
  } catch (Error const& e) {
    throw e.with_context(context);
  } catch (std::bad_alloc const&) {
    throw Error("out of memory", ErrorCode::OutOfMemory, context);
  } catch (std::exception const& e) {
    throw Error(e.what(), ErrorCode::RuntimeFailure, context);
  }
}

Error Error::with_context(ErrorContext const& outer) const {
  ErrorContext merged = context_;
  if (merged.plugin.empty()) merged.plugin = outer.plugin;
  if (merged.layer.empty()) merged.layer = outer.layer;
  if (merged.phase.empty()) merged.phase = outer.phase;
  return Error(message_, code_, std::move(merged));
}

}  // namespace qdp
