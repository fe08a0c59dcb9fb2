// Tiny Gemma 4 models, E2B-like: the keys llama.cpp's converter writes for gemma4
// (conversion/gemma.py Gemma4Model on Gemma3Model and TextModel.set_gguf_parameters), a
// "gemma4" BPE vocabulary and Gemma 4's real chat template.
//
// tiny: 10 layers (S S S S F) x 2 with a window of 6 tokens, so a short prompt crosses it;
// the last 5 layers share KV (sliding ones read layer 3, the global one layer 4, as in
// llama.cpp's layer_reuse_cb) and have a double-wide MLP; sliding heads of 32 dims with
// plain RoPE (theta 10,000), global heads of 64 dims with proportional RoPE (theta 1e6,
// rope_freqs: a quarter of the pairs rotate); per-layer embeddings of 16 per layer; final
// logit softcap 30; an untied output head.
//
// demo, E2B-like and big enough to be trained to speak (tools/demo/train_demo.py,
// models/demo/): hidden 256, 10 layers (S S S S F) x 2 with a window of 64 tokens, so a
// chat crosses it; the last 5 layers share KV (llama.cpp's rule needs the last two layers
// that own a cache to be S, F, as in E2B); 4 query heads over 1 KV head, sliding heads of
// 64 dims, global ones of 128 with proportional RoPE; per-layer embeddings of 32 per layer;
// GELU-tanh MLP of 256 (512 in the shared layers); context 1024; 1024 tokens; the output
// head tied to the embedding, as in E2B. About 5.5M parameters, 11 MB at f16.
//
// tiny-moe, 26B-A4B-like: 6 layers (S x 5, F), no KV sharing and no per-layer embeddings;
// every layer has 8 experts (top 2, width 64, fused gate_up, per-expert scales) beside a
// dense GELU MLP of 128, with the router's input scale and the extra norms. Like 26B-A4B
// (attention_k_eq_v), its global layer has no attn_v: V is projected by attn_k, normalised
// without weight and unroped (the converter writes no metadata key for it).
#include <cmath>

#include "writer/tiny_model.h"

namespace archscope {

namespace {

// google/gemma-4-31B-it's template (llama.cpp models/templates/google-gemma-4-31B-it.jinja).
const char* const kGemma4ChatTemplate = R"jinja({%- macro format_parameters(properties, required) -%}
    {%- set standard_keys = ['description', 'type', 'properties', 'required', 'nullable'] -%}
    {%- set ns = namespace(found_first=false) -%}
    {%- for key, value in properties | dictsort -%}
        {%- set add_comma = false -%}
        {%- if key not in standard_keys -%}
            {%- if ns.found_first %},{% endif -%}
            {%- set ns.found_first = true -%}
            {{ key }}:{
            {%- if value['description'] -%}
                description:<|"|>{{ value['description'] }}<|"|>
                {%- set add_comma = true -%}
            {%- endif -%}
            {%- if value['type'] | upper == 'STRING' -%}
                {%- if value['enum'] -%}
                    {%- if add_comma %},{%- else -%} {%- set add_comma = true -%} {% endif -%}
                    enum:{{ format_argument(value['enum']) }}
                {%- endif -%}
            {%- elif value['type'] | upper == 'ARRAY' -%}
                {%- if value['items'] is mapping and value['items'] -%}
                    {%- if add_comma %},{%- else -%} {%- set add_comma = true -%} {% endif -%}
                    items:{
                    {%- set ns_items = namespace(found_first=false) -%}
                    {%- for item_key, item_value in value['items'] | dictsort -%}
                        {%- if item_value is not none -%}
                            {%- if ns_items.found_first %},{% endif -%}
                            {%- set ns_items.found_first = true -%}
                            {%- if item_key == 'properties' -%}
                                properties:{
                                {%- if item_value is mapping -%}
                                    {{- format_parameters(item_value, value['items']['required'] | default([])) -}}
                                {%- endif -%}
                                }
                            {%- elif item_key == 'required' -%}
                                required:[
                                {%- for req_item in item_value -%}
                                    <|"|>{{- req_item -}}<|"|>
                                    {%- if not loop.last %},{% endif -%}
                                {%- endfor -%}
                                ]
                            {%- elif item_key == 'type' -%}
                                {%- if item_value is string -%}
                                    type:{{ format_argument(item_value | upper) }}
                                {%- else -%}
                                    type:{{ format_argument(item_value | map('upper') | list) }}
                                {%- endif -%}
                            {%- else -%}
                                {{ item_key }}:{{ format_argument(item_value) }}
                            {%- endif -%}
                        {%- endif -%}
                    {%- endfor -%}
                    }
                {%- endif -%}
            {%- endif -%}
            {%- if value['nullable'] %}
                {%- if add_comma %},{%- else -%} {%- set add_comma = true -%} {% endif -%}
                nullable:true
            {%- endif -%}
            {%- if value['type'] | upper == 'OBJECT' -%}
                {%- if value['properties'] is defined and value['properties'] is mapping -%}
                    {%- if add_comma %},{%- else -%} {%- set add_comma = true -%} {% endif -%}
                    properties:{
                    {{- format_parameters(value['properties'], value['required'] | default([])) -}}
                    }
                {%- elif value is mapping -%}
                    {%- if add_comma %},{%- else -%} {%- set add_comma = true -%} {% endif -%}
                    properties:{
                    {{- format_parameters(value, value['required'] | default([])) -}}
                    }
                {%- endif -%}
                {%- if value['required'] -%}
                    {%- if add_comma %},{%- else -%} {%- set add_comma = true -%} {% endif -%}
                    required:[
                    {%- for item in value['required'] | default([]) -%}
                        <|"|>{{- item -}}<|"|>
                        {%- if not loop.last %},{% endif -%}
                    {%- endfor -%}
                    ]
                {%- endif -%}
            {%- endif -%}
            {%- if add_comma %},{%- else -%} {%- set add_comma = true -%} {% endif -%}
            type:<|"|>{{ value['type'] | upper }}<|"|>}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro -%}
{%- macro format_function_declaration(tool_data) -%}
    declaration:{{- tool_data['function']['name'] -}}{description:<|"|>{{- tool_data['function']['description'] -}}<|"|>
    {%- set params = tool_data['function']['parameters'] -%}
    {%- if params -%}
        ,parameters:{
        {%- if params['properties'] -%}
            properties:{ {{- format_parameters(params['properties'], params['required']) -}} },
        {%- endif -%}
        {%- if params['required'] -%}
            required:[
            {%- for item in params['required'] -%}
                <|"|>{{- item -}}<|"|>
                {{- ',' if not loop.last -}}
            {%- endfor -%}
            ],
        {%- endif -%}
        {%- if params['type'] -%}
            type:<|"|>{{- params['type'] | upper -}}<|"|>}
        {%- endif -%}
    {%- endif -%}
    {%- if 'response' in tool_data['function'] -%}
        {%- set response_declaration = tool_data['function']['response'] -%}
        ,response:{
        {%- if response_declaration['description'] -%}
            description:<|"|>{{- response_declaration['description'] -}}<|"|>,
        {%- endif -%}
        {%- if response_declaration['type'] | upper == 'OBJECT' -%}
            type:<|"|>{{- response_declaration['type'] | upper -}}<|"|>}
        {%- endif -%}
    {%- endif -%}
    }
{%- endmacro -%}
{%- macro format_argument(argument, escape_keys=True) -%}
    {%- if argument is string -%}
        {{- '<|"|>' + argument + '<|"|>' -}}
    {%- elif argument is boolean -%}
        {{- 'true' if argument else 'false' -}}
    {%- elif argument is mapping -%}
        {{- '{' -}}
        {%- set ns = namespace(found_first=false) -%}
        {%- for key, value in argument | dictsort -%}
            {%- if ns.found_first %},{% endif -%}
            {%- set ns.found_first = true -%}
            {%- if escape_keys -%}
                {{- '<|"|>' + key + '<|"|>' -}}
            {%- else -%}
                {{- key -}}
            {%- endif -%}
            :{{- format_argument(value, escape_keys=escape_keys) -}}
        {%- endfor -%}
        {{- '}' -}}
    {%- elif argument is sequence -%}
        {{- '[' -}}
        {%- for item in argument -%}
            {{- format_argument(item, escape_keys=escape_keys) -}}
            {%- if not loop.last %},{% endif -%}
        {%- endfor -%}
        {{- ']' -}}
    {%- else -%}
        {{- argument -}}
    {%- endif -%}
{%- endmacro -%}
{%- macro strip_thinking(text) -%}
    {%- set ns = namespace(result='') -%}
    {%- for part in text.split('<channel|>') -%}
        {%- if '<|channel>' in part -%}
            {%- set ns.result = ns.result + part.split('<|channel>')[0] -%}
        {%- else -%}
            {%- set ns.result = ns.result + part -%}
        {%- endif -%}
    {%- endfor -%}
    {{- ns.result | trim -}}
{%- endmacro -%}

{%- macro format_tool_response_block(tool_name, response) -%}
    {{- '<|tool_response>' -}}
    {%- if response is mapping -%}
        {{- 'response:' + tool_name + '{' -}}
        {%- for key, value in response | dictsort -%}
            {{- key -}}:{{- format_argument(value, escape_keys=False) -}}
            {%- if not loop.last %},{% endif -%}
        {%- endfor -%}
        {{- '}' -}}
    {%- else -%}
        {{- 'response:' + tool_name + '{value:' + format_argument(response, escape_keys=False) + '}' -}}
    {%- endif -%}
    {{- '<tool_response|>' -}}
{%- endmacro -%}

{%- set ns = namespace(prev_message_type=None) -%}
{%- set loop_messages = messages -%}
{{- bos_token -}}
{#- Handle System/Tool Definitions Block -#}
{%- if (enable_thinking is defined and enable_thinking) or tools or messages[0]['role'] in ['system', 'developer'] -%}
    {{- '<|turn>system\n' -}}

    {#- Inject Thinking token at the very top of the FIRST system turn -#}
    {%- if enable_thinking is defined and enable_thinking -%}
        {{- '<|think|>\n' -}}
        {%- set ns.prev_message_type = 'think' -%}
    {%- endif -%}

    {%- if messages[0]['role'] in ['system', 'developer'] -%}
        {{- messages[0]['content'] | trim -}}
        {%- set loop_messages = messages[1:] -%}
    {%- endif -%}

    {%- if tools -%}
        {%- for tool in tools %}
            {{- '<|tool>' -}}
            {{- format_function_declaration(tool) | trim -}}
            {{- '<tool|>' -}}
        {%- endfor %}
        {%- set ns.prev_message_type = 'tool' -%}
    {%- endif -%}

    {{- '<turn|>\n' -}}
{%- endif %}

{#- Pre-scan: find last user message index for reasoning guard -#}
{%- set ns_turn = namespace(last_user_idx=-1) -%}
{%- for i in range(loop_messages | length) -%}
    {%- if loop_messages[i]['role'] == 'user' -%}
        {%- set ns_turn.last_user_idx = i -%}
    {%- endif -%}
{%- endfor -%}

{#- Loop through messages -#}
{%- for message in loop_messages -%}
    {%- if message['role'] != 'tool' -%}
    {%- set ns.prev_message_type = None -%}
    {%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}
    {#- Detect continuation: suppress duplicate <|turn>model when previous non-tool message was also assistant -#}
    {%- set prev_nt = namespace(role=None, found=false) -%}
    {%- if loop.index0 > 0 -%}
        {%- for j in range(loop.index0 - 1, -1, -1) -%}
            {%- if not prev_nt.found -%}
                {%- if loop_messages[j]['role'] != 'tool' -%}
                    {%- set prev_nt.role = loop_messages[j]['role'] -%}
                    {%- set prev_nt.found = true -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set continue_same_model_turn = (role == 'model' and prev_nt.role == 'assistant') -%}
    {%- if not continue_same_model_turn -%}
        {{- '<|turn>' + role + '\n' }}
    {%- endif -%}

    {#- Render reasoning/reasoning_content as thinking channel -#}
    {%- set thinking_text = message.get('reasoning') or message.get('reasoning_content') -%}
    {%- if thinking_text and loop.index0 > ns_turn.last_user_idx and message.get('tool_calls') -%}
        {{- '<|channel>thought\n' + thinking_text + '\n<channel|>' -}}
    {%- endif -%}

            {%- if message['tool_calls'] -%}
                {%- for tool_call in message['tool_calls'] -%}
                    {%- set function = tool_call['function'] -%}
                    {{- '<|tool_call>call:' + function['name'] + '{' -}}
                    {%- if function['arguments'] is mapping -%}
                        {%- set ns_args = namespace(found_first=false) -%}
                        {%- for key, value in function['arguments'] | dictsort -%}
                            {%- if ns_args.found_first %},{% endif -%}
                            {%- set ns_args.found_first = true -%}
                            {{- key -}}:{{- format_argument(value, escape_keys=False) -}}
                        {%- endfor -%}
                    {%- elif function['arguments'] is string -%}
                        {{- function['arguments'] -}}
                    {%- endif -%}
                    {{- '}<tool_call|>' -}}
                {%- endfor -%}
                {%- set ns.prev_message_type = 'tool_call' -%}
            {%- endif -%}

            {%- set ns_tr_out = namespace(flag=false) -%}
            {%- if message.get('tool_responses') -%}
                {#- Legacy: tool_responses embedded on the assistant message (Google/Gemma native) -#}
                {%- for tool_response in message['tool_responses'] -%}
                    {{- format_tool_response_block(tool_response['name'] | default('unknown'), tool_response['response']) -}}
                    {%- set ns_tr_out.flag = true -%}
                    {%- set ns.prev_message_type = 'tool_response' -%}
                {%- endfor -%}
            {%- elif message.get('tool_calls') -%}
                {#- OpenAI Chat Completions: forward-scan consecutive role:tool messages -#}
                {%- set ns_tool_scan = namespace(stopped=false) -%}
                {%- for k in range(loop.index0 + 1, loop_messages | length) -%}
                    {%- if ns_tool_scan.stopped -%}
                    {%- elif loop_messages[k]['role'] != 'tool' -%}
                        {%- set ns_tool_scan.stopped = true -%}
                    {%- else -%}
                        {%- set follow = loop_messages[k] -%}
                        {#- Resolve tool_call_id to function name -#}
                        {%- set ns_tname = namespace(name=follow.get('name') | default('unknown')) -%}
                        {%- for tc in message['tool_calls'] -%}
                            {%- if tc.get('id') == follow.get('tool_call_id') -%}
                                {%- set ns_tname.name = tc['function']['name'] -%}
                            {%- endif -%}
                        {%- endfor -%}
                        {#- Handle content as string or content-parts array -#}
                        {%- set tool_body = follow.get('content') -%}
                        {%- if tool_body is string -%}
                            {{- format_tool_response_block(ns_tname.name, tool_body) -}}
                        {%- elif tool_body is sequence and tool_body is not string -%}
                            {%- set ns_txt = namespace(s='') -%}
                            {%- for part in tool_body -%}
                                {%- if part.get('type') == 'text' -%}
                                    {%- set ns_txt.s = ns_txt.s + (part.get('text') | default('')) -%}
                                {%- endif -%}
                            {%- endfor -%}
                            {{- format_tool_response_block(ns_tname.name, ns_txt.s) -}}
                        {%- else -%}
                            {{- format_tool_response_block(ns_tname.name, tool_body) -}}
                        {%- endif -%}
                        {%- set ns_tr_out.flag = true -%}
                        {%- set ns.prev_message_type = 'tool_response' -%}
                    {%- endif -%}
                {%- endfor -%}
            {%- endif -%}

            {%- if message['content'] is string -%}
                {%- if role == 'model' -%}
                    {{- strip_thinking(message['content']) -}}
                {%- else -%}
                    {{- message['content'] | trim -}}
                {%- endif -%}
            {%- elif message['content'] is sequence -%}
                {%- for item in message['content'] -%}
                    {%- if item['type'] == 'text' -%}
                        {%- if role == 'model' -%}
                            {{- strip_thinking(item['text']) -}}
                        {%- else -%}
                            {{- item['text'] | trim -}}
                        {%- endif -%}
                    {%- elif item['type'] == 'image' -%}
                        {{- '<|image|>' -}}
                        {%- set ns.prev_message_type = 'image' -%}
                    {%- elif item['type'] == 'audio' -%}
                        {{- '<|audio|>' -}}
                        {%- set ns.prev_message_type = 'audio' -%}
                    {%- elif item['type'] == 'video' -%}
                        {{- '<|video|>' -}}
                        {%- set ns.prev_message_type = 'video' -%}
                    {%- endif -%}
                {%- endfor -%}
            {%- endif -%}

        {%- if ns.prev_message_type == 'tool_call' and not ns_tr_out.flag -%}
            {{- '<|tool_response>' -}}
        {%- elif not (ns_tr_out.flag and not message.get('content')) -%}
            {{- '<turn|>\n' -}}
        {%- endif -%}
    {%- endif -%}
{%- endfor -%}

{%- if add_generation_prompt -%}
    {%- if ns.prev_message_type != 'tool_response' and ns.prev_message_type != 'tool_call' -%}
        {{- '<|turn>model\n' -}}
        {%- if not enable_thinking | default(false) -%}
            {{- '<|channel>thought\n<channel|>' -}}
        {%- endif -%}
    {%- endif -%}
{%- endif -%}
)jinja";

struct Gemma4Shape {
  int hidden, layers, period, shared, q_heads, kv_heads, head_dim_swa, head_dim_full, ffn, ple, window, context, vocab;
  int experts = 0, active_experts = 0, expert_width = 0;
  bool tied = false;
};

Gemma4Shape gemma4_shape(const std::string& preset) {
  if (preset == "tiny-moe") return {128, 6, 6, 0, 4, 2, 32, 64, 128, 0, 6, 512, 512, 8, 2, 64};
  if (preset == "demo") return {256, 10, 5, 5, 4, 1, 64, 128, 256, 32, 64, 1024, 1024, 0, 0, 0, true};
  return {128, 10, 5, 5, 4, 2, 32, 64, 256, 16, 6, 512, 512};
}

// The spec as gemma4_from_gguf reads it back from the keys written below.
TinyModelPlan gemma4_plan(const std::string& preset) {
  const Gemma4Shape s = gemma4_shape(preset);
  ModelSpec spec;
  spec.name = "archscope " + preset + " gemma4";
  spec.hidden = s.hidden;
  spec.context_length = s.context;
  spec.rms_eps = 1e-6f;  // stored as f32
  // tiny: an untied head (llama.cpp reads output.weight when present), since with random
  // weights a tied head mostly predicts the input token again (x keeps its embedding).
  spec.tied_embeddings = s.tied;
  spec.embedding_scale = std::sqrt(static_cast<double>(s.hidden));
  spec.final_logit_softcap = 30.0;
  spec.ple_width = s.ple;
  const int first_shared = s.layers - s.shared;
  spec.layers.resize(s.layers);
  for (int il = 0; il < s.layers; ++il) {
    LayerSpec& l = spec.layers[il];
    l.index = l.kv_source = il;
    l.q_heads = s.q_heads;
    l.kv_heads = s.kv_heads;
    l.rope.neox = true;
    if (il % s.period != s.period - 1) {
      l.attention = AttentionKind::Sliding;
      l.window = s.window;
      l.head_dim_k = l.head_dim_v = s.head_dim_swa;
      l.rope.theta = 10000.0;
      l.rope.rotary_dims = s.head_dim_swa;
    } else {
      l.attention = AttentionKind::Global;
      l.head_dim_k = l.head_dim_v = s.head_dim_full;
      l.rope.theta = 1000000.0;
      l.rope.rotary_dims = s.head_dim_full / 4;  // proportional RoPE, partial_rotary_factor 0.25
      l.rope.freq_factors = true;
    }
    // llama.cpp: shared sliding layers read layer n_kv - 2, shared global ones n_kv - 1.
    if (il >= first_shared) l.kv_source = first_shared - (l.attention == AttentionKind::Sliding ? 2 : 1);
    l.qk_norm = true;
    l.ple_width = s.ple;
    l.ffn.kind = FfnKind::Dense;
    l.ffn.activation = Activation::GeluTanh;
    l.ffn.dense_width = il >= first_shared && s.shared > 0 ? 2 * s.ffn : s.ffn;  // use_double_wide_mlp
    if (s.experts > 0) {  // enable_moe_block: experts beside the dense MLP in every layer
      l.ffn.kind = FfnKind::Moe;
      l.ffn.experts = s.experts;
      l.ffn.active_experts = s.active_experts;
      l.ffn.expert_width = s.expert_width;
      l.ffn.router_score = RouterScore::Softmax;
      l.ffn.normalize_weights = true;
      // attention_k_eq_v as in 26B-A4B: global layers project V with attn_k (no attn_v).
      l.v_from_k_proj = l.attention == AttentionKind::Global;
    }
  }
  SmallBpeOptions vocab_options;
  vocab_options.style = SmallVocabStyle::Gemma4;
  vocab_options.vocab_size = s.vocab;
  Vocabulary vocab = make_small_bpe_vocab(vocab_options);
  vocab.scores.assign(vocab.tokens.size(), 0.0f);  // the converter writes scores (unused by BPE)
  vocab.chat_template = kGemma4ChatTemplate;
  return {std::move(spec), std::move(vocab)};
}

void gemma4_metadata(const ModelSpec& spec, GgufWriter& w) {
  const std::string a = "gemma4.";
  const int n = spec.layer_count();
  int shared = 0, window = 0, head_swa = 0, head_full = 0, rope_swa = 0;
  bool double_wide = false;
  double theta_swa = 10000.0, theta_full = 1000000.0;
  std::vector<GgufValue> ffn, pattern, kv_heads;
  bool kv_heads_differ = false;
  for (const LayerSpec& l : spec.layers) {
    GgufValue heads;
    heads.type = GgufValueType::U32;
    heads.u = static_cast<uint64_t>(l.kv_heads);
    kv_heads.push_back(heads);
    kv_heads_differ |= l.kv_heads != spec.layers.front().kv_heads;
    if (!l.owns_cache()) ++shared;
    double_wide |= l.ffn.dense_width != spec.layers.front().ffn.dense_width;
    GgufValue width;
    width.type = GgufValueType::U32;
    width.u = static_cast<uint64_t>(l.ffn.dense_width);
    ffn.push_back(width);
    GgufValue sliding;
    sliding.type = GgufValueType::Bool;
    sliding.u = l.attention == AttentionKind::Sliding;
    pattern.push_back(sliding);
    if (l.attention == AttentionKind::Sliding) {
      window = l.window, head_swa = l.head_dim_k, rope_swa = l.rope.rotary_dims, theta_swa = l.rope.theta;
    } else {
      head_full = l.head_dim_k, theta_full = l.rope.theta;
    }
  }
  const LayerSpec& l0 = spec.layers.at(0);
  // TextModel.set_gguf_parameters, then Gemma3Model's, then Gemma4Model's.
  w.set_u32(a + "block_count", static_cast<uint32_t>(n));
  w.set_u32(a + "context_length", static_cast<uint32_t>(spec.context_length));
  w.set_u32(a + "embedding_length", static_cast<uint32_t>(spec.hidden));
  w.set_u32(a + "attention.head_count", static_cast<uint32_t>(l0.q_heads));
  if (kv_heads_differ) {  // 26B-A4B, 31B: fewer KV heads on the global layers (num_global_key_value_heads)
    w.set_array(a + "attention.head_count_kv", GgufValueType::U32, kv_heads);
  } else {
    w.set_u32(a + "attention.head_count_kv", static_cast<uint32_t>(l0.kv_heads));
  }
  w.set_f32(a + "rope.freq_base", static_cast<float>(theta_full));
  w.set_f32(a + "rope.freq_base_swa", static_cast<float>(theta_swa));
  w.set_f32(a + "attention.layer_norm_rms_epsilon", static_cast<float>(spec.rms_eps));
  w.set_f32(a + "final_logit_softcapping", static_cast<float>(spec.final_logit_softcap));
  w.set_u32(a + "attention.sliding_window", static_cast<uint32_t>(window));
  w.set_u32(a + "attention.shared_kv_layers", static_cast<uint32_t>(shared));
  w.set_u32(a + "embedding_length_per_layer_input", static_cast<uint32_t>(spec.ple_width));
  w.set_array(a + "attention.sliding_window_pattern", GgufValueType::Bool, pattern);
  w.set_u32(a + "attention.key_length", static_cast<uint32_t>(head_full));
  w.set_u32(a + "attention.value_length", static_cast<uint32_t>(head_full));
  w.set_u32(a + "attention.key_length_swa", static_cast<uint32_t>(head_swa));
  w.set_u32(a + "attention.value_length_swa", static_cast<uint32_t>(head_swa));
  if (double_wide) {
    w.set_array(a + "feed_forward_length", GgufValueType::U32, ffn);  // per layer: double-wide shared layers
  } else {
    w.set_u32(a + "feed_forward_length", static_cast<uint32_t>(l0.ffn.dense_width));
  }
  if (l0.ffn.kind == FfnKind::Moe) {  // TextModel: num_experts, top_k_experts; Gemma4Model: moe_intermediate_size
    w.set_u32(a + "expert_count", static_cast<uint32_t>(l0.ffn.experts));
    w.set_u32(a + "expert_used_count", static_cast<uint32_t>(l0.ffn.active_experts));
    w.set_u32(a + "expert_feed_forward_length", static_cast<uint32_t>(l0.ffn.expert_width));
  }
  // Global layers rotate through rope_freqs over the whole head (n_rot_full = head dim).
  w.set_u32(a + "rope.dimension_count", static_cast<uint32_t>(head_full));
  w.set_u32(a + "rope.dimension_count_swa", static_cast<uint32_t>(rope_swa));
}

}  // namespace

const TinyArchitectureWriter kGemma4TinyWriter{"gemma4",
                                             {"tiny", "tiny-moe", "demo"},
                                             {{"e2b", "gemma-4-e2b.json"},
                                              {"e4b", "gemma-4-e4b.json"},
                                              {"26b-a4b", "gemma-4-26b-a4b.json"},
                                              {"31b", "gemma-4-31b.json"}},
                                             gemma4_plan, gemma4_metadata};

}  // namespace archscope
