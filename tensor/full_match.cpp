// FullMatch: the one file that compiles std::regex (full_match.h says why).
#include "tensor/full_match.h"

#include "tensor/error.h"

#include <cctype>
#include <regex>

namespace lab {

struct FullMatch::Compiled {
  std::regex re;
};

FullMatch::FullMatch(const std::string& pattern, const std::string& what) {
  // libstdc++'s std::regex reads a repeat count or a back-reference number into an int with no bound
  // (a signed overflow, undefined behaviour: the fuzzer found the back-reference \44444444444444444444).
  // No pattern over names needs a number of more than 6 digits, so longer ones are refused before
  // std::regex sees them.
  size_t digits = 0;
  for (char c : pattern) {
    digits = std::isdigit(static_cast<unsigned char>(c)) ? digits + 1 : 0;
    LAB_CHECK(digits <= 6, "{} '{}' has a number of more than 6 digits (a repeat count or back-reference that large is not a pattern "
              "over names)", what, pattern);
  }
  try {
    compiled_ = std::make_shared<const Compiled>(Compiled{std::regex(pattern)});
  } catch (const std::regex_error& e) {
    LAB_FAIL("{} '{}' is not a valid regular expression ({})", what, pattern, e.what());
  }
}

bool FullMatch::operator()(const std::string& text) const { return std::regex_match(text, compiled_->re); }

}  // namespace lab
