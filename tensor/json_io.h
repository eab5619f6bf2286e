// JSON text in and out (config.json, adapter_config.json, safetensors headers, summaries), compiled
// once. nlohmann::json's parser and writer are templates: every file that calls json::parse or
// .dump() compiles its own copy of them, 1-4 s a file (g++ -O3, clang with the sanitizers; measured
// 2026-11-29). The library, the lessons and the tools call these instead. Reading a parsed value
// (j.at("r").get<int>()) stays cheap and stays where it is used.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <string_view>

namespace lab::json_io {

// text as JSON; throws nlohmann::json::parse_error as nlohmann::json::parse does.
nlohmann::json parse(std::string_view text);

// text as JSON, or a lab::Error "SOURCE: not valid JSON: <what the parser said>".
nlohmann::json parse(std::string_view text, const std::string& source);

// text as JSON, or a value whose is_discarded() is true when the text is not JSON.
nlohmann::json parse_or_discarded(std::string_view text);

// text as JSON, with nlohmann's parser callback told of each key, value, object and array as it is
// read (safetensors.cpp refuses a repeated key with it: nlohmann would keep the last one silently).
// Throws as nlohmann::json::parse does; with allow_exceptions false, a value whose is_discarded() is true.
nlohmann::json parse_with_callback(std::string_view text, const nlohmann::json::parser_callback_t& callback,
                                   bool allow_exceptions = true);

// The file at `path` as JSON; throws lab::Error naming the file when it cannot be read or parsed.
nlohmann::json read_file(const std::filesystem::path& path);

// j as text: on one line, or indented by `indent` spaces. A string that is not valid UTF-8 throws
// nlohmann::json::type_error, or with replace_invalid_utf8 has those bytes shown as U+FFFD.
std::string dump(const nlohmann::json& j, int indent = -1, bool replace_invalid_utf8 = false);
// The same for an ordered_json, whose keys keep the order they were added in (a safetensors header
// written as the reference writer orders it); a plain json keeps its keys sorted.
std::string dump(const nlohmann::ordered_json& j, int indent = -1, bool replace_invalid_utf8 = false);

}  // namespace lab::json_io
