// The main of the GPU tests: Catch2 as usual where a GPU is usable; elsewhere each test exits with
// code 77, which tests/CMakeLists.txt tells CTest means "skipped", after printing why.
// Listing the tests (what catch_discover_tests does at build time) works on every machine.
// Catch2 itself is tests/catch_session.cpp, shared with the other test programs.
#include "tests/catch_session.h"

#include "tensor/device.h"

#include <cstdio>
#include <string_view>

// Catch2 v2 options that only describe the program (--list-test-names-only, --list-reporters, ...).
static bool only_describes(int argc, char** argv) {
  for (int i = 1; i < argc; i++) {
    const std::string_view arg = argv[i];
    if (arg.substr(0, 6) == "--list" || arg == "-l" || arg == "-t" || arg == "-h" || arg == "-?" || arg == "--help" ||
        arg == "--version")
      return true;
  }
  return false;
}

int main(int argc, char** argv) {
  if (!only_describes(argc, argv) && !lab::cuda_available()) {
    std::printf("SKIPPED: %s\n", lab::cuda_unavailable_reason().c_str());
    return 77;
  }
  return lab::testing::run_catch(argc, argv);
}
