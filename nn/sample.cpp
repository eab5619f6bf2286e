// generate(): the sampling loop (see sample.h).
#include "nn/sample.h"

#include "autograd/autograd.h"
#include "tensor/factory.h"

#include <algorithm>
#include <cmath>

namespace lab::nn {

namespace {

// Puts a module back in the mode it had, however the scope is left.
class ModeRestorer {
public:
  explicit ModeRestorer(Module& m) : m_(m), was_training_(m.is_training()) {}
  ~ModeRestorer() { m_.train(was_training_); }
  ModeRestorer(const ModeRestorer&) = delete;
  ModeRestorer& operator=(const ModeRestorer&) = delete;

private:
  Module& m_;
  bool was_training_;
};

int64_t argmax(const std::vector<float>& x) { return int64_t(std::max_element(x.begin(), x.end()) - x.begin()); }

// One draw from softmax(logits / temperature), restricted to the top_k largest logits.
int64_t sample_one(const std::vector<float>& logits, const SampleOptions& o, Generator& gen) {
  const int64_t V = int64_t(logits.size());
  double cutoff = -INFINITY;  // keep logits >= the k-th largest (ties at the cutoff all kept, as HF's TopKLogitsWarper)
  if (o.top_k > 0 && o.top_k < V) {
    std::vector<float> sorted = logits;
    std::nth_element(sorted.begin(), sorted.begin() + (o.top_k - 1), sorted.end(), std::greater<float>());
    cutoff = sorted[size_t(o.top_k - 1)];
  }
  const double top = *std::max_element(logits.begin(), logits.end());
  // p_i = exp((l_i - max) / T) / sum_j exp((l_j - max) / T), in double
  std::vector<double> p(size_t(V), 0.0);
  double total = 0;
  for (int64_t i = 0; i < V; i++)
    if (logits[size_t(i)] >= cutoff) total += p[size_t(i)] = std::exp((logits[size_t(i)] - top) / o.temperature);
  const double u = double(gen.uniform()) * total;
  double cumulative = 0;
  int64_t last = 0;
  for (int64_t i = 0; i < V; i++) {
    if (p[size_t(i)] == 0) continue;
    cumulative += p[size_t(i)];
    last = i;
    if (u < cumulative) return i;
  }
  return last;  // u landed on the rounding of the last sum
}

}  // namespace

std::vector<int64_t> generate(CausalLM& model, const std::vector<int64_t>& prompt, int64_t max_new_tokens, const SampleOptions& options,
                              const std::function<bool(int64_t token)>& stop) {
  LAB_CHECK(!prompt.empty(), "generate: the prompt is empty (HINT: start from at least one token, e.g. a newline)");
  LAB_CHECK(max_new_tokens >= 0, "generate: max_new_tokens must be >= 0, got {}", max_new_tokens);
  LAB_CHECK(std::isfinite(options.temperature) && options.temperature >= 0, "generate: temperature must be >= 0, got {}",
            options.temperature);
  LAB_CHECK(options.top_k >= 0, "generate: top_k must be >= 0 (0 = all tokens), got {}", options.top_k);
  ag::NoGradGuard no_grad;
  ModeRestorer restore(model);
  model.eval();
  Generator gen(options.seed);
  const int64_t P = model.context_length();
  std::vector<int64_t> tokens = prompt, out;
  KVCache cache;
  if (options.kv_cache) cache = model.make_kv_cache(1);
  int64_t base = 0;  // the cache holds tokens [base, base + cache.length()) at positions [0, cache.length())
  for (int64_t step = 0; step < max_new_tokens; step++) {
    const int64_t n = int64_t(tokens.size());
    Tensor logits;  // [1, T, V]: the logits of the T tokens fed
    int64_t T = 0;
    if (!options.kv_cache) {
      T = std::min<int64_t>(n, P);
      std::vector<int64_t> window(tokens.end() - T, tokens.end());
      logits = model.forward(from_vector(window, {1, T}));
    } else {
      if (n - base > P) {  // the window slides past the cache's positions: start over from the last P tokens
        cache.clear();
        base = n - P;
      }
      std::vector<int64_t> fresh(tokens.begin() + (base + cache.length()), tokens.end());  // not yet in the cache
      T = int64_t(fresh.size());
      logits = model.forward(from_vector(fresh, {1, T}), cache);
    }
    std::vector<float> last = logits.select(1, T - 1).to_vector<float>();  // the next token's logits [V]
    const int64_t next = options.temperature == 0 ? argmax(last) : sample_one(last, options, gen);
    tokens.push_back(next);
    out.push_back(next);
    if (stop && stop(next)) break;
  }
  return out;
}

}  // namespace lab::nn
