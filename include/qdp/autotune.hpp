#pragma once
// AutoTuneCombination: the type/format combinations and tactics a plugin offers the
// autotuner, in the grammar of SPEC §1. Positions are the plugin's inputs, then its outputs.
//   "FP32|FP16, FP32|FP16"   dependent: k combinations, the i-th takes option i everywhere
//   "FP32*FP16, FP32"        independent: each existing combination once per option
//   "FP32"                   a single entry applies to every position
// Types and layouts are crossed; tactics (positive integers) multiply the result.
#include <cstdint>
#include <qdp/api.hpp>
#include <qdp/data_type.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace qdp {

class QDP_API AutoTuneCombination {
 public:
  AutoTuneCombination() = default;
  // io_types: comma-separated, one entry per position or one for all; layouts likewise.
  explicit AutoTuneCombination(std::string_view io_types, std::string_view layouts = "LINEAR",
                               std::vector<int32_t> tactics = {});

  // Types (and layouts) of the positions `indices`; one entry applies to all of them.
  AutoTuneCombination& pos(std::vector<int> indices, std::string_view types,
                           std::string_view layouts = "LINEAR");
  AutoTuneCombination& pos(int index, std::string_view types, std::string_view layouts = "LINEAR");
  AutoTuneCombination& tactics(std::vector<int32_t> tactics);

  // One concrete choice for every position.
  struct Candidate {
    std::vector<DataType> types;
    std::vector<TensorFormat> formats;
    int32_t tactic = 0;
    friend bool operator==(Candidate const&, Candidate const&) = default;
  };
  // Every candidate this combination describes for a plugin with `num_positions` I/O
  // tensors. Grammar errors and position counts that don't match throw qdp::Error.
  std::vector<Candidate> expand(int num_positions) const;

  std::string to_string() const;

 private:
  struct Group {                 // one string (or one pos() call): entries by position
    std::vector<int> positions;  // empty: every position, in order
    std::string types, layouts;
  };
  std::vector<Group> groups_;
  std::vector<int32_t> tactics_;
};

}  // namespace qdp
