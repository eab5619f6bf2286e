// Formatting of lab::Error messages: see error.h.
#include "tensor/error.h"

#include <cstring>

#ifndef LAB_SOURCE_DIR
#define LAB_SOURCE_DIR ""
#endif

namespace lab {

// "/home/x/loralab/tensor/tensor.cpp" -> "tensor/tensor.cpp" (CMake defines LAB_SOURCE_DIR).
static const char* project_relative(const char* file) {
  size_t n = std::strlen(LAB_SOURCE_DIR);
  return (n > 0 && std::strncmp(file, LAB_SOURCE_DIR, n) == 0) ? file + n : file;
}

void throw_error(const char* file, int line, const std::string& message) {
  throw Error(fmt::format("{} (at {}:{})", message, project_relative(file), line));
}

void throw_internal(const char* file, int line, const char* condition) {
  throw Error(fmt::format("internal error: {} failed at {}:{} (a loralab bug: please report it with the command that triggered it)",
                          condition, project_relative(file), line));
}

std::string name_list(const std::vector<std::string>& names, size_t cap, const char* separator) {
  if (names.empty()) return "none";
  std::string out;
  for (size_t i = 0; i < names.size() && i < cap; i++) out += (i ? separator : "") + names[i];
  if (names.size() > cap) out += fmt::format(" and {} more", names.size() - cap);
  return out;
}

}  // namespace lab
