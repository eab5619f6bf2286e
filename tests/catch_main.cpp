// The main() of every test program but test_cuda: Catch2's own (catch_session.cpp is the framework).
#include "tests/catch_session.h"

int main(int argc, char** argv) { return lab::testing::run_catch(argc, argv); }
