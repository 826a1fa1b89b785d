// AutoTuneCombination: parsing and expansion of the type/layout grammar of SPEC §1.
//
// Order of expand()'s candidates (deterministic; duplicates keep their first place):
//   1. the type strings of the groups (the constructor's, then each pos() in call order),
//      earlier groups varying slowest;
//   2. then the layout strings of the groups, in the same order;
//   3. then the tactics, in the order given, varying fastest.
// Within one string, the dependent ('|') option index varies slowest, then the independent
// ('*') entries in position order, earlier positions varying slower.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <numeric>
#include <optional>
#include <qdp/autotune.hpp>
#include <qdp/error.hpp>
#include <set>
#include <tuple>
#include <utility>

namespace qdp {
namespace {

using Candidate = AutoTuneCombination::Candidate;

// A guard against a typo such as "A*B*C*D, ..." on many positions exhausting memory: no
// plugin is worth timing this many candidates.
constexpr size_t kMaxCandidates = size_t{1} << 16;

constexpr TensorFormat kAllFormats[] = {TensorFormat::LINEAR, TensorFormat::HWC};

std::string_view trim(std::string_view s) {
  constexpr std::string_view kWhitespace = " \t\n\r\f\v";
  size_t const begin = s.find_first_not_of(kWhitespace);
  if (begin == std::string_view::npos) return {};
  size_t const end = s.find_last_not_of(kWhitespace);
  return s.substr(begin, end - begin + 1);
}

std::vector<std::string_view> split(std::string_view s, char separator) {
  std::vector<std::string_view> pieces;
  for (;;) {
    size_t const at = s.find(separator);
    pieces.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return pieces;
    s.remove_prefix(at + 1);
  }
}

// What the grammar calls a name of a type or of a layout, and how to read one.
template <class T>
struct Vocabulary;

template <>
struct Vocabulary<DataType> {
  static constexpr std::string_view kNoun = "type";
  static constexpr std::string_view kExample = "FP32|FP16, FP32|FP16";
  static std::optional<DataType> parse(std::string_view s) { return parse_data_type(s); }
  static std::string expected() {
    std::vector<std::string_view> names;
    for (DataType t : kAllDataTypes) names.push_back(name(t));
    return fmt::format("{}", fmt::join(names, ", "));
  }
};

template <>
struct Vocabulary<TensorFormat> {
  static constexpr std::string_view kNoun = "layout";
  static constexpr std::string_view kExample = "LINEAR*HWC";
  static std::optional<TensorFormat> parse(std::string_view s) { return parse_format(s); }
  static std::string expected() {
    std::vector<std::string_view> names;
    for (TensorFormat f : kAllFormats) names.push_back(name(f));
    return fmt::format("{}", fmt::join(names, ", "));
  }
};

enum class EntryKind { kSingle, kDependent, kIndependent };

template <class T>
struct Entry {
  std::string_view text;  // trimmed, as written
  EntryKind kind = EntryKind::kSingle;
  std::vector<T> options;
};

std::string format_positions(std::vector<int> const& positions) {
  return fmt::format("{{{}}}", fmt::join(positions, ", "));
}

// The start of every message about one string, so the user can find it in their code:
// `autotune combination types "FP32|FP16"` or `autotune pos({0, 1}) layouts "HWC"`.
std::string describe(std::vector<int> const& positions, std::string_view noun,
                     std::string_view text) {
  if (positions.empty()) return fmt::format("autotune combination {} \"{}\"", noun, text);
  return fmt::format("autotune pos({}) {} \"{}\"", format_positions(positions), noun, text);
}

// Reads one string into its entries and checks everything that does not depend on the
// number of positions: empty entries and options, '|' mixed with '*', unknown names, and
// dependent entries of unequal length.
template <class T>
std::vector<Entry<T>> parse_entries(std::string_view text, std::string const& where) {
  using Names = Vocabulary<T>;
  if (trim(text).empty()) {
    fail("{}: no {}s given; expected comma-separated entries such as \"{}\" ({}s: {})", where,
         Names::kNoun, Names::kExample, Names::kNoun, Names::expected());
  }
  std::vector<Entry<T>> entries;
  std::vector<std::string_view> const pieces = split(text, ',');
  for (size_t i = 0; i < pieces.size(); ++i) {
    size_t const number = i + 1;  // entries are counted from 1 in messages
    Entry<T> entry;
    entry.text = trim(pieces[i]);
    if (entry.text.empty()) {
      fail("{}: entry {} of {} is empty; expected a {} name, or names joined by '|' or '*'", where,
           number, pieces.size(), Names::kNoun);
    }
    bool const has_bar = entry.text.find('|') != std::string_view::npos;
    bool const has_star = entry.text.find('*') != std::string_view::npos;
    if (has_bar && has_star) {
      fail(
          "{}: entry {} \"{}\" mixes '|' and '*'; use '|' for dependent options (taken together "
          "with the other '|' entries) or '*' for independent ones, not both in one entry",
          where, number, entry.text);
    }
    char const separator = has_bar ? '|' : '*';
    entry.kind =
        has_bar ? EntryKind::kDependent : (has_star ? EntryKind::kIndependent : EntryKind::kSingle);
    for (std::string_view option : split(entry.text, separator)) {
      option = trim(option);
      if (option.empty()) {
        fail("{}: entry {} \"{}\" has an empty option; expected a {} name on each side of '{}'",
             where, number, entry.text, Names::kNoun, separator);
      }
      std::optional<T> const parsed = Names::parse(option);
      if (!parsed) {
        fail("{}: entry {} \"{}\": unknown {} \"{}\"; expected one of {}", where, number,
             entry.text, Names::kNoun, option, Names::expected());
      }
      entry.options.push_back(*parsed);
    }
    entries.push_back(std::move(entry));
  }

  // Dependent entries are zipped, so they must agree on their length.
  Entry<T> const* first_dependent = nullptr;
  size_t first_number = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].kind != EntryKind::kDependent) continue;
    if (!first_dependent) {
      first_dependent = &entries[i];
      first_number = i + 1;
    } else if (entries[i].options.size() != first_dependent->options.size()) {
      fail(
          "{}: dependent entries ('|') must have the same number of options ({} vs {}): "
          "entry {} \"{}\" has {}, entry {} \"{}\" has {}",
          where, first_dependent->options.size(), entries[i].options.size(), first_number,
          first_dependent->text, first_dependent->options.size(), i + 1, entries[i].text,
          entries[i].options.size());
    }
  }
  return entries;
}

// Checks that a string has one entry for all positions or one per position.
template <class T>
void check_entry_count(std::vector<Entry<T>> const& entries, size_t num_positions,
                       std::string const& where, std::string_view positions_phrase) {
  if (entries.size() == 1 || entries.size() == num_positions) return;
  fail(
      "{}: {} entries for {} position{}; expected 1 entry for all of them or {}, one per "
      "position{}",
      where, entries.size(), num_positions, num_positions == 1 ? "" : "s", num_positions,
      positions_phrase);
}

// Every combination one string describes, each a value per position of its group.
template <class T>
std::vector<std::vector<T>> combinations(std::vector<Entry<T>> entries, size_t num_positions,
                                         std::string const& where) {
  // A single entry applies to every position: replicate it, then the rules are the same.
  if (entries.size() == 1 && num_positions > 1) entries.assign(num_positions, entries.front());

  size_t num_dependent = 1;
  for (Entry<T> const& entry : entries) {
    if (entry.kind == EntryKind::kDependent) num_dependent = entry.options.size();
  }
  std::vector<std::vector<T>> result(num_dependent, std::vector<T>(num_positions));
  for (size_t position = 0; position < num_positions; ++position) {
    Entry<T> const& entry = entries[position];
    for (size_t i = 0; i < num_dependent; ++i) {
      // Independent entries are filled in below; the placeholder is overwritten.
      result[i][position] =
          entry.kind == EntryKind::kDependent ? entry.options[i] : entry.options.front();
    }
  }
  for (size_t position = 0; position < num_positions; ++position) {
    Entry<T> const& entry = entries[position];
    if (entry.kind != EntryKind::kIndependent) continue;
    if (result.size() * entry.options.size() > kMaxCandidates) {
      fail(
          "{}: entry \"{}\" makes more than {} combinations; split the combination or use "
          "'|' where options go together",
          where, entry.text, kMaxCandidates);
    }
    std::vector<std::vector<T>> repeated;
    repeated.reserve(result.size() * entry.options.size());
    for (std::vector<T> const& combination : result) {
      for (T const& option : entry.options) {
        repeated.push_back(combination);
        repeated.back()[position] = option;
      }
    }
    result = std::move(repeated);
  }
  return result;
}

// Crosses every candidate with every combination of one group's string.
template <class T>
void cross(std::vector<Candidate>& candidates, std::vector<T> Candidate::*field,
           std::vector<int> const& positions, std::vector<std::vector<T>> const& combinations,
           std::string const& where) {
  if (candidates.size() * combinations.size() > kMaxCandidates) {
    fail(
        "{}: the combination describes more than {} candidates; split it or use '|' where "
        "options go together",
        where, kMaxCandidates);
  }
  std::vector<Candidate> crossed;
  crossed.reserve(candidates.size() * combinations.size());
  for (Candidate const& candidate : candidates) {
    for (std::vector<T> const& combination : combinations) {
      crossed.push_back(candidate);
      for (size_t i = 0; i < positions.size(); ++i) {
        (crossed.back().*field)[static_cast<size_t>(positions[i])] = combination[i];
      }
    }
  }
  candidates = std::move(crossed);
}

void check_tactics(std::vector<int32_t> const& tactics) {
  std::set<int32_t> seen;
  for (int32_t tactic : tactics) {
    if (tactic <= 0) {
      fail(
          "autotune tactics [{}]: tactic {} is not positive; tactics are positive integers "
          "(tactic 0, \"no custom tactic\", is used when no tactics are given)",
          fmt::join(tactics, ", "), tactic);
    }
    if (!seen.insert(tactic).second) {
      fail("autotune tactics [{}]: tactic {} is given more than once; list each tactic once",
           fmt::join(tactics, ", "), tactic);
    }
  }
}

// An omitted layout string means LINEAR for every position.
std::string_view layouts_or_linear(std::string_view layouts) {
  return trim(layouts).empty() ? std::string_view("LINEAR") : layouts;
}

}  // namespace

AutoTuneCombination::AutoTuneCombination(std::string_view io_types, std::string_view layouts,
                                         std::vector<int32_t> tactics) {
  Group group{{}, std::string(io_types), std::string(layouts_or_linear(layouts))};
  // Grammar errors surface here, where the author wrote the string; the entry count can only
  // be checked once expand() knows the number of positions.
  parse_entries<DataType>(group.types, describe({}, "types", group.types));
  parse_entries<TensorFormat>(group.layouts, describe({}, "layouts", group.layouts));
  check_tactics(tactics);
  groups_.push_back(std::move(group));
  tactics_ = std::move(tactics);
}

AutoTuneCombination& AutoTuneCombination::pos(std::vector<int> indices, std::string_view types,
                                              std::string_view layouts) {
  std::string const where =
      fmt::format("autotune pos({}, \"{}\")", format_positions(indices), types);
  if (indices.empty()) fail("{}: no positions given; expected one or more indices", where);
  std::set<int> listed;
  for (int index : indices) {
    if (index < 0) {
      fail("{}: position {} is negative; positions count from 0, inputs then outputs", where,
           index);
    }
    if (!listed.insert(index).second) {
      fail("{}: position {} is listed twice; give each position once", where, index);
    }
  }
  for (Group const& earlier : groups_) {
    if (earlier.positions.empty()) {
      fail(
          "{}: every position already has types from the constructor's io_types \"{}\"; use "
          "either the constructor's strings or pos(), not both",
          where, earlier.types);
    }
    for (int index : indices) {
      if (std::find(earlier.positions.begin(), earlier.positions.end(), index) !=
          earlier.positions.end()) {
        fail(
            "{}: position {} already has types from pos({}, \"{}\"); give each position in "
            "one pos() call only",
            where, index, format_positions(earlier.positions), earlier.types);
      }
    }
  }

  Group group{indices, std::string(types), std::string(layouts_or_linear(layouts))};
  std::string const types_where = describe(indices, "types", group.types);
  std::string const layouts_where = describe(indices, "layouts", group.layouts);
  std::string const positions_phrase = fmt::format(", in the order {}", format_positions(indices));
  check_entry_count(parse_entries<DataType>(group.types, types_where), indices.size(), types_where,
                    positions_phrase);
  check_entry_count(parse_entries<TensorFormat>(group.layouts, layouts_where), indices.size(),
                    layouts_where, positions_phrase);
  groups_.push_back(std::move(group));
  return *this;
}

AutoTuneCombination& AutoTuneCombination::pos(int index, std::string_view types,
                                              std::string_view layouts) {
  return pos(std::vector<int>{index}, types, layouts);
}

AutoTuneCombination& AutoTuneCombination::tactics(std::vector<int32_t> tactics) {
  check_tactics(tactics);
  tactics_ = std::move(tactics);  // a later call replaces the earlier list
  return *this;
}

std::vector<AutoTuneCombination::Candidate> AutoTuneCombination::expand(int num_positions) const {
  if (num_positions <= 0) {
    fail(
        "autotune combination {}: a plugin has {} positions; expected at least 1 (inputs, then "
        "outputs)",
        to_string(), num_positions);
  }
  if (groups_.empty()) {
    fail(
        "autotune combination has no types; give io_types to the constructor or call pos() "
        "for each of the plugin's {} positions (inputs, then outputs)",
        num_positions);
  }
  size_t const count = static_cast<size_t>(num_positions);

  // Every position is covered by exactly one group.
  std::vector<int> all_positions(count);
  std::iota(all_positions.begin(), all_positions.end(), 0);
  std::vector<bool> covered(count, false);
  for (Group const& group : groups_) {
    for (int index : group.positions.empty() ? all_positions : group.positions) {
      if (index >= num_positions) {
        fail(
            "autotune pos({}, \"{}\"): position {} is out of range for a plugin with {} "
            "position{} (0 to {}: inputs, then outputs)",
            format_positions(group.positions), group.types, index, num_positions,
            num_positions == 1 ? "" : "s", num_positions - 1);
      }
      if (covered[static_cast<size_t>(index)]) {
        fail("autotune combination {}: position {} is given types more than once", to_string(),
             index);
      }
      covered[static_cast<size_t>(index)] = true;
    }
  }
  std::vector<int> missing;
  for (int index : all_positions) {
    if (!covered[static_cast<size_t>(index)]) missing.push_back(index);
  }
  if (!missing.empty()) {
    fail(
        "autotune combination {}: position{} {} of the plugin's {} (inputs, then outputs) "
        "{} no types; give {} with pos()",
        to_string(), missing.size() == 1 ? "" : "s", fmt::join(missing, ", "), num_positions,
        missing.size() == 1 ? "has" : "have", missing.size() == 1 ? "it" : "them");
  }

  std::vector<Candidate> candidates(1);
  candidates.front().types.assign(count, DataType::FP32);
  candidates.front().formats.assign(count, TensorFormat::LINEAR);
  std::string_view const plugin_phrase = " (inputs, then outputs)";
  for (Group const& group : groups_) {
    std::vector<int> const& positions = group.positions.empty() ? all_positions : group.positions;
    std::string const where = describe(group.positions, "types", group.types);
    auto entries = parse_entries<DataType>(group.types, where);
    check_entry_count(entries, positions.size(), where, plugin_phrase);
    cross(candidates, &Candidate::types, positions,
          combinations(std::move(entries), positions.size(), where), where);
  }
  for (Group const& group : groups_) {
    std::vector<int> const& positions = group.positions.empty() ? all_positions : group.positions;
    std::string const where = describe(group.positions, "layouts", group.layouts);
    auto entries = parse_entries<TensorFormat>(group.layouts, where);
    check_entry_count(entries, positions.size(), where, plugin_phrase);
    cross(candidates, &Candidate::formats, positions,
          combinations(std::move(entries), positions.size(), where), where);
  }

  if (!tactics_.empty()) {
    std::vector<Candidate> with_tactics;
    with_tactics.reserve(candidates.size() * tactics_.size());
    for (Candidate const& candidate : candidates) {
      for (int32_t tactic : tactics_) {
        with_tactics.push_back(candidate);
        with_tactics.back().tactic = tactic;
      }
    }
    candidates = std::move(with_tactics);
  }

  // Repeated names ("FP32|FP32", "LINEAR*LINEAR") describe the same candidate twice.
  std::set<std::tuple<std::vector<DataType>, std::vector<TensorFormat>, int32_t>> seen;
  std::vector<Candidate> unique;
  unique.reserve(candidates.size());
  for (Candidate& candidate : candidates) {
    if (seen.emplace(candidate.types, candidate.formats, candidate.tactic).second) {
      unique.push_back(std::move(candidate));
    }
  }
  return unique;
}

std::string AutoTuneCombination::to_string() const {
  std::vector<std::string> parts;
  for (Group const& group : groups_) {
    std::string const prefix =
        group.positions.empty() ? "" : fmt::format("pos({}) ", format_positions(group.positions));
    parts.push_back(
        fmt::format("{}types \"{}\" layouts \"{}\"", prefix, group.types, group.layouts));
  }
  if (parts.empty()) parts.emplace_back("no types");
  std::string const tactics =
      tactics_.empty() ? std::string("none") : fmt::format("[{}]", fmt::join(tactics_, ", "));
  return fmt::format("{} tactics {}", fmt::join(parts, "; "), tactics);
}

}  // namespace qdp
