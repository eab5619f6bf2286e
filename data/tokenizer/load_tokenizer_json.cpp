// tokenizer.json -> BpeTokenizer (see load_tokenizer_json.h). Every error: file, JSON path, what was found.
#include "data/tokenizer/load_tokenizer_json.h"

#include "tensor/error.h"
#include "tensor/json_io.h"

#include <nlohmann/json.hpp>

#include <unordered_set>

namespace lab::data {

namespace {

using nlohmann::json;

// A JSON reader that knows where it is: each getter names file and path in its error.
struct Reader {
  std::string file;

  [[noreturn]] void fail(const std::string& path, const std::string& what) const { LAB_FAIL("{}: {}: {}", file, path, what); }

  const json& field(const json& obj, const std::string& path, const char* key) const {
    if (!obj.is_object()) fail(path, fmt::format("expected an object, found {}", obj.type_name()));
    auto it = obj.find(key);
    if (it == obj.end()) fail(path, fmt::format("missing the field \"{}\"", key));
    return *it;
  }
  const json* optional(const json& obj, const char* key) const {
    auto it = obj.find(key);
    return it == obj.end() || it->is_null() ? nullptr : &*it;
  }
  std::string string(const json& v, const std::string& path) const {
    if (!v.is_string()) fail(path, fmt::format("expected a string, found {} {}", v.type_name(), json_io::dump(v).substr(0, 60)));
    return v.get<std::string>();
  }
  bool boolean(const json& obj, const std::string& path, const char* key, bool fallback) const {
    const json* v = optional(obj, key);
    if (!v) return fallback;
    if (!v->is_boolean()) fail(path + "." + key, fmt::format("expected true or false, found {}", json_io::dump(*v).substr(0, 60)));
    return v->get<bool>();
  }
  int64_t integer(const json& v, const std::string& path, int64_t lo, int64_t hi) const {
    if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() >= hi)
      fail(path, fmt::format("expected an integer in [{}, {}), found {}", lo, hi, json_io::dump(v).substr(0, 60)));
    return v.get<int64_t>();
  }
  std::string type(const json& v, const std::string& path) const { return string(field(v, path, "type"), path + ".type"); }
  [[noreturn]] void unsupported(const std::string& path, const std::string& type, const char* what, const char* supported) const {
    fail(path, fmt::format("{} type \"{}\" is not supported; supported: {} (HINT: loralab reads the BPE tokenizers of the GPT-2, "
                           "LLaMA and SmolLM families)", what, type, supported));
  }
  // {"String": "..."} or {"Regex": "..."}: the literal, or the compiled regex
  void pattern(const json& v, const std::string& path, std::string& literal, std::shared_ptr<const Regex>& regex) const {
    if (const json* s = v.is_object() ? optional(v, "String") : nullptr) {
      literal = string(*s, path + ".String");
    } else if (const json* r = v.is_object() ? optional(v, "Regex") : nullptr) {
      regex = std::make_shared<const Regex>(string(*r, path + ".Regex"), file + ": " + path + ".Regex");
    } else {
      fail(path, fmt::format("expected {{\"String\": ...}} or {{\"Regex\": ...}}, found {}", json_io::dump(v).substr(0, 60)));
    }
  }
  PrependScheme prepend_scheme(const json& v, const std::string& path) const {
    if (const json* s = optional(v, "prepend_scheme")) {
      std::string scheme = string(*s, path + ".prepend_scheme");
      if (scheme == "always") return PrependScheme::Always;
      if (scheme == "first") return PrependScheme::First;
      if (scheme == "never") return PrependScheme::Never;
      fail(path + ".prepend_scheme", fmt::format("\"{}\" is not one of always, first, never", scheme));
    }
    return boolean(v, path, "add_prefix_space", true) ? PrependScheme::Always : PrependScheme::Never;  // the older files' field
  }
  // a component and each member of a Sequence of them, flattened in order
  template <class F>
  void each(const json& v, const std::string& path, const char* list_key, F&& one) const {
    if (v.is_null()) return;
    std::string t = type(v, path);
    if (t != "Sequence") return one(v, path, t);
    const json& list = field(v, path, list_key);
    if (!list.is_array()) fail(path + "." + list_key, fmt::format("expected an array, found {}", list.type_name()));
    for (size_t i = 0; i < list.size(); i++) each(list[i], fmt::format("{}.{}[{}]", path, list_key, i), list_key, one);
  }
};

BpeModel read_model(const Reader& r, const json& m) {
  const std::string path = "model";
  if (const json* t = r.optional(m, "type"); t && r.string(*t, "model.type") != "BPE")
    r.unsupported("model.type", t->get<std::string>(), "model", "BPE");
  if (const json* d = r.optional(m, "dropout"); d && !(d->is_number() && d->get<double>() == 0.0))
    r.fail("model.dropout", fmt::format("BPE dropout {} makes encoding random; only null (or 0) is supported", json_io::dump(*d)));
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (const json* v = r.optional(m, key); v && r.string(*v, fmt::format("model.{}", key)) != "")
      r.fail(fmt::format("model.{}", key), fmt::format("\"{}\" is not supported: only null (the byte-level and SentencePiece "
                                                      "BPEs have none; it is WordPiece-style BPE)", v->get<std::string>()));
  BpeOptions options;
  if (const json* u = r.optional(m, "unk_token")) options.unk_token = r.string(*u, "model.unk_token");
  options.fuse_unk = r.boolean(m, path, "fuse_unk", false);
  options.byte_fallback = r.boolean(m, path, "byte_fallback", false);
  options.ignore_merges = r.boolean(m, path, "ignore_merges", false);

  const json& v = r.field(m, path, "vocab");
  if (!v.is_object()) r.fail("model.vocab", fmt::format("expected an object {{\"token\": id}}, found {}", v.type_name()));
  std::unordered_map<std::string, int64_t> vocab;
  std::unordered_set<int64_t> ids;
  for (const auto& [token, id] : v.items()) {
    std::string where = fmt::format("model.vocab[\"{}\"]", token);
    int64_t value = r.integer(id, where, 0, int64_t(1) << 31);
    if (!ids.insert(value).second) r.fail(where, fmt::format("id {} is given to two tokens (HINT: each id names one token)", value));
    vocab.emplace(token, value);
  }
  BpeModel model(std::move(vocab), options, r.file);

  const json& merges = r.field(m, path, "merges");
  if (!merges.is_array()) r.fail("model.merges", fmt::format("expected an array, found {}", merges.type_name()));
  for (size_t i = 0; i < merges.size(); i++) {
    std::string where = fmt::format("model.merges[{}]", i);
    const json& e = merges[i];
    if (e.is_string()) {  // "a b"
      std::string s = e.get<std::string>();
      size_t space = s.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 == s.size() || s.find(' ', space + 1) != std::string::npos)
        r.fail(where, fmt::format("expected \"a b\" (two tokens and one space), found \"{}\"", s.substr(0, 60)));
      model.add_merge(s.substr(0, space), s.substr(space + 1), where);
    } else if (e.is_array() && e.size() == 2) {  // ["a", "b"]
      model.add_merge(r.string(e[0], where + "[0]"), r.string(e[1], where + "[1]"), where);
    } else {
      r.fail(where, fmt::format("expected \"a b\" or [\"a\", \"b\"], found {}", json_io::dump(e).substr(0, 60)));
    }
  }
  return model;
}

}  // namespace

std::unique_ptr<BpeTokenizer> parse_tokenizer_json(std::string_view text, const std::string& source) {
  json j;
  try {
    j = json_io::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number past double (1e999)
    LAB_FAIL("{}: not valid JSON: {} (HINT: the file may be cut short; download it again)", source, e.what());
  }
  Reader r{source};
  if (!j.is_object()) r.fail("(top level)", fmt::format("expected an object, found {}", j.type_name()));
  BpeModel model = read_model(r, r.field(j, "(top level)", "model"));

  std::vector<AddedToken> added;
  if (const json* list = r.optional(j, "added_tokens")) {
    if (!list->is_array()) r.fail("added_tokens", fmt::format("expected an array, found {}", list->type_name()));
    for (size_t i = 0; i < list->size(); i++) {
      std::string path = fmt::format("added_tokens[{}]", i);
      const json& a = (*list)[i];
      AddedToken t;
      t.id = r.integer(r.field(a, path, "id"), path + ".id", 0, int64_t(1) << 31);
      t.content = r.string(r.field(a, path, "content"), path + ".content");
      if (t.content.empty()) r.fail(path + ".content", "an added token cannot be empty");
      t.special = r.boolean(a, path, "special", false);
      t.lstrip = r.boolean(a, path, "lstrip", false);
      t.rstrip = r.boolean(a, path, "rstrip", false);
      if (r.boolean(a, path, "single_word", false))
        r.fail(path + ".single_word", "single_word: true is not supported (HINT: the LLaMA, GPT-2 and SmolLM files use false)");
      added.push_back(std::move(t));
    }
  }

  std::vector<Normalizer> normalizers;
  if (const json* n = r.optional(j, "normalizer"))
    r.each(*n, "normalizer", "normalizers", [&](const json& v, const std::string& path, const std::string& type) {
      if (type == "Prepend") {
        normalizers.push_back({Normalizer::Kind::Prepend, r.string(r.field(v, path, "prepend"), path + ".prepend"), nullptr, ""});
      } else if (type == "Replace") {
        Normalizer n{Normalizer::Kind::Replace, "", nullptr, r.string(r.field(v, path, "content"), path + ".content")};
        r.pattern(r.field(v, path, "pattern"), path + ".pattern", n.text, n.regex);
        normalizers.push_back(std::move(n));
      } else {
        r.unsupported(path, type, "normalizer", "Prepend, Replace, Sequence");
      }
    });

  std::vector<PreTokenizer> pre_tokenizers;
  auto file_and = [&](const std::string& path) { return source + ": " + path; };
  if (const json* p = r.optional(j, "pre_tokenizer"))
    r.each(*p, "pre_tokenizer", "pretokenizers", [&](const json& v, const std::string& path, const std::string& type) {
      if (type == "ByteLevel") {
        PreTokenizer b{.kind = PreTokenizer::Kind::ByteLevel};
        b.add_prefix_space = r.boolean(v, path, "add_prefix_space", true);
        b.use_regex = r.boolean(v, path, "use_regex", true);
        if (b.use_regex) b.regex = std::make_shared<const Regex>(kGpt2Pattern, "GPT-2's pattern");
        pre_tokenizers.push_back(std::move(b));
      } else if (type == "Split") {
        PreTokenizer s{.kind = PreTokenizer::Kind::Split};
        r.pattern(r.field(v, path, "pattern"), path + ".pattern", s.literal, s.regex);
        std::string behavior = r.string(r.field(v, path, "behavior"), path + ".behavior");
        if (behavior == "Removed") s.behavior = SplitBehavior::Removed;
        else if (behavior == "Isolated") s.behavior = SplitBehavior::Isolated;
        else if (behavior == "MergedWithPrevious") s.behavior = SplitBehavior::MergedWithPrevious;
        else if (behavior == "MergedWithNext") s.behavior = SplitBehavior::MergedWithNext;
        else if (behavior == "Contiguous") s.behavior = SplitBehavior::Contiguous;
        else r.fail(path + ".behavior", fmt::format("\"{}\" is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous", behavior));
        s.invert = r.boolean(v, path, "invert", false);
        pre_tokenizers.push_back(std::move(s));
      } else if (type == "Metaspace") {
        PreTokenizer m{.kind = PreTokenizer::Kind::Metaspace};
        m.replacement = r.string(r.field(v, path, "replacement"), path + ".replacement");
        if (m.replacement.empty()) r.fail(path + ".replacement", "the replacement character cannot be empty");
        m.prepend = r.prepend_scheme(v, path);
        m.split = r.boolean(v, path, "split", true);
        pre_tokenizers.push_back(std::move(m));
      } else if (type == "Digits") {  // numbers apart from the rest (SmolLM, StarCoder): a Split on \p{N}, as Rust's is_numeric
        PreTokenizer digits{.kind = PreTokenizer::Kind::Split};
        bool individual = r.boolean(v, path, "individual_digits", false);
        digits.regex = std::make_shared<const Regex>(individual ? R"(\p{N})" : R"(\p{N}+)", file_and(path));
        pre_tokenizers.push_back(std::move(digits));
      } else {
        r.unsupported(path, type, "pre_tokenizer", "ByteLevel, Split, Metaspace, Digits, Sequence");
      }
    });

  std::vector<Decoder> decoders;
  const json* d = r.optional(j, "decoder");
  if (d)
    r.each(*d, "decoder", "decoders", [&](const json& v, const std::string& path, const std::string& type) {
      if (type == "ByteLevel") {
        decoders.push_back({.kind = Decoder::Kind::ByteLevel});
      } else if (type == "ByteFallback") {
        decoders.push_back({.kind = Decoder::Kind::ByteFallback});
      } else if (type == "Fuse") {
        decoders.push_back({.kind = Decoder::Kind::Fuse});
      } else if (type == "Replace") {
        Decoder dec{.kind = Decoder::Kind::Replace};
        std::shared_ptr<const Regex> regex;
        r.pattern(r.field(v, path, "pattern"), path + ".pattern", dec.pattern, regex);
        if (regex) r.fail(path + ".pattern", "a Regex pattern in the Replace decoder is not supported, only {\"String\": ...}");
        dec.content = r.string(r.field(v, path, "content"), path + ".content");
        decoders.push_back(std::move(dec));
      } else if (type == "Strip") {
        Decoder dec{.kind = Decoder::Kind::Strip};
        dec.content = r.string(r.field(v, path, "content"), path + ".content");
        dec.start = r.integer(r.field(v, path, "start"), path + ".start", 0, 1 << 20);
        dec.stop = r.integer(r.field(v, path, "stop"), path + ".stop", 0, 1 << 20);
        decoders.push_back(std::move(dec));
      } else if (type == "Metaspace") {
        Decoder dec{.kind = Decoder::Kind::Metaspace};
        dec.replacement = r.string(r.field(v, path, "replacement"), path + ".replacement");
        if (dec.replacement.empty()) r.fail(path + ".replacement", "the replacement character cannot be empty");
        dec.prepend = r.prepend_scheme(v, path);
        decoders.push_back(std::move(dec));
      } else {
        r.unsupported(path, type, "decoder", "ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence");
      }
    });
  return std::make_unique<BpeTokenizer>(std::move(model), std::move(added), std::move(normalizers), std::move(pre_tokenizers),
                                        std::move(decoders), d != nullptr, source);
}

std::unique_ptr<BpeTokenizer> load_tokenizer_json(const std::string& path) {
  return parse_tokenizer_json(read_tokenizer_file(path), path);
}

}  // namespace lab::data
