// A shared library that is not a qdp plugin library: no entry point.
extern "C" __attribute__((visibility("default"))) int answer() {
  return 42;
}
