# Compile-failure tests of the C++ front end (SPEC §7.6: "a bad signature is a compile error
# with a message that says what to do"). Each .cpp file here is one mistake; its test runs the
# C++ compiler on it (-fsyntax-only) and passes when the compiler prints qdp's static_assert
# message for that mistake. compiles_ok.cpp is the positive control: a correct definition that
# must compile, warning-free.
#
# Include this file from tests/CMakeLists.txt:   include(frontend/compile_fail/tests.cmake)
# Run only these tests:                         ctest -L compile_fail

if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  message(STATUS "qdp: compile-failure tests need GCC or Clang; skipped for ${CMAKE_CXX_COMPILER_ID}")
  return()
endif()

set(_qdp_cf_dir ${CMAKE_CURRENT_LIST_DIR})

# The flags a user of qdp's headers compiles with: C++20, qdp's include directory and fmt's
# (qdp/error.hpp includes <fmt/format.h>). fmt's directory is left out when it is one the
# compiler searches anyway: "-isystem /usr/include" would reorder the system directories and
# break libstdc++'s #include_next.
set(_qdp_cf_flags -std=c++20 -fsyntax-only -I${PROJECT_SOURCE_DIR}/include)
foreach(_qdp_cf_fmt_target fmt::fmt fmt::fmt-header-only)
  if(TARGET ${_qdp_cf_fmt_target})
    get_target_property(_qdp_cf_fmt_dirs ${_qdp_cf_fmt_target} INTERFACE_INCLUDE_DIRECTORIES)
    if(_qdp_cf_fmt_dirs)
      foreach(_qdp_cf_dir_entry IN LISTS _qdp_cf_fmt_dirs)
        if(NOT _qdp_cf_dir_entry IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
          list(APPEND _qdp_cf_flags -isystem ${_qdp_cf_dir_entry})
        endif()
      endforeach()
    endif()
    break()
  endif()
endforeach()

# qdp_compile_fail_test(NAME EXPECTED): frontend.compile_fail.NAME compiles NAME.cpp and passes
# when the output matches EXPECTED (a regular expression: the distinctive part of the message,
# without ';', which CMake would split on).
function(qdp_compile_fail_test name expected)
  add_test(NAME frontend.compile_fail.${name}
           COMMAND ${CMAKE_CXX_COMPILER} ${_qdp_cf_flags} ${_qdp_cf_dir}/${name}.cpp)
  set_tests_properties(frontend.compile_fail.${name} PROPERTIES
                       PASS_REGULAR_EXPRESSION "${expected}"
                       LABELS "compile_fail"
                       TIMEOUT 120)
endfunction()

# qdp_compile_ok_test(NAME): frontend.compile_fail.NAME compiles NAME.cpp and passes when the
# compiler succeeds with no warning at -Wall -Wextra.
function(qdp_compile_ok_test name)
  add_test(NAME frontend.compile_fail.${name}
           COMMAND ${CMAKE_CXX_COMPILER} ${_qdp_cf_flags} -Wall -Wextra -Werror ${_qdp_cf_dir}/${name}.cpp)
  set_tests_properties(frontend.compile_fail.${name} PROPERTIES LABELS "compile_fail" TIMEOUT 120)
endfunction()

# The six mistakes of the front end's contract ...
qdp_compile_fail_test(impl_wrong_input_count
  "qdp: the impl takes a different number of qdp::In inputs than desc takes qdp::TensorDesc inputs")
qdp_compile_fail_test(impl_wrong_output_count
  "qdp: the impl takes a different number of qdp::Out outputs than desc returns")
qdp_compile_fail_test(bad_attr_type "qdp: this attribute type is not supported")
qdp_compile_fail_test(bad_attr_type_map "qdp: this attribute type is not supported")
qdp_compile_fail_test(impl_unknown_param "qdp: an impl parameter has a type qdp does not know")
qdp_compile_fail_test(impl_before_desc "qdp: define desc before impl")
qdp_compile_fail_test(generic_impl_without_types "qdp: this impl is generic")
# ... and the other static_asserts of qdp/plugin.hpp.
qdp_compile_fail_test(desc_bad_return "qdp: desc returns a qdp::TensorDesc or a std::tuple of them")
qdp_compile_fail_test(desc_twice "qdp: desc is defined twice")
qdp_compile_fail_test(impl_two_attr_structs "qdp: take the attributes as one struct")
qdp_compile_fail_test(autotune_wrong_input_count
  "qdp: this callable takes a different number of qdp::TensorDesc inputs than desc")
qdp_compile_fail_test(aot_impl_bad_return "qdp: aot_impl returns a qdp::AotKernel")

# Our message must be the only error: no hard error from inside plugin.hpp before it.
qdp_compile_fail_test(autotune_other_attrs "qdp: autotune and aot_impl take the same attribute struct as desc")
set_tests_properties(frontend.compile_fail.autotune_other_attrs PROPERTIES
                     FAIL_REGULAR_EXPRESSION "invalid [^ ]*static_cast")

# The positive control.
qdp_compile_ok_test(compiles_ok)

# Code that must compile cleanly: qualified shape operators, a desc without parameters.
qdp_compile_ok_test(qualified_shape_ops_compile)
qdp_compile_ok_test(zero_parameter_desc_is_warning_free)

# What a new user trips on: one actionable message each, and nothing behind it.
function(qdp_single_error_test name expected)
  add_test(NAME frontend.compile_fail.${name}.single_error
           COMMAND bash ${_qdp_cf_dir}/single_error.sh "${expected}"
                   ${CMAKE_CXX_COMPILER} ${_qdp_cf_flags} ${ARGN} ${_qdp_cf_dir}/${name}.cpp)
  set_tests_properties(frontend.compile_fail.${name}.single_error PROPERTIES
                       LABELS "compile_fail" TIMEOUT 120)
endfunction()
qdp_single_error_test(bad_attr_type "qdp: this attribute type is not supported")
qdp_single_error_test(desc_bad_return "qdp: desc returns a qdp::TensorDesc or a std::tuple of them")
qdp_single_error_test(attrs_without_fields "QDP_ATTRS\\(Empty, \\.\\.\\.\\) lists the struct's fields")
qdp_single_error_test(not_cxx20 "qdp needs C.+20 - compile with -std=c.+20" -std=c++17)
qdp_compile_fail_test(discarded_definition
  "a plugin definition does nothing until it is committed: declare it with QDP_PLUGIN")
qdp_compile_ok_test(many_attrs_compile)
