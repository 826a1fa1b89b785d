# `cmake --install`: headers, the five libraries (versioned SONAMEs), qdpexec, a CMake package
# (find_package(qdp CONFIG) -> qdp::runtime, qdp::signing, qdp::qdp, qdp::ops, qdp::onnx) and a
# pkg-config file.
include(CMakePackageConfigHelpers)

set(QDP_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/qdp)

install(TARGETS qdp_runtime qdp_signing qdp qdp_ops qdp_onnx qdp_headers qdp_frontend
        EXPORT qdpTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/qdp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${QDP_GENERATED_INCLUDE_DIR}/qdp/version.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/qdp)
install(EXPORT qdpTargets NAMESPACE qdp:: DESTINATION ${QDP_CMAKE_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/qdpConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/qdpConfig.cmake
                              INSTALL_DESTINATION ${QDP_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/qdpConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/qdpConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/qdpConfigVersion.cmake
        DESTINATION ${QDP_CMAKE_DIR})

if(QDP_WITH_CUDA)
  set(QDP_PC_CFLAGS "-DQDP_WITH_CUDA=1")
endif()
# The .pc file finds the prefix from its own folder, so that an install with --prefix elsewhere
# still points at its own headers and libraries.
file(RELATIVE_PATH QDP_PC_TO_PREFIX /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
configure_file(${PROJECT_SOURCE_DIR}/cmake/qdp.pc.in ${CMAKE_CURRENT_BINARY_DIR}/qdp.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/qdp.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
