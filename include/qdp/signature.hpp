#pragma once
// Signed engines (SPEC §5), for engine files that travel between parties: an Ed25519 signature
// (libsodium) over the engine file's bytes, made with the builder's secret key and verified with
// its public key before anything in the file is read. A checksum catches accidents; a signature
// catches tampering in transit. Neither makes an engine from an untrusted party safe to run: an
// engine with AOT kernels is executable code (README, "Trust model").
//
// The signature is a detached file beside the engine, ENGINE.sig, as minisign, signify and GPG
// write theirs: the engine file stays exactly what qdp writes (it loads without a key, and an
// engine built earlier can be signed later), and the signature covers the whole file, header
// included, with nothing to carve out.
//
// In libqdp_signing (CMake target qdp::signing), beside the runtime: programs that only load and
// run engines do not depend on libsodium unless they verify signatures.
#include <array>
#include <cstddef>
#include <qdp/api.hpp>
#include <qdp/engine.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qdp {

// What a loader verifies with: hand it out freely.
struct PublicKey {
  std::array<std::byte, 32> bytes{};
};
// What a builder signs with (libsodium's 64 bytes: the seed, then the public key): keep it
// secret.
struct SecretKey {
  std::array<std::byte, 64> bytes{};
};
struct KeyPair {
  PublicKey public_key;
  SecretKey secret_key;
};

// A fresh key pair from the system's random source.
QDP_API KeyPair generate_key_pair();
// Writes PREFIX.pub and PREFIX.key (the latter readable by its owner only); refuses to overwrite
// either. Key files are small tagged binary files; loading checks the tag and the size.
QDP_API void save_key_pair(KeyPair const& keys, std::string const& prefix);
QDP_API PublicKey load_public_key(std::string const& path);
QDP_API SecretKey load_secret_key(std::string const& path);

// The signature of engine bytes (an engine file's, or Engine::serialize()'s): the bytes of a
// .sig file.
QDP_API std::vector<std::byte> sign_engine(std::span<const std::byte> engine, SecretKey const& key);
// Returns when `signature` is `key`'s signature of exactly `engine`; otherwise a qdp::Error
// (CorruptFile) that says so, naming `origin`.
QDP_API void verify_engine(std::span<const std::byte> engine, std::span<const std::byte> signature,
                           PublicKey const& key, std::string_view origin = "<memory>");

// The signature file of an engine file: "ENGINE.sig".
QDP_API std::string signature_path(std::string const& engine_path);
// Signs the engine file at `path`: writes its signature file (to a temporary name, then renamed).
QDP_API void sign_engine_file(std::string const& path, SecretKey const& key);
// Engine::load with the signature checked first: reads `path` and its signature file and
// verifies them with `key` before the engine's bytes are parsed. A missing signature file is a
// qdp::Error (NotFound), a wrong one CorruptFile.
QDP_API Engine load_verified_engine(std::string const& path, PublicKey const& key, int gpu = 0);

}  // namespace qdp
