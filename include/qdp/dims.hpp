#pragma once
// Dims: a concrete shape of at most kMaxRank dimensions, stored inline so that the run-time
// hot path never allocates.
#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <ostream>
#include <qdp/api.hpp>
#include <span>
#include <string>

namespace qdp {

inline constexpr int kMaxRank = 8;

// The elements of a shape of these extents: 0 when any extent is 0, whatever the others (a
// 2^63-1 x 5 x 0 tensor is empty, not an overflow); nullopt when an extent is negative or the
// product does not fit an int64. The one count that Dims, the planner and the loader share.
QDP_API std::optional<int64_t> element_count(std::span<const int64_t> extents);

class QDP_API Dims {
 public:
  Dims() = default;
  Dims(std::initializer_list<int64_t> dims);
  explicit Dims(std::span<const int64_t> dims);

  int rank() const { return rank_; }
  int64_t operator[](int i) const { return d_[static_cast<size_t>(i)]; }
  int64_t& operator[](int i) { return d_[static_cast<size_t>(i)]; }
  int64_t const* begin() const { return d_.data(); }
  int64_t const* end() const { return d_.data() + rank_; }
  std::span<const int64_t> span() const { return {d_.data(), static_cast<size_t>(rank_)}; }
  void push_back(int64_t v);
  int64_t numel() const;  // 1 for rank 0; element_count(), throwing on overflow

  friend bool operator==(Dims const& a, Dims const& b) {
    return a.rank_ == b.rank_ && std::equal(a.begin(), a.end(), b.begin());
  }

 private:
  int rank_ = 0;
  std::array<int64_t, kMaxRank> d_{};
};

QDP_API std::string to_string(Dims const& d);  // "10x3x32x32"; "scalar" for rank 0
// For GoogleTest and logging: prints to_string(d).
inline std::ostream& operator<<(std::ostream& os, Dims const& d) {
  return os << to_string(d);
}

}  // namespace qdp
