#pragma once
// Reading and writing NumPy .npy files (format versions 1.0-3.0, C order, little-endian), the
// input and output format of qdpexec.
//
// BF16: NumPy has no bfloat16. qdpexec writes BF16 the way NumPy writes an ml_dtypes.bfloat16
// array, descr '<V2' (np.load gives 2-byte voids: `np.load(f).view(ml_dtypes.bfloat16)`), and
// reads '<V2', '|V2' and '<u2' (the bit patterns as uint16, for those without ml_dtypes) as BF16.
// qdp has no other 2-byte void or unsigned type, so within qdpexec these are not ambiguous.
#include <qdp/array.hpp>
#include <string>
#include <vector>

namespace qdp::tools {

// Throws qdp::Error naming the file, the offset and what is wrong for anything it cannot read;
// the header is checked (shape, size against the file's) before anything is allocated.
Array read_npy(std::string const& path);

// A reference for --loadOutputs: any of read_npy's types and also float64 (NumPy's default),
// as doubles.
struct NpyValues {
  std::string descr;
  Dims shape;
  std::vector<double> values;
};
NpyValues read_npy_values(std::string const& path);
// Every element of `array` as a double (exact for all of qdp's types but large INT64 values).
std::vector<double> to_doubles(Array const& array);

// Written to a temporary file beside `path`, then renamed: a failure leaves no partial file.
void write_npy(std::string const& path, Array const& array);

}  // namespace qdp::tools
