// Files that appear whole or not at all: bytes go to "<path>.tmp.<pid>" in the same folder, which
// is fsynced and then renamed over `path` (rename is atomic within a file system). A process killed
// mid-write leaves `path` as it was, plus its temporary file; the next writer of the same path
// removes such leftovers whose process is gone, so killed runs do not fill the folder.
//
//   AtomicFile out(path);  out.write(p, n); ...  out.commit();   // no commit: the temporary is removed
//   write_file_atomically("run/config.json", text);
//
// Used by safetensors (tensor/safetensors.cpp), config.json and adapter files.
// Not here: locking (two live writers of one path: the last rename wins, each file whole).
#pragma once

#include <string>
#include <string_view>

namespace lab {

class AtomicFile {
public:
  explicit AtomicFile(const std::string& path);  // creates the temporary file (lab::Error when it cannot)
  ~AtomicFile();                                 // removes the temporary file unless commit() ran
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);
  void commit();  // fsync, close, rename into place, fsync the folder
  const std::string& temporary_path() const { return tmp_; }

private:
  std::string path_, tmp_;
  int fd_ = -1;
  bool committed_ = false;
};

void write_file_atomically(const std::string& path, std::string_view bytes);

// Removes "<path>.tmp.<pid>" files whose process no longer runs; returns how many it removed.
int remove_stale_temporaries(const std::string& path);

}  // namespace lab
