#pragma once
// Logger: where the builder and runtime report progress. Passed in, never global.
#include <qdp/api.hpp>
#include <string_view>

namespace qdp {

enum class Severity { Error, Warning, Info, Verbose };

class QDP_API Logger {
 public:
  virtual ~Logger() = default;
  virtual void log(Severity severity, std::string_view message) = 0;
  // Whether messages of `severity` are kept: qdp formats a message only when they are.
  virtual bool enabled(Severity severity) const {
    (void)severity;
    return true;
  }
};

// Prints "[E] ...", "[W] ...", "[I] ...", "[V] ..." lines at or above `min_severity`: errors and
// warnings to stderr, the rest to stdout, each line flushed so that the two keep their order
// when both go to one pipe or file.
class QDP_API ConsoleLogger : public Logger {
 public:
  explicit ConsoleLogger(Severity min_severity = Severity::Info) : min_(min_severity) {}
  void log(Severity severity, std::string_view message) override;
  bool enabled(Severity severity) const override { return severity <= min_; }

 private:
  Severity min_;
};

// Discards everything.
class QDP_API NullLogger : public Logger {
 public:
  void log(Severity, std::string_view) override {}
  bool enabled(Severity) const override { return false; }
};

}  // namespace qdp
