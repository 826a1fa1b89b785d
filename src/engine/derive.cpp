#include "engine/derive.hpp"

#include <cstring>
#include <map>
#include <qdp/registry.hpp>

namespace qdp::detail {
namespace {

ErrorContext context(PluginDefinition const& def, std::string_view layer, std::string phase) {
  return {def.id, std::string(layer), std::move(phase)};
}

int64_t load_integer(std::byte const* data, DataType t, size_t i) {
  switch (t) {
    case DataType::INT64: {
      int64_t v;
      std::memcpy(&v, data + 8 * i, 8);
      return v;
    }
    case DataType::INT32: {
      int32_t v;
      std::memcpy(&v, data + 4 * i, 4);
      return v;
    }
    case DataType::INT8:
      return static_cast<int8_t>(data[i]);
    default:  // UINT8, BOOL
      return static_cast<uint8_t>(data[i]);
  }
}

}  // namespace

TensorDesc desc_input(TensorDesc const& d, int k) {
  TensorDesc in = d.like();
  in.value = d.value;
  in.set_input_index(k);
  return in;
}

std::vector<DerivedOutput> run_desc(PluginDefinition const& def, std::string_view layer,
                                    std::span<const TensorDesc> ins, Attrs const& attrs,
                                    int first_size_id) {
  std::vector<TensorDesc> outs =
      with_error_context(context(def, layer, "desc"), [&] { return def.desc(ins, attrs); });
  if (static_cast<int>(outs.size()) != def.num_outputs)
    fail("layer '{}' (plugin {}): desc returned {} outputs, the plugin declares {}", layer, def.id,
         outs.size(), def.num_outputs);
  // Give each size tensor an id and rewrite the expressions that use it.
  std::map<void const*, int> ids;
  for (auto const& out : outs)
    if (out.is_size_tensor()) ids[&out.size_info()] = first_size_id + static_cast<int>(ids.size());
  auto bind = [&](ShapeExpr const& e) {
    return e.map_leaves([&](ShapeExpr const& leaf) -> ShapeExpr {
      if (leaf.op() != ShapeExpr::Op::PendingSize) return leaf;
      auto it = ids.find(leaf.node().token.get());
      if (it == ids.end())
        fail(
            "layer '{}' (plugin {}): an output shape uses a size tensor that desc does not "
            "return as an output; return every size_tensor() among the outputs",
            layer, def.id);
      return ShapeExpr::size_value(it->second);
    });
  };
  std::vector<DerivedOutput> derived(outs.size());
  for (size_t o = 0; o < outs.size(); ++o) {
    DerivedOutput& d = derived[o];
    d.desc = std::move(outs[o]);
    TensorDesc& out = d.desc;
    for (auto& e : out.shape_expr) e = bind(e);
    if (out.is_size_tensor()) {
      d.size_id = ids.at(&out.size_info());
      d.opt = bind(out.size_info().opt);
      d.upper_bound = bind(out.size_info().upper_bound);
    }
    if (out.rank() > kMaxRank)
      fail("layer '{}' (plugin {}): output {} has rank {} (at most {})", layer, def.id, o,
           out.rank(), kMaxRank);
    if (out.value) {
      for (auto& e : *out.value) e = bind(e);
      if (!is_integer(out.dtype) || out.rank() > 1 ||
          numel(out.shape_expr) != ShapeExpr(static_cast<int64_t>(out.value->size())))
        fail(
            "layer '{}' (plugin {}): desc gave output {} a value of {} element(s), but a value "
            "belongs to an integer tensor of rank 0 or 1 with that many elements",
            layer, def.id, o, out.value->size());
    }
  }
  return derived;
}

std::vector<Candidate> listed_candidates(PluginDefinition const& def, std::string_view layer,
                                         std::span<const TensorDesc> ins, Attrs const& attrs,
                                         std::span<const TensorDesc> outs) {
  std::vector<DataType> natural;
  for (auto const& d : ins) natural.push_back(d.dtype);
  for (auto const& d : outs) natural.push_back(d.dtype);
  if (!def.autotune)
    return {{natural, std::vector<TensorFormat>(natural.size(), TensorFormat::LINEAR), 0}};
  std::vector<Candidate> all;
  with_error_context(context(def, layer, "autotune"), [&] {
    for (auto const& c : def.autotune(ins, attrs, outs))
      for (auto& cand : c.expand(static_cast<int>(natural.size()))) all.push_back(std::move(cand));
  });
  return all;
}

std::string candidate_conflict(Candidate const& c, std::span<const TensorDesc> ins,
                               std::span<const TensorDesc> outs) {
  size_t n_in = ins.size();
  if (c.types.size() != n_in + outs.size() || c.formats.size() != c.types.size())
    return fmt::format("{} types and {} formats for {} positions", c.types.size(), c.formats.size(),
                       n_in + outs.size());
  for (size_t p = 0; p < c.types.size(); ++p) {
    TensorDesc const& d = p < n_in ? ins[p] : outs[p - n_in];
    if (c.formats[p] == TensorFormat::HWC && d.rank() != 4)
      return fmt::format("HWC needs a rank-4 tensor, position {} has rank {}", p, d.rank());
    if (d.is_size_tensor() && c.types[p] != DataType::INT32 && c.types[p] != DataType::INT64)
      return fmt::format("position {} is a size tensor, which is INT32 or INT64", p);
  }
  for (size_t o = 0; o < outs.size(); ++o) {
    int a = outs[o].aliased_input();
    if (a >= 0 && (static_cast<size_t>(a) >= n_in || c.types[n_in + o] != c.types[size_t(a)] ||
                   c.formats[n_in + o] != c.formats[size_t(a)]))
      return fmt::format("output {} aliases input {}, so it takes the same type and format", o, a);
  }
  return {};
}

std::pair<std::vector<TensorDesc>, std::vector<TensorDesc>> candidate_descs(
    Candidate const& c, std::span<const TensorDesc> ins, std::span<const TensorDesc> outs) {
  std::vector<TensorDesc> in_c(ins.begin(), ins.end()), out_c(outs.begin(), outs.end());
  for (size_t p = 0; p < in_c.size() + out_c.size() && p < c.types.size(); ++p) {
    TensorDesc& d = p < in_c.size() ? in_c[p] : out_c[p - in_c.size()];
    d.dtype = c.types[p];
    d.format = c.formats[p];
  }
  return {std::move(in_c), std::move(out_c)};
}

ShapeExpr workspace_of(PluginDefinition const& def, std::string_view layer, Candidate const& c,
                       std::span<const TensorDesc> ins, Attrs const& attrs,
                       std::span<const TensorDesc> outs) {
  if (!def.workspace) return ShapeExpr(0);
  auto descs = candidate_descs(c, ins, outs);  // no structured binding: clang 14 cannot capture one
  return with_error_context(context(def, layer, "workspace"), [&] {
    return def.workspace(descs.first, attrs, descs.second, Tactic{c.tactic});
  });
}

bool is_integer(DataType t) {
  return t == DataType::INT64 || t == DataType::INT32 || t == DataType::INT8 ||
         t == DataType::UINT8 || t == DataType::BOOL;
}

std::optional<std::vector<ShapeExpr>> value_of(DataType t, std::span<const ShapeExpr> shape,
                                               std::span<const std::byte> data) {
  if (!is_integer(t) || shape.size() > 1) return std::nullopt;
  if (!shape.empty() && !shape[0].is_constant()) return std::nullopt;
  int64_t n = shape.empty() ? 1 : shape[0].constant();
  if (n < 0 || n > kMaxValueElements || static_cast<size_t>(n) * element_size(t) > data.size())
    return std::nullopt;
  std::vector<ShapeExpr> v;
  for (size_t i = 0; i < static_cast<size_t>(n); ++i)
    v.emplace_back(load_integer(data.data(), t, i));
  return v;
}

std::shared_ptr<const PluginDefinition> find_for_load(std::string_view plugin_id) {
  if (auto def = Registry::global().find(plugin_id)) return def;
  if (!is_standard_operator(plugin_id)) return nullptr;
  try {
    ensure_standard_operators();
  } catch (Error const&) {
    return nullptr;  // make_engine_impl reports it
  }
  return Registry::global().find(plugin_id);
}

}  // namespace qdp::detail
