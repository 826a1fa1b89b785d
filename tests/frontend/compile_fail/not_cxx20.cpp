// Must not compile (this file is compiled as C++17): qdp's headers need C++20, and say so in one
// line rather than with the errors C++17 would find in them.
#include <qdp/qdp.hpp>
