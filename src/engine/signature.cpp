// Signed engines (include/qdp/signature.hpp): Ed25519ph (RFC 8032's pre-hashed Ed25519,
// libsodium's crypto_sign_init/update/final) over a domain tag and the engine file's bytes, so
// that an engine of any size is signed without a copy and a signature made for anything else does
// not verify as an engine's.
//
// Files (all little tagged binaries; the tag names the kind and the format version):
//   ENGINE.sig  "QDPSIG1\0", the signer's key id (the first 8 bytes of its public key; for the
//               message only, it proves nothing), the 64-byte signature
//   PREFIX.pub  "QDPPUB1\0", the 32-byte public key
//   PREFIX.key  "QDPSEC1\0", the 64-byte secret key (seed, then public key)
#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <qdp/error.hpp>
#include <qdp/signature.hpp>

#include "engine/engine_file.hpp"

namespace qdp {
namespace {

namespace ef = detail::engine_file;

constexpr size_t kTagSize = 8;
constexpr std::string_view kSignatureTag{"QDPSIG1\0", kTagSize};
constexpr std::string_view kPublicTag{"QDPPUB1\0", kTagSize};
constexpr std::string_view kSecretTag{"QDPSEC1\0", kTagSize};
constexpr size_t kKeyIdSize = 8;
constexpr size_t kSignatureFileSize = kTagSize + kKeyIdSize + crypto_sign_BYTES;
// Signed before the engine's bytes: a signature of the same bytes for another purpose differs.
constexpr std::string_view kDomain{"qdp engine signature 1\0", 23};

static_assert(sizeof(PublicKey::bytes) == crypto_sign_PUBLICKEYBYTES);
static_assert(sizeof(SecretKey::bytes) == crypto_sign_SECRETKEYBYTES);

void ready() {
  if (sodium_init() < 0) fail(ErrorCode::RuntimeFailure, "libsodium could not be initialized");
}

unsigned char const* uchars(std::byte const* p) {
  return reinterpret_cast<unsigned char const*>(p);
}
unsigned char* uchars(std::byte* p) {
  return reinterpret_cast<unsigned char*>(p);
}

std::string hex(std::span<const std::byte> bytes) {
  std::string s;
  for (std::byte b : bytes) s += fmt::format("{:02x}", std::to_integer<unsigned>(b));
  return s;
}

bool has_tag(std::span<const std::byte> file, std::string_view tag) {
  return file.size() >= tag.size() && std::memcmp(file.data(), tag.data(), tag.size()) == 0;
}

std::vector<std::byte> tagged(std::string_view tag, std::span<const std::byte> body) {
  std::vector<std::byte> out(tag.size() + body.size());
  std::memcpy(out.data(), tag.data(), tag.size());
  std::copy(body.begin(), body.end(), out.begin() + static_cast<std::ptrdiff_t>(tag.size()));
  return out;
}

// The body of a key file, after its tag and size are checked.
template <size_t N>
std::array<std::byte, N> key_body(std::string const& path, std::string_view noun,
                                  std::string_view tag, std::string_view advice) {
  std::vector<std::byte> file = ef::read_file(path, noun);
  std::array<std::byte, N> body{};
  if (!has_tag(file, tag) || file.size() != tag.size() + N) {
    sodium_memzero(file.data(), file.size());
    fail(ErrorCode::CorruptFile,
         "cannot load {} '{}': not a qdp {} file (it does not start with \"{}\" or is not {} "
         "bytes long){}",
         noun, path, noun, tag.substr(0, tag.size() - 1), tag.size() + N, advice);
  }
  std::copy(file.begin() + static_cast<std::ptrdiff_t>(tag.size()), file.end(), body.begin());
  sodium_memzero(file.data(), file.size());
  return body;
}

bool exists(std::string const& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// The Ed25519ph state over the domain tag and `engine`.
crypto_sign_state hashed(std::span<const std::byte> engine) {
  crypto_sign_state state;
  crypto_sign_init(&state);
  crypto_sign_update(&state, reinterpret_cast<unsigned char const*>(kDomain.data()),
                     kDomain.size());
  crypto_sign_update(&state, uchars(engine.data()), engine.size());
  return state;
}

constexpr std::string_view kKeyAdvice =
    "; make a key pair with qdpexec --genKeyPair PREFIX (PREFIX.key signs, PREFIX.pub verifies)";

}  // namespace

KeyPair generate_key_pair() {
  ready();
  KeyPair keys;
  crypto_sign_keypair(uchars(keys.public_key.bytes.data()), uchars(keys.secret_key.bytes.data()));
  return keys;
}

void save_key_pair(KeyPair const& keys, std::string const& prefix) {
  std::string pub = prefix + ".pub", key = prefix + ".key";
  for (auto const& path : {key, pub})
    if (exists(path))
      fail(
          "cannot save the key pair to '{}' and '{}': '{}' exists already; remove it first, or "
          "choose another prefix (a key is not overwritten)",
          key, pub, path);
  std::vector<std::byte> secret = tagged(kSecretTag, keys.secret_key.bytes);
  try {
    ef::write_file(key, secret, "the secret key", 0600);
  } catch (...) {
    sodium_memzero(secret.data(), secret.size());
    throw;
  }
  sodium_memzero(secret.data(), secret.size());
  ef::write_file(pub, tagged(kPublicTag, keys.public_key.bytes), "the public key", 0644);
}

PublicKey load_public_key(std::string const& path) {
  return {key_body<sizeof(PublicKey::bytes)>(path, "public key", kPublicTag, kKeyAdvice)};
}

SecretKey load_secret_key(std::string const& path) {
  ready();
  SecretKey key{key_body<sizeof(SecretKey::bytes)>(path, "secret key", kSecretTag, kKeyAdvice)};
  // The public half must be the seed's: a damaged key file would sign what nothing verifies.
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> pk{};
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> sk{};
  crypto_sign_seed_keypair(pk.data(), sk.data(), uchars(key.bytes.data()));
  bool same = sodium_memcmp(sk.data(), key.bytes.data(), sk.size()) == 0;
  sodium_memzero(sk.data(), sk.size());
  if (!same)
    fail(ErrorCode::CorruptFile,
         "cannot load secret key '{}': it is damaged (its public half does not belong to its "
         "seed){}",
         path, kKeyAdvice);
  return key;
}

std::vector<std::byte> sign_engine(std::span<const std::byte> engine, SecretKey const& key) {
  ready();
  crypto_sign_state state = hashed(engine);
  std::array<std::byte, crypto_sign_BYTES> signature{};
  crypto_sign_final_create(&state, uchars(signature.data()), nullptr, uchars(key.bytes.data()));
  std::vector<std::byte> file = tagged(kSignatureTag, {});
  // The key id: the public key's first bytes, the second half of libsodium's secret key.
  auto id = std::span(key.bytes).subspan(crypto_sign_SEEDBYTES, kKeyIdSize);
  file.insert(file.end(), id.begin(), id.end());
  file.insert(file.end(), signature.begin(), signature.end());
  return file;
}

void verify_engine(std::span<const std::byte> engine, std::span<const std::byte> signature,
                   PublicKey const& key, std::string_view origin) {
  ready();
  if (!has_tag(signature, kSignatureTag) || signature.size() != kSignatureFileSize)
    fail(ErrorCode::CorruptFile,
         "cannot load engine '{}': its signature is not a qdp engine signature (it does not start "
         "with \"QDPSIG1\" or is not {} bytes long); sign the engine again (qdpexec --signKey)",
         origin, kSignatureFileSize);
  auto id = signature.subspan(kTagSize, kKeyIdSize);
  auto ours = std::span<const std::byte>(key.bytes).first(kKeyIdSize);
  if (!std::equal(id.begin(), id.end(), ours.begin()))
    fail(ErrorCode::CorruptFile,
         "cannot load engine '{}': its signature was made with another key (key id {}), not "
         "with the one it is verified with (key id {}): verify with the signer's public key, or "
         "do not trust the engine",
         origin, hex(id), hex(ours));
  crypto_sign_state state = hashed(engine);
  std::array<unsigned char, crypto_sign_BYTES> sig{};
  std::memcpy(sig.data(), signature.data() + kTagSize + kKeyIdSize, sig.size());
  if (crypto_sign_final_verify(&state, sig.data(), uchars(key.bytes.data())) != 0)
    fail(ErrorCode::CorruptFile,
         "cannot load engine '{}': its signature does not verify with the given public key: the "
         "engine (or its signature) was changed after it was signed; do not load it, get it "
         "again from its builder",
         origin);
}

std::string signature_path(std::string const& engine_path) {
  return engine_path + ".sig";
}

void sign_engine_file(std::string const& path, SecretKey const& key) {
  std::vector<std::byte> engine = ef::read_file(path, "engine");
  ef::write_file(signature_path(path), sign_engine(engine, key), "the signature");
}

Engine load_verified_engine(std::string const& path, PublicKey const& key, int gpu) {
  std::string sig_path = signature_path(path);
  std::vector<std::byte> engine = ef::read_file(path, "engine");
  if (!exists(sig_path))
    fail(ErrorCode::NotFound,
         "cannot load engine '{}': it is not signed: its signature '{}' does not exist; a "
         "verified load needs the engine's signature beside it (qdpexec --saveEngine {} "
         "--signKey KEY writes both)",
         path, sig_path, path);
  std::vector<std::byte> signature = ef::read_file(sig_path, "signature");
  verify_engine(engine, signature, key, path);
  return Engine::deserialize(engine, path, gpu);
}

}  // namespace qdp
