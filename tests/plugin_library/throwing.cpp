// A plugin library whose own definition code throws something that is not a qdp::Error.
#include <qdp/plugin.hpp>
#include <qdp/plugin_library.hpp>
#include <stdexcept>

QDP_PLUGIN(fine, "test_lib::before_the_throw")
    .desc([](qdp::TensorDesc const& x) { return x.like(); })
    .impl<qdp::cpu>([](qdp::In<float>, qdp::Out<float>) {});

QDP_PLUGIN_LIBRARY([] { throw std::runtime_error("the library's own setup failed"); });
