#include <cstdio>
#include <qdp/logger.hpp>

namespace qdp {

void ConsoleLogger::log(Severity severity, std::string_view message) {
  if (severity > min_) return;
  static constexpr char kTags[] = {'E', 'W', 'I', 'V'};
  std::FILE* out = severity <= Severity::Warning ? stderr : stdout;
  std::FILE* other = out == stdout ? stderr : stdout;
  std::fflush(other);  // what went to the other stream first must come out first
  std::fprintf(out, "[%c] %.*s\n", kTags[static_cast<int>(severity)],
               static_cast<int>(message.size()), message.data());
  std::fflush(out);
}

}  // namespace qdp
