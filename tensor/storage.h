// Storage: one block of memory on one device, counted by the allocator. Tensors share it through
// a std::shared_ptr: a view is a new Tensor pointing at the same Storage, and the memory goes back
// to the allocator when the last tensor that uses it is gone.
#pragma once

#include "tensor/allocator.h"
#include "tensor/device.h"

#include <cstddef>

namespace lab {

class Storage {
public:
  Storage(Device device, size_t nbytes) : data_(allocate(device, nbytes)), nbytes_(nbytes), device_(device) {}
  ~Storage() { deallocate(device_, data_, nbytes_); }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

private:
  void* data_;
  size_t nbytes_;
  Device device_;
};

}  // namespace lab
