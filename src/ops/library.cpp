// libqdp_ops.so: the standard ONNX operators as a plugin library. Linked into a program, its
// QDP_PLUGIN definitions register at start-up; loaded with load_plugin_library (what the runtime
// does for an engine that uses `onnx::` plugins), through this entry point.
#include <qdp/plugin_library.hpp>

QDP_PLUGIN_LIBRARY();
