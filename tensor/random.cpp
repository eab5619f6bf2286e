// PCG32 and the float transforms of random.h.
#include "tensor/random.h"

#include <cmath>

namespace lab {

Generator::Generator(uint64_t seed) : seed_(seed), state_(0), inc_((seed << 1u) | 1u) {
  // PCG's seeding: step once, add the seed, step again.
  next_u32();
  state_ += 0x853c49e6748fea9bULL ^ seed;
  next_u32();
}

uint32_t Generator::next_u32() {
  uint64_t old = state_;
  state_ = old * 6364136223846793005ULL + inc_;
  uint32_t xorshifted = uint32_t(((old >> 18u) ^ old) >> 27u);
  uint32_t rot = uint32_t(old >> 59u);
  return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
}

float Generator::uniform() { return float(next_u32() >> 8) * (1.0f / 16777216.0f); }

float Generator::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  // u1 in (0, 1] so that log(u1) is finite.
  double u1 = (double(next_u32() >> 8) + 1.0) / 16777216.0;
  double u2 = double(next_u32() >> 8) / 16777216.0;
  double r = std::sqrt(-2.0 * std::log(u1));
  double theta = 6.283185307179586 * u2;
  spare_ = float(r * std::sin(theta));
  has_spare_ = true;
  return float(r * std::cos(theta));
}

}  // namespace lab
