#pragma once
// Reading and writing NumPy .npy files (format versions 1.0-3.0, C order, little-endian), the
// input and output format of qdpexec.
#include <qdp/array.hpp>
#include <string>

namespace qdp::tools {

// Throws qdp::Error naming the file, the offset and what is wrong for anything it cannot read.
Array read_npy(std::string const& path);
void write_npy(std::string const& path, Array const& array);

}  // namespace qdp::tools
