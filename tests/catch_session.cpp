// Catch2 itself (CATCH_CONFIG_RUNNER: all of the framework but main), compiled once and linked into
// every test program. Each program's main() is catch_main.cpp's, or test_cuda's own
// (cuda/cuda_test_main.cpp, which skips the GPU tests where no GPU is usable).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "tests/catch_session.h"

namespace lab::testing {

int run_catch(int argc, char** argv) { return Catch::Session().run(argc, argv); }

}  // namespace lab::testing
