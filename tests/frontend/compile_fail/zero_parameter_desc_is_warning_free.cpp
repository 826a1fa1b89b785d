// Must compile without warnings under -Wall -Wextra -Werror: a plugin with no inputs whose desc
// takes no parameters (qdp's header must not warn about an unused argument builder).
#include <qdp/plugin.hpp>

QDP_PLUGIN(constant, "compile_ok::zero_parameter_desc")
    .desc([] { return qdp::from_shape_expr({4}, qdp::DataType::FP32); })
    .impl<qdp::cpu>([](qdp::Out<float> y) {
      for (int64_t i = 0; i < y.numel(); ++i) y.data()[i] = 1.0f;
    });

int main() {
  return constant.id.empty();
}
