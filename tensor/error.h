// Errors: the one way loralab reports a problem.
//
//   LAB_CHECK(cond, "fmt", args...)  a user error (bad shape, bad file, bad flag): throws lab::Error
//                                    with what was expected and what was found.
//   LAB_ASSERT(cond)                 our own bug: an invariant that no input should be able to break.
//
// Library code throws; only a program's main() decides to print and exit (see tools/, lessons/).
// CUDA's own check, CUDA_CHECK, lives in cuda/cuda_check.h because only .cu files need it.
#pragma once

#include "tensor/error_types.h"  // lab::Error, lab::OutOfMemory

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <vector>

namespace lab {

// "message (at tensor/tensor.cpp:42)": the message first, because that is what a user reads.
[[noreturn]] void throw_error(const char* file, int line, const std::string& message);
[[noreturn]] void throw_internal(const char* file, int line, const char* condition);

// Names for a message: "a, b, c and 4 more" (at most `cap` of them), or "none" for an empty list.
std::string name_list(const std::vector<std::string>& names, size_t cap = 10, const char* separator = ", ");

}  // namespace lab

#define LAB_CHECK(cond, ...)                                                   \
  do {                                                                         \
    if (!(cond)) ::lab::throw_error(__FILE__, __LINE__, fmt::format(__VA_ARGS__)); \
  } while (0)

// Unconditional forms, for the end of a switch or a parse that found nothing.
#define LAB_FAIL(...) ::lab::throw_error(__FILE__, __LINE__, fmt::format(__VA_ARGS__))
#define LAB_UNREACHABLE() ::lab::throw_internal(__FILE__, __LINE__, "unreachable")

#define LAB_ASSERT(cond)                                                       \
  do {                                                                         \
    if (!(cond)) ::lab::throw_internal(__FILE__, __LINE__, #cond);             \
  } while (0)
