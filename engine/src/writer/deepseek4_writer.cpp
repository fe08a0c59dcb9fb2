// Tiny DeepSeek V4 models: the keys llama.cpp's converter writes for DeepseekV4ForCausalLM
// (conversion/deepseek.py DeepseekV4Model on TextModel.set_gguf_parameters, from a
// published-style config.json) and llama_model_deepseek4 reads, a "deepseek-v3" BPE
// vocabulary and DeepSeek V4's chat template.
//
// tiny: V4's features at toy sizes. Hidden 64 carried as 4 mHC streams (20 Sinkhorn
// rounds); 4 query heads over one shared K = V head of 128 whose last 16 dims rotate
// (interleaved pairs); low-rank queries (rank 32); a grouped low-rank output (2 groups of
// rank 16); learned sinks; a window of 8 raw tokens on every layer. Compress ratios
// [0, 4, 128, 4]: a window-only layer, two CSA layers (lightning indexer of 16 heads x 64,
// top 4 entries) and an HCA layer, so a run past 128 tokens completes an HCA block and has
// more CSA entries than the indexer keeps. Compressed layers use RoPE theta 160,000 with
// YaRN x4 from 256 (the window-only layer theta 10,000, unscaled). FFN: 8 experts (top 2,
// width 32, sqrtsoftplus router, weights normalised and scaled by 1.5) plus one shared
// expert, the first layer routed by token id (tid2eid). SwiGLU clamp 2.0, low enough that
// a few percent of the unit-scale activations hit it.
//
// The indexer has 16 heads, not fewer: a score is a sum of ReLU'd head scores, so with few
// heads many entries score exactly 0, and the pick among tied entries is the top-k
// implementation's own (llama.cpp's CPU std::partial_sort differs from any GPU sort).
// With 16 heads a zero score is rare (2^-16), so the picks are the model's, not the sort's.
//
// Sizes llama.cpp needs: hyper-connection count 4, indexer key length a multiple of 64
// (its indexer cache always Hadamard-rotates keys, with blocks of at least 64), RoPE dims
// <= the indexer key length. The head (128) differs from the indexer key length (64) as
// in the published models (512 / 128): equal lengths would make llama.cpp Hadamard-rotate
// the main attention too (harmless in exact arithmetic, but a path V4 does not take).
#include "writer/tiny_model.h"

namespace archscope {

namespace {

// DeepSeek V4's template (llama.cpp models/templates/deepseek-ai-DeepSeek-V4.jinja).
const char* const kDeepseek4ChatTemplate = R"jinja({%- if not add_generation_prompt is defined -%}
  {%- set add_generation_prompt = false -%}
{%- endif -%}
{%- if not thinking is defined -%}
  {%- if enable_thinking is defined -%}
    {%- set thinking = enable_thinking -%}
  {%- else -%}
    {%- set thinking = false -%}
  {%- endif -%}
{%- endif -%}
{%- if not drop_thinking is defined -%}
  {%- set drop_thinking = true -%}
{%- endif -%}
{%- set dsml_token = '｜DSML｜' -%}
{%- set thinking_start_token = '<think>' -%}
{%- set thinking_end_token = '</think>' -%}
{%- set reasoning_effort_max = 'Reasoning Effort: Absolute maximum with no shortcuts permitted.\nYou MUST be very thorough in your thinking and comprehensively decompose the problem to resolve the root cause, rigorously stress-testing your logic against all potential paths, edge cases, and adversarial scenarios.\nExplicitly write out your entire deliberation process, documenting every intermediate step, considered alternative, and rejected hypothesis to ensure absolutely no assumption is left unchecked.\n\n' -%}
{%- set response_format_template = '## Response Format:\n\nYou MUST strictly adhere to the following schema to reply:\n' -%}
{%- set has_tools = false -%}
{%- set tools_header = '## Tools\n\nYou have access to a set of tools to help answer the user\'s question. You can invoke tools by writing a "<' + dsml_token + 'tool_calls>" block like the following:\n\n<' + dsml_token + 'tool_calls>\n<' + dsml_token + 'invoke name="$TOOL_NAME">\n<' + dsml_token + 'parameter name="$PARAMETER_NAME" string="true|false">$PARAMETER_VALUE</' + dsml_token + 'parameter>\n...\n</' + dsml_token + 'invoke>\n<' + dsml_token + 'invoke name="$TOOL_NAME2">\n...\n</' + dsml_token + 'invoke>\n</' + dsml_token + 'tool_calls>\n\nString parameters should be specified as is and set `string="true"`. For all other types (numbers, booleans, arrays, objects), pass the value in JSON format and set `string="false"`.\n\nIf thinking_mode is enabled (triggered by ' + thinking_start_token + '), you MUST output your complete reasoning inside ' + thinking_start_token + '...' + thinking_end_token + ' BEFORE any tool calls or final response.\n\nOtherwise, output directly after ' + thinking_end_token + ' with tool calls or final response.\n\n### Available Tool Schemas\n\n' -%}
{%- set tools_footer = '\nYou MUST strictly follow the above defined tool name and parameter schemas to invoke tool calls.\n' -%}
{%- set ns = namespace(system_prompt='', is_first_sp=true, has_tool_calls=false) -%}
{%- for message in messages -%}
  {%- if message['role'] == 'system' -%}
    {%- if ns.is_first_sp -%}
      {%- set ns.system_prompt = ns.system_prompt + (message['content'] or '') -%}
      {%- set ns.is_first_sp = false -%}
    {%- else -%}
      {%- set ns.system_prompt = ns.system_prompt + '\n\n' + (message['content'] or '') -%}
    {%- endif -%}
  {%- endif -%}
{%- endfor -%}
{%- if tools is defined and tools -%}
  {%- set has_tools = true -%}
  {%- set ts = namespace(schemas='') -%}
  {%- for tool in tools -%}
    {%- if tool['type'] == 'function' -%}
      {%- set ts.schemas = ts.schemas + (tool['function'] | tojson) + '\n' -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if ns.system_prompt -%}
    {%- set ns.system_prompt = ns.system_prompt + '\n\n' + tools_header + ts.schemas + tools_footer -%}
  {%- else -%}
    {%- set ns.system_prompt = tools_header + ts.schemas + tools_footer -%}
  {%- endif -%}
{%- endif -%}
{%- if response_format is defined -%}
  {%- if ns.system_prompt -%}
    {%- set ns.system_prompt = ns.system_prompt + '\n\n' -%}
  {%- endif -%}
  {%- set ns.system_prompt = ns.system_prompt + response_format_template + (response_format | tojson) -%}
{%- endif -%}
{{- bos_token -}}
{%- if messages and thinking and reasoning_effort is defined and reasoning_effort == 'max' -%}
  {{- reasoning_effort_max -}}
{%- endif -%}
{{- ns.system_prompt -}}
{%- set last_user_idx = namespace(value=-1) -%}
{%- for message in messages -%}
  {%- if message['role'] == 'user' or message['role'] == 'developer' or message['role'] == 'tool' -%}
    {%- set last_user_idx.value = loop.index0 -%}
  {%- endif -%}
{%- endfor -%}
{%- set state = namespace(in_user=false) -%}
{%- for message in messages -%}
  {%- if message['role'] == 'tool' -%}
    {%- set ns.has_tool_calls = true -%}
  {%- endif -%}
{%- endfor -%}
{%- for message in messages -%}
  {%- if message['role'] == 'user' or message['role'] == 'developer' -%}
    {%- if state.in_user -%}
      {{- '\n\n' -}}
    {%- else -%}
      {{- '<｜User｜>' -}}
      {%- set state.in_user = true -%}
    {%- endif -%}
    {{- message['content'] or '' -}}
  {%- elif message['role'] == 'tool' -%}
    {%- if state.in_user -%}
      {{- '\n\n' -}}
    {%- else -%}
      {{- '<｜User｜>' -}}
      {%- set state.in_user = true -%}
    {%- endif -%}
    {{- '<tool_result>' + (message['content'] or '') + '</tool_result>' -}}
  {%- elif message['role'] == 'assistant' -%}
    {%- set state.in_user = false -%}
    {{- '<｜Assistant｜>' -}}
    {%- set is_after_last_user = loop.index0 > last_user_idx.value -%}
    {%- set keep_reasoning = thinking and ((not drop_thinking) or has_tools or is_after_last_user or ns.has_tool_calls) -%}
    {%- if keep_reasoning -%}
      {{- thinking_start_token -}}
      {%- if message['reasoning_content'] is defined and message['reasoning_content'] -%}
        {{- message['reasoning_content'] -}}
      {%- endif -%}
      {{- thinking_end_token -}}
    {%- else -%}
      {{- thinking_end_token -}}
    {%- endif -%}
    {%- if message['content'] is defined and message['content'] -%}
      {{- message['content'] -}}
    {%- endif -%}
    {%- if message['tool_calls'] -%}
      {{- '\n\n<' + dsml_token + 'tool_calls>\n' -}}
      {%- for tool in message['tool_calls'] -%}
        {%- set func = tool['function'] -%}
        {{- '<' + dsml_token + 'invoke name="' + func['name'] + '">\n' -}}
        {%- set args = func['arguments'] -%}
        {%- if args is string -%}
          {%- set args = args | from_json -%}
        {%- endif -%}
        {%- for key, val in args.items() -%}
          {%- if val is string -%}
            {{- '<' + dsml_token + 'parameter name="' + key + '" string="true">' + val + '</' + dsml_token + 'parameter>\n' -}}
          {%- else -%}
            {{- '<' + dsml_token + 'parameter name="' + key + '" string="false">' + (val | tojson) + '</' + dsml_token + 'parameter>\n' -}}
          {%- endif -%}
        {%- endfor -%}
        {%- if not args -%}
          {{- '\n' -}}
        {%- endif -%}
        {{- '</' + dsml_token + 'invoke>\n' -}}
      {%- endfor -%}
      {{- '</' + dsml_token + 'tool_calls>' -}}
    {%- endif -%}
    {{- '<｜end▁of▁sentence｜>' -}}
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
  {{- '<｜Assistant｜>' -}}
  {%- if thinking -%}
    {{- thinking_start_token -}}
  {%- else -%}
    {{- thinking_end_token -}}
  {%- endif -%}
{%- endif -%}
)jinja";

struct Deepseek4Shape {
  int hidden, layers, heads, head_dim, rope_dims, q_lora_rank, o_groups, o_lora_rank, window;
  std::vector<int32_t> ratios;  // compress ratio per layer: 0 window only, 4 CSA, 128 HCA
  int indexer_heads, indexer_dim, indexer_top_k;
  int hc, sinkhorn_iters;
  int experts, top_k, expert_ffn, shared_experts, hash_layers;
  double routed_scale, swiglu_limit;
  double rope_theta, compress_rope_theta, yarn_factor;
  int yarn_original_context, context, vocab;
};

Deepseek4Shape deepseek4_shape(const std::string&) {
  Deepseek4Shape s;
  s.hidden = 64;
  s.layers = 4;
  s.heads = 4;
  s.head_dim = 128;
  s.rope_dims = 16;
  s.q_lora_rank = 32;
  s.o_groups = 2;
  s.o_lora_rank = 16;
  s.window = 8;
  s.ratios = {0, 4, 128, 4};
  s.indexer_heads = 16;
  s.indexer_dim = 64;
  s.indexer_top_k = 4;
  s.hc = 4;
  s.sinkhorn_iters = 20;  // as published
  s.experts = 8;
  s.top_k = 2;
  s.expert_ffn = 32;
  s.shared_experts = 1;
  s.hash_layers = 1;
  s.routed_scale = 1.5;  // as published
  s.swiglu_limit = 2.0;  // published 10.0; 2.0 clamps a few percent of the tiny model's activations
  s.rope_theta = 10000.0;
  s.compress_rope_theta = 160000.0;
  s.yarn_factor = 4.0;
  s.yarn_original_context = 256;
  s.context = 1024;
  s.vocab = 512;
  return s;
}

// The spec as spec/deepseek4.cpp (build_layers) makes it from the metadata below.
TinyModelPlan deepseek4_plan(const std::string& preset) {
  const Deepseek4Shape s = deepseek4_shape(preset);
  ModelSpec spec;
  spec.name = "archscope " + preset + " deepseek4";
  spec.hidden = s.hidden;
  spec.context_length = s.context;
  spec.rms_eps = 1e-6;
  spec.tied_embeddings = false;
  spec.hc_width = s.hc;
  spec.hc_sinkhorn_iters = s.sinkhorn_iters;
  spec.q_lora_rank = s.q_lora_rank;
  spec.o_groups = s.o_groups;
  spec.o_lora_rank = s.o_lora_rank;
  spec.layers.resize(s.layers);
  for (int il = 0; il < s.layers; ++il) {
    const int ratio = s.ratios[il];
    LayerSpec& l = spec.layers[il];
    l.index = l.kv_source = il;
    l.attention = ratio == 4 ? AttentionKind::Csa : ratio == 128 ? AttentionKind::Hca : AttentionKind::Sliding;
    l.window = s.window;
    l.compress_ratio = ratio;
    l.q_heads = s.heads;
    l.kv_heads = 1;
    l.head_dim_k = l.head_dim_v = s.head_dim;
    l.k_equals_v = true;
    l.qk_norm = true;
    l.rope.rotary_dims = s.rope_dims;
    l.rope.rotary_offset = s.head_dim - s.rope_dims;  // the last dims rotate
    l.rope.neox = false;
    if (ratio == 0) {
      l.rope.theta = s.rope_theta;
    } else {  // compress_rope_freq_base with the file's YaRN, without its magnitude factor
      l.rope.theta = s.compress_rope_theta;
      l.rope.scaling = RopeScaling::Yarn;
      l.rope.factor = s.yarn_factor;
      l.rope.original_context = s.yarn_original_context;
      l.rope.attn_factor = 1.0;
    }
    if (ratio == 4) {
      l.indexer_heads = s.indexer_heads;
      l.indexer_dim = s.indexer_dim;
      l.indexer_top_k = s.indexer_top_k;
      // kv and score planes: 2*ratio positions x 2*head_dim, and the indexer's 2*ratio x 2*indexer_dim
      l.state_elements = 2ull * (2 * ratio) * (2ull * s.head_dim) + 2ull * (2 * ratio) * (2ull * s.indexer_dim);
    } else if (ratio == 128) {
      l.state_elements = 2ull * ratio * s.head_dim;
    }
    l.hc_width = s.hc;
    FfnSpec& f = l.ffn;
    f.kind = FfnKind::Moe;
    f.activation = Activation::Silu;
    f.experts = s.experts;
    f.active_experts = s.top_k;
    f.expert_width = s.expert_ffn;
    f.shared_experts = s.shared_experts;
    f.shared_width = s.expert_ffn;
    f.hash_routed = il < s.hash_layers;
    f.router_score = RouterScore::SqrtSoftplus;
    f.expert_bias = !f.hash_routed;
    f.normalize_weights = true;
    f.routed_scale = s.routed_scale;
    f.swiglu_limit = f.shared_swiglu_limit = s.swiglu_limit;
  }
  return {spec, small_vocab(SmallVocabStyle::DeepSeek3, s.vocab, kDeepseek4ChatTemplate)};
}

void deepseek4_metadata(const ModelSpec& spec, GgufWriter& w) {
  const std::string a = "deepseek4.";
  const LayerSpec& l0 = spec.layers.at(0);
  const LayerSpec* compressed = &l0;  // the YaRN and theta of the compressed layers
  const LayerSpec* csa = nullptr;     // the indexer's shape
  int hash_layers = 0;
  std::vector<int32_t> ratios;
  std::vector<float> clamp, shared_clamp;
  for (const LayerSpec& l : spec.layers) {
    ratios.push_back(l.compress_ratio);
    clamp.push_back(static_cast<float>(l.ffn.swiglu_limit));
    shared_clamp.push_back(static_cast<float>(l.ffn.shared_swiglu_limit));
    if (l.compress_ratio > 0 && compressed == &l0) compressed = &l;
    if (l.compress_ratio == 4 && !csa) csa = &l;
    if (l.ffn.hash_routed && l.index == hash_layers) ++hash_layers;
  }
  const FfnSpec& f = l0.ffn;
  // TextModel.set_gguf_parameters. The published config has no intermediate_size, so no
  // feed_forward_length; rope_scaling is YaRN with beta_fast 32, beta_slow 1.
  w.set_u32(a + "block_count", static_cast<uint32_t>(spec.layer_count()));
  w.set_u32(a + "context_length", static_cast<uint32_t>(spec.context_length));
  w.set_u32(a + "embedding_length", static_cast<uint32_t>(spec.hidden));
  w.set_u32(a + "attention.head_count", static_cast<uint32_t>(l0.q_heads));
  w.set_u32(a + "attention.head_count_kv", 1);
  w.set_string(a + "rope.scaling.type", "yarn");
  w.set_f32(a + "rope.scaling.factor", static_cast<float>(compressed->rope.factor));
  w.set_u32(a + "rope.scaling.original_context_length", static_cast<uint32_t>(compressed->rope.original_context));
  w.set_f32(a + "rope.scaling.yarn_beta_fast", 32.0f);
  w.set_f32(a + "rope.scaling.yarn_beta_slow", 1.0f);
  w.set_f32(a + "rope.freq_base", static_cast<float>(l0.rope.theta));
  w.set_f32(a + "attention.layer_norm_rms_epsilon", static_cast<float>(spec.rms_eps));
  w.set_u32(a + "expert_count", static_cast<uint32_t>(f.experts));
  w.set_u32(a + "expert_used_count", static_cast<uint32_t>(f.active_experts));
  w.set_u32(a + "expert_gating_func", 4);  // sqrtsoftplus
  w.set_u32(a + "attention.key_length", static_cast<uint32_t>(l0.head_dim_k));
  w.set_u32(a + "attention.value_length", static_cast<uint32_t>(l0.head_dim_v));
  // DeepseekV4Model.set_gguf_parameters
  w.set_u32(a + "rope.dimension_count", static_cast<uint32_t>(l0.rope.rotary_dims));
  w.set_u32(a + "attention.q_lora_rank", static_cast<uint32_t>(spec.q_lora_rank));
  w.set_u32(a + "attention.sliding_window", static_cast<uint32_t>(l0.window));
  w.set_u32(a + "expert_feed_forward_length", static_cast<uint32_t>(f.expert_width));
  w.set_u32(a + "expert_shared_count", static_cast<uint32_t>(f.shared_experts));
  w.set_f32(a + "expert_weights_scale", static_cast<float>(f.routed_scale));
  w.set_bool(a + "expert_weights_norm", f.normalize_weights);
  w.set_f32_array(a + "swiglu_clamp_exp", clamp);
  w.set_f32_array(a + "swiglu_clamp_shexp", shared_clamp);
  if (csa) {
    w.set_u32(a + "attention.indexer.head_count", static_cast<uint32_t>(csa->indexer_heads));
    w.set_u32(a + "attention.indexer.key_length", static_cast<uint32_t>(csa->indexer_dim));
    w.set_u32(a + "attention.indexer.top_k", static_cast<uint32_t>(csa->indexer_top_k));
  }
  w.set_u32(a + "attention.output_group_count", static_cast<uint32_t>(spec.o_groups));
  w.set_u32(a + "attention.output_lora_rank", static_cast<uint32_t>(spec.o_lora_rank));
  w.set_i32_array(a + "attention.compress_ratios", ratios);  // one per layer (no MTP block)
  w.set_f32(a + "attention.compress_rope_freq_base", static_cast<float>(compressed->rope.theta));
  w.set_u32(a + "hyper_connection.count", static_cast<uint32_t>(spec.hc_width));
  w.set_u32(a + "hyper_connection.sinkhorn_iterations", static_cast<uint32_t>(spec.hc_sinkhorn_iters));
  w.set_f32(a + "hyper_connection.epsilon", static_cast<float>(spec.hc_eps));
  w.set_u32(a + "hash_layer_count", static_cast<uint32_t>(hash_layers));
  w.set_u32(a + "embedding_length_out", static_cast<uint32_t>(spec.hidden * spec.hc_width));
}

}  // namespace

const TinyArchitectureWriter kDeepseek4TinyWriter{"deepseek4", {"tiny"}, {{"flash", "deepseek-v4-flash.json"}}, deepseek4_plan, deepseek4_metadata};

}  // namespace archscope
