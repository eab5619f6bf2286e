// How parameters start: in-place fills drawn from a Generator, as torch.nn.init does.
//
// Each writes into an existing tensor (any dtype or device: values are drawn on the CPU in
// row-major order and copied in), so a seed gives the same model everywhere. Records no graph.
// Not here: which layer uses which (see each layer's constructor). Next: linear.h.
#pragma once

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace lab::nn::init {

void uniform_(const Tensor& t, double low, double high, Generator& gen);  // U[low, high)
void normal_(const Tensor& t, double mean, double std, Generator& gen);
void zeros_(const Tensor& t);
void ones_(const Tensor& t);
// fan_in = size(1) * (product of the dims after it): the inputs each output row sees, for a [out, in, ...] weight.
int64_t fan_in(const Tensor& t);
// torch.nn.init.kaiming_uniform_(t, a) with mode fan_in and leaky_relu gain; returns the bound used.
double kaiming_uniform_(const Tensor& t, double a, Generator& gen);

}  // namespace lab::nn::init
