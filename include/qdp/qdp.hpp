#pragma once
// Everything a qdp user needs: define plugins, build networks and engines, run them.
#include <qdp/array.hpp>
#include <qdp/builder.hpp>
#include <qdp/device_buffer.hpp>
#include <qdp/engine.hpp>
#include <qdp/execution_context.hpp>
#include <qdp/network.hpp>
#include <qdp/parallel.hpp>
#include <qdp/plugin.hpp>
#include <qdp/runner.hpp>
