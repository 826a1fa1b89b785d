#pragma once
// What a plugin's definition says about one layer — its outputs (desc), the type/format/tactic
// combinations it may run (autotune), its scratch memory (workspace) — asked one way by the
// builder, which plans an engine from the answers, and by the loader, which checks an engine
// file's plan against them (SPEC §5: loading re-derives what it can).
// Exported (QDP_API) for the builder in libqdp; not public API.
#include <optional>
#include <qdp/autotune.hpp>
#include <qdp/plugin_definition.hpp>
#include <span>
#include <string_view>
#include <vector>

#include "plan/plan.hpp"

namespace qdp::detail {

using Candidate = AutoTuneCombination::Candidate;

// Input k of a layer as its desc receives it: `d`'s type, format, shape and value.
QDP_API TensorDesc desc_input(TensorDesc const& d, int k);

// One output of a desc, checked, with its size tensors bound to ids (ShapeExpr::size_value).
struct DerivedOutput {
  TensorDesc desc;    // shapes and value bound; still a size_tensor() desc for a size tensor
  int size_id = -1;   // a size tensor: its id
  ShapeExpr opt = 0;  // a size tensor: its opt and upper bound, bound
  ShapeExpr upper_bound = 0;
};

// Runs `def`'s desc for layer `layer` on `ins` and `attrs` and checks what it returns: as many
// outputs as the plugin declares, ranks of at most kMaxRank, values only on small integer tensors,
// every size tensor that a shape uses returned as an output. The size tensors get the ids
// first_size_id, first_size_id + 1, ... in output order. Errors are qdp::Errors that name the
// layer and the plugin.
QDP_API std::vector<DerivedOutput> run_desc(PluginDefinition const& def, std::string_view layer,
                                            std::span<const TensorDesc> ins, Attrs const& attrs,
                                            int first_size_id);

// The combinations a layer may run: its autotune's, expanded, or without autotune the desc's own
// types, LINEAR everywhere and tactic 0. Unfiltered: the builder drops those it cannot honour.
QDP_API std::vector<Candidate> listed_candidates(PluginDefinition const& def,
                                                 std::string_view layer,
                                                 std::span<const TensorDesc> ins,
                                                 Attrs const& attrs,
                                                 std::span<const TensorDesc> outs);

// Why the runtime cannot run candidate `c` with these descs (HWC on a tensor not of rank 4, a
// size tensor that is not INT32/INT64, an aliased output of another type or format than its
// input); empty when it can.
QDP_API std::string candidate_conflict(Candidate const& c, std::span<const TensorDesc> ins,
                                       std::span<const TensorDesc> outs);

// The descs as candidate `c` sees them: its types and formats.
QDP_API std::pair<std::vector<TensorDesc>, std::vector<TensorDesc>> candidate_descs(
    Candidate const& c, std::span<const TensorDesc> ins, std::span<const TensorDesc> outs);

// The scratch bytes candidate `c` asks for (JIT impls), as an expression; 0 without a workspace.
QDP_API ShapeExpr workspace_of(PluginDefinition const& def, std::string_view layer,
                               Candidate const& c, std::span<const TensorDesc> ins,
                               Attrs const& attrs, std::span<const TensorDesc> outs);

QDP_API bool is_integer(DataType t);
// The shape value of a known tensor (dense bytes of a constant shape): its elements, when it is a
// small integer tensor.
QDP_API std::optional<std::vector<ShapeExpr>> value_of(DataType t, std::span<const ShapeExpr> shape,
                                                       std::span<const std::byte> data);

// The definition a loaded engine's plugin step runs: the registry's, loading the standard
// operators for an onnx:: ID first; null when there is none (make_engine_impl says how to
// provide it).
QDP_API std::shared_ptr<const PluginDefinition> find_for_load(std::string_view plugin_id);

// Loading re-derives what it can (SPEC §5): each JIT plugin step's desc runs again on the inputs
// and attributes the plan stores, and a plan whose output shapes, types, size-tensor bounds,
// aliasing, type/format/tactic combination or workspace disagree with the plugin's own answers is
// refused (ErrorCode::CorruptFile, naming the layer and the field). AOT steps are the engine's
// own code and are not re-derived. `plan` has passed engine_file's structural checks.
void rederive_plan(EnginePlan const& plan, std::string_view origin);

}  // namespace qdp::detail
