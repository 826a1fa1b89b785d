#pragma once
// Logger: where the builder and runtime report progress. Passed in, never global.
#include <string_view>

namespace qdp {

enum class Severity { Error, Warning, Info, Verbose };

class Logger {
 public:
  virtual ~Logger() = default;
  virtual void log(Severity severity, std::string_view message) = 0;
};

// Prints "[E] ...", "[W] ...", "[I] ...", "[V] ..." lines at or above `min_severity` to stdout.
class ConsoleLogger : public Logger {
 public:
  explicit ConsoleLogger(Severity min_severity = Severity::Info) : min_(min_severity) {}
  void log(Severity severity, std::string_view message) override;

 private:
  Severity min_;
};

// Discards everything.
class NullLogger : public Logger {
 public:
  void log(Severity, std::string_view) override {}
};

}  // namespace qdp
