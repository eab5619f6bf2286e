// Lesson 07: paged AdamW. A full fine-tune of the lesson-04 base under a memory budget that holds the
// model, its gradients and a step's activations, but not AdamW's two moments: plain AdamW stops with
// the allocator's OutOfMemory; PagedAdamW keeps m and v in pages that move to an unbudgeted host pool
// whenever the budget is short, and trains, bit for bit as AdamW would. Halfway, a few batches padded
// to the whole context (a memory spike) page the state out for their activations; it comes back after.
// Last, 8-bit state (AdamW8bit): a quarter of the bytes, and its loss curve beside the 32-bit one.
// README.md beside this file has the math; optim/page_manager.h and optim/paged_adamw.h are new here.
#include "data/task.h"
#include "lessons/common/base_model.h"
#include "lessons/common/lesson.h"
#include "nn/gpt_checkpoint.h"
#include "optim/paged_adamw.h"
#include "tensor/all.h"
#include "train/data_source.h"
#include "train/finetune.h"
#include "train/plot.h"
#include "train/trainer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>

using namespace lab;

namespace {

// What a paged run did in one step: its pager's counts then, and the step's wall time.
struct StepPaging {
  PagingStats delta;
  double seconds = 0;
};

std::vector<float> all_weights(nn::GPT& model) {
  std::vector<float> out;
  for (const Tensor& p : model.parameters()) {
    const std::vector<float> v = p.to_vector<float>();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Lesson 07: paged AdamW, optimizer state that pages out under a memory budget"};
  lesson::Options opt;
  lesson::add_standard_flags(app, opt, "07_paged_adamw");
  std::string base = "runs/04_tiny_transformer/model";
  app.add_option("--base", base, "the pretrained model folder (lesson 04's); trained here if missing")->capture_default_str();
  train::FinetuneOptions f;
  f.steps = 40, f.batch_size = 2, f.lr = 5e-4, f.min_lr = 5e-5, f.warmup = 4;
  app.add_option("--steps", f.steps, "fine-tuning steps of each run (--quick: 8)")->check(CLI::Range(4, 100000))->capture_default_str();
  app.add_option("--batch", f.batch_size, "examples a step: few, so that the state weighs as much as the activations")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  size_t page_kib = 64;
  app.add_option("--page-kib", page_kib, "page size in KiB (--quick: 16)")->check(CLI::Range(1, 65536))->capture_default_str();
  double room = 0.5;
  app.add_option("--room", room, "the share of AdamW's state the budget has room for (at least the spike's extra)")
      ->check(CLI::Range(0.01, 0.95))
      ->capture_default_str();
  int64_t spike_steps = 3;
  app.add_option("--spike-steps", spike_steps, "steps at the whole context, halfway (--quick: 2)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();

  return lesson::run(app, argc, argv, opt, [&] {
    if (opt.quick) f.steps = std::min<int64_t>(f.steps, 8), page_kib = 16, spike_steps = 2;
    f.seed = opt.seed, f.quiet = opt.quick, f.page_bytes = page_kib * 1024;
    const int64_t spike_begin = f.steps / 2, spike_end = std::min(f.steps, spike_begin + spike_steps);
    auto in_spike = [&](int64_t s) { return s >= spike_begin && s < spike_end; };

    lesson::section("1. The base, the task, and a full fine-tune's memory without a budget");
    const std::string base_dir = lesson::find_or_train_base(base, opt);
    const int64_t context = nn::load_gpt_config(base_dir + "/config.json").n_positions;
    f.pad_to = [&](int64_t s) { return in_spike(s) ? context : int64_t(0); };  // the spike: rows padded to the whole context
    const std::vector<data::TaskExample> train_set = data::make_task(opt.seed, opt.quick ? 100 : 2000, data::TaskSplit::train);
    const std::vector<data::TaskExample> test_set = data::make_task(opt.seed, opt.quick ? 6 : 100, data::TaskSplit::test);
    fmt::print("{} steps of {} examples, every weight trained; steps {} to {} padded to {} tokens (the spike)\n", f.steps, f.batch_size,
               spike_begin + 1, spike_end, context);
    train::FinetuneResult ref;
    std::vector<float> ref_weights;
    double ref_test_loss = 0;
    {
      std::shared_ptr<nn::GPT> model = nn::load_gpt(base_dir, opt.device);
      model->name_parameters();
      ref = train::finetune_on_task(*model, train_set, f);
      ref_weights = all_weights(*model);
      ref_test_loss = train::task_loss(*model, test_set);
    }
    // the largest step outside the spike (from the second: the first has no state yet) and inside it
    size_t normal = 0, spike = 0;
    for (int64_t s = 1; s < f.steps; s++) {
      size_t& largest = in_spike(s) ? spike : normal;
      largest = std::max(largest, ref.step_peak_bytes[size_t(s)]);
    }
    const size_t state = ref.optimizer_bytes;
    fmt::print("AdamW, no budget: weights {}, gradients {}, AdamW's m and v {}; a step's peak {} ({} in the spike)\n",
               format_bytes(ref.weight_bytes), format_bytes(ref.grad_bytes), format_bytes(state), format_bytes(normal), format_bytes(spike));

    lesson::section("2. A budget that holds everything but AdamW's state");
    // budget = weights + gradients + activations (what a step holds besides m and v) + room for `room` of m and v,
    // and at least the spike's extra activations plus four pages, so that paging can always make the room
    const size_t spike_extra = spike > normal ? spike - normal : 0;
    const size_t room_bytes = std::max(size_t(room * double(state)), spike_extra + 4 * f.page_bytes);
    LAB_CHECK(room_bytes < state, "the spike needs {} more than a normal step, more than AdamW's state ({}): paging cannot make that room "
              "(HINT: fewer --spike-steps does not help; a larger --batch or a smaller --page-kib does)", format_bytes(spike_extra), format_bytes(state));
    const size_t before = memory_stats(opt.device).current;  // the data, the plots' buffers, ...: not the model's
    const size_t budget = before + (normal - state) + room_bytes;
    fmt::print("budget on {}: {} = {} already in use + {} for the model, gradients and activations + {} for pages of m and v\n",
               opt.device.str(), format_bytes(budget), format_bytes(before), format_bytes(normal - state), format_bytes(room_bytes));

    std::string oom_message;
    int64_t adamw_steps = 0;  // steps plain AdamW finished under the budget
    {
      std::shared_ptr<nn::GPT> model = nn::load_gpt(base_dir, opt.device);
      model->name_parameters();
      train::FinetuneOptions af = f;
      af.after_step = [&](int64_t s, const Optimizer&) { adamw_steps = s + 1; };
      set_memory_budget(opt.device, budget);
      try {
        train::finetune_on_task(*model, train_set, af);
      } catch (const OutOfMemory& e) {
        oom_message = e.what();
      }
      set_memory_budget(opt.device, 0);
    }
    if (oom_message.empty())
      fmt::print("plain AdamW under it: trained all {} steps (the budget is too loose)\n", f.steps);
    else
      fmt::print("plain AdamW under it, in step {}: {}\n", adamw_steps + 1, oom_message);

    lesson::section("3. PagedAdamW under the same budget");
    train::FinetuneOptions pf = f;
    pf.optimizer = train::OptimizerKind::paged_adamw;
    std::vector<StepPaging> steps;
    PagingStats last;
    auto clock_start = std::chrono::steady_clock::now();
    pf.after_step = [&](int64_t, const Optimizer& o) {
      const PagingStats& now = dynamic_cast<const PagedAdamW&>(o).pager().stats();
      StepPaging sp;
      sp.delta.page_ins = now.page_ins - last.page_ins, sp.delta.page_outs = now.page_outs - last.page_outs;
      sp.delta.page_outs_for_others = now.page_outs_for_others - last.page_outs_for_others;
      sp.delta.bytes_in = now.bytes_in - last.bytes_in, sp.delta.bytes_out = now.bytes_out - last.bytes_out;
      sp.delta.seconds = now.seconds - last.seconds;
      const auto t = std::chrono::steady_clock::now();
      sp.seconds = std::chrono::duration<double>(t - clock_start).count();
      clock_start = t, last = now;
      steps.push_back(sp);
    };
    train::FinetuneResult paged;
    bool weights_equal = false;
    {
      std::shared_ptr<nn::GPT> model = nn::load_gpt(base_dir, opt.device);
      model->name_parameters();
      set_memory_budget(opt.device, budget);
      clock_start = std::chrono::steady_clock::now();
      paged = train::finetune_on_task(*model, train_set, pf);
      set_memory_budget(opt.device, 0);
      weights_equal = all_weights(*model) == ref_weights;
    }
    fmt::print("{:>5} {:>7} {:>9} {:>9} {:>15} {:>10} {:>10} {:>9}\n", "step", "loss", "pages in", "out", "out for activ.", "moved",
               "paging ms", "step ms");
    double paging_seconds = 0, step_seconds = 0;
    for (size_t s = 0; s < steps.size(); s++) {
      const StepPaging& sp = steps[s];
      fmt::print("{:>5} {:>7.4f} {:>9} {:>9} {:>15} {:>10} {:>10.2f} {:>9.1f}{}\n", s + 1, paged.losses[s], sp.delta.page_ins, sp.delta.page_outs,
                 sp.delta.page_outs_for_others, format_bytes(sp.delta.bytes_in + sp.delta.bytes_out), 1e3 * sp.delta.seconds, 1e3 * sp.seconds,
                 in_spike(int64_t(s)) ? "  <- spike" : "");
      paging_seconds += sp.delta.seconds, step_seconds += sp.seconds;
    }
    const bool losses_equal = paged.losses == ref.losses;
    fmt::print("paging took {:.1f} ms of {:.1f} ms ({:.1f}%); losses {} AdamW's without a budget bit for bit, final weights {}\n",
               1e3 * paging_seconds, 1e3 * step_seconds, 100 * paging_seconds / step_seconds, losses_equal ? "equal" : "DIFFER from",
               weights_equal ? "equal" : "DIFFER");
    // the spike: pages sent out for activations in the spike's steps, against the steps around it
    auto mean_for_others = [&](int64_t from, int64_t to) {
      double sum = 0;
      int64_t n = 0;
      for (int64_t s = std::max<int64_t>(from, 1); s < std::min<int64_t>(to, f.steps); s++) sum += double(steps[size_t(s)].delta.page_outs_for_others), n++;
      return n ? sum / double(n) : 0.0;
    };
    const double out_before = mean_for_others(1, spike_begin), out_spike = mean_for_others(spike_begin, spike_end),
                 out_after = mean_for_others(spike_end, f.steps);
    fmt::print("pages sent out for activations, a step: {:.1f} before the spike, {:.1f} in it, {:.1f} after (each brought back by that step's update)\n",
               out_before, out_spike, out_after);

    lesson::section("4. 8-bit state: AdamW8bit, and PagedAdamW8bit under the same budget");
    train::FinetuneOptions ef = f;
    ef.optimizer = train::OptimizerKind::adamw8bit;
    train::FinetuneResult eight;
    double eight_test_loss = 0;
    {
      std::shared_ptr<nn::GPT> model = nn::load_gpt(base_dir, opt.device);
      model->name_parameters();
      eight = train::finetune_on_task(*model, train_set, ef);
      eight_test_loss = train::task_loss(*model, test_set);
    }
    ef.optimizer = train::OptimizerKind::paged_adamw8bit;
    PagingStats eight_paging;
    ef.after_step = [&](int64_t, const Optimizer& o) { eight_paging = dynamic_cast<const PagedAdamW8bit&>(o).pager().stats(); };
    {
      std::shared_ptr<nn::GPT> model = nn::load_gpt(base_dir, opt.device);
      model->name_parameters();
      set_memory_budget(opt.device, budget);
      train::finetune_on_task(*model, train_set, ef);
      set_memory_budget(opt.device, 0);
    }
    fmt::print("state: AdamW {} (8 bytes a weight), AdamW8bit {} ({:.2f} bytes a weight: codes of m and v, an f32 absmax per 256,\n"
               "f32 state for parameters under 4096 elements): {:.1f}% of AdamW's\n",
               format_bytes(state), format_bytes(eight.optimizer_bytes), double(eight.optimizer_bytes) * 8 / double(state),
               100.0 * double(eight.optimizer_bytes) / double(state));
    fmt::print("PagedAdamW8bit under the budget: {} page-ins, {} page-outs ({} for activations) in {} steps, against PagedAdamW's {} and {}\n",
               eight_paging.page_ins, eight_paging.page_outs, eight_paging.page_outs_for_others, f.steps, last.page_ins, last.page_outs);
    // batches of a few examples make single steps noisy: compare the mean of the last quarter, and held-out examples
    auto last_quarter = [&](const std::vector<double>& l) {
      const size_t from = l.size() - std::max<size_t>(1, l.size() / 4);
      double sum = 0;
      for (size_t s = from; s < l.size(); s++) sum += l[s];
      return sum / double(l.size() - from);
    };
    fmt::print("loss, mean of the last quarter of the steps: AdamW {:.4f}, AdamW8bit {:.4f}; on {} held-out examples: {:.4f} and {:.4f}\n",
               last_quarter(ref.losses), last_quarter(eight.losses), test_set.size(), ref_test_loss, eight_test_loss);
    train::Series s32{"AdamW (32-bit state)", {}, ref.losses}, s8{"AdamW8bit (8-bit state)", {}, eight.losses};
    std::vector<std::vector<double>> rows;
    for (size_t s = 0; s < ref.losses.size(); s++) {
      s32.x.push_back(double(s + 1)), s8.x.push_back(double(s + 1));
      rows.push_back({double(s + 1), ref.losses[s], eight.losses[s], double(steps[s].delta.page_ins), double(steps[s].delta.page_outs),
                      double(steps[s].delta.page_outs_for_others)});
    }
    train::write_svg_plot(opt.out_dir + "/loss_32bit_vs_8bit.svg", {s32, s8},
                          {"Full fine-tune: 32-bit against 8-bit Adam state", "step", "loss", false});
    train::write_csv(opt.out_dir + "/steps.csv",
                     {"step", "loss_adamw", "loss_adamw8bit", "paged_ins", "paged_outs", "paged_outs_for_activations"}, rows);

    nlohmann::json summary = {{"steps", f.steps}, {"spike_begin", spike_begin}, {"spike_end", spike_end}, {"budget", budget},
                              {"state_bytes", state}, {"adamw8bit_state_bytes", eight.optimizer_bytes},
                              {"adamw_oom", !oom_message.empty()}, {"adamw_oom_message", oom_message}, {"adamw_oom_step", adamw_steps + 1},
                              {"adamw_losses", ref.losses}, {"paged_losses", paged.losses}, {"adamw8bit_losses", eight.losses},
                              {"adamw_test_loss", ref_test_loss}, {"adamw8bit_test_loss", eight_test_loss}, {"losses_equal", losses_equal},
                              {"weights_equal", weights_equal}, {"paging_seconds", paging_seconds}, {"page_ins_total", last.page_ins},
                              {"page_outs_total", last.page_outs}, {"paged8bit_page_ins", eight_paging.page_ins},
                              {"paged8bit_page_outs", eight_paging.page_outs}};
    std::vector<uint64_t> outs, for_others;
    for (const StepPaging& sp : steps) outs.push_back(sp.delta.page_outs), for_others.push_back(sp.delta.page_outs_for_others);
    summary["page_outs"] = outs, summary["page_outs_for_activations"] = for_others;
    lesson::write_summary(opt, summary);
    fmt::print("\nwritten: {0}/summary.json, {0}/steps.csv, {0}/loss_32bit_vs_8bit.svg\n", opt.out_dir);
  });
}
