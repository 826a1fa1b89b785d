// fuzz_onnx: ONNX model bytes through the whole path: import_onnx_bytes, a profile for every
// dynamic input (each dynamic dimension 1..3, opt 2), build_engine on the CPU, serialize,
// deserialize, and a run of the built and of the loaded engine at the opt and at the max shapes,
// whose outputs must agree bit for bit (the same CPU code on the same inputs).
//
// Structure-aware: libprotobuf-mutator is not in Debian 12, so a custom mutator does the same
// through protobuf's reflection: it parses the ModelProto, picks one field anywhere in it and
// sets it to a boundary value, a small step away, another name the model uses, a standard
// operator's name, or removes or duplicates an element of a repeated field (a node, a dim, an
// attribute), and writes the model again. One mutation in four is libFuzzer's own, on the bytes.
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <qdp/onnx.hpp>
#include <random>
#include <set>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  qdp_fuzz::register_plugins();
  return 0;
}

namespace {

void expect_same(std::map<std::string, qdp::Array> const& built,
                 std::map<std::string, qdp::Array> const& loaded) {
  if (built.size() != loaded.size())
    qdp_fuzz::finding("the loaded engine returns other outputs than the built one");
  for (auto const& [name, a] : built) {
    auto it = loaded.find(name);
    if (it == loaded.end()) qdp_fuzz::finding("the loaded engine lacks output '" + name + "'");
    qdp::Array const& b = it->second;
    if (a.dtype() != b.dtype() || !(a.shape() == b.shape()) ||
        (a.bytes() && std::memcmp(a.raw(), b.raw(), a.bytes()) != 0))
      qdp_fuzz::finding("output '" + name + "' differs between the built and the loaded engine");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size) {
  std::optional<qdp::Engine> built, loaded;
  try {
    qdp::Network net = qdp::import_onnx_bytes(qdp_fuzz::bytes_of(data, size), "fuzz.onnx");
    qdp_fuzz::set_small_profiles(net);
    qdp::BuildConfig config;
    config.warmup_runs = 0;
    config.timed_runs = 1;
    config.max_tensor_bytes = qdp_fuzz::kMaxBuildTensorBytes;
    built.emplace(qdp::build_engine(net, config));
  } catch (qdp::Error const&) {
    return 0;
  }
  std::vector<std::byte> file = built->serialize();
  try {
    loaded.emplace(qdp::Engine::deserialize(file, "fuzz.onnx (engine)"));
  } catch (qdp::Error const& e) {
    qdp_fuzz::finding(std::string("an engine the builder wrote does not load: ") + e.what());
  }
  for (int which : {1, 2}) {  // the opt and the max shapes
    auto from_built = qdp_fuzz::run_once(*built, which);
    auto from_loaded = qdp_fuzz::run_once(*loaded, which);
    if (from_built.has_value() != from_loaded.has_value())
      qdp_fuzz::finding(from_built ? "the loaded engine fails where the built one runs"
                                   : "the built engine fails where the loaded one runs");
    if (from_built) expect_same(*from_built, *from_loaded);
  }
  return 0;
}

#ifdef QDP_LIBFUZZER
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

struct Site {
  Message* message;
  FieldDescriptor const* field;
  int index;  // element of a repeated field, -1 for a singular one
};

void collect(Message* m, std::vector<Site>& scalars, std::vector<Site>& repeated,
             std::set<std::string>& names, int depth) {
  if (depth > 8) return;
  auto const* d = m->GetDescriptor();
  auto const* r = m->GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    FieldDescriptor const* f = d->field(i);
    bool message = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    if (f->is_repeated()) {
      int n = r->FieldSize(*m, f);
      if (n) repeated.push_back({m, f, -1});
      for (int j = 0; j < n; ++j) {
        if (message) {
          collect(r->MutableRepeatedMessage(m, f, j), scalars, repeated, names, depth + 1);
        } else {
          scalars.push_back({m, f, j});
          if (f->type() == FieldDescriptor::TYPE_STRING)
            names.insert(r->GetRepeatedString(*m, f, j));
        }
      }
    } else if (message) {
      if (r->HasField(*m, f)) collect(r->MutableMessage(m, f), scalars, repeated, names, depth + 1);
    } else {
      scalars.push_back({m, f, -1});
      if (f->type() == FieldDescriptor::TYPE_STRING) names.insert(r->GetString(*m, f));
    }
  }
}

template <class T>
T integer(T old, std::minstd_rand& rng) {
  static constexpr int64_t values[] = {0, 1, 2, 3, 4, -1, -2, 7, 8, 13, 17, 27, 64, 1000};
  using U = std::make_unsigned_t<T>;  // steps wrap
  switch (rng() % 6) {
    case 0:
      return static_cast<T>(static_cast<U>(old) + 1u);
    case 1:
      return static_cast<T>(static_cast<U>(old) - 1u);
    case 2:
      return rng() % 2 ? std::numeric_limits<T>::max() : std::numeric_limits<T>::min();
    default:
      return static_cast<T>(values[rng() % std::size(values)]);
  }
}

template <class T>
T real(T old, std::minstd_rand& rng) {
  static constexpr T values[] = {0, 1, -1, 0.5, 2, 1e-5, 1e30, -1e30};
  switch (rng() % 5) {
    case 0:
      return old * 2;
    case 1:
      return std::numeric_limits<T>::quiet_NaN();
    case 2:
      return std::numeric_limits<T>::infinity();
    default:
      return values[rng() % std::size(values)];
  }
}

std::string mutated_bytes(std::string s, std::minstd_rand&) {
  size_t max = s.size() + 16;
  s.resize(max);
  s.resize(LLVMFuzzerMutate(reinterpret_cast<uint8_t*>(s.data()), max - 16, max));
  return s;
}

void mutate_scalar(Site const& s, std::vector<std::string> const& names, std::minstd_rand& rng) {
  Message* m = s.message;
  auto const* r = m->GetReflection();
  FieldDescriptor const* f = s.field;
  bool rep = s.index >= 0;
#define QDP_FUZZ_SET(Type, value)                                                       \
  do {                                                                                  \
    if (rep)                                                                            \
      r->SetRepeated##Type(m, f, s.index, value(r->GetRepeated##Type(*m, f, s.index))); \
    else                                                                                \
      r->Set##Type(m, f, value(r->Get##Type(*m, f)));                                   \
  } while (0)
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      QDP_FUZZ_SET(Int32, [&](int32_t v) { return integer(v, rng); });
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      QDP_FUZZ_SET(Int64, [&](int64_t v) { return integer(v, rng); });
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      QDP_FUZZ_SET(UInt32, [&](uint32_t v) { return integer(v, rng); });
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      QDP_FUZZ_SET(UInt64, [&](uint64_t v) { return integer(v, rng); });
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      QDP_FUZZ_SET(Float, [&](float v) { return real(v, rng); });
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      QDP_FUZZ_SET(Double, [&](double v) { return real(v, rng); });
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      QDP_FUZZ_SET(Bool, [](bool v) { return !v; });
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      auto const* e = f->enum_type();
      int v = e->value(static_cast<int>(rng() % static_cast<unsigned>(e->value_count())))->number();
      QDP_FUZZ_SET(EnumValue, [v](int) { return v; });
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      bool bytes = f->type() == FieldDescriptor::TYPE_BYTES || names.empty() || rng() % 8 == 0;
      auto pick = [&](std::string const& old) {
        return bytes ? mutated_bytes(old, rng) : names[rng() % names.size()];
      };
      QDP_FUZZ_SET(String, pick);
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
#undef QDP_FUZZ_SET
}

// Removes element `i` of a repeated field, or appends a copy of it.
void mutate_repeated(Site const& s, std::minstd_rand& rng) {
  Message* m = s.message;
  auto const* r = m->GetReflection();
  FieldDescriptor const* f = s.field;
  int n = r->FieldSize(*m, f);
  int i = static_cast<int>(rng() % static_cast<unsigned>(n));
  if (rng() % 2) {
    r->SwapElements(m, f, i, n - 1);
    r->RemoveLast(m, f);
    return;
  }
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_MESSAGE:
      r->AddMessage(m, f)->CopyFrom(r->GetRepeatedMessage(*m, f, i));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      r->AddInt64(m, f, r->GetRepeatedInt64(*m, f, i));
      break;
    case FieldDescriptor::CPPTYPE_INT32:
      r->AddInt32(m, f, r->GetRepeatedInt32(*m, f, i));
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      r->AddFloat(m, f, r->GetRepeatedFloat(*m, f, i));
      break;
    case FieldDescriptor::CPPTYPE_STRING:
      r->AddString(m, f, r->GetRepeatedString(*m, f, i));
      break;
    default:
      break;
  }
}

// Operator names a mutated op_type may take: the standard operators this process has.
std::vector<std::string> const& operator_names() {
  static std::vector<std::string> const names = [] {
    std::vector<std::string> out;
    for (auto const& id : qdp::Registry::global().ids())
      if (id.starts_with("onnx::")) out.push_back(id.substr(6));
    return out;
  }();
  return names;
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  std::minstd_rand rng(seed);
  onnx::ModelProto model;
  if (rng() % 4 == 0 || !model.ParseFromArray(data, static_cast<int>(size)))
    return LLVMFuzzerMutate(data, size, max_size);
  std::vector<Site> scalars, repeated;
  std::set<std::string> found;
  collect(&model, scalars, repeated, found, 0);
  std::vector<std::string> names(found.begin(), found.end());
  if (rng() % 3 == 0) names = operator_names();  // an op_type, or a name that is not a tensor's
  if (!repeated.empty() && (scalars.empty() || rng() % 4 == 0))
    mutate_repeated(repeated[rng() % repeated.size()], rng);
  else if (!scalars.empty())
    mutate_scalar(scalars[rng() % scalars.size()], names, rng);
  std::string out;
  if (!model.SerializeToString(&out) || out.size() > max_size)
    return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}
#endif
