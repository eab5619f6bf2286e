// JSON text in and out, the one copy of nlohmann::json's parser and writer (see json_io.h).
#include "tensor/json_io.h"

#include "tensor/error.h"

#include <fstream>
#include <sstream>

namespace lab::json_io {

nlohmann::json parse(std::string_view text) { return nlohmann::json::parse(text.begin(), text.end()); }

nlohmann::json parse(std::string_view text, const std::string& source) {
  try {
    return parse(text);
  } catch (const nlohmann::json::exception& e) {
    LAB_FAIL("{}: not valid JSON: {}", source, e.what());
  }
}

nlohmann::json parse_or_discarded(std::string_view text) {
  return nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
}

nlohmann::json parse_with_callback(std::string_view text, const nlohmann::json::parser_callback_t& callback, bool allow_exceptions) {
  return nlohmann::json::parse(text.begin(), text.end(), callback, allow_exceptions);
}

nlohmann::json read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  LAB_CHECK(in.good(), "{}: cannot open", path.string());
  std::ostringstream text;
  text << in.rdbuf();
  LAB_CHECK(!in.bad(), "{}: cannot read", path.string());
  return parse(text.str(), path.string());
}

namespace {

template <typename Json> std::string dump_as(const Json& j, int indent, bool replace_invalid_utf8) {
  using handler = nlohmann::json::error_handler_t;
  return j.dump(indent, ' ', /*ensure_ascii=*/false, replace_invalid_utf8 ? handler::replace : handler::strict);
}

}  // namespace

std::string dump(const nlohmann::json& j, int indent, bool replace_invalid_utf8) { return dump_as(j, indent, replace_invalid_utf8); }

std::string dump(const nlohmann::ordered_json& j, int indent, bool replace_invalid_utf8) {
  return dump_as(j, indent, replace_invalid_utf8);
}

}  // namespace lab::json_io
