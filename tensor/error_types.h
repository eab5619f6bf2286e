// The exception types of loralab, alone, with nothing but the standard library: tensor/error.h adds
// the LAB_CHECK macros and fmt on top, and cuda/cuda_error.h derives the GPU's error from Error here,
// so that cuda/, which depends on nothing else of ours, still reports failures as lab::Error.
// Next: tensor/error.h.
#pragma once

#include <stdexcept>
#include <string>

namespace lab {

class Error : public std::runtime_error {
public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// An allocation past the memory budget (or past what the system gives); a separate type so
// that a caller such as the paged optimizer can catch exactly this and make room.
class OutOfMemory : public Error {
public:
  explicit OutOfMemory(const std::string& what) : Error(what) {}
};

}  // namespace lab
