// Catch2's test runner, compiled once in catch_session.cpp. Catch2 v2 declares its Session only in
// the file that compiles the framework, so a main() elsewhere calls it through this.
#pragma once

namespace lab::testing {

// Runs the tests the command line selects, as Catch2's own main() does; returns the exit status.
int run_catch(int argc, char** argv);

}  // namespace lab::testing
