#include <algorithm>
#include <qdp/dims.hpp>
#include <qdp/error.hpp>

namespace qdp {

Dims::Dims(std::initializer_list<int64_t> dims)
    : Dims(std::span<const int64_t>(dims.begin(), dims.size())) {}

Dims::Dims(std::span<const int64_t> dims) {
  for (int64_t d : dims) push_back(d);
}

void Dims::push_back(int64_t v) {
  if (rank_ == kMaxRank)
    fail("a tensor has more than {} dimensions, the most qdp supports", kMaxRank);
  d_[static_cast<size_t>(rank_++)] = v;
}

std::optional<int64_t> element_count(std::span<const int64_t> extents) {
  if (std::find(extents.begin(), extents.end(), int64_t{0}) != extents.end()) return 0;
  int64_t n = 1;
  for (int64_t d : extents)
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return std::nullopt;
  return n;
}

int64_t Dims::numel() const {
  if (auto n = element_count(span())) return *n;
  if (std::any_of(begin(), end(), [](int64_t d) { return d < 0; }))
    fail("shape {} has a negative extent", to_string(*this));
  fail("shape {} has more elements than a 64-bit count holds", to_string(*this));
}

std::string to_string(Dims const& d) {
  if (d.rank() == 0) return "scalar";
  std::string s;
  for (int i = 0; i < d.rank(); ++i) {
    if (i) s += 'x';
    s += std::to_string(d[i]);
  }
  return s;
}

}  // namespace qdp
