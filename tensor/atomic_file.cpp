// Atomic file writing: see atomic_file.h.
#include "tensor/atomic_file.h"

#include "tensor/error.h"

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <unistd.h>

namespace lab {

namespace fs = std::filesystem;

int remove_stale_temporaries(const std::string& path) {
  fs::path target(path);
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  const std::string prefix = target.filename().string() + ".tmp.";
  std::error_code ec;
  int removed = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    std::string pid_text = name.substr(prefix.size());
    if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9) continue;
    pid_t pid = pid_t(std::stol(pid_text));
    // kill(pid, 0) sends nothing: it only asks whether the process exists. ESRCH = it does not.
    if (pid == getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    if (fs::remove(it->path(), ec)) removed++;
  }
  return removed;
}

AtomicFile::AtomicFile(const std::string& path) : path_(path), tmp_(fmt::format("{}.tmp.{}", path, getpid())) {
  remove_stale_temporaries(path_);
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  LAB_CHECK(fd_ >= 0, "{}: cannot create the temporary file {}: {}", path_, tmp_, std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(tmp_.c_str());
}

void AtomicFile::write(const void* data, size_t n) {
  auto p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    LAB_CHECK(w > 0, "{}: cannot write: {} (the file was left as it was)", path_, w < 0 ? std::strerror(errno) : "no progress");
    p += w;
    n -= size_t(w);
  }
}

// fsync before rename, so that after a crash `path` holds the old file or the whole new one.
void AtomicFile::commit() {
  LAB_CHECK(::fsync(fd_) == 0, "{}: cannot flush to disk: {} (the file was left as it was)", path_, std::strerror(errno));
  int fd = fd_;
  fd_ = -1;
  LAB_CHECK(::close(fd) == 0, "{}: cannot close: {} (the file was left as it was)", path_, std::strerror(errno));
  LAB_CHECK(::rename(tmp_.c_str(), path_.c_str()) == 0, "{}: cannot rename {} into place: {}", path_, tmp_, std::strerror(errno));
  committed_ = true;
  // Make the rename itself durable; some file systems cannot fsync a directory, which is no error.
  std::string dir = fs::path(path_).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  AtomicFile out(path);
  out.write(bytes.data(), bytes.size());
  out.commit();
}

}  // namespace lab
