// Tiny Llama 3 and Qwen3 models: the keys llama.cpp's converter writes for them
// (conversion/llama.py LlamaModel, conversion/qwen.py Qwen3Model on top of
// TextModel.set_gguf_parameters), their vocabularies and their real chat templates.
#include "writer/tiny_model.h"

namespace archscope {

// Meta-Llama-3-8B-Instruct's template (tokenizer_config.json); llama.cpp recognises the
// Llama 3 format by <|start_header_id|> and <|end_header_id|>.
const char* const kLlama3ChatTemplate =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + "
    "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

namespace {

// Qwen/Qwen3-0.6B's template (llama.cpp models/templates/Qwen-Qwen3-0.6B.jinja); llama.cpp
// recognises ChatML by <|im_start|>.
const char* const kQwen3ChatTemplate = R"jinja({%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0].role == 'system' %}
        {{- messages[0].content + '\n\n' }}
    {%- endif %}
    {{- "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0].role == 'system' %}
        {{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {%- set content = message.content %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is defined and message.reasoning_content is not none %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- else %}
            {%- if '</think>' in message.content %}
                {%- set content = message.content.split('</think>')[-1].lstrip('\n') %}
                {%- set reasoning_content = message.content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') %}
            {%- endif %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index %}
            {%- if loop.last or (not loop.last and reasoning_content) %}
                {{- '<|im_start|>' + message.role + '\n<think>\n' + reasoning_content.strip('\n') + '\n</think>\n\n' + content.lstrip('\n') }}
            {%- else %}
                {{- '<|im_start|>' + message.role + '\n' + content }}
            {%- endif %}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\n' + content }}
        {%- endif %}
        {%- if message.tool_calls %}
            {%- for tool_call in message.tool_calls %}
                {%- if (loop.first and content) or (not loop.first) %}
                    {{- '\n' }}
                {%- endif %}
                {%- if tool_call.function %}
                    {%- set tool_call = tool_call.function %}
                {%- endif %}
                {{- '<tool_call>\n{"name": "' }}
                {{- tool_call.name }}
                {{- '", "arguments": ' }}
                {%- if tool_call.arguments is string %}
                    {{- tool_call.arguments }}
                {%- else %}
                    {{- tool_call.arguments | tojson }}
                {%- endif %}
                {{- '}\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.first or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\n\n</think>\n\n' }}
    {%- endif %}
{%- endif %})jinja";

// The sizes of a preset. Query width q_heads * head_dim may differ from hidden (Qwen3 does).
struct Shape {
  int hidden, layers, q_heads, kv_heads, head_dim, ffn, context, vocab;
};

// tiny: runs anywhere in milliseconds (tests, the demo); small: enough work to time.
Shape llama_shape(const std::string& preset) {
  if (preset == "small") return {512, 8, 8, 4, 64, 1536, 2048, 512};
  return {256, 4, 8, 4, 32, 768, 512, 512};
}
// Qwen3 keeps its wide heads: queries are twice the hidden size, as in Qwen3-0.6B.
Shape qwen3_shape(const std::string& preset) {
  if (preset == "small") return {512, 8, 8, 4, 128, 1536, 2048, 512};
  return {256, 4, 8, 4, 64, 768, 512, 512};
}

// The spec as the loader reads it back from the keys written below (f32 values widened
// to double, the YaRN original context defaulting to the context length).
ModelSpec llama_like_spec(const Shape& s, const std::string& name, float rope_theta, float rms_eps, bool neox,
                          bool qk_norm, bool tied) {
  ModelSpec spec;
  spec.name = name;
  spec.hidden = s.hidden;
  spec.context_length = s.context;
  spec.rms_eps = rms_eps;
  spec.tied_embeddings = tied;
  spec.layers.resize(s.layers);
  for (int il = 0; il < s.layers; ++il) {
    LayerSpec& l = spec.layers[il];
    l.index = l.kv_source = il;
    l.attention = AttentionKind::Global;
    l.q_heads = s.q_heads;
    l.kv_heads = s.kv_heads;
    l.head_dim_k = l.head_dim_v = s.head_dim;
    l.rope.theta = rope_theta;
    l.rope.rotary_dims = s.head_dim;
    l.rope.neox = neox;
    l.rope.original_context = s.context;
    l.qk_norm = qk_norm;
    l.ffn.kind = FfnKind::Dense;
    l.ffn.activation = Activation::Silu;
    l.ffn.dense_width = s.ffn;
  }
  return spec;
}

}  // namespace

Vocabulary small_vocab(SmallVocabStyle style, size_t size, const char* chat_template) {
  SmallBpeOptions options;
  options.style = style;
  options.vocab_size = size;
  Vocabulary vocab = make_small_bpe_vocab(options);
  vocab.chat_template = chat_template;
  return vocab;
}

// TextModel.set_gguf_parameters: the keys every llama.cpp-converted decoder has.
void write_common_keys(const ModelSpec& spec, GgufWriter& w) {
  const std::string a = spec.architecture + ".";
  const LayerSpec& l = spec.layers.at(0);
  w.set_u32(a + "block_count", static_cast<uint32_t>(spec.layer_count()));
  w.set_u32(a + "context_length", static_cast<uint32_t>(spec.context_length));
  w.set_u32(a + "embedding_length", static_cast<uint32_t>(spec.hidden));
  w.set_u32(a + "feed_forward_length", static_cast<uint32_t>(l.ffn.dense_width));
  w.set_u32(a + "attention.head_count", static_cast<uint32_t>(l.q_heads));
  w.set_u32(a + "attention.head_count_kv", static_cast<uint32_t>(l.kv_heads));
  w.set_f32(a + "rope.freq_base", static_cast<float>(l.rope.theta));
  w.set_f32(a + "attention.layer_norm_rms_epsilon", static_cast<float>(spec.rms_eps));
}

namespace {

// --- llama (Llama 3) ---------------------------------------------------------------------

TinyModelPlan llama_plan(const std::string& preset) {
  const Shape s = llama_shape(preset);
  // Llama 3: RoPE theta 500,000, eps 1e-5, adjacent-pair RoPE, untied head (as in 8B).
  return {llama_like_spec(s, "archscope " + preset + " llama", 500000.0f, 1e-5f, false, false, false),
          small_vocab(SmallVocabStyle::Llama3, s.vocab, kLlama3ChatTemplate)};
}

void llama_metadata(const ModelSpec& spec, GgufWriter& w) {
  write_common_keys(spec, w);
  // LlamaModel.set_gguf_parameters adds the vocabulary size and the rotary dimensions.
  w.set_u32("llama.vocab_size", static_cast<uint32_t>(spec.vocab));
  w.set_u32("llama.rope.dimension_count", static_cast<uint32_t>(spec.layers.at(0).rope.rotary_dims));
}

// --- qwen3 -------------------------------------------------------------------------------

TinyModelPlan qwen3_plan(const std::string& preset) {
  const Shape s = qwen3_shape(preset);
  // Qwen3: RoPE theta 1,000,000, eps 1e-6, NeoX RoPE, QK-norm, tied head (as in 0.6B).
  return {llama_like_spec(s, "archscope " + preset + " qwen3", 1000000.0f, 1e-6f, true, true, true),
          small_vocab(SmallVocabStyle::Qwen2, s.vocab, kQwen3ChatTemplate)};
}

void qwen3_metadata(const ModelSpec& spec, GgufWriter& w) {
  write_common_keys(spec, w);
  // config.json has head_dim, so the converter writes key and value lengths.
  w.set_u32("qwen3.attention.key_length", static_cast<uint32_t>(spec.layers.at(0).head_dim_k));
  w.set_u32("qwen3.attention.value_length", static_cast<uint32_t>(spec.layers.at(0).head_dim_v));
}

}  // namespace

const TinyArchitectureWriter kLlamaTinyWriter{"llama", {"tiny", "small"}, {}, llama_plan, llama_metadata};
const TinyArchitectureWriter kQwen3TinyWriter{"qwen3", {"tiny", "small"}, {{"8b", "qwen3-8b.json"}}, qwen3_plan, qwen3_metadata};

}  // namespace archscope
