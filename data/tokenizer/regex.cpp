// PCRE2 behind Regex (see regex.h): compile once with JIT when the platform has it, match left to right.
// Built without libpcre2-dev (LAB_HAS_PCRE2=0, see data/CMakeLists.txt), every Regex is an error saying so.
#include "data/tokenizer/regex.h"

#include "data/tokenizer/byte_level.h"
#include "tensor/error.h"

#if LAB_HAS_PCRE2
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace lab::data {

static std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  int n = pcre2_get_error_message(code, buffer, sizeof(buffer));
  return n < 0 ? fmt::format("PCRE2 error {}", code) : std::string(reinterpret_cast<char*>(buffer), size_t(n));
}

Regex::Regex(const std::string& pattern, const std::string& where) : pattern_(pattern), where_(where) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error, &offset, nullptr);
  LAB_CHECK(code != nullptr, "{}: bad regex at byte {} of \"{}\": {} (HINT: the pattern is compiled by PCRE2 with Unicode classes; "
            "tokenizers' own patterns are Oniguruma syntax, which PCRE2 reads)", where, offset, pattern, pcre2_message(error));
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // best effort: without JIT the interpreter runs the same pattern
  code_ = code;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

std::vector<std::pair<size_t, size_t>> Regex::find_all(std::string_view text) const {
  auto* code = static_cast<pcre2_code*>(code_);
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> match(pcre2_match_data_create_from_pattern(code, nullptr),
                                                                             &pcre2_match_data_free);
  std::unique_ptr<pcre2_match_context, decltype(&pcre2_match_context_free)> context(pcre2_match_context_create(nullptr),
                                                                                   &pcre2_match_context_free);
  // JIT's default 32 KiB stack is too small for a long run of one class; 8 MiB is plenty for these patterns
  std::unique_ptr<pcre2_jit_stack, decltype(&pcre2_jit_stack_free)> stack(pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr),
                                                                          &pcre2_jit_stack_free);
  LAB_CHECK(match && context && stack, "out of memory creating PCRE2 match data");
  pcre2_jit_stack_assign(context.get(), nullptr, stack.get());

  std::vector<std::pair<size_t, size_t>> spans;
  size_t start = 0;
  while (start < text.size()) {
    int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), start, 0, match.get(), context.get());
    if (rc == PCRE2_ERROR_NOMATCH) break;
    LAB_CHECK(rc >= 0, "{}: regex \"{}\" failed on a {} byte text: {} (HINT: a pattern that backtracks too much; try a simpler one)",
              where_, pattern_, text.size(), pcre2_message(rc));
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
    size_t begin = ovector[0], end = ovector[1];
    if (end > begin) {
      spans.emplace_back(begin, end);
      start = end;
    } else {
      start = begin + utf8_char_length(text, begin);  // an empty match: step over one character and look again
    }
  }
  return spans;
}

}  // namespace lab::data

#else

namespace lab::data {

Regex::Regex(const std::string& pattern, const std::string& where) : pattern_(pattern), where_(where) {
  LAB_FAIL("{}: cannot compile the regex \"{}\": loralab was built without PCRE2 (HINT: apt-get install libpcre2-dev, "
           "then configure and build again; ./lab installs it)", where, pattern);
}
Regex::~Regex() = default;
std::vector<std::pair<size_t, size_t>> Regex::find_all(std::string_view) const { LAB_UNREACHABLE(); }

}  // namespace lab::data

#endif
