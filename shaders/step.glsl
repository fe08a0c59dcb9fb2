// The step buffer: what changes from one decode/prefill step to the next. The host writes
// it before each replay of the recorded command buffer (runtime/vulkan_backend.cpp,
// StepHeader); every step-graph shader binds it at binding 0 and reads its token count
// and positions here instead of from push constants, so nothing is re-recorded.
layout(set = 0, binding = 0) readonly buffer Step {
  int n_tokens;        // tokens in this step, 1 .. the graph's max_tokens
  int first_position;  // position of token 0; token t is at first_position + t
  int reserved0, reserved1;
  int tokens[];        // n_tokens token ids
} step;

// Rows a tensor has in this step: per-token tensors one per token, others one.
uint rows_in_step(uint per_token) { return per_token != 0u ? uint(step.n_tokens) : 1u; }
