// Reading and writing safetensors: see safetensors.h for the layout and the API.
//
// The reader follows the reference (huggingface/safetensors, tensor.rs: read_metadata, validate)
// check by check, and is stricter where it is silent: duplicate keys, extra keys in a tensor entry,
// and shapes whose element count (zeros left out) overflows are refused, as are the dtypes and ranks
// a loralab Tensor cannot hold. Every message starts with the file, then the tensor.
// The writer follows the reference's `prepare`/`serialize`, so our files are byte-identical to theirs.
// Not here: what the tensors mean (nn/ maps names to modules).
#include "tensor/safetensors.h"

#include "tensor/atomic_file.h"
#include "tensor/json_io.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <numeric>
#include <set>
#include <tuple>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static_assert(std::endian::native == std::endian::little,
              "safetensors is little-endian and loralab copies its bytes as they are: a little-endian host is needed");

namespace lab {

namespace {

using json = nlohmann::json;

constexpr uint64_t kMaxHeaderSize = 100'000'000;  // the reference's MAX_HEADER_SIZE
constexpr uint64_t kMaxElements = uint64_t(INT64_MAX) / 8;  // so that every byte count fits in int64
constexpr const char* kSupported = "F32 F64 BF16 F16 I8 U8 I32 I64";

// The reference's `enum Dtype`, in its declaration order ("increasing alignment"): the writer puts
// tensors of a later dtype first, and the reader tells "not supported by us" from "not a dtype".
constexpr const char* kReferenceDtypes[] = {
    "BOOL", "F4", "F6_E2M3", "F6_E3M2",                                              // sub-byte
    "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ",       // 8 bits
    "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64"};  // 16 to 64 bits

int reference_rank(std::string_view dtype) {
  for (size_t i = 0; i < std::size(kReferenceDtypes); i++)
    if (dtype == kReferenceDtypes[i]) return int(i);
  return -1;
}

// Bytes from the file made safe for a one-line message: control bytes escaped; cut past `max` bytes.
std::string printable(std::string_view s, size_t max = SIZE_MAX) {
  size_t n = std::min(s.size(), max);
  while (n < s.size() && n > 0 && (uint8_t(s[n]) & 0xC0) == 0x80) n--;  // never cut a UTF-8 sequence in two
  std::string out;
  for (size_t i = 0; i < n; i++) {
    auto c = uint8_t(s[i]);
    if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
    else out += char(c);
  }
  if (n < s.size()) out += fmt::format("...({} bytes)", s.size());
  return out;
}
std::string quote_name(std::string_view s) {
  std::string out = "'";  // built by appending: GCC 12 warns (-Wrestrict, a false positive) on "'" + std::string
  out += printable(s, 100);
  return out += "'";
}
std::string brief(const json& j) { return printable(json_io::dump(j), 60); }

// Where the first byte that is not valid UTF-8 is (as Rust's str::from_utf8: no overlong forms,
// surrogates or code points past U+10FFFF), or n if there is none.
size_t invalid_utf8_at(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = p[i];
    if (c < 0x80) { i++; continue; }
    size_t len = 0;
    uint8_t lo = 0x80, hi = 0xBF;  // the range the second byte may take
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; lo = c == 0xE0 ? 0xA0 : 0x80; hi = c == 0xED ? 0x9F : 0xBF; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; lo = c == 0xF0 ? 0x90 : 0x80; hi = c == 0xF4 ? 0x8F : 0xBF; }
    else return i;
    if (n - i < len || p[i + 1] < lo || p[i + 1] > hi) return i;
    for (size_t k = 2; k < len; k++)
      if ((p[i + k] & 0xC0) != 0x80) return i;
    i += len;
  }
  return n;
}

// nlohmann keeps the last of two equal keys without a word, which would hide a tensor; its parser
// callback sees every key, so a second one is refused here. No safetensors header nests deeper than
// {name: {shape: [..]}}, so deeper input is refused before it is built.
json parse_header_json(const std::string& file, const char* begin, const char* end) {
  std::vector<std::set<std::string>> keys;  // the keys seen so far in each object still open
  std::string entry;                        // the top-level key being read
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) {
      LAB_CHECK(depth < 3, "{}: in the entry {}: the header nests deeper than a safetensors header can (expected {{name: {{\"shape\": [..]}}}})",
                file, quote_name(entry));
      if (event == json::parse_event_t::object_start) keys.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      keys.pop_back();
    } else if (event == json::parse_event_t::key) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (depth == 1) {
        LAB_CHECK(keys.back().insert(key).second, "{}: tensor name {} appears twice in the header (names must be unique)", file, quote_name(key));
        entry = key;
      } else {
        LAB_CHECK(keys.back().insert(key).second, "{}: key {} appears twice in the entry {}", file, quote_name(key), quote_name(entry));
      }
    }
    return true;
  };
  try {
    return json_io::parse_with_callback(std::string_view(begin, size_t(end - begin)), callback);
  } catch (const json::exception& e) {
    std::string what = e.what();  // "[json.exception.parse_error.101] parse error at ...": keep what follows the tag
    size_t tag = what.find("] ");
    LAB_FAIL("{}: header is not valid JSON: {}", file, printable(tag == std::string::npos ? what : what.substr(tag + 2), 300));
  }
}

// One tensor entry: exactly dtype, shape, data_offsets, consistent with each other.
SafetensorsEntry check_entry(const std::string& file, const std::string& name, const json& j) {
  std::string where = fmt::format("{}: tensor {}", file, quote_name(name));
  LAB_CHECK(j.is_object(), "{}: expected an object with dtype, shape and data_offsets, found {}", where, brief(j));
  for (const char* key : {"dtype", "shape", "data_offsets"})
    LAB_CHECK(j.contains(key), "{}: missing \"{}\" (expected dtype, shape and data_offsets)", where, key);
  for (const auto& item : j.items())
    LAB_CHECK(item.key() == "dtype" || item.key() == "shape" || item.key() == "data_offsets",
              "{}: unexpected key {} (expected only dtype, shape and data_offsets)", where, quote_name(item.key()));

  SafetensorsEntry e;
  e.name = name;
  const json& dtype = j.at("dtype");
  LAB_CHECK(dtype.is_string(), "{}: dtype must be a string such as \"F32\", found {}", where, brief(dtype));
  const auto& dname = dtype.get_ref<const std::string&>();
  if (!dtype_from_safetensors_name(dname, &e.dtype)) {
    LAB_CHECK(reference_rank(dname) < 0, "{}: dtype {} is valid safetensors but not supported by loralab (supported: {}; HINT: convert the "
              "tensor to one of them, e.g. in PyTorch, before loading)", where,
              quote_name(dname), kSupported);
    LAB_FAIL("{}: unknown dtype {} (expected one of {})", where, quote_name(dname), kSupported);
  }

  const json& shape = j.at("shape");
  LAB_CHECK(shape.is_array(), "{}: shape must be an array of non-negative integers, found {}", where, brief(shape));
  LAB_CHECK(shape.size() <= size_t(kMaxDims), "{}: shape {} has {} dims; loralab tensors have at most {}", where, brief(shape),
            shape.size(), kMaxDims);
  uint64_t nonzero_product = 1;
  bool has_zero = false;
  for (const json& d : shape) {
    LAB_CHECK(d.is_number_unsigned(), "{}: shape must be an array of non-negative integers, found {} in {}", where, brief(d), brief(shape));
    uint64_t size = d.get<uint64_t>();
    if (size == 0) has_zero = true;
    else LAB_CHECK(!__builtin_mul_overflow(nonzero_product, size, &nonzero_product) && nonzero_product <= kMaxElements,
                   "{}: shape {} is too large: its element count overflows 64-bit byte offsets", where, brief(shape));
    e.shape.push_back(int64_t(size));  // <= kMaxElements, checked above
  }

  const json& offsets = j.at("data_offsets");
  LAB_CHECK(offsets.is_array() && offsets.size() == 2 && offsets[0].is_number_unsigned() && offsets[1].is_number_unsigned(),
            "{}: data_offsets must be [begin, end], two non-negative integers, found {}", where, brief(offsets));
  e.begin = offsets[0].get<uint64_t>();
  e.end = offsets[1].get<uint64_t>();
  LAB_CHECK(e.end >= e.begin, "{}: data_offsets [{}, {}] end before they begin", where, e.begin, e.end);
  uint64_t expected = (has_zero ? 0 : nonzero_product) * dtype_size(e.dtype);
  LAB_CHECK(e.nbytes() == expected, "{}: data_offsets [{}, {}] hold {} bytes, expected {} for {} of shape {}", where, e.begin, e.end,
            e.nbytes(), expected, dtype_safetensors_name(e.dtype), shape_str(e.shape));
  return e;
}

}  // namespace

SafetensorsHeader parse_safetensors(const std::string& name, const uint8_t* data, size_t size) {
  LAB_CHECK(size >= 8, "{}: file is {} bytes, too small for a safetensors file (expected at least the 8-byte header length)", name, size);
  SafetensorsHeader h;
  std::memcpy(&h.header_size, data, 8);  // u64 little-endian, as the host (see the static_assert)
  LAB_CHECK(h.header_size <= kMaxHeaderSize, "{}: header length {} is over the safetensors limit of {} bytes (is this a safetensors file?)",
            name, h.header_size, kMaxHeaderSize);
  LAB_CHECK(h.header_size <= size - 8, "{}: header length {} runs past the end of the file (expected 8 + {} <= file size {})", name,
            h.header_size, h.header_size, size);
  const uint8_t* text = data + 8;
  size_t bad = invalid_utf8_at(text, h.header_size);
  LAB_CHECK(bad == h.header_size, "{}: header is not valid UTF-8 (byte 0x{:02x} at file offset {})", name, bad < h.header_size ? text[bad] : 0,
            8 + bad);
  // Leading and trailing JSON whitespace is allowed, as the reference allows it (writers pad).
  json root = parse_header_json(name, reinterpret_cast<const char*>(text), reinterpret_cast<const char*>(text + h.header_size));
  LAB_CHECK(root.is_object(), "{}: header must be a JSON object of tensors, found {}", name, brief(root));

  for (const auto& item : root.items()) {
    if (item.key() != "__metadata__") {
      h.entries.push_back(check_entry(name, item.key(), item.value()));
      continue;
    }
    const json& meta = item.value();
    LAB_CHECK(meta.is_object(), "{}: __metadata__ must be an object of string values, found {}", name, brief(meta));
    for (const auto& kv : meta.items()) {
      LAB_CHECK(kv.value().is_string(), "{}: __metadata__ value of {} must be a string (metadata maps strings to strings), found {}", name,
                quote_name(kv.key()), brief(kv.value()));
      h.metadata[kv.key()] = kv.value().get<std::string>();
    }
  }

  // The tensors, in offset order, must tile the data section: no hole, no overlap, nothing after.
  std::sort(h.entries.begin(), h.entries.end(),
            [](const SafetensorsEntry& a, const SafetensorsEntry& b) { return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name); });
  uint64_t covered = 0;
  for (size_t i = 0; i < h.entries.size(); i++) {
    const SafetensorsEntry& e = h.entries[i];
    LAB_CHECK(i > 0 || e.begin == 0, "{}: tensor {}: the first tensor's data_offsets begin at {}, expected 0 (the data section has no holes)", name,
              quote_name(e.name), e.begin);
    if (i == 0) { covered = e.end; continue; }
    const SafetensorsEntry& prev = h.entries[i - 1];
    LAB_CHECK(e.begin <= covered, "{}: tensor {}: data_offsets [{}, {}] leave a hole after tensor {}, which ends at {} (the data section must be packed)",
              name, quote_name(e.name), e.begin, e.end, quote_name(prev.name), covered);
    LAB_CHECK(e.begin >= covered, "{}: tensor {}: data_offsets [{}, {}] overlap tensor {} at [{}, {}]", name, quote_name(e.name), e.begin, e.end,
              quote_name(prev.name), prev.begin, prev.end);
    covered = e.end;
  }
  uint64_t data_size = size - h.data_start();
  LAB_CHECK(covered <= data_size, "{}: file is truncated: the tensors need {} bytes of data after the header, found {} (HINT: an interrupted "
                                  "download or copy?)", name, covered, data_size);
  LAB_CHECK(covered == data_size, "{}: {} trailing bytes after the last tensor (the tensors cover {} bytes of data, the file has {})", name,
            data_size - covered, covered, data_size);
  return h;
}

// --- SafetensorsFile

struct SafetensorsFile::Bytes {
  const uint8_t* data = nullptr;
  size_t size = 0;
  void* mapping = nullptr;     // from mmap, when the bytes are a file
  std::vector<uint8_t> owned;  // when they came from from_bytes
  ~Bytes() {
    if (mapping) munmap(mapping, size);
  }
};

SafetensorsFile::SafetensorsFile(std::string path, std::unique_ptr<Bytes> bytes)
    : path_(std::move(path)), bytes_(std::move(bytes)), size_(bytes_->size) {
  header_ = parse_safetensors(path_, bytes_->data, bytes_->size);
  for (size_t i = 0; i < header_.entries.size(); i++) index_[header_.entries[i].name] = i;
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;
SafetensorsFile::~SafetensorsFile() = default;

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // O_NONBLOCK: a FIFO must not hang us; no effect on files
  LAB_CHECK(fd >= 0, "{}: cannot open: {}", path, std::strerror(errno));
  struct stat st {};
  int stat_errno = fstat(fd, &st) == 0 ? 0 : errno;
  if (stat_errno != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    LAB_CHECK(stat_errno == 0, "{}: cannot stat: {}", path, std::strerror(stat_errno));
    LAB_FAIL("{}: {}, expected a safetensors file", path, S_ISDIR(st.st_mode) ? "is a directory" : "is not a regular file");
  }
  auto bytes = std::make_unique<Bytes>();
  bytes->size = size_t(st.st_size);
  if (bytes->size > 0) {  // mmap refuses 0 bytes; an empty file fails the parse as too small
    void* m = mmap(nullptr, bytes->size, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_errno = errno;
    ::close(fd);
    LAB_CHECK(m != MAP_FAILED, "{}: cannot map {} bytes: {}", path, bytes->size, std::strerror(map_errno));
    bytes->mapping = m;
    bytes->data = static_cast<const uint8_t*>(m);
  } else {
    ::close(fd);
  }
  return SafetensorsFile(path, std::move(bytes));
}

SafetensorsFile SafetensorsFile::from_bytes(const std::string& name, std::vector<uint8_t> data) {
  auto bytes = std::make_unique<Bytes>();
  bytes->owned = std::move(data);
  bytes->data = bytes->owned.data();
  bytes->size = bytes->owned.size();
  return SafetensorsFile(name, std::move(bytes));
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const SafetensorsEntry& e : header_.entries) out.push_back(e.name);
  return out;
}

// Levenshtein distance, on at most the first 200 bytes of each name (a suggestion, not a proof).
static size_t edit_distance(std::string_view a, std::string_view b) {
  a = a.substr(0, 200);
  b = b.substr(0, 200);
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), size_t(0));
  for (size_t i = 0; i < a.size(); i++) {
    size_t diagonal = row[0];
    row[0] = i + 1;
    for (size_t j = 0; j < b.size(); j++) {
      size_t above = row[j + 1];
      row[j + 1] = std::min({above + 1, row[j] + 1, diagonal + (a[i] != b[j])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

const SafetensorsEntry& SafetensorsFile::info(const std::string& name) const {
  auto it = index_.find(name);
  if (it != index_.end()) return header_.entries[it->second];
  LAB_CHECK(!header_.entries.empty(), "{}: no tensor named {} (the file has no tensors)", path_, quote_name(name));
  std::vector<std::pair<size_t, std::string>> ranked;
  for (const SafetensorsEntry& e : header_.entries) ranked.emplace_back(edit_distance(name, e.name), e.name);
  size_t shown = std::min<size_t>(3, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + shown, ranked.end());
  std::string closest;
  for (size_t i = 0; i < shown; i++) closest += (i ? ", " : "") + quote_name(ranked[i].second);
  LAB_FAIL("{}: no tensor named {} (closest of its {} tensors: {})", path_, quote_name(name), ranked.size(), closest);
}

Tensor SafetensorsFile::load(const std::string& name, Device device) const {
  const SafetensorsEntry& e = info(name);
  require_device(device);
  Tensor t;
  try {
    t = Tensor::empty(e.shape, e.dtype, Device::cpu());
  } catch (const OutOfMemory& oom) {
    throw OutOfMemory(fmt::format("{}: loading tensor {}: {}", path_, quote_name(name), oom.what()));
  }
  // The mapping holds the data at whatever alignment the header left it: copy bytes, never cast.
  if (e.nbytes() > 0) std::memcpy(t.raw_data(), bytes_->data + header_.data_start() + e.begin, e.nbytes());
  return t.to(device);
}

std::map<std::string, Tensor> SafetensorsFile::load_all(Device device) const {
  std::map<std::string, Tensor> out;
  for (const SafetensorsEntry& e : header_.entries) out[e.name] = load(e.name, device);
  return out;
}

std::map<std::string, Tensor> load_safetensors(const std::string& path, Device device) {
  return SafetensorsFile::open(path).load_all(device);
}

// --- writing

namespace {

using Sink = std::function<void(const void*, size_t)>;

// The reference's `prepare` + `serialize`: tensors sorted by dtype (the later in its enum first),
// then by name; packed from offset 0 in that order; compact JSON with __metadata__ first; the
// header padded with spaces to a multiple of 8 so that the data section starts 8-byte aligned.
void write_safetensors(const std::string& file, const NamedTensors& tensors, const std::map<std::string, std::string>& metadata,
                       const SafetensorsWriteOptions& options, const Sink& sink) {
  auto utf8 = [](const std::string& s) { return invalid_utf8_at(reinterpret_cast<const uint8_t*>(s.data()), s.size()) == s.size(); };
  std::set<std::string> seen;
  for (const auto& [name, t] : tensors) {
    LAB_CHECK(t.defined(), "{}: tensor {} is undefined (expected a tensor with data)", file, quote_name(name));
    LAB_CHECK(name != "__metadata__", "{}: a tensor cannot be named __metadata__ (the format keeps that key for metadata)", file);
    LAB_CHECK(utf8(name), "{}: tensor name {} is not valid UTF-8 (the JSON header needs UTF-8)", file, quote_name(name));
    LAB_CHECK(seen.insert(name).second, "{}: tensor name {} given twice (names must be unique)", file, quote_name(name));
  }
  std::map<std::string, std::string> meta = metadata;
  if (options.add_format_pt && !meta.count("format")) meta["format"] = "pt";
  for (const auto& [k, v] : meta)
    LAB_CHECK(utf8(k) && utf8(v), "{}: metadata {} = {} is not valid UTF-8 (the JSON header needs UTF-8)", file, quote_name(k), quote_name(v));

  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), size_t(0));
  auto rank = [&](size_t i) { return reference_rank(dtype_safetensors_name(tensors[i].second.dtype())); };
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return rank(a) != rank(b) ? rank(a) > rank(b) : tensors[a].first < tensors[b].first;
  });

  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!meta.empty()) header["__metadata__"] = meta;
  uint64_t offset = 0;
  for (size_t i : order) {
    const Tensor& t = tensors[i].second;
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    entry["dtype"] = dtype_safetensors_name(t.dtype());
    entry["shape"] = nlohmann::ordered_json::array();
    for (int64_t s : t.shape()) entry["shape"].push_back(s);
    entry["data_offsets"] = nlohmann::ordered_json::array({offset, offset + t.nbytes()});
    header[tensors[i].first] = std::move(entry);
    offset += t.nbytes();
  }
  std::string text = json_io::dump(header);
  text.resize((text.size() + 7) / 8 * 8, ' ');
  LAB_CHECK(text.size() <= kMaxHeaderSize, "{}: the header would be {} bytes, over the safetensors limit of {} (too many tensors or too much metadata)",
            file, text.size(), kMaxHeaderSize);

  uint64_t n = text.size();
  sink(&n, 8);
  sink(text.data(), text.size());
  for (size_t i : order) {
    Tensor packed = tensors[i].second.to(Device::cpu()).contiguous();  // one tensor at a time, so memory stays at one extra copy
    if (packed.nbytes() > 0) sink(packed.raw_data(), packed.nbytes());
  }
}

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors, const std::map<std::string, std::string>& metadata,
                      const SafetensorsWriteOptions& options) {
  AtomicFile out(path);
  write_safetensors(path, tensors, metadata, options, [&](const void* p, size_t n) { out.write(p, n); });
  out.commit();
}

std::vector<uint8_t> serialize_safetensors(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata,
                                           const SafetensorsWriteOptions& options) {
  std::vector<uint8_t> out;
  write_safetensors("<memory>", tensors, metadata, options, [&](const void* p, size_t n) {
    auto b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  });
  return out;
}

}  // namespace lab
