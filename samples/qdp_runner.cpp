// qdp_runner: the samples of SPEC §3 behind one command, with the seed's options.
// Exit codes: 0 correct, 1 incorrect or failed, 2 usage.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include "sample_common.hpp"

namespace {
// One line on stderr, whatever the message holds.
int fail_with(std::string message, int code) {
  std::replace(message.begin(), message.end(), '\n', ' ');
  std::fflush(stdout);  // what the sample printed comes first
  std::fprintf(stderr, "qdp_runner: error: %s\n", message.c_str());
  return code;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace qdp::samples;
  CLI::App app{"qdp_runner: the quickly deployable plugin samples"};
  app.require_subcommand(1);

  auto add_common = [](CLI::App* sub, CommonOptions& o) {
    sub->add_flag("-v,--verbose", o.verbose, "Enable verbose log output");
    sub->add_option("--device", o.device,
                    "cpu or cuda (default: cuda when a GPU is present, else cpu)")
        ->check(CLI::IsMember({"cpu", "cuda"}));
  };

  AddOptions add;
  CLI::App* add_cmd = app.add_subcommand("add", "Elementwise add: y = x + 1");
  add_common(add_cmd, add);
  add_cmd->add_flag("--autotune", add.autotune, "Define an autotune function (FP32|FP16)");
  add_cmd->add_flag("--aot", add.aot, "Use the AOT implementation");

  CommonOptions inplace;
  CLI::App* inplace_cmd = app.add_subcommand(
      "inplace_add", "Two chained in-place adds (+2, +4) in the caller's buffer");
  add_common(inplace_cmd, inplace);

  CommonOptions nz;
  CLI::App* nz_cmd =
      app.add_subcommand("non_zero", "Coordinates of the non-zero entries: a data-dependent shape");
  add_common(nz_cmd, nz);

  CircPadOptions pad;
  CLI::App* pad_cmd =
      app.add_subcommand("circ_pad", "Circular padding, from the network API or ONNX");
  add_common(pad_cmd, pad);
  pad_cmd->add_option("--mode", pad.mode, "Build the network from ONNX or the network API")
      ->check(CLI::IsMember({"onnx", "inetdef"}));
  pad_cmd->add_option("--artifacts_dir", pad.artifacts_dir,
                      "Where to store (or retrieve) artifacts");
  pad_cmd->add_flag("--multi_tactic", pad.multi_tactic, "Enable multiple tactics");
  pad_cmd->add_flag("--aot", pad.aot, "Use the AOT implementation of the plugin");
  pad_cmd->add_flag("--save_engine", pad.save_engine, "Save the engine to the artifacts_dir");
  pad_cmd->add_flag("--load_engine", pad.load_engine,
                    "Load the engine from the artifacts_dir; ignores other options");

  try {
    app.parse(argc, argv);
  } catch (CLI::CallForHelp const& e) {
    return app.exit(e);
  } catch (CLI::ParseError const& e) {
    return fail_with(std::string(e.what()) + " (see --help)", 2);
  }
  // Every failure is a message and an exit code, never an abort.
  try {
    if (add_cmd->parsed()) return run_add(add);
    if (inplace_cmd->parsed()) return run_inplace_add(inplace);
    if (pad_cmd->parsed()) return run_circ_pad(pad);
    if (nz_cmd->parsed()) return run_non_zero(nz);
  } catch (qdp::Error const& e) {
    return fail_with(e.what(), 1);
  } catch (std::bad_alloc const&) {
    return fail_with("out of memory: an allocation failed", 1);
  } catch (std::exception const& e) {  // std::filesystem errors among them
    return fail_with(e.what(), 1);
  } catch (...) {
    return fail_with("an unknown exception", 1);
  }
  return 2;
}
