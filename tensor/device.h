// Where a tensor's memory lives: the CPU, or one CUDA GPU.
//
// Every op dispatches on this once, with a plain `if (t.device().is_cuda())`, so grep finds where
// each op runs on each device. Whether CUDA was compiled in, and whether a GPU is present now, are
// two different questions: cuda_built() and cuda_available() answer them.
#pragma once

#include <string>
#include <string_view>

namespace lab {

enum class DeviceKind { cpu, cuda };

struct Device {
  DeviceKind kind = DeviceKind::cpu;
  int index = 0;  // which GPU; always 0 for the CPU

  static Device cpu() { return {DeviceKind::cpu, 0}; }
  static Device cuda(int index = 0) { return {DeviceKind::cuda, index}; }
  bool is_cpu() const { return kind == DeviceKind::cpu; }
  bool is_cuda() const { return kind == DeviceKind::cuda; }
  bool operator==(const Device& o) const { return kind == o.kind && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const;  // "cpu", "cuda:0"
};

// "cpu", "cuda", "cuda:1". Anything else is a lab::Error that lists what is allowed.
Device parse_device(std::string_view name);

bool cuda_built();      // was loralab compiled with nvcc?
bool cuda_available();  // ... and is there a GPU we can use right now?
// Why there is no GPU to use, in one line ("loralab was built without CUDA", "no CUDA device: ...").
std::string cuda_unavailable_reason();
// Throws a lab::Error with cuda_unavailable_reason() unless `d` is usable.
void require_device(Device d);

}  // namespace lab
