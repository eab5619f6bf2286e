// Sequential's forward: x -> layer 0 -> layer 1 -> ...
#include "nn/sequential.h"

namespace lab::nn {

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (size_t i = 0; i < size(); i++) y = (*this)[i].forward(y);
  return y;
}

}  // namespace lab::nn
