#include "builder/memory_planner.hpp"

#include <algorithm>
#include <limits>
#include <numeric>

namespace qdp::detail {
namespace {

constexpr int64_t kAlignment = kArenaAlignment;

int64_t align_up(int64_t n) {
  return (n + kAlignment - 1) / kAlignment * kAlignment;
}

// Bytes of `count` elements of `element` bytes, refused when absurd: an engine must never plan
// more memory than its own loader accepts (or than an int64 holds).
int64_t checked_bytes(int64_t count, int64_t element, std::string_view what) {
  constexpr int64_t kMax = int64_t{1} << 56;  // 64 PiB: far beyond any device
  int64_t bytes = 0;
  if (count < 0 || __builtin_mul_overflow(count, element, &bytes) || bytes > kMax)
    fail(ErrorCode::InvalidArgument,
         "{} needs {} elements of {} bytes at the profile's max shapes: more memory than any "
         "device has; check the shapes (--maxShapes) and size-tensor upper bounds",
         what, count, element);
  return bytes;
}

struct Slot {  // one activation buffer: a tensor, or an in-place group without a caller's buffer
  std::vector<int> members;
  int first = 0, last = 0;  // steps that write first and read last
  int64_t bytes = 0;
  int64_t offset = 0;
  int workspace_of = -1;  // a step's scratch memory instead of tensors: that step
};

}  // namespace

void plan_memory(EnginePlan& plan, std::vector<Dims> const& max_input_shapes,
                 size_t max_tensor_bytes, Logger* logger) {
  auto& tensors = plan.tensors;
  size_t n = tensors.size();

  // Capacities at the profile's max shapes, each size value at its upper bound.
  std::vector<int64_t> sizes(plan.sizes.size(), -1);
  ShapeEnv env{max_input_shapes, sizes};
  for (auto const& step : plan.steps) {
    for (int t : step.outputs) {
      auto& pt = tensors[static_cast<size_t>(t)];
      if (pt.size_id >= 0)
        sizes[static_cast<size_t>(pt.size_id)] =
            plan.sizes[static_cast<size_t>(pt.size_id)].upper_bound.eval(env);
    }
  }
  for (auto& t : tensors) {
    std::vector<int64_t> extents;
    t.data_dependent = false;
    for (auto const& d : t.shape) {
      extents.push_back(d.eval(env));
      t.data_dependent |= uses_size_values(d);
    }
    t.capacity = checked_bytes(element_count(extents).value_or(-1),
                               static_cast<int64_t>(element_size(t.dtype)),
                               fmt::format("tensor '{}'", t.name));
    if (max_tensor_bytes > 0 && static_cast<uint64_t>(t.capacity) > max_tensor_bytes)
      fail(ErrorCode::OutOfMemory,
           "tensor '{}' needs {} bytes at the profile's max shapes, more than "
           "BuildConfig::max_tensor_bytes ({})",
           t.name, t.capacity, max_tensor_bytes);
  }
  for (size_t i = 0; i < plan.io.size(); ++i)
    plan.io[i].max_bytes =
        static_cast<size_t>(tensors[static_cast<size_t>(plan.io_tensor[i])].capacity);

  // Lifetimes: the step that writes a tensor and the last step that reads it.
  std::vector<int> first(n, -1), last(n, -1);
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    int si = static_cast<int>(s);
    for (int t : plan.steps[s].inputs)
      if (t >= 0) last[static_cast<size_t>(t)] = si;  // -1: a shape input, read from the host
    for (int t : plan.steps[s].outputs) {
      if (first[static_cast<size_t>(t)] < 0) first[static_cast<size_t>(t)] = si;
      last[static_cast<size_t>(t)] = std::max(last[static_cast<size_t>(t)], si);
    }
  }

  // In-place groups: an aliased output joins its input's group when nothing reads the input
  // afterwards and the input is not itself a network output; otherwise the runtime copies.
  std::vector<int> group(n);
  std::iota(group.begin(), group.end(), 0);
  auto root = [&](int t) {
    while (group[static_cast<size_t>(t)] != t) t = group[static_cast<size_t>(t)];
    return t;
  };
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    auto const& step = plan.steps[s];
    for (size_t o = 0; o < step.outputs.size(); ++o) {
      int a = step.aliases[o];
      if (a < 0) continue;
      int in = step.inputs[static_cast<size_t>(a)];
      int out = step.outputs[o];
      bool read_later = last[static_cast<size_t>(in)] > static_cast<int>(s);
      auto in_storage = tensors[static_cast<size_t>(in)].storage;
      bool in_is_output = in_storage == PlanTensor::Storage::Output;
      bool in_is_constant = in_storage == PlanTensor::Storage::Constant;  // shared by contexts
      // A view smaller than its input at the max shapes (a Reshape to a static shape of a
      // dynamic tensor) cannot hold the input: in the caller's output buffer it would overflow.
      bool in_is_larger =
          tensors[static_cast<size_t>(in)].capacity > tensors[static_cast<size_t>(out)].capacity;
      if (read_later || in_is_output || in_is_constant || in_is_larger) {
        if (logger)
          logger->log(
              Severity::Verbose,
              fmt::format("Step '{}': output {} cannot share the memory of '{}' ({}); the runtime "
                          "copies it first",
                          step.name, o, tensors[static_cast<size_t>(in)].name,
                          read_later       ? "a later step still reads it"
                          : in_is_constant ? "it is a constant"
                          : in_is_output   ? "it is a network output"
                                           : "it can be larger than the output"));
        continue;
      }
      group[static_cast<size_t>(root(out))] = root(in);
    }
  }

  // Each group's home: the caller's output buffer if the group holds an output, else one
  // activation slot. A network input keeps the caller's input buffer.
  std::vector<std::vector<int>> members(n);
  for (size_t t = 0; t < n; ++t)
    members[static_cast<size_t>(root(static_cast<int>(t)))].push_back(static_cast<int>(t));
  std::vector<Slot> slots;
  for (auto const& m : members) {
    if (m.empty()) continue;
    auto output = std::find_if(m.begin(), m.end(), [&](int t) {
      return tensors[static_cast<size_t>(t)].storage == PlanTensor::Storage::Output;
    });
    if (output != m.end()) {
      for (int t : m) {
        auto& pt = tensors[static_cast<size_t>(t)];
        if (pt.storage == PlanTensor::Storage::Activation) {
          pt.storage = PlanTensor::Storage::Output;
          pt.binding = tensors[static_cast<size_t>(*output)].binding;
        }
      }
      continue;
    }
    Slot slot;
    slot.first = static_cast<int>(plan.steps.size());
    for (int t : m) {
      auto const& pt = tensors[static_cast<size_t>(t)];
      if (pt.storage != PlanTensor::Storage::Activation) continue;
      slot.members.push_back(t);
      slot.first = std::min(slot.first, first[static_cast<size_t>(t)]);
      slot.last = std::max(slot.last, last[static_cast<size_t>(t)]);
      slot.bytes = std::max(slot.bytes, align_up(pt.capacity));
    }
    if (!slot.members.empty()) slots.push_back(std::move(slot));
  }

  // Scratch memory: a slot per step that asks for it, alive during that step only.
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    auto& step = plan.steps[s];
    step.workspace_capacity = checked_bytes(step.workspace.eval(env), 1,
                                            fmt::format("the workspace of step '{}'", step.name));
    if (step.workspace_capacity == 0) continue;
    Slot slot;
    slot.first = slot.last = static_cast<int>(s);
    slot.bytes = align_up(step.workspace_capacity);
    slot.workspace_of = static_cast<int>(s);
    slots.push_back(std::move(slot));
  }

  // Pack slots: largest first, each at the lowest offset free over its lifetime.
  std::vector<size_t> order(slots.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return slots[a].bytes > slots[b].bytes; });
  std::vector<size_t> placed;
  int64_t arena = 0;
  for (size_t i : order) {
    Slot& s = slots[i];
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (size_t j : placed) {
      Slot const& p = slots[j];
      if (p.first <= s.last && s.first <= p.last) busy.emplace_back(p.offset, p.offset + p.bytes);
    }
    std::sort(busy.begin(), busy.end());
    int64_t offset = 0;
    for (auto [b, e] : busy) {
      if (offset + s.bytes <= b) break;
      offset = std::max(offset, e);
    }
    s.offset = offset;
    arena = std::max(arena, offset + s.bytes);
    checked_bytes(arena, 1, "the activation arena");
    placed.push_back(i);
    for (int t : s.members) tensors[static_cast<size_t>(t)].offset = offset;
    if (s.workspace_of >= 0)
      plan.steps[static_cast<size_t>(s.workspace_of)].workspace_offset = offset;
  }
  plan.arena_bytes = arena;
}

}  // namespace qdp::detail
