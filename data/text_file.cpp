// Reading text and token-id files: see text_file.h.
// The file is opened once and checked through its descriptor (fstat), so what is checked is what is read.
#include "data/text_file.h"

#include "tensor/error.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lab::data {

namespace {

// Closes the descriptor on every way out, errors included.
struct FileDescriptor {
  int fd;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A token as a message shows it: quoted, bytes outside printable ASCII as \xNN, cut after 40 bytes.
std::string shown(std::string_view token) {
  std::string s = "'";
  for (size_t i = 0; i < token.size() && i < 40; i++) {
    unsigned char c = static_cast<unsigned char>(token[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') s += char(c);
    else s += fmt::format("\\x{:02x}", c);
  }
  if (token.size() > 40) s += fmt::format("...' ({} bytes)", token.size());
  else s += "'";
  return s;
}

}  // namespace

std::string read_text_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not hang; it changes nothing for a regular file
  FileDescriptor f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  LAB_CHECK(f.fd >= 0, "{}: cannot open: {} (HINT: check the path; a relative path starts from the current directory)", path,
            std::strerror(errno));
  struct stat st {};
  LAB_CHECK(::fstat(f.fd, &st) == 0, "{}: cannot stat: {}", path, std::strerror(errno));
  LAB_CHECK(!S_ISDIR(st.st_mode), "{}: is a directory, expected a text file (HINT: name one file inside it)", path);
  LAB_CHECK(S_ISREG(st.st_mode), "{}: is not a regular file (a device, socket or pipe), expected a text file", path);
  LAB_CHECK(st.st_size <= kMaxTextFileBytes, "{}: is {} bytes, larger than the {} byte (1 GiB) limit (HINT: train on a part of it)", path,
            int64_t(st.st_size), kMaxTextFileBytes);
  std::string text(size_t(st.st_size), '\0');
  size_t done = 0;
  while (done < text.size()) {
    ssize_t got = ::read(f.fd, text.data() + done, text.size() - done);
    if (got < 0 && errno == EINTR) continue;
    LAB_CHECK(got >= 0, "{}: cannot read: {}", path, std::strerror(errno));
    if (got == 0) break;  // the file shrank while we read it: keep what is there
    done += size_t(got);
  }
  text.resize(done);
  LAB_CHECK(!text.empty(), "{}: is empty, expected some text", path);
  return text;
}

std::vector<int64_t> parse_token_ids(std::string_view text, int64_t vocab_size, const std::string& source) {
  LAB_CHECK(vocab_size >= 1, "{}: vocab_size is {}, expected at least 1", source, vocab_size);
  std::vector<int64_t> ids;
  int64_t line = 1;
  size_t line_start = 0, i = 0;
  while (i < text.size()) {
    if (is_ascii_space(text[i])) {
      if (text[i] == '\n') {
        line++;
        line_start = i + 1;
      }
      i++;
      continue;
    }
    size_t start = i;
    while (i < text.size() && !is_ascii_space(text[i])) i++;
    std::string_view token = text.substr(start, i - start);
    int64_t column = int64_t(start - line_start) + 1;
    std::string where = fmt::format("{}:{}:{}", source, line, column);
    bool negative = token.size() > 1 && token[0] == '-';
    std::string_view digits = negative ? token.substr(1) : token;
    bool numeric = !digits.empty();
    for (char c : digits) numeric = numeric && is_digit(c);
    LAB_CHECK(numeric, "{}: token {} is not a token id: expected a decimal integer in [0, {}) (HINT: ids are separated by spaces or newlines)",
              where, shown(token), vocab_size);
    LAB_CHECK(!negative, "{}: token id {} is negative: ids must be in [0, {})", where, shown(token), vocab_size);
    // value = value * 10 + digit, refused before it passes INT64_MAX
    int64_t value = 0;
    bool overflow = false;
    for (char c : digits) {
      int d = c - '0';
      if (value > (INT64_MAX - d) / 10) {
        overflow = true;
        break;
      }
      value = value * 10 + d;
    }
    LAB_CHECK(!overflow, "{}: token id {} does not fit in 64 bits: ids must be in [0, {})", where, shown(token), vocab_size);
    LAB_CHECK(value < vocab_size, "{}: token id {} is too large: ids must be in [0, {}) (HINT: the ids come from a tokenizer with a larger vocabulary than this model's {})",
              where, value, vocab_size, vocab_size);
    ids.push_back(value);
  }
  LAB_CHECK(!ids.empty(), "{}: no token ids found, the input is empty or only whitespace (HINT: expected decimal ids such as \"15496 11 995\")",
            source);
  return ids;
}

std::vector<int64_t> read_token_ids(const std::string& path, int64_t vocab_size) {
  return parse_token_ids(read_text_file(path), vocab_size, path);
}

}  // namespace lab::data
