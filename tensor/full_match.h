// lab::FullMatch: does a whole string match a regular expression? std::regex_match with the
// ECMAScript grammar: PEFT's re.fullmatch of a target_modules string, and the names of the buffers
// a checkpoint holds beside its parameters (GPT-2's attn.bias, LLaMA's rotary_emb.inv_freq).
//
// Why a class of our own around std::regex: <regex> is all templates, and each file that used it
// compiled the whole engine again. On a one-line file that costs 5.3 s of g++ -O3 and 8.5 s of clang
// with the sanitizers (measured 2026-11-29); seven library files did it. Only full_match.cpp does now.
#pragma once

#include <memory>
#include <string>

namespace lab {

class FullMatch {
 public:
  // `what` names the pattern in an error ("inject_lora: target_regex"). A lab::Error when the pattern
  // is not a valid regular expression, or has a number of more than 6 digits (see full_match.cpp).
  FullMatch(const std::string& pattern, const std::string& what);
  bool operator()(const std::string& text) const;  // does all of text match?

 private:
  struct Compiled;  // the std::regex, known only to full_match.cpp
  std::shared_ptr<const Compiled> compiled_;
};

}  // namespace lab
