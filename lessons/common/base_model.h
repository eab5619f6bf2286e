// The pretrained base of lessons 05-07: lesson 04's model (nn::tiny_gpt_config()) trained with
// base_training_options() on the generated corpus. One place, so that `./lab run 04` and a lesson
// that trains the base itself, because runs/04_tiny_transformer/model/ is missing, make the same model.
//
// Why 1800 steps (about 3.7M bytes seen): at 600 steps the base wrote the corpus's words and templates
// but copied nothing from its context (train/copy_probe.h: 1 of 100 with one fact in the prompt), and
// fine-tuning on lesson 05's task reached 8% in 150 steps; at 1800 it copies, and the same
// fine-tuning does far better (lessons/04_tiny_transformer/README.md has the measurements).
#pragma once

#include "lessons/common/lesson.h"
#include "train/trainer.h"

#include <string>

namespace lab::lesson {

// Lesson 04's training options for the base (steps, batch, lr schedule, evaluation, checkpoints).
train::TrainOptions base_training_options();

// `dir` when it holds a GPT folder whose context fits a task example (data::kTaskMaxExampleBytes);
// else trains one into OUT/base/model with lesson 04's recipe (with --quick: 2 layers, width 64,
// 10 steps, in seconds) and returns that folder. Says which on stdout.
std::string find_or_train_base(const std::string& dir, const Options& opt);

}  // namespace lab::lesson
