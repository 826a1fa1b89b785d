#pragma once
// The C++ front end (SPEC §2, layer 2): a plugin is one declaration whose callables' signatures
// are the schema. Inputs, outputs, attributes, stream and tactic are deduced; what the compiler
// can check (counts of inputs and outputs, attribute types, parameter kinds) is a compile error.
//
//   struct AddAttrs { int32_t block_size = 256; };
//   QDP_ATTRS(AddAttrs, block_size);
//
//   QDP_PLUGIN(elemwise_add, "sample::elemwise_add_plugin")
//       .desc([](qdp::TensorDesc const& x, AddAttrs const&) { return x.like(); })
//       .impl<qdp::cpu, float, qdp::half>([]<class T>(qdp::In<T> x, qdp::Out<T> y) { ... });
#include <algorithm>
#include <exception>
#include <optional>
#include <qdp/registry.hpp>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace qdp {

// ---- backends an impl can target -------------------------------------------------------
struct cpu {
  static constexpr Device device = Device::CPU;
};
struct cuda {
  static constexpr Device device = Device::CUDA;
};

// ---- run-time views handed to impls -------------------------------------------------------
// In<T> / Out<T>: an input / output tensor whose elements are T (void: any type, checked by
// the impl). A typed view checks the tensor's dtype once, when the impl is called.
template <class T, bool Writable>
class TensorView {
 public:
  using element_type = std::conditional_t<Writable, T, T const>;
  explicit TensorView(Tensor const& t) : t_(&t) {
    if constexpr (!std::is_void_v<T>) {
      if (t.dtype != dtype_v<T>)
        fail("a plugin impl expects {} but was given a {} tensor", name(dtype_v<T>), name(t.dtype));
    }
  }
  element_type* data() const { return static_cast<element_type*>(t_->data); }
  Dims const& shape() const { return t_->shape; }
  int64_t shape(int i) const { return t_->shape[i]; }
  Dims const& strides() const { return t_->strides; }
  int64_t numel() const { return t_->numel(); }
  int rank() const { return t_->rank(); }
  DataType dtype() const { return t_->dtype; }
  TensorFormat format() const { return t_->format; }
  Tensor const& tensor() const { return *t_; }

 private:
  Tensor const* t_;
};
template <class T = void>
using In = TensorView<T, false>;
template <class T = void>
using Out = TensorView<T, true>;

// The output descs, as an autotune or aot_impl callable receives them.
using Outputs = std::span<const TensorDesc>;

// ---- attribute structs ------------------------------------------------------------------
// QDP_ATTRS(Struct, field...) makes a plain struct a plugin's attributes: names, types and
// defaults (the struct's own) come from the declaration.
namespace detail {
// A field of an attribute struct. Its type is checked once, by QDP_ATTRS's static_assert (see
// fields_have_attribute_types): an assertion in here would make clang give up on the struct and
// report a second error about its use.
template <class S, class T>
struct Field {
  using type = T;
  using Member = T S::*;  // an alias: nvcc's host pass warns about `T S::*member`
  std::string_view name;
  Member member;
};
template <class S>
constexpr bool fields_have_attribute_types() {
  using Fields = decltype(qdp_attr_fields(static_cast<S const*>(nullptr)));
  return []<class... F>(std::tuple<F...>*) {
    return (AttributeType<typename F::type> && ...);
  }(static_cast<Fields*>(nullptr));
}
template <class S, class T>
Field(std::string_view, T S::*) -> Field<S, T>;
}  // namespace detail

// QDP_ATTRS(S, f1, f2, ...) with any number of fields: a __VA_OPT__ loop, rescanned up to 256
// times, applies QDP_DETAIL_FIELD to each name.
#define QDP_DETAIL_PARENS ()
#define QDP_DETAIL_RESCAN(...) \
  QDP_DETAIL_RESCAN4(QDP_DETAIL_RESCAN4(QDP_DETAIL_RESCAN4(QDP_DETAIL_RESCAN4(__VA_ARGS__))))
#define QDP_DETAIL_RESCAN4(...) \
  QDP_DETAIL_RESCAN3(QDP_DETAIL_RESCAN3(QDP_DETAIL_RESCAN3(QDP_DETAIL_RESCAN3(__VA_ARGS__))))
#define QDP_DETAIL_RESCAN3(...) \
  QDP_DETAIL_RESCAN2(QDP_DETAIL_RESCAN2(QDP_DETAIL_RESCAN2(QDP_DETAIL_RESCAN2(__VA_ARGS__))))
#define QDP_DETAIL_RESCAN2(...) \
  QDP_DETAIL_RESCAN1(QDP_DETAIL_RESCAN1(QDP_DETAIL_RESCAN1(QDP_DETAIL_RESCAN1(__VA_ARGS__))))
#define QDP_DETAIL_RESCAN1(...) __VA_ARGS__
#define QDP_DETAIL_FIELD(S, f) \
  ::qdp::detail::Field {       \
#f, &S::f                  \
  }
#define QDP_DETAIL_FIELDS(S, ...) \
  __VA_OPT__(QDP_DETAIL_RESCAN(QDP_DETAIL_FIELDS_STEP(S, __VA_ARGS__)))
#define QDP_DETAIL_FIELDS_STEP(S, f, ...) \
  QDP_DETAIL_FIELD(S, f) __VA_OPT__(, QDP_DETAIL_FIELDS_AGAIN QDP_DETAIL_PARENS(S, __VA_ARGS__))
#define QDP_DETAIL_FIELDS_AGAIN() QDP_DETAIL_FIELDS_STEP
#define QDP_ATTRS(S, ...)                                                  \
  static_assert(__VA_OPT__(true ||) false,                                 \
                "qdp: QDP_ATTRS(" #S                                       \
                ", ...) lists the struct's fields: name at least one (a "  \
                "plugin without attributes needs no QDP_ATTRS)");          \
  [[maybe_unused]] inline auto qdp_attr_fields(S const*) {                 \
    return std::make_tuple(QDP_DETAIL_FIELDS(S, __VA_ARGS__));             \
  }                                                                        \
  static_assert(::qdp::detail::fields_have_attribute_types<S>(),           \
                "qdp: this attribute type is not supported. Use int32_t, " \
                "int64_t, float, double, bool, std::string, qdp::Bytes, "  \
                "or std::vector of int8_t, int16_t, int32_t, int64_t, "    \
                "qdp::half, float, double or bool.")

template <class S>
concept AttrStruct = std::is_default_constructible_v<S> && requires(S const* s) {
  qdp_attr_fields(s);
};

namespace detail {
// Whether every field of S has a supported type; when not, QDP_ATTRS's static_assert has said so
// and nothing else is instantiated (one error, not a cascade).
template <AttrStruct S>
constexpr bool fields_supported() {
  return fields_have_attribute_types<S>();
}

template <AttrStruct S>
std::vector<AttrSpec> schema_of() {
  std::vector<AttrSpec> specs;
  if constexpr (fields_supported<S>()) {
    S defaults{};
    std::apply(
        [&](auto... f) {
          (specs.push_back({std::string(f.name),
                            attr_type_of<std::remove_cvref_t<decltype(defaults.*f.member)>>::value,
                            AttrValue(defaults.*f.member)}),
           ...);
        },
        qdp_attr_fields(static_cast<S const*>(nullptr)));
  }
  return specs;
}
// `attrs` went through resolve_attrs(): every value is present and of its declared type.
template <AttrStruct S>
S decode(Attrs const& attrs) {
  S s{};
  if constexpr (fields_supported<S>()) {
    std::apply(
        [&](auto... f) {
          ((s.*f.member =
                std::get<std::remove_cvref_t<decltype(s.*f.member)>>(attrs.find(f.name)->second)),
           ...);
        },
        qdp_attr_fields(static_cast<S const*>(nullptr)));
  }
  return s;
}
}  // namespace detail

// Attribute values of a typed struct, for the network API: net.add_plugin(id, inputs, attrs(a)).
template <AttrStruct S>
Attrs attrs(S const& s) {
  Attrs out;
  if constexpr (detail::fields_supported<S>())
    std::apply([&](auto... f) { (out.emplace(std::string(f.name), AttrValue(s.*f.member)), ...); },
               qdp_attr_fields(static_cast<S const*>(nullptr)));
  return out;
}

// ---- signature analysis -----------------------------------------------------------------
namespace detail {

template <class T>
struct is_view : std::false_type {};
template <class T, bool W>
struct is_view<TensorView<T, W>> {
  static constexpr bool value = true;
  static constexpr bool writable = W;
};

enum class Kind { Input, Output, Attrs, Stream, Tactic, Workspace, Outputs, Unknown };

// Parameters of impl callables: In<T>, Out<T>, attributes, Stream, Tactic, Workspace.
template <class P>
constexpr Kind impl_kind() {
  using T = std::remove_cvref_t<P>;
  if constexpr (is_view<T>::value)
    return is_view<T>::writable ? Kind::Output : Kind::Input;
  else if constexpr (AttrStruct<T>)
    return Kind::Attrs;
  else if constexpr (std::is_same_v<T, Stream>)
    return Kind::Stream;
  else if constexpr (std::is_same_v<T, Tactic>)
    return Kind::Tactic;
  else if constexpr (std::is_same_v<T, Workspace>)
    return Kind::Workspace;
  else
    return Kind::Unknown;
}
// Parameters of desc, autotune and aot_impl callables: TensorDesc inputs, attributes,
// the output descs (qdp::Outputs) and the Tactic.
template <class P>
constexpr Kind desc_kind() {
  using T = std::remove_cvref_t<P>;
  if constexpr (std::is_same_v<T, TensorDesc>)
    return Kind::Input;
  else if constexpr (std::is_same_v<T, Outputs>)
    return Kind::Outputs;
  else if constexpr (AttrStruct<T>)
    return Kind::Attrs;
  else if constexpr (std::is_same_v<T, Tactic>)
    return Kind::Tactic;
  else
    return Kind::Unknown;
}

template <class... P>
struct TypeList {
  static constexpr size_t size = sizeof...(P);
};

template <class... P>
struct first_attrs {
  using type = void;
};
template <class P0, class... P>
struct first_attrs<P0, P...> {
  using type = std::conditional_t<AttrStruct<std::remove_cvref_t<P0>>, std::remove_cvref_t<P0>,
                                  typename first_attrs<P...>::type>;
};

template <class F>
struct signature : signature<decltype(&F::operator())> {};
template <class R, class... P>
struct signature<R (*)(P...)> {
  using result = R;
  using params = TypeList<P...>;
};
template <class R, class... P>
struct signature<R(P...)> : signature<R (*)(P...)> {};
template <class C, class R, class... P>
struct signature<R (C::*)(P...) const> : signature<R (*)(P...)> {};
template <class C, class R, class... P>
struct signature<R (C::*)(P...)> : signature<R (*)(P...)> {};

template <auto KindOf, class List>
struct Params;
template <auto KindOf, class... P>
struct Params<KindOf, TypeList<P...>> {
  // Sized: clang cannot use an unsized static constexpr array of a class template in constant
  // expressions.
  static constexpr std::array<Kind, sizeof...(P) + 1> kinds = {KindOf.template operator()<P>()...,
                                                               Kind::Unknown};
  static constexpr int count(Kind k) {
    int n = 0;
    for (size_t i = 0; i < sizeof...(P); ++i) n += kinds[i] == k;
    return n;
  }
  // Position of parameter i among the parameters of its kind.
  static constexpr int ordinal(size_t i) {
    int n = 0;
    for (size_t j = 0; j < i; ++j) n += kinds[j] == kinds[i];
    return n;
  }
  static constexpr bool all_known() { return count(Kind::Unknown) == 0; }
  using attrs_value = typename first_attrs<P...>::type;
};

struct ImplKindOf {
  template <class P>
  constexpr Kind operator()() const {
    return impl_kind<P>();
  }
};
struct DescKindOf {
  template <class P>
  constexpr Kind operator()() const {
    return desc_kind<P>();
  }
};

template <class R>
struct desc_outputs {
  static constexpr int value = -1;
};
template <>
struct desc_outputs<TensorDesc> {
  static constexpr int value = 1;
};
template <class... T>
struct desc_outputs<std::tuple<T...>> {
  static constexpr int value =
      (std::is_same_v<T, TensorDesc> && ...) ? static_cast<int>(sizeof...(T)) : -1;
};

template <class R>
std::vector<TensorDesc> to_vector(R&& r) {
  if constexpr (std::is_same_v<std::remove_cvref_t<R>, TensorDesc>)
    return {std::forward<R>(r)};
  else
    return std::apply(
        [](auto&&... d) { return std::vector<TensorDesc>{std::forward<decltype(d)>(d)...}; },
        std::forward<R>(r));
}

// Calls an impl-shaped `f` with views built from the spans.
template <class F, class... P, size_t... I, class A>
void call_impl(F const& f, TypeList<P...>, std::index_sequence<I...>, A const* attrs,
               std::span<const Tensor> in, std::span<Tensor> out, Stream stream, Tactic tactic,
               Workspace workspace) {
  using Ps = Params<ImplKindOf{}, TypeList<P...>>;
  [[maybe_unused]] auto arg = [&]<size_t i, class Param>() -> decltype(auto) {
    constexpr Kind k = Ps::kinds[i];
    using T = std::remove_cvref_t<Param>;
    if constexpr (k == Kind::Input)
      return T(in[static_cast<size_t>(Ps::ordinal(i))]);
    else if constexpr (k == Kind::Output)
      return T(out[static_cast<size_t>(Ps::ordinal(i))]);
    else if constexpr (k == Kind::Attrs)
      return static_cast<T const&>(*attrs);
    else if constexpr (k == Kind::Stream)
      return stream;
    else if constexpr (k == Kind::Workspace)
      return workspace;
    else
      return tactic;
  };
  f(arg.template operator()<I, P>()...);
}

// The element type a typed view parameter requires (nullopt: a view of void, or not a view).
template <class P>
constexpr std::optional<DataType> required_dtype() {
  using T = std::remove_cvref_t<P>;
  if constexpr (is_view<T>::value) {
    using E = std::remove_cv_t<typename T::element_type>;
    if constexpr (!std::is_void_v<E>) return dtype_v<E>;
  }
  return std::nullopt;
}

// Why an impl with parameters P... cannot take `types` (inputs then outputs); empty if it can.
template <class... P>
std::string type_mismatch(TypeList<P...>, std::span<const DataType> types, size_t num_inputs) {
  using Ps = Params<ImplKindOf{}, TypeList<P...>>;
  constexpr std::optional<DataType> required[] = {required_dtype<P>()..., std::nullopt};
  for (size_t i = 0; i < sizeof...(P); ++i) {
    if (!required[i]) continue;
    size_t pos =
        static_cast<size_t>(Ps::ordinal(i)) + (Ps::kinds[i] == Kind::Output ? num_inputs : 0);
    if (pos < types.size() && types[pos] != *required[i])
      return fmt::format("{} {} is {}, the impl takes {}",
                         Ps::kinds[i] == Kind::Output ? "output" : "input", Ps::ordinal(i),
                         name(types[pos]), name(*required[i]));
  }
  return {};
}

// Calls a desc-shaped `f` (desc, autotune, aot_impl).
template <class F, class... P, size_t... I, class A>
decltype(auto) call_desc(F const& f, TypeList<P...>, std::index_sequence<I...>, A const* attrs,
                         std::span<const TensorDesc> in, Outputs out, Tactic tactic) {
  using Ps = Params<DescKindOf{}, TypeList<P...>>;
  [[maybe_unused]] auto arg = [&]<size_t i, class Param>() -> decltype(auto) {
    constexpr Kind k = Ps::kinds[i];
    using T = std::remove_cvref_t<Param>;
    if constexpr (k == Kind::Input)
      return static_cast<TensorDesc const&>(in[static_cast<size_t>(Ps::ordinal(i))]);
    else if constexpr (k == Kind::Outputs)
      return out;
    else if constexpr (k == Kind::Attrs)
      return static_cast<T const&>(*attrs);
    else
      return tactic;
  };
  return f(arg.template operator()<I, P>()...);
}

struct NoAttrs {};

template <class S>
S decode_or_empty(Attrs const& a) {
  if constexpr (std::is_same_v<S, NoAttrs>)
    return {};
  else
    return decode<S>(a);
}
template <class S>
std::vector<std::string> field_names() {
  std::vector<std::string> names;
  if constexpr (!std::is_same_v<S, NoAttrs>)
    std::apply([&](auto... f) { (names.emplace_back(f.name), ...); },
               qdp_attr_fields(static_cast<S const*>(nullptr)));
  return names;
}

// Checks a desc-shaped callable's parameters against the plugin's inputs and attributes.
template <class Sig, class DescAttrs, int NumIn>
constexpr bool desc_like_valid() {
  using Ps = Params<DescKindOf{}, typename Sig::params>;
  if constexpr (!Ps::all_known() || Ps::count(Kind::Attrs) > 1)
    return false;
  else if constexpr (NumIn >= 0 && Ps::count(Kind::Input) != NumIn)
    return false;
  else if constexpr (Ps::count(Kind::Attrs) == 1 && !std::is_same_v<DescAttrs, void>)
    return std::is_same_v<typename Ps::attrs_value, DescAttrs>;
  else
    return true;
}
template <class Sig, class DescAttrs, int NumIn>
constexpr void check_desc_like() {
  using Ps = Params<DescKindOf{}, typename Sig::params>;
  static_assert(
      Ps::all_known(),
      "qdp: a desc/autotune/aot_impl parameter has a type qdp does not know. Take inputs as "
      "qdp::TensorDesc const&, the attributes as the struct declared with QDP_ATTRS, the "
      "output descs as qdp::Outputs and the tactic as qdp::Tactic.");
  static_assert(Ps::count(Kind::Attrs) <= 1, "qdp: take the attributes as one struct.");
  static_assert(NumIn < 0 || Ps::count(Kind::Input) == NumIn,
                "qdp: this callable takes a different number of qdp::TensorDesc inputs than desc.");
  if constexpr (Ps::count(Kind::Attrs) == 1 && !std::is_same_v<DescAttrs, void>)
    static_assert(std::is_same_v<typename Ps::attrs_value, DescAttrs>,
                  "qdp: autotune and aot_impl take the same attribute struct as desc.");
}

}  // namespace detail

// ---- the definition builder ---------------------------------------------------------------
// What QDP_PLUGIN declares: the definition is registered when the builder converts to it.
struct Registration {
  std::string id;
};

// A plugin definition being written. Every step checks what the compiler cannot; a mistake is
// kept and reported when the definition is committed, so that a definition in a plugin library
// never throws inside dlopen. [[nodiscard]]: a definition that is never committed (converted to
// qdp::Registration, or .commit()) would never be registered.
#define QDP_DETAIL_UNCOMMITTED                                                                 \
  [[nodiscard(                                                                                 \
      "a plugin definition does nothing until it is committed: declare it with QDP_PLUGIN or " \
      "end the chain with .commit()")]]
template <class A = void, int NumIn = -1, int NumOut = -1>
class QDP_DETAIL_UNCOMMITTED PluginBuilder {
 public:
  explicit PluginBuilder(PluginDefinition def, std::exception_ptr error = nullptr)
      : def_(std::move(def)), error_(std::move(error)) {}

  // desc(TensorDesc const& inputs..., [Attrs const&]) -> TensorDesc | std::tuple<TensorDesc...>
  template <class F>
  auto desc(F f) && {
    static_assert(NumIn < 0, "qdp: desc is defined twice.");
    using Sig = detail::signature<F>;
    using Ps = detail::Params<detail::DescKindOf{}, typename Sig::params>;
    detail::check_desc_like<Sig, void, -1>();
    static_assert(Ps::count(detail::Kind::Outputs) == 0 && Ps::count(detail::Kind::Tactic) == 0,
                  "qdp: desc takes only input descs and the attribute struct.");
    constexpr int outputs = detail::desc_outputs<std::remove_cvref_t<typename Sig::result>>::value;
    static_assert(outputs > 0, "qdp: desc returns a qdp::TensorDesc or a std::tuple of them.");
    using S = std::conditional_t<std::is_void_v<typename Ps::attrs_value>, detail::NoAttrs,
                                 typename Ps::attrs_value>;
    constexpr int inputs = Ps::count(detail::Kind::Input);
    if constexpr (outputs > 0 && detail::desc_like_valid<Sig, void, -1>()) {
      def_.num_inputs = inputs;
      def_.num_outputs = outputs;
      if constexpr (!std::is_same_v<S, detail::NoAttrs>) def_.attrs = detail::schema_of<S>();
      def_.desc = [f](std::span<const TensorDesc> in, Attrs const& a) {
        S s = detail::decode_or_empty<S>(a);
        return detail::to_vector(detail::call_desc(f, typename Sig::params{},
                                                   std::make_index_sequence<Sig::params::size>{},
                                                   &s, in, {}, {}));
      };
    }
    return PluginBuilder<S, inputs, (outputs > 0 ? outputs : 1)>(std::move(def_),
                                                                 std::move(error_));
  }

  // impl<Backend>(f) with a plain callable, or impl<Backend, T...>(f) with a generic one
  // (template <class T>) instantiated for each T and chosen by the types of the tensors it is
  // given: the T for which every typed input and output matches.
  template <class Backend, class... Types, class F>
  PluginBuilder impl(F f) && {
    static_assert(NumIn >= 0,
                  "qdp: define desc before impl: desc says what the inputs and outputs are.");
    if constexpr (sizeof...(Types) == 0) {
      static_assert(
          requires { &F::operator(); } || std::is_function_v<std::remove_pointer_t<F>>,
          "qdp: this impl is generic; list the element types it supports: "
          ".impl<qdp::cpu, float, qdp::half>(f).");
      if constexpr (requires { &F::operator(); } || std::is_function_v<std::remove_pointer_t<F>>)
        step([&] { add_impl<Backend, F>(std::move(f)); });
    } else {
      step([&] { add_generic_impl<Backend, F, Types...>(std::move(f)); });
    }
    return std::move(*this);
  }

  // autotune(TensorDesc const& inputs..., [Attrs const&], [qdp::Outputs]) ->
  // vector<AutoTuneCombination>
  template <class F>
  PluginBuilder autotune(F f) && {
    static_assert(NumIn >= 0, "qdp: define desc before autotune.");
    using Sig = detail::signature<F>;
    detail::check_desc_like<Sig, A, NumIn>();
    static_assert(std::is_convertible_v<typename Sig::result, std::vector<AutoTuneCombination>>,
                  "qdp: autotune returns a std::vector<qdp::AutoTuneCombination>.");
    // Only a valid callable is wrapped, so that a mistake shows the message above and nothing else.
    if constexpr (detail::desc_like_valid<Sig, A, NumIn>()) {
      def_.autotune = [f](std::span<const TensorDesc> in, Attrs const& a,
                          Outputs out) -> std::vector<AutoTuneCombination> {
        A s = detail::decode_or_empty<A>(a);
        return detail::call_desc(f, typename Sig::params{},
                                 std::make_index_sequence<Sig::params::size>{}, &s, in, out, {});
      };
    }
    return std::move(*this);
  }

  // aot_impl(TensorDesc const& inputs..., [Attrs const&], [qdp::Outputs], [qdp::Tactic]) ->
  // AotKernel
  template <class F>
  PluginBuilder aot_impl(F f) && {
    static_assert(NumIn >= 0, "qdp: define desc before aot_impl.");
    using Sig = detail::signature<F>;
    detail::check_desc_like<Sig, A, NumIn>();
    static_assert(std::is_convertible_v<typename Sig::result, AotKernel>,
                  "qdp: aot_impl returns a qdp::AotKernel.");
    if constexpr (detail::desc_like_valid<Sig, A, NumIn>()) {
      def_.aot_impl = [f](std::span<const TensorDesc> in, Attrs const& a, Outputs out,
                          Tactic t) -> AotKernel {
        A s = detail::decode_or_empty<A>(a);
        return detail::call_desc(f, typename Sig::params{},
                                 std::make_index_sequence<Sig::params::size>{}, &s, in, out, t);
      };
    }
    return std::move(*this);
  }

  // Inputs that desc and the impls read as values rather than data (a Reshape's shape, a Slice's
  // starts): each must be known when the engine is built (TensorDesc::value), and every impl,
  // on every backend, receives it as an INT64 tensor in host memory, evaluated for the run.
  [[nodiscard]] PluginBuilder shape_inputs(std::initializer_list<int> positions) && {
    static_assert(NumIn >= 0, "qdp: define desc before shape_inputs.");
    step([&] {
      for (int p : positions) {
        if (p < 0 || p >= NumIn)
          fail("plugin {}: shape input {} is not an input position (the plugin has {} inputs)",
               def_.id, p, NumIn);
        def_.shape_inputs.push_back(p);
      }
    });
    return std::move(*this);
  }

  // workspace(TensorDesc const& inputs..., [Attrs const&], [qdp::Outputs], [qdp::Tactic]) ->
  // qdp::ShapeExpr (or an integer): the bytes of scratch memory the impl needs, handed to it
  // as a qdp::Workspace parameter. Like TensorRT's getWorkspaceSize, per tactic.
  template <class F>
  PluginBuilder workspace(F f) && {
    static_assert(NumIn >= 0, "qdp: define desc before workspace.");
    using Sig = detail::signature<F>;
    detail::check_desc_like<Sig, A, NumIn>();
    static_assert(std::is_convertible_v<typename Sig::result, ShapeExpr>,
                  "qdp: workspace returns the bytes needed, as a qdp::ShapeExpr or an integer.");
    if constexpr (detail::desc_like_valid<Sig, A, NumIn>()) {
      def_.workspace = [f](std::span<const TensorDesc> in, Attrs const& a, Outputs out,
                           Tactic t) -> ShapeExpr {
        A s = detail::decode_or_empty<A>(a);
        return ShapeExpr(detail::call_desc(f, typename Sig::params{},
                                           std::make_index_sequence<Sig::params::size>{}, &s, in,
                                           out, t));
      };
    }
    return std::move(*this);
  }

  // Registers now (or, inside a plugin library, when the library is accepted); throws
  // qdp::Error for a mistake found while defining it, a duplicate ID, a missing impl, ...
  Registration commit() && {
    std::string id = def_.id;
    detail::commit_definition(std::move(def_), std::move(error_));
    return {id};
  }
  operator Registration() && { return std::move(*this).commit(); }  // NOLINT

 private:
  // Runs one step of the definition unless an earlier one failed; keeps what it throws.
  template <class G>
  void step(G&& g) {
    if (error_) return;
    try {
      g();
    } catch (...) {
      error_ = std::current_exception();
    }
  }

  // What every impl signature must satisfy, plain or generic; checked where the impl is attached.
  template <class Ps>
  static constexpr bool impl_params_valid() {
    return Ps::all_known() && Ps::count(detail::Kind::Input) == NumIn &&
           Ps::count(detail::Kind::Output) == NumOut && Ps::count(detail::Kind::Attrs) <= 1;
  }
  template <class Ps>
  static constexpr void check_impl_params() {
    static_assert(
        Ps::all_known(),
        "qdp: an impl parameter has a type qdp does not know. An impl takes qdp::In<T> inputs, "
        "qdp::Out<T> outputs, the attribute struct declared with QDP_ATTRS, qdp::Stream, "
        "qdp::Tactic and qdp::Workspace.");
    static_assert(Ps::count(detail::Kind::Input) == NumIn,
                  "qdp: the impl takes a different number of qdp::In inputs than desc takes "
                  "qdp::TensorDesc inputs.");
    static_assert(Ps::count(detail::Kind::Output) == NumOut,
                  "qdp: the impl takes a different number of qdp::Out outputs than desc returns.");
    static_assert(Ps::count(detail::Kind::Attrs) <= 1, "qdp: take the attributes as one struct.");
  }
  // The impl's attribute struct (NoAttrs when it takes none).
  template <class Ps>
  using ImplAttrs = std::conditional_t<std::is_void_v<typename Ps::attrs_value>, detail::NoAttrs,
                                       typename Ps::attrs_value>;
  // An impl whose attributes are S: checked against desc's, and only those stored in engines.
  template <class S>
  PluginImpl impl_for() const {
    check_subset<S>();
    PluginImpl impl;
    impl.attrs_used = detail::field_names<S>();
    return impl;
  }

  template <class Backend, class F>
  void add_impl(F f) {
    using Sig = detail::signature<F>;
    using Ps = detail::Params<detail::ImplKindOf{}, typename Sig::params>;
    check_impl_params<Ps>();
    if constexpr (impl_params_valid<Ps>()) {
      using S = ImplAttrs<Ps>;
      PluginImpl impl = impl_for<S>();
      auto call = [f](auto&&... args) { f(std::forward<decltype(args)>(args)...); };
      impl.bind = [call](Attrs const& a) -> BoundImpl {
        return [call, s = detail::decode_or_empty<S>(a)](std::span<const Tensor> in,
                                                         std::span<Tensor> out, Stream st, Tactic t,
                                                         Workspace w) {
          detail::call_impl(call, typename Sig::params{},
                            std::make_index_sequence<Sig::params::size>{}, &s, in, out, st, t, w);
        };
      };
      impl.check_types = [](std::span<const DataType> types) {
        return detail::type_mismatch(typename Sig::params{}, types, static_cast<size_t>(NumIn));
      };
      set_impl(Backend::device, std::move(impl));
    }
  }

  template <class T, class F>
  using TypedSig = detail::signature<decltype(&F::template operator()<T>)>;

  template <class Backend, class F, class... Types>
  void add_generic_impl(F f) {
    using First = TypedSig<std::tuple_element_t<0, std::tuple<Types...>>, F>;
    using Ps = detail::Params<detail::ImplKindOf{}, typename First::params>;
    check_impl_params<Ps>();
    if constexpr (impl_params_valid<Ps>()) {
      using S = ImplAttrs<Ps>;
      PluginImpl impl = impl_for<S>();
      std::string id = def_.id;
      impl.bind = [f, id](Attrs const& a) -> BoundImpl {
        return [f, id, s = detail::decode_or_empty<S>(a)](std::span<const Tensor> in,
                                                          std::span<Tensor> out, Stream st,
                                                          Tactic t, Workspace w) {
          std::vector<DataType> types;
          for (auto const& x : in) types.push_back(x.dtype);
          for (auto const& x : out) types.push_back(x.dtype);
          bool done =
              ((matches<Types, F>(types) && (call_typed<Types>(f, &s, in, out, st, t, w), true)) ||
               ...);
          if (!done)
            fail("plugin {}: no instantiation of the generic impl takes {} ({})", id,
                 describe(types, in.size()), mismatch<F, Types...>(types));
        };
      };
      impl.check_types = [](std::span<const DataType> types) -> std::string {
        if ((matches<Types, F>(types) || ...)) return {};
        return mismatch<F, Types...>(types);
      };
      set_impl(Backend::device, std::move(impl));
    }
  }

  template <class T, class F>
  static bool matches(std::span<const DataType> types) {
    return detail::type_mismatch(typename TypedSig<T, F>::params{}, types,
                                 static_cast<size_t>(NumIn))
        .empty();
  }
  // Why no listed type fits: what each instantiation objects to.
  template <class F, class... Types>
  static std::string mismatch(std::span<const DataType> types) {
    std::string s;
    ((s += fmt::format("{}with T = {}: {}", s.empty() ? "" : "; ", name(dtype_v<Types>),
                       detail::type_mismatch(typename TypedSig<Types, F>::params{}, types,
                                             static_cast<size_t>(NumIn)))),
     ...);
    return s;
  }
  static std::string describe(std::span<const DataType> types, size_t num_inputs) {
    std::string s = "inputs [";
    for (size_t i = 0; i < types.size(); ++i) {
      if (i == num_inputs)
        s += "] outputs [";
      else if (i > 0)
        s += ", ";
      s += name(types[i]);
    }
    return s + "]";
  }

  template <class T, class F, class S>
  static void call_typed(F const& f, S const* s, std::span<const Tensor> in, std::span<Tensor> out,
                         Stream st, Tactic t, Workspace w) {
    using Sig = TypedSig<T, F>;
    auto call = [&f](auto&&... args) {
      f.template operator()<T>(std::forward<decltype(args)>(args)...);
    };
    detail::call_impl(call, typename Sig::params{}, std::make_index_sequence<Sig::params::size>{},
                      s, in, out, st, t, w);
  }

  // The impl's attribute struct may be desc's or a subset of it: same names, same types.
  template <class S>
  void check_subset() const {
    if constexpr (!std::is_same_v<S, detail::NoAttrs>) {
      for (auto const& used : detail::schema_of<S>()) {
        auto it = std::find_if(def_.attrs.begin(), def_.attrs.end(),
                               [&](AttrSpec const& a) { return a.name == used.name; });
        if (it == def_.attrs.end())
          fail("plugin {}: the impl uses attribute '{}', which desc does not declare", def_.id,
               used.name);
        if (it->type != used.type)
          fail("plugin {}: the impl takes attribute '{}' as {}, but desc declares it {}", def_.id,
               used.name, name(used.type), name(it->type));
      }
    }
  }
  void set_impl(Device d, PluginImpl impl) {
    if (def_.impls.count(d)) fail("plugin {}: impl for {} is defined twice", def_.id, name(d));
    def_.impls.emplace(d, std::move(impl));
  }

  template <class, int, int>
  friend class PluginBuilder;
  PluginDefinition def_;
  std::exception_ptr error_;
};

// Starts a plugin definition. A malformed ID is reported when the definition is committed.
inline PluginBuilder<> define(std::string id) {
  std::exception_ptr error;
  try {
    validate_plugin_id(id);
  } catch (...) {
    error = std::current_exception();
  }
  PluginDefinition def;
  def.id = std::move(id);
  return PluginBuilder<>(std::move(def), std::move(error));
}

#define QDP_PLUGIN(var, id) \
  [[maybe_unused]] static ::qdp::Registration const var = ::qdp::define(id)

}  // namespace qdp
