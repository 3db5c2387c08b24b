// Hugging Face config.json -> ModelSpec.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iterator>
#include <map>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/text.h"
#include "io/config.h"
#include "io/json_text.h"

namespace fathom::io {

namespace {

using nlohmann::json;

// The largest count or width read (a vocabulary of a billion tokens is far past any model).
constexpr int kMaxInt = 1'000'000'000;

// For a number written as a string ("4096"): how to write it.
std::string QuotedNumberHint(const json& v) {
  if (!v.is_string()) return "";
  const std::string s = v.get<std::string>();
  const json parsed = json::parse(s, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_number()) return "";
  return "write the number without quotes: " + s;
}

struct Reader {
  const json& j;
  const std::string& file;
  core::Diagnostics& d;
  std::string prefix;  // the object's key path in diagnostics: "" or "text_config."
  // The config class's defaults for the keys `j` omits (a text_config's), or null; the
  // names of those taken, in the order read.
  json defaults = nullptr;
  std::vector<std::string> defaulted = {};
  HfSources* sources = nullptr;  // where the model's values came from, if wanted

  // The first of `names` present, else the first with a default.
  const json* Find(std::initializer_list<const char*> names) {
    for (const char* n : names) {
      auto it = j.find(n);
      if (it != j.end() && !it->is_null()) return &*it;
    }
    if (!defaults.is_object()) return nullptr;
    for (const char* n : names) {
      auto it = defaults.find(n);
      if (it == defaults.end()) continue;
      if (std::find(defaulted.begin(), defaulted.end(), n) == defaulted.end()) {
        defaulted.push_back(n);
      }
      return &*it;
    }
    return nullptr;
  }

  // The first of `names` present (its own name in diagnostics); an integral float such as
  // 32.0 is read as 32.
  int Int(std::initializer_list<const char*> names, bool required, int fallback = 0) {
    const json* v = Find(names);
    std::string key = *names.begin();
    if (v == nullptr) {
      if (required && prefix.empty()) {
        d.Add({core::Severity::kError, file, 0, key, "missing in the Hugging Face config",
               "expected an integer"});
      } else if (required) {
        d.Add({core::Severity::kError, file, 0, prefix + key,
               "missing in " + prefix.substr(0, prefix.size() - 1) +
                   ", and Fathom does not know its config class's default",
               "give " + key + " in " + prefix.substr(0, prefix.size() - 1) + " (an integer)"});
      }
      return fallback;
    }
    key = NameOf(names);
    double number = -1;
    if (v->is_number_integer()) {
      number = static_cast<double>(v->get<int64_t>());
    } else if (v->is_number_float()) {
      number = v->get<double>();
      if (std::isfinite(number) && number != std::floor(number)) {
        d.Add({core::Severity::kError, file, 0, prefix + key,
               "expected a whole number, got " + v->dump(), "counts and widths are integers"});
        return fallback;
      }
    }
    if (v->is_number() && number > kMaxInt) {
      d.Add({core::Severity::kError, file, 0, prefix + key,
             v->dump() + " is above Fathom's limit of " + std::to_string(kMaxInt),
             "check the value: no model width or count is that large"});
      return fallback;
    }
    if (!v->is_number() || !(number >= 0)) {
      d.Add({core::Severity::kError, file, 0, prefix + key,
             "expected a non-negative integer, got " + v->dump(), QuotedNumberHint(*v)});
      return fallback;
    }
    return static_cast<int>(number);
  }

  // Int for the value of Fathom's model key `path` (Keys(Section::kModel)): a value the
  // config gives is held to that key's range (ffn_hidden 0 is no MLP), and the config's key
  // (given or omitted) is recorded in `sources`.
  int Field(const char* path, std::initializer_list<const char*> names, bool required,
            int fallback = 0) {
    const json* raw = Find(names);
    // A key the config omits is named as its first name: the one to give.
    const std::string key = prefix + NameOf(names);
    if (sources != nullptr) (*sources)[path] = {key, 0};
    const std::vector<KeyInfo>& keys = Keys(Section::kModel);
    const auto info =
        std::find_if(keys.begin(), keys.end(), [&](const KeyInfo& k) { return k.path == path; });
    auto out_of_range = [&](const std::string& value) {
      d.Add({core::Severity::kError, file, 0, key,
             value + " is out of range: expected " + Bounds(*info),
             "Fathom reads it as the model's " + std::string(path) + " (" + info->help + ")"});
      return fallback;
    };
    // Past the key's own bound (below Int's limit for every count, or above it), the key's
    // range is the one to state.
    if (raw != nullptr && info != keys.end() && raw->is_number() &&
        raw->get<double>() > info->max) {
      return out_of_range(raw->dump());
    }
    const size_t before = d.size();
    const int v = Int(names, required, fallback);
    if (raw == nullptr || d.size() != before || info == keys.end()) return v;
    const double x = v;
    if (x < info->min || (info->min_exclusive && x <= info->min) || x > info->max) {
      return out_of_range(std::to_string(v));
    }
    return v;
  }

  // The first of `names` present, else the first.
  std::string NameOf(std::initializer_list<const char*> names) const {
    for (const char* n : names) {
      auto it = j.find(n);
      if (it != j.end() && !it->is_null()) return n;
    }
    return *names.begin();
  }

  std::string Str(std::initializer_list<const char*> names, const std::string& fallback) {
    const json* v = Find(names);
    if (v == nullptr) return fallback;
    if (!v->is_string()) {
      d.Add({core::Severity::kError, file, 0, prefix + *names.begin(),
             "expected a string, got " + v->dump(), ""});
      return fallback;
    }
    return v->get<std::string>();
  }

  // A key whose value is a mapping (rope_scaling, text_config): null when absent or null;
  // another type is an error naming it.
  const json* Object(const char* name) {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) return nullptr;
    if (!it->is_object()) {
      d.Add({core::Severity::kError, file, 0, prefix + name,
             "expected a mapping (a JSON object) or null, got " + it->dump(),
             "give a JSON object {...} or null, as transformers writes it"});
      return nullptr;
    }
    return &*it;
  }

  bool Bool(std::initializer_list<const char*> names, bool fallback) {
    const json* v = Find(names);
    if (v == nullptr) return fallback;
    if (!v->is_boolean()) {
      d.Add({core::Severity::kError, file, 0, prefix + *names.begin(),
             "expected true or false, got " + v->dump(), ""});
      return fallback;
    }
    return v->get<bool>();
  }
};

// The model_type values read: decoder-only transformers, dense and MoE.
constexpr std::string_view kModelTypes[] = {
    "bloom",    "deepseek_v2",   "deepseek_v3", "falcon",     "gemma",           "gemma2",
    "gemma3",   "gemma3_text",   "glm4_moe",    "gpt2",       "gpt_neox",        "gpt_oss",
    "llama",    "llama4",        "llama4_text", "mistral",    "mixtral",         "olmo2",
    "opt",      "phi3",          "qwen2",       "qwen2_5_vl", "qwen2_5_vl_text", "qwen2_moe",
    "qwen2_vl", "qwen2_vl_text", "qwen3",       "qwen3_moe"};

// The model_type of each architecture class the importer reads, for configs whose own
// model_type names no family it knows but whose architectures name the class that builds
// them (Kimi K2: "kimi_k2", DeepseekV3ForCausalLM).
constexpr std::pair<std::string_view, std::string_view> kArchitectureTypes[] = {
    {"BloomForCausalLM", "bloom"},
    {"DeepseekV2ForCausalLM", "deepseek_v2"},
    {"DeepseekV3ForCausalLM", "deepseek_v3"},
    {"FalconForCausalLM", "falcon"},
    {"GemmaForCausalLM", "gemma"},
    {"Gemma2ForCausalLM", "gemma2"},
    {"Gemma3ForCausalLM", "gemma3_text"},
    {"Glm4MoeForCausalLM", "glm4_moe"},
    {"GPT2LMHeadModel", "gpt2"},
    {"GPTNeoXForCausalLM", "gpt_neox"},
    {"GptOssForCausalLM", "gpt_oss"},
    {"LlamaForCausalLM", "llama"},
    {"Llama4ForCausalLM", "llama4_text"},
    {"MistralForCausalLM", "mistral"},
    {"MixtralForCausalLM", "mixtral"},
    {"Olmo2ForCausalLM", "olmo2"},
    {"OPTForCausalLM", "opt"},
    {"Phi3ForCausalLM", "phi3"},
    {"Qwen2ForCausalLM", "qwen2"},
    {"Qwen2MoeForCausalLM", "qwen2_moe"},
    {"Qwen3ForCausalLM", "qwen3"},
    {"Qwen3MoeForCausalLM", "qwen3_moe"}};

// The first of the config's architectures that the importer reads, and its model_type; empty
// when none is.
std::pair<std::string, std::string> FamilyOfArchitectures(const json& config) {
  const auto it = config.find("architectures");
  if (it == config.end() || !it->is_array()) return {};
  for (const json& a : *it) {
    if (!a.is_string()) continue;
    for (const auto& [cls, type] : kArchitectureTypes) {
      if (a.get<std::string>() == cls) return {std::string(cls), std::string(type)};
    }
  }
  return {};
}

// Qwen2-VL and Qwen2.5-VL: a Qwen2 language model (q, k and v biases, M-RoPE) beside the
// vision tower, its keys at the top level, or (newer transformers) in a text_config of
// model_type qwen2_vl_text or qwen2_5_vl_text.
constexpr std::string_view kQwen2VlTypes[] = {"qwen2_vl", "qwen2_5_vl", "qwen2_vl_text",
                                              "qwen2_5_vl_text"};

// Multimodal model types: a vision encoder and projector beside the language model.
constexpr std::string_view kMultimodalTypes[] = {"gemma3", "llama4",     "llava",
                                                 "mllama", "qwen2_5_vl", "qwen2_vl"};

// Families whose attention reads attention_bias (biases on q, k, v and o), and those whose
// attention has none whatever the config says (MistralAttention, MixtralAttention,
// Phi3Attention build their projections with bias=False).
constexpr std::string_view kAttentionBiasTypes[] = {"gemma",   "gemma2", "gemma3",   "gemma3_text",
                                                    "gpt_oss", "llama",  "llama4",   "llama4_text",
                                                    "olmo2",   "qwen3",  "qwen3_moe"};
constexpr std::string_view kNoAttentionBiasTypes[] = {"mistral", "mixtral", "phi3"};

// Families whose Hugging Face config class defaults tie_word_embeddings to false; every
// other family inherits PretrainedConfig's default, true (BLOOM, OPT, Falcon, GPT-2).
constexpr std::string_view kUntiedByDefault[] = {
    "deepseek_v2", "deepseek_v3", "glm4_moe", "gpt_neox", "gpt_oss", "llama",
    "llama4",      "llama4_text", "mistral",  "mixtral",  "olmo2",   "phi3",
    "qwen2",       "qwen2_moe",   "qwen3",    "qwen3_moe"};

// Families that are not decoder-only, named as such in the error.
constexpr std::string_view kEncoderDecoderTypes[] = {"bart",
                                                     "bigbird_pegasus",
                                                     "blenderbot",
                                                     "led",
                                                     "longt5",
                                                     "m2m_100",
                                                     "marian",
                                                     "mbart",
                                                     "mt5",
                                                     "pegasus",
                                                     "plbart",
                                                     "prophetnet",
                                                     "switch_transformers",
                                                     "t5",
                                                     "umt5",
                                                     "whisper"};
constexpr std::string_view kEncoderTypes[] = {"albert",     "bert",       "deberta",
                                              "deberta-v2", "distilbert", "electra",
                                              "modernbert", "roberta",    "xlm-roberta"};

template <size_t N>
bool OneOf(const std::string& type, const std::string_view (&list)[N]) {
  return std::find(std::begin(list), std::end(list), type) != std::end(list);
}

// Hugging Face's activation names (transformers' ACT2CLS) that Fathom models: the SiLU, GeLU
// (its approximations alike) and ReLU families.
constexpr std::string_view kSiluActivations[] = {"silu", "swish"};
constexpr std::string_view kGeluActivations[] = {
    "gelu",          "gelu_new",    "gelu_fast", "gelu_pytorch_tanh",
    "gelu_accurate", "gelu_python", "gelu_10",   "quick_gelu"};
constexpr std::string_view kActivations[] = {
    "silu",          "swish",       "gelu",    "gelu_new",   "gelu_fast", "gelu_pytorch_tanh",
    "gelu_accurate", "gelu_python", "gelu_10", "quick_gelu", "relu"};

// The activation of an MLP with (gated) or without a gate; nullopt for a name not modelled.
std::optional<model::Activation> ActivationOf(const std::string& name, bool gated) {
  if (OneOf(name, kGeluActivations)) {
    return gated ? model::Activation::kGeGLU : model::Activation::kGeLU;
  }
  if (name == "relu") return gated ? model::Activation::kReGLU : model::Activation::kReLU;
  if (gated && OneOf(name, kSiluActivations)) return model::Activation::kSwiGLU;
  return std::nullopt;
}

std::string ActivationList(bool gated) {
  std::vector<std::string_view> names;
  for (const std::string_view n : kActivations) {
    if (gated || !OneOf(std::string(n), kSiluActivations)) names.push_back(n);
  }
  return core::JoinComma(names);
}

// An error for a model_type the importer does not read (`key`: "model_type", or
// "text_config.model_type" for the language model of multimodal model_type `top`); false when
// it reads it.
bool UnsupportedType(const std::string& type, bool encoder_decoder, const std::string& key,
                     const std::string& top, const std::string& file, core::Diagnostics& d) {
  if (!type.empty() && OneOf(type, kModelTypes) && !encoder_decoder) return false;
  const std::vector<std::string_view> supported(std::begin(kModelTypes), std::end(kModelTypes));
  std::string what;
  if (type.empty() && key != "model_type") {
    what = "missing, and Fathom does not know the language model of model_type \"" + top + "\"";
  } else if (type.empty()) {
    what = "missing in the Hugging Face config";
  } else if (top == "mllama") {
    what = "\"" + type + "\", the language model of model_type \"mllama\" (Llama 3.2 Vision), " +
           "is not a model family Fathom imports: its cross-attention layers to the image " +
           "(cross_attention_layers) are not modelled";
  } else if (encoder_decoder || OneOf(type, kEncoderDecoderTypes)) {
    what = "\"" + type + "\" is an encoder-decoder model: Fathom models decoder-only transformers";
  } else if (OneOf(type, kEncoderTypes)) {
    what = "\"" + type + "\" is an encoder-only model: Fathom models decoder-only transformers";
  } else {
    what = "\"" + type + "\" is not a model family Fathom imports";
  }
  d.Add({core::Severity::kError, file, 0, key, what,
         "supported model_type values: " + core::JoinComma(supported)});
  return true;
}

// The model_type of the language model under a text_config without one, as the multimodal
// config class sets it: LlavaConfig's default (llama), Gemma3Config's Gemma3TextConfig,
// Llama4Config's Llama4TextConfig, MllamaConfig's MllamaTextConfig.
std::string TextModelTypeOf(const std::string& top) {
  if (top == "llava") return "llama";
  if (top == "gemma3") return "gemma3_text";
  if (top == "llama4") return "llama4_text";
  if (top == "qwen2_vl") return "qwen2_vl_text";
  if (top == "qwen2_5_vl") return "qwen2_5_vl_text";
  if (top == "mllama") return "mllama_text_model";
  return "";
}

// A text_config's config class: its defaults for the keys it omits (those Fathom reads, where
// they are certain), and its name; null for a class whose defaults are not known here.
struct TextDefaults {
  json values = nullptr;
  std::string config_class;
};

TextDefaults TextDefaultsOf(const std::string& type) {
  if (type == "gemma3_text") {
    // transformers' models/gemma3/configuration_gemma3.py, Gemma3TextConfig.__init__.
    return {{{"vocab_size", 262208},
             {"hidden_size", 2304},
             {"intermediate_size", 9216},
             {"num_hidden_layers", 26},
             {"num_attention_heads", 8},
             {"num_key_value_heads", 4},
             {"head_dim", 256},
             {"hidden_activation", "gelu_pytorch_tanh"},
             {"max_position_embeddings", 131072},
             {"attention_bias", false},
             {"sliding_window", 4096},
             {"sliding_window_pattern", 6}},
            "Gemma3TextConfig (transformers' configuration_gemma3.py)"};
  }
  if (type == "llama") {
    // transformers' models/llama/configuration_llama.py, LlamaConfig.__init__
    // (num_key_value_heads and head_dim default to None: num_attention_heads and
    // hidden_size / num_attention_heads, as the importer reads their absence).
    return {{{"vocab_size", 32000},
             {"hidden_size", 4096},
             {"intermediate_size", 11008},
             {"num_hidden_layers", 32},
             {"num_attention_heads", 32},
             {"hidden_act", "silu"},
             {"max_position_embeddings", 2048},
             {"attention_bias", false},
             {"mlp_bias", false}},
            "LlamaConfig (transformers' configuration_llama.py)"};
  }
  return {};
}

// The defaults a family's transformers config class gives the keys that size its MLPs and
// experts, its head width (head_dim, where the class does not derive it from the hidden size)
// and attention window, and its latent attention, for a config that omits
// them or gives null (q_lora_rank's null is DeepSeek's "no query compression") (each from
// transformers' models/<family>/configuration_<family>.py, the class's __init__). They are
// the sizes of the class's example model, likely not the checkpoint's, so each one taken is
// a warning. Widths that follow from the hidden size are not listed: GPT-2's n_inner and
// Falcon's ffn_hidden_size (4 x hidden, as GPT2MLP and FalconConfig compute it) and BLOOM's
// MLP (always 4 x hidden, BloomMLP).
TextDefaults FamilyDefaultsOf(const std::string& type) {
  if (type == "llama") return {{{"intermediate_size", 11008}}, "LlamaConfig"};
  if (type == "olmo2") return {{{"intermediate_size", 11008}}, "Olmo2Config"};
  if (type == "mistral") {
    return {{{"intermediate_size", 14336}, {"sliding_window", 4096}}, "MistralConfig"};
  }
  if (type == "mixtral") {
    return {{{"intermediate_size", 14336}, {"num_local_experts", 8}, {"num_experts_per_tok", 2}},
            "MixtralConfig"};
  }
  if (type == "qwen2") {
    return {{{"intermediate_size", 22016}, {"sliding_window", 4096}}, "Qwen2Config"};
  }
  if (type == "qwen2_vl" || type == "qwen2_vl_text") {
    return {{{"intermediate_size", 29568}, {"sliding_window", 4096}}, "Qwen2VLConfig"};
  }
  if (type == "qwen2_5_vl" || type == "qwen2_5_vl_text") {
    return {{{"intermediate_size", 29568}, {"sliding_window", 4096}}, "Qwen2_5_VLConfig"};
  }
  if (type == "qwen2_moe") {
    return {{{"intermediate_size", 22016},
             {"moe_intermediate_size", 1408},
             {"shared_expert_intermediate_size", 5632},
             {"num_experts", 60},
             {"num_experts_per_tok", 4},
             {"sliding_window", 4096}},
            "Qwen2MoeConfig"};
  }
  if (type == "qwen3") {
    return {{{"intermediate_size", 22016}, {"head_dim", 128}, {"sliding_window", 4096}},
            "Qwen3Config"};
  }
  if (type == "qwen3_moe") {
    return {{{"intermediate_size", 6144},
             {"moe_intermediate_size", 768},
             {"num_experts", 128},
             {"num_experts_per_tok", 8},
             {"sliding_window", 4096}},
            "Qwen3MoeConfig"};
  }
  if (type == "gemma") {
    return {{{"intermediate_size", 24576}, {"head_dim", 256}}, "GemmaConfig"};
  }
  if (type == "gemma2") {
    return {{{"intermediate_size", 9216}, {"head_dim", 256}, {"sliding_window", 4096}},
            "Gemma2Config"};
  }
  if (type == "gemma3" || type == "gemma3_text") {
    return {{{"intermediate_size", 9216}, {"head_dim", 256}, {"sliding_window", 4096}},
            "Gemma3TextConfig"};
  }
  if (type == "phi3") return {{{"intermediate_size", 8192}}, "Phi3Config"};
  if (type == "gpt_neox") return {{{"intermediate_size", 24576}}, "GPTNeoXConfig"};
  if (type == "gpt_oss") {
    return {{{"intermediate_size", 2880},
             {"num_local_experts", 128},
             {"num_experts_per_tok", 4},
             {"sliding_window", 128}},
            "GptOssConfig"};
  }
  // MLA: both classes' q_lora_rank 1536, kv_lora_rank 512, qk_rope_head_dim 64,
  // qk_nope_head_dim and v_head_dim 128.
  if (type == "deepseek_v2") {
    return {{{"intermediate_size", 11008},
             {"moe_intermediate_size", 1407},
             {"q_lora_rank", 1536},
             {"kv_lora_rank", 512},
             {"qk_rope_head_dim", 64},
             {"qk_nope_head_dim", 128},
             {"v_head_dim", 128}},
            "DeepseekV2Config"};
  }
  if (type == "deepseek_v3") {
    return {{{"intermediate_size", 18432},
             {"q_lora_rank", 1536},
             {"kv_lora_rank", 512},
             {"qk_rope_head_dim", 64},
             {"qk_nope_head_dim", 128},
             {"v_head_dim", 128},
             {"moe_intermediate_size", 2048},
             {"n_routed_experts", 256},
             {"num_experts_per_tok", 8},
             {"n_shared_experts", 1},
             {"first_k_dense_replace", 3}},
            "DeepseekV3Config"};
  }
  if (type == "llama4" || type == "llama4_text") {
    return {{{"intermediate_size", 8192},
             {"intermediate_size_mlp", 16384},
             {"num_local_experts", 16},
             {"num_experts_per_tok", 1},
             {"attention_chunk_size", 8192}},
            "Llama4TextConfig"};
  }
  if (type == "opt") return {{{"ffn_dim", 3072}}, "OPTConfig"};
  return {};
}

// A list of layer indices (mlp_only_layers, moe_layers): each in [0, layers). False, with an
// error, when it is not such a list.
bool LayerList(const json& list, const std::string& key, int layers, const std::string& file,
               core::Diagnostics& d, std::vector<bool>& listed) {
  listed.assign(static_cast<size_t>(std::max(0, layers)), false);
  if (!list.is_array()) {
    d.Add({core::Severity::kError, file, 0, key,
           "expected a list of layer indices, got " + list.dump(), ""});
    return false;
  }
  for (const json& v : list) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= layers) {
      d.Add({core::Severity::kError, file, 0, key,
             "layer index " + v.dump() + " in " + list.dump() + " is not in [0, " +
                 std::to_string(layers) + ")",
             "layers are numbered from 0 to num_hidden_layers - 1"});
      return false;
    }
    listed[static_cast<size_t>(v.get<int64_t>())] = true;
  }
  return true;
}

// Sets moe.first_dense_layers and moe.layer_frequency so that exactly the layers in `moe`
// are MoE layers; false when no such pair exists (the placement rule is in model_spec.h).
bool PlaceMoeLayers(const std::vector<bool>& moe, model::MoeSpec& spec) {
  const auto first_moe = std::find(moe.begin(), moe.end(), true);
  if (first_moe == moe.end()) return false;  // no MoE layer: not an MoE model
  const int s0 = static_cast<int>(first_moe - moe.begin());
  const int n = static_cast<int>(moe.size());
  // The configured frequency first, so that a list that restates it changes nothing.
  std::vector<int> frequencies = {std::max(1, spec.layer_frequency)};
  for (int f = 1; f <= n; ++f) frequencies.push_back(f);
  for (const int f : frequencies) {
    const int first = s0 - f + 1;
    if (first < 0) continue;
    bool same = true;
    for (int i = 0; i < n && same; ++i) {
      same = moe[static_cast<size_t>(i)] == (i >= first && (i - first + 1) % f == 0);
    }
    if (same) {
      spec.first_dense_layers = first;
      spec.layer_frequency = f;
      return true;
    }
  }
  return false;
}

core::Result<model::ModelSpec> Import(const std::string& text, const std::string& file,
                                      const HfImportOptions& options, HfSources* sources) {
  core::Diagnostics d;
  if (std::optional<core::Diagnostic> error = JsonSyntaxError(text, file)) {
    d.Add(*std::move(error));
    return d;
  }
  const json j = json::parse(text);
  if (!j.is_object()) {
    d.Add({core::Severity::kError, file, 1, "", "expected a JSON object", ""});
    return d;
  }
  // Multimodal configs (LLaVA, Gemma 3, Llama 4) nest the language model under text_config;
  // the keys it omits take its config class's defaults, as transformers reads it.
  Reader top{j, file, d, ""};
  const std::string top_type = top.Str({"model_type"}, "");
  const json* text_config = top.Object("text_config");
  // A multimodal config class given text_config null builds its text config from the
  // defaults, as it does with {} (Gemma3Config(text_config=None)).
  static const json kNoKeys = json::object();
  if (text_config == nullptr && !TextModelTypeOf(top_type).empty() && j.contains("text_config") &&
      j["text_config"].is_null()) {
    text_config = &kNoKeys;
  }
  Reader r{text_config != nullptr ? *text_config : j, file, d,
           text_config != nullptr ? "text_config." : ""};
  r.sources = sources;
  std::string model_type =
      text_config != nullptr ? r.Str({"model_type"}, TextModelTypeOf(top_type)) : top_type;
  if (d.HasErrors()) return d;
  const bool encoder_decoder = top.Bool({"is_encoder_decoder"}, false);
  // A model_type of no family the importer knows, on a class it reads (a model released with
  // code of its own that reuses another family's): read as that class's family, said.
  if (text_config == nullptr && !encoder_decoder && !OneOf(model_type, kModelTypes) &&
      !OneOf(model_type, kEncoderDecoderTypes) && !OneOf(model_type, kEncoderTypes)) {
    if (const auto [cls, family] = FamilyOfArchitectures(j); !family.empty()) {
      d.Add({core::Severity::kWarning, file, 0, "model_type",
             (model_type.empty() ? std::string("missing")
                                 : "\"" + model_type + "\" is no family Fathom knows") +
                 "; read as \"" + family + "\", the family of architectures' " + cls,
             "check that the model's layers are " + cls +
                 "'s; if not, describe the model in a model file (docs/formats.md)"});
      model_type = family;
    }
  }
  if (UnsupportedType(model_type, encoder_decoder, r.prefix + "model_type", top_type, file, d)) {
    return d;
  }
  // The config class's defaults: the MLP, expert and window keys' for any config, every key's
  // the importer knows for a text_config.
  TextDefaults defaults = FamilyDefaultsOf(model_type);
  if (text_config != nullptr) {
    if (TextDefaults all = TextDefaultsOf(model_type); all.values.is_object()) {
      if (defaults.values.is_object()) all.values.update(defaults.values, /*merge_objects=*/false);
      defaults = std::move(all);
    }
  }
  r.defaults = defaults.values;
  // The family whose rules apply (Qwen2-VL's language model is Qwen2's).
  const std::string type = OneOf(model_type, kQwen2VlTypes) ? "qwen2" : model_type;
  model::ModelSpec m;
  // The model's name: the file's; for config.json, whose file name says nothing, the
  // config's _name_or_path (or name_or_path: "deepseek-ai/DeepSeek-V3" -> DeepSeek-V3)
  // where it gives one, else the directory holding it (the current one for a bare
  // `config.json`; a directory a config was saved in may say little: "review-new"); else
  // the _name_or_path, else the model_type: never empty.
  auto given_name = [&j]() -> std::string {
    for (const char* key : {"_name_or_path", "name_or_path"}) {
      const auto at = j.find(key);
      if (at == j.end() || !at->is_string()) continue;
      std::string path = at->get<std::string>();
      while (!path.empty() && (path.back() == '/' || path.back() == '\\')) path.pop_back();
      std::string name = std::filesystem::path(path).filename().string();
      if (!name.empty() && name != "." && name != "..") return name;
    }
    return "";
  };
  m.name = std::filesystem::path(file).stem().string();
  if (m.name == "config") {
    m.name = given_name();
    if (m.name.empty()) {
      std::error_code ec;
      const std::filesystem::path dir =
          std::filesystem::absolute(file, ec).lexically_normal().parent_path();
      m.name = ec ? "" : dir.filename().string();
    }
  }
  if (m.name.empty()) m.name = given_name();
  if (m.name.empty()) m.name = model_type;
  m.description = "imported from a Hugging Face config.json (model_type " + model_type + ")";
  m.source = "Hugging Face config.json: " + file;
  const bool gpt2 = type == "gpt2";
  const bool neox = type == "gpt_neox";
  m.hidden = r.Field("hidden", {"hidden_size", "n_embd", "d_model"}, true);
  m.layers = r.Field("layers", {"num_hidden_layers", "n_layer", "num_layers"}, true);
  m.heads = r.Field("heads", {"num_attention_heads", "n_head"}, true);
  m.kv_heads = r.Field("kv_heads", {"num_key_value_heads", "num_kv_heads"}, false, m.heads);
  // Falcon (FalconAttention): one key/value head with multi_query (FalconConfig's default,
  // true) unless new_decoder_architecture (40B, 180B), which has num_kv_heads.
  if (type == "falcon" && !r.Bool({"new_decoder_architecture"}, false) &&
      r.Bool({"multi_query"}, true)) {
    m.kv_heads = 1;
  }
  m.head_dim = r.Field("head_dim", {"head_dim"}, false, 0);
  // The MLP width, under each family's own key; without it, GPT-2 and Falcon take 4 x hidden
  // (GPT2MLP, FalconConfig), BLOOM always has 4 x hidden (BloomMLP), and the others their
  // config class's default (FamilyDefaultsOf).
  const int four_h = static_cast<int>(std::min<int64_t>(4LL * m.hidden, kMaxInt));
  if (type == "bloom") {
    m.ffn_hidden = four_h;
  } else {
    const bool relative = gpt2 || type == "falcon";
    m.ffn_hidden = r.Field("ffn_hidden",
                           {gpt2               ? "n_inner"
                            : type == "falcon" ? "ffn_hidden_size"
                            : type == "opt"    ? "ffn_dim"
                                               : "intermediate_size"},
                           !relative, four_h);
  }
  m.vocab = r.Field("vocab", {"vocab_size"}, true);
  // The longest sequence the model accepts, which is not the length it is trained at.
  const std::initializer_list<const char*> positions = {"max_position_embeddings", "n_positions",
                                                        "seq_length"};
  // OPT's learned table has two more rows (its position ids start at 2), not counted.
  m.max_positions = r.Field("max_positions", positions, false, 0);
  m.seq_len = m.max_positions;
  // Without the caller's seq_len: the context the model was trained at where the config
  // states it (GPT-OSS's initial_context_length; the original_max_position_embeddings that
  // a RoPE scaling such as Llama 3.1's or YaRN extends, or Phi-3's beside max_position_embeddings),
  // else the longest it accepts; with a warning naming the key.
  const json* scaling = r.Object("rope_scaling");
  if (!options.seq_len_given) {
    // An example length the model accepts (GPT-2's learned positions stop at 1,024).
    auto how_for = [](int max_positions) {
      const bool short_model = max_positions > 0 && max_positions < 8192;
      return "give model.seq_len in the scenario, or --set model.seq_len=" +
             std::to_string(short_model ? max_positions : 8192) +
             (short_model ? " (the most the model accepts)" : std::string());
    };
    const std::string how = how_for(m.max_positions);
    const std::string longest =
        m.max_positions > 0 ? r.NameOf(positions) + " (" + std::to_string(m.max_positions) + ")"
                            : "";
    std::string trained_key, why;
    int trained = 0;
    const json* trained_value = nullptr;
    if (r.Find({"initial_context_length"}) != nullptr) {
      trained_key = "initial_context_length";
      trained_value = r.Find({"initial_context_length"});
      trained = r.Int({"initial_context_length"}, false, 0);
      why = "the context length the model was trained at" +
            (longest.empty() ? "" : " (it accepts up to " + longest + ")");
    } else if (scaling != nullptr && Reader{*scaling, file, d, ""}.Find(
                                         {"original_max_position_embeddings"}) != nullptr) {
      trained_key = "rope_scaling.original_max_position_embeddings";
      trained_value = Reader{*scaling, file, d, ""}.Find({"original_max_position_embeddings"});
      trained = Reader{*scaling, file, d, r.prefix + "rope_scaling."}.Int(
          {"original_max_position_embeddings"}, false, 0);
      why = "the context length before its RoPE scaling" +
            (longest.empty() ? "" : " extended it to " + longest);
    } else if (r.Find({"original_max_position_embeddings"}) != nullptr) {
      trained_key = "original_max_position_embeddings";
      trained_value = r.Find({"original_max_position_embeddings"});
      trained = r.Int({"original_max_position_embeddings"}, false, 0);
      why = "the context length the model was pretrained at" +
            (longest.empty() ? "" : " (it accepts up to " + longest + ")");
    }
    // A context length that is 0 or not a number is an error (Int says one, this the other),
    // not a reason to fall back to the longest sequence under this key's name.
    const bool unreadable = !trained_key.empty() && trained <= 0;
    if (unreadable && trained_value != nullptr && trained_value->is_number() &&
        trained_value->get<double>() == 0) {
      d.Add({core::Severity::kError, file, 0, r.prefix + trained_key,
             "is 0: expected the context length the model was trained at, at least 1",
             "check the config, or " + how});
    }
    if (trained > 0) {
      m.seq_len = trained;
    } else if (trained_key.empty() && m.max_positions > 0) {
      trained_key = r.NameOf(positions);
      why = "the longest sequence the model accepts";
    }
    if (unreadable) {
      // An error above: the length is neither taken nor defaulted.
    } else if (m.seq_len > 0 && !trained_key.empty()) {
      d.Add({core::Severity::kWarning, file, 0, r.prefix + trained_key,
             "the training sequence length is not given, so it is taken as " + trained_key + " (" +
                 std::to_string(m.seq_len) + "), " + why,
             how});
    } else if (r.Find(positions) == nullptr && trained_key.empty() && type == "falcon") {
      // Falcon-40B's published config has none: FalconConfig's default, 2048, as
      // transformers reads it.
      m.max_positions = m.seq_len = 2048;
      d.Add({core::Severity::kWarning, file, 0, r.prefix + "max_position_embeddings",
             "missing in the Hugging Face config and the training sequence length is not "
             "given, so it is taken as FalconConfig's default max_position_embeddings (2048)",
             how_for(m.max_positions)});
    } else if (r.Find(positions) == nullptr && trained_key.empty()) {
      d.Add({core::Severity::kError, file, 0, r.prefix + "max_position_embeddings",
             "missing in the Hugging Face config, and the training sequence length is not given",
             how});
    }
  }
  // Gemma names its MLP activation hidden_activation (hidden_act is kept for older code).
  // The families with a gate keep its three matrices whatever the activation.
  const bool gated = !(gpt2 || neox || type == "falcon" || type == "opt" || type == "bloom");
  const std::initializer_list<const char*> act_keys = {"hidden_activation", "hidden_act",
                                                       "activation_function"};
  const std::string act = r.Str(act_keys, gated ? "silu" : "gelu");
  if (const std::optional<model::Activation> a = ActivationOf(act, gated)) {
    m.activation = *a;
  } else {
    d.Add({core::Severity::kError, file, 0, r.prefix + r.NameOf(act_keys),
           OneOf(act, kActivations)
               ? "\"" + act + "\" in the ungated MLP of " + type + " is not modelled"
               : "\"" + act + "\" is not an activation Fathom knows",
           "expected one of " + ActivationList(gated) +
               (gated ? " (gated: SwiGLU, GeGLU, ReGLU)" : " (ungated: GeLU, ReLU)")});
  }
  m.norm = (gpt2 || neox || type == "falcon" || type == "opt" || type == "bloom")
               ? model::Norm::kLayerNorm
               : model::Norm::kRMSNorm;
  // Falcon's `alibi: true` (Falcon-RW) replaces its rotary embedding with ALiBi.
  const bool alibi = type == "bloom" || (type == "falcon" && r.Bool({"alibi"}, false));
  m.position = gpt2 || type == "opt" ? model::Position::kLearned
               : alibi               ? model::Position::kAlibi
                                     : model::Position::kRoPE;
  // OPT-350m's embeddings are narrower than its layers (project_in, project_out): not
  // modelled, so its embedding and output head are counted at the layers' width.
  if (type == "opt" && r.j.contains("word_embed_proj_dim") &&
      r.j["word_embed_proj_dim"].is_number_integer() &&
      r.j["word_embed_proj_dim"].get<int64_t>() != m.hidden) {
    d.Add({core::Severity::kWarning, file, 0, r.prefix + "word_embed_proj_dim",
           r.j["word_embed_proj_dim"].dump() +
               " is ignored: embeddings narrower than hidden_size (OPT's project_in and "
               "project_out) are not modelled, so the embedding and the output head are "
               "counted " +
               std::to_string(m.hidden) + " wide",
           "the parameter count and the head's FLOPs are over by the difference"});
  }
  // Absent, tie_word_embeddings takes the family's config-class default.
  m.tied_embeddings = r.Bool({"tie_word_embeddings"}, !OneOf(type, kUntiedByDefault));
  // BLOOM always has biases in its linear layers; OPT unless enable_bias is false.
  const bool opt_bias = type == "opt" && r.Bool({"enable_bias"}, true);
  // Falcon's bias covers every linear layer. attention_bias is the attention projections'
  // (q, k, v and o) in the families whose attention reads it; Mistral's, Mixtral's and
  // Phi-3's attention has no biases whatever the config says. Qwen2 and Qwen2-MoE always have
  // q, k and v biases (no config key; Qwen2Attention). GPT-OSS's router and experts always
  // have biases (GptOssTopKRouter's bias, GptOssExperts' gate_up_proj_bias and
  // down_proj_bias), and its attention unless attention_bias is false (GptOssConfig: true).
  const bool gpt_oss = type == "gpt_oss";
  m.bias =
      gpt2 || neox || type == "bloom" || opt_bias || (type == "falcon" && r.Bool({"bias"}, false));
  if (type == "qwen2" || type == "qwen2_moe") {
    m.attention_bias = model::AttentionBias::kQkv;
  } else if (type == "glm4_moe" && r.Bool({"attention_bias"}, false)) {
    // Glm4MoeAttention: q, k and v projections with attention_bias, o_proj without.
    m.attention_bias = model::AttentionBias::kQkv;
  } else if (OneOf(type, kAttentionBiasTypes) && r.Bool({"attention_bias"}, gpt_oss)) {
    m.attention_bias = model::AttentionBias::kAll;
  } else if (OneOf(type, kNoAttentionBiasTypes) && r.Bool({"attention_bias"}, false)) {
    d.Add({core::Severity::kWarning, file, 0, r.prefix + "attention_bias",
           "true is ignored: " + type + "'s attention has no biases in transformers",
           "the parameter count is the checkpoint's"});
  } else if ((type == "deepseek_v2" || type == "deepseek_v3") &&
             r.Bool({"attention_bias"}, false)) {
    d.Add({core::Severity::kWarning, file, 0, r.prefix + "attention_bias",
           "true: the biases of latent attention's down and output projections (q_a_proj, "
           "kv_a_proj_with_mqa, o_proj) are not counted",
           "they are about hidden + q_lora_rank + kv_lora_rank + qk_rope_head_dim parameters "
           "a layer, under a millionth of the model"});
  }
  if (gpt_oss) m.mlp_bias = true;
  // Llama's mlp_bias: biases on gate_proj, up_proj and down_proj (LlamaMLP); the other
  // families' MLPs read no such key.
  if (type == "llama") m.mlp_bias = r.Bool({"mlp_bias"}, false);
  // GPT-NeoX's attention_bias (true in GPTNeoXConfig) is its query_key_value and dense
  // projections'; its MLP always has biases.
  if (neox && !r.Bool({"attention_bias"}, true)) {
    m.bias = false;
    m.attention_bias = model::AttentionBias::kNone;
    m.mlp_bias = true;
  }
  // Extra norms: Qwen3's and Gemma 3's per-head q_norm and k_norm (OLMo 2's over all
  // heads); Gemma 2's and 3's post_attention_layernorm and post_feedforward_layernorm (four
  // per layer); BLOOM's word_embeddings_layernorm.
  m.qk_norm = type == "qwen3" || type == "qwen3_moe" || type == "gemma3" || type == "gemma3_text" ||
              type == "olmo2" || (type == "glm4_moe" && r.Bool({"use_qk_norm"}, false));
  // OLMo 2 normalises the whole query and key projections (Olmo2Attention's q_norm over
  // heads·d, k_norm over kv_heads·d), and its two norms per layer follow the attention and
  // the MLP instead of preceding them: the same count and work as pre-norms.
  m.qk_norm_all_heads = type == "olmo2";
  m.post_norms = type == "gemma2" || type == "gemma3" || type == "gemma3_text";
  m.embedding_norm = type == "bloom";
  // Parallel attention and MLP (the families' config defaults: GPT-NeoX's
  // use_parallel_residual and Falcon's parallel_attn are true). GPT-NeoX normalises the
  // input separately for each (input_layernorm, post_attention_layernorm); Falcon's
  // new_decoder_architecture (40B, 180B) too (ln_attn, ln_mlp), unless
  // num_ln_in_parallel_attn is 1; the original Falcon (7B) shares one input_layernorm.
  const bool falcon = type == "falcon";
  const bool falcon_new = falcon && r.Bool({"new_decoder_architecture"}, false);
  m.parallel_attention =
      falcon_new || r.Bool({"use_parallel_residual", "parallel_attn"}, neox || falcon);
  if (neox) m.parallel_norms = 2;
  if (falcon_new) m.parallel_norms = r.Int({"num_ln_in_parallel_attn"}, false, 2) == 1 ? 1 : 2;
  m.dropout = false;

  // Mixture of experts.
  const bool llama4 = type == "llama4_text" || type == "llama4";
  // The experts' key as each family names it (the first is the one to give when omitted).
  const bool deepseek = type == "deepseek_v2" || type == "deepseek_v3";
  const bool qwen_moe = type == "qwen2_moe" || type == "qwen3_moe";
  m.moe.experts =
      deepseek   ? r.Field("moe.experts", {"n_routed_experts", "num_local_experts"}, false, 0)
      : qwen_moe ? r.Field("moe.experts", {"num_experts", "num_local_experts"}, false, 0)
                 : r.Field("moe.experts", {"num_local_experts", "n_routed_experts", "num_experts"},
                           false, 0);
  m.moe.top_k =
      r.Field("moe.top_k", {"num_experts_per_tok", "experts_per_token", "moe_top_k"}, false, 0);
  // A null n_shared_experts is DeepSeek's "no shared expert" (DeepseekV3MoE builds one only
  // when it is not None), not the class's default.
  const auto shared = r.j.find("n_shared_experts");
  m.moe.shared_experts = shared != r.j.end() && shared->is_null()
                             ? 0
                             : r.Field("moe.shared_experts", {"n_shared_experts"}, false, 0);
  // Qwen3-MoE has no shared expert (Qwen3MoeSparseMoeBlock): its key is ignored.
  if (type == "qwen3_moe" && r.j.contains("shared_expert_intermediate_size")) {
    d.Add({core::Severity::kWarning, file, 0, r.prefix + "shared_expert_intermediate_size",
           r.j["shared_expert_intermediate_size"].dump() +
               " is ignored: model_type qwen3_moe has no shared expert in transformers",
           "leave it out; to model a shared expert, give moe.shared_ffn_hidden in a model file"});
  } else {
    m.moe.shared_ffn_hidden =
        r.Field("moe.shared_ffn_hidden", {"shared_expert_intermediate_size"}, false, 0);
  }
  if (m.moe.shared_experts == 0 && m.moe.shared_ffn_hidden > 0) m.moe.shared_experts = 1;
  // Qwen2-MoE (Qwen1.5-MoE) gates its shared expert (shared_expert_gate, h -> 1).
  m.moe.shared_expert_gate = type == "qwen2_moe" && m.moe.shared_experts > 0;
  // The routed experts' width: moe_intermediate_size, except in the families whose experts
  // are their MLPs (Mixtral, GPT-OSS, Llama 4: intermediate_size).
  const bool experts_are_mlps = type == "mixtral" || gpt_oss || llama4;
  if (m.moe.experts > 0 && !experts_are_mlps) {
    if (r.Find({"moe_intermediate_size"}) == nullptr) {
      d.Add({core::Severity::kError, file, 0, r.prefix + "moe_intermediate_size",
             "missing in the Hugging Face config, and Fathom knows no default for the experts of "
             "model_type " +
                 model_type,
             "give moe_intermediate_size, the MLP width of one routed expert"});
    } else {
      m.moe.expert_ffn_hidden =
          r.Field("moe.expert_ffn_hidden", {"moe_intermediate_size"}, false, 0);
      if (m.moe.expert_ffn_hidden == 0) {
        d.Add({core::Severity::kError, file, 0, r.prefix + "moe_intermediate_size",
               "must be at least 1 (the MLP width of one routed expert)", ""});
      }
    }
  }
  if (llama4 && m.moe.experts > 0) {
    // Llama 4: intermediate_size is the expert's width (and the always-on shared
    // expert's); dense layers use intermediate_size_mlp.
    m.moe.expert_ffn_hidden = m.ffn_hidden;
    m.moe.shared_experts = 1;
    m.ffn_hidden = r.Field("ffn_hidden", {"intermediate_size_mlp"}, false, m.ffn_hidden);
  }
  if (m.moe.experts > 0 && experts_are_mlps && !llama4) m.moe.expert_ffn_hidden = m.ffn_hidden;
  m.moe.first_dense_layers = r.Field("moe.first_dense_layers", {"first_k_dense_replace"}, false, 0);
  m.moe.layer_frequency =
      r.Int({"moe_layer_freq", "decoder_sparse_step", "interleave_moe_layer_step"}, false, 1);
  if (m.moe.layer_frequency == 0) {
    d.Add({core::Severity::kError, file, 0,
           r.prefix +
               r.NameOf({"moe_layer_freq", "decoder_sparse_step", "interleave_moe_layer_step"}),
           "must be at least 1 (every n-th layer is an MoE layer)", ""});
    m.moe.layer_frequency = 1;
  }
  // DeepSeek counts moe_layer_freq from layer 0 (DeepseekV2/V3DecoderLayer: MoE where
  // layer_idx >= first_k_dense_replace and layer_idx % moe_layer_freq == 0), Qwen and Llama 4
  // from the first MoE layer ((layer_idx + 1) % step == 0), as Fathom does.
  if ((type == "deepseek_v2" || type == "deepseek_v3") && m.moe.layer_frequency > 1 &&
      m.moe.experts > 0 && m.layers > 0) {
    const int k = m.moe.first_dense_layers;
    const int f = m.moe.layer_frequency;
    std::vector<bool> moe(static_cast<size_t>(m.layers));
    for (int i = 0; i < m.layers; ++i) moe[static_cast<size_t>(i)] = i >= k && i % f == 0;
    // No MoE layer at all (k past the last layer) stays as it was: every layer dense.
    if (std::find(moe.begin(), moe.end(), true) != moe.end() && !PlaceMoeLayers(moe, m.moe)) {
      d.Add({core::Severity::kError, file, 0, r.prefix + "moe_layer_freq",
             "MoE layers at every multiple of " + std::to_string(f) + " from layer " +
                 std::to_string(k) + " are not a placement Fathom can express",
             "give moe.first_dense_layers and moe.layer_frequency in a model file instead"});
    }
  }
  // Per-layer lists: Qwen's mlp_only_layers (dense layers, on top of decoder_sparse_step) and
  // Llama 4's moe_layers (the MoE layers, in place of interleave_moe_layer_step). Imported
  // when first_dense_layers and layer_frequency express them exactly; an empty list changes
  // nothing.
  for (const char* key : {"mlp_only_layers", "moe_layers"}) {
    const json* list = r.Find({key});
    if (list == nullptr || (list->is_array() && list->empty()) || m.moe.experts == 0 ||
        m.layers == 0) {
      continue;
    }
    std::vector<bool> listed;
    if (!LayerList(*list, r.prefix + key, m.layers, file, d, listed)) continue;
    const bool dense_list = std::string_view(key) == "mlp_only_layers";
    std::vector<bool> moe(listed.size());
    for (size_t i = 0; i < moe.size(); ++i) {
      moe[i] =
          dense_list ? model::KindOfLayer(m, static_cast<int>(i)).moe && !listed[i] : listed[i];
    }
    if (!PlaceMoeLayers(moe, m.moe)) {
      d.Add({core::Severity::kError, file, 0, r.prefix + key,
             list->dump() + " is not a placement Fathom can express" +
                 (dense_list
                      ? " (with decoder_sparse_step " + std::to_string(m.moe.layer_frequency) + ")"
                      : ""),
             "supported: the MoE layers are every n-th layer after k leading dense layers "
             "(moe.first_dense_layers k, moe.layer_frequency n), e.g. mlp_only_layers [0, 1, 2] "
             "or moe_layers [1, 3, 5, ...]; give moe.first_dense_layers and moe.layer_frequency "
             "in a model file instead"});
    }
  }
  // Node-limited (group-limited) routing: DeepSeek's router picks topk_group of n_group
  // expert groups per token, then its top_k experts among them (DeepseekV3MoE's gate;
  // DeepSeek-V3, arXiv 2412.19437 Sec. 2.1.2: 8 groups, one per node, 4 of them). The
  // model is the same either way; what it changes is the all-to-all, which Fathom prices
  // from the plan: said, with the plan keys that express it.
  if (m.moe.experts > 0) {
    const int groups = r.Int({"n_group"}, false, 1);
    const int chosen = r.Int({"topk_group"}, false, groups);
    if (groups > 1 && chosen >= 1 && chosen < groups) {
      d.Add({core::Severity::kNote, file, 0, r.prefix + "topk_group",
             "n_group " + std::to_string(groups) + ", topk_group " + std::to_string(chosen) +
                 ": the router sends a token's experts to at most " + std::to_string(chosen) +
                 " of " + std::to_string(groups) +
                 " expert groups (node-limited routing); the model file has no key for it, "
                 "the plan has",
             "where the " + std::to_string(groups) +
                 " groups are the expert-parallel ranks' scale-up domains (DeepSeek-V3: ep 64 "
                 "over 8 nodes), set plan.moe_max_domains: " +
                 std::to_string(chosen) +
                 ", with plan.moe_dispatcher: deepep for a dispatch that sends a token once to "
                 "each domain (with alltoall the limit moves no fewer bytes)"});
    }
  }
  m.mtp_layers = r.Field("mtp_layers", {"num_nextn_predict_layers"}, false, 0);
  // Sliding-window attention, in the families whose attention in transformers uses it:
  // Mistral, Mixtral and Phi-3 window every layer; GPT-OSS alternates windowed and full layers
  // (layer_types); Gemma 2 and 3 below. Llama 4's chunked attention (attention_chunk_size,
  // attention_chunk) has every fourth layer global (no RoPE).
  // Qwen2, Qwen2-MoE, Qwen3 and Qwen3-MoE window only with use_sliding_window (their config
  // classes default it to false), and then only the layers from max_window_layers on (28 by
  // default in each config class); Fathom's windows cover every layer but the global ones.
  // The other families' attention (Llama, Gemma, GPT-NeoX, DeepSeek, ...) ignores a
  // sliding_window, and so does the importer, with a warning.
  const bool qwen =
      type == "qwen2" || type == "qwen2_moe" || type == "qwen3" || type == "qwen3_moe";
  const bool gemma3 = type == "gemma3" || type == "gemma3_text";
  const bool windows = qwen || type == "mistral" || type == "mixtral" || type == "phi3" ||
                       gpt_oss || type == "gemma2" || gemma3;
  const char* window_key = llama4 ? "attention_chunk_size" : windows ? "sliding_window" : "";
  // A null window is none (MistralConfig(sliding_window=None)), not the class's default.
  const auto window_it = r.j.find(window_key);
  const bool window_on = (!qwen || r.Bool({"use_sliding_window"}, false)) &&
                         !(window_it != r.j.end() && window_it->is_null());
  const int span = *window_key != '\0' && window_on ? r.Int({window_key}, false, 0) : 0;
  (llama4 ? m.attention_chunk : m.sliding_window) = span;
  for (const char* key : {"sliding_window", "attention_chunk_size"}) {
    const auto it = r.j.find(key);
    if (it == r.j.end() || it->is_null() || std::string_view(key) == window_key) continue;
    d.Add({core::Severity::kWarning, file, 0, r.prefix + key,
           it->dump() + " is ignored: the attention of model_type " + model_type +
               " in transformers does not use it, so every layer attends to the whole sequence",
           "leave it out; to model a window anyway, give sliding_window in a Fathom model "
           "file"});
  }
  if (qwen && m.sliding_window > 0) {
    const int full_layers = r.Int({"max_window_layers"}, false, 28);
    if (full_layers >= m.layers) {
      m.sliding_window = 0;  // no layer reaches max_window_layers
    } else if (full_layers > 0) {
      d.Add({core::Severity::kError, file, 0, r.prefix + "max_window_layers",
             std::to_string(full_layers) + " windows layers " + std::to_string(full_layers) +
                 " to " + std::to_string(m.layers - 1) +
                 " and not the ones before them: " + "not a pattern Fathom can express",
             "supported: max_window_layers 0 (every layer windowed) or at least "
             "num_hidden_layers (" +
                 std::to_string(m.layers) +
                 ", none); or give sliding_window and global_attention_every in a model file"});
    }
  }
  // Llama 4: the layers without RoPE attend globally, the others in chunks. no_rope_layers
  // lists 1 (RoPE, chunked) or 0 (global) per layer; empty or absent, Llama4TextConfig makes
  // every no_rope_layer_interval-th layer (4 by default) global.
  if (llama4 && m.attention_chunk > 0) {
    const int interval = r.Int({"no_rope_layer_interval"}, false, 4);
    if (interval < 1) {
      d.Add({core::Severity::kError, file, 0, r.prefix + "no_rope_layer_interval",
             "expected a positive integer, got " + std::to_string(interval),
             "every no_rope_layer_interval-th layer attends globally (4 in Llama 4)"});
    }
    m.global_attention_every = std::max(1, interval);
    const json* nope = r.Find({"no_rope_layers"});
    const std::string nope_hint =
        "one 0 (no RoPE: global attention) or 1 (RoPE: chunked attention) per layer (" +
        std::to_string(m.layers) + "), the 0s every k-th layer; or leave it out";
    std::string bad;
    int every = 0;
    if (nope != nullptr &&
        (!nope->is_array() || !std::all_of(nope->begin(), nope->end(), [](const json& v) {
          return v.is_number_integer() && (v == 0 || v == 1);
        }))) {
      bad = "expected a list of 0s and 1s, got " + nope->dump().substr(0, 80);
    } else if (nope != nullptr && !nope->empty()) {
      if (static_cast<int>(nope->size()) != m.layers) {
        bad = "lists " + std::to_string(nope->size()) + " layers, but num_hidden_layers is " +
              std::to_string(m.layers);
      }
      for (size_t i = 0; i < nope->size() && bad.empty() && every == 0; ++i) {
        if ((*nope)[i] == 0) every = static_cast<int>(i) + 1;
      }
      for (size_t i = 0; i < nope->size() && bad.empty() && every > 0; ++i) {
        if (((*nope)[i] == 0) != ((static_cast<int>(i) + 1) % every == 0)) {
          bad = "layer " + std::to_string(i) + " is " +
                ((*nope)[i] == 0 ? "global (0)" : "chunked (1)") +
                ", which breaks the pattern of its first global layer (one layer in " +
                std::to_string(every) + "): not a pattern Fathom can express";
        }
      }
      if (bad.empty()) m.global_attention_every = every;  // 0: every layer chunked
    }
    if (!bad.empty()) {
      d.Add({core::Severity::kError, file, 0, r.prefix + "no_rope_layers", bad,
             nope_hint + "; or give attention_chunk and global_attention_every in a model file"});
    }
  }
  // Gemma 2 alternates windowed and global layers, the first windowed; Gemma 3 makes every
  // sliding_window_pattern-th layer global (6 by default). Newer configs list layer_types,
  // which wins below (and the pattern's default is then neither read nor said).
  if (type == "gemma2" && m.sliding_window > 0) m.global_attention_every = 2;
  if (gemma3 && m.sliding_window > 0 && r.Find({"layer_types"}) == nullptr) {
    m.global_attention_every = r.Int({"sliding_window_pattern"}, false, 6);
    if (m.global_attention_every == 0) {
      d.Add({core::Severity::kError, file, 0, r.prefix + "sliding_window_pattern",
             "must be at least 1 (every n-th layer is global)", ""});
      m.global_attention_every = 1;
    }
  }
  // GPT-OSS (GptOssConfig's layer_types default): windowed and full layers alternate, the
  // first windowed.
  if (gpt_oss && m.sliding_window > 0) m.global_attention_every = 2;
  const json* types = r.Find({"layer_types"});
  const std::string types_hint =
      "one string per layer (" + std::to_string(m.layers) +
      "), \"sliding_attention\" (\"chunked_attention\") or \"full_attention\", every k-th "
      "layer full";
  if (types != nullptr &&
      (!types->is_array() ||
       !std::all_of(types->begin(), types->end(), [](const json& t) { return t.is_string(); }))) {
    d.Add({core::Severity::kError, file, 0, r.prefix + "layer_types",
           "expected a list of layer types, got " + types->dump(), types_hint});
  } else if (types != nullptr) {
    // Each entry one of the two types, one per layer, and the full layers every k-th (the
    // pattern Fathom models: global_attention_every k).
    int every = 0;
    std::string bad;
    for (size_t i = 0; i < types->size() && bad.empty(); ++i) {
      const std::string t = (*types)[i].get<std::string>();
      if (t != "sliding_attention" && t != "chunked_attention" && t != "full_attention") {
        bad = "entry " + std::to_string(i) + " is \"" + t +
              "\", not a layer type Fathom models (sliding_attention, chunked_attention, "
              "full_attention)";
      } else if (t == "full_attention" && every == 0) {
        every = static_cast<int>(i) + 1;
      }
    }
    if (bad.empty() && static_cast<int>(types->size()) != m.layers) {
      bad = "lists " + std::to_string(types->size()) + " layers, but num_hidden_layers is " +
            std::to_string(m.layers);
    }
    for (size_t i = 0; i < types->size() && bad.empty() && every > 0; ++i) {
      const bool full = (*types)[i] == "full_attention";
      if (full != ((static_cast<int>(i) + 1) % every == 0)) {
        bad = "layer " + std::to_string(i) + " is " + (*types)[i].get<std::string>() +
              ", which breaks the pattern of its first full layer (one layer in " +
              std::to_string(every) + "): not a pattern Fathom can express";
      }
    }
    if (!bad.empty()) {
      d.Add({core::Severity::kError, file, 0, r.prefix + "layer_types", bad,
             types_hint + "; or give sliding_window and global_attention_every in a model file"});
    } else if (m.sliding_window > 0 || m.attention_chunk > 0) {
      // No full layer: every layer local.
      m.global_attention_every = every;
    }
  }
  // Multi-head latent attention (DeepSeek-V2/V3).
  // A null q_lora_rank is DeepSeek's "no query compression" (DeepSeek-V2-Lite), not the
  // class's default.
  const auto q_lora = r.j.find("q_lora_rank");
  m.mla.q_lora_rank = q_lora != r.j.end() && q_lora->is_null()
                          ? 0
                          : r.Field("mla.q_lora_rank", {"q_lora_rank"}, false, 0);
  m.mla.kv_lora_rank = r.Field("mla.kv_lora_rank", {"kv_lora_rank"}, false, 0);
  m.mla.qk_rope_head_dim = r.Field("mla.qk_rope_head_dim", {"qk_rope_head_dim"}, false, 0);
  m.mla.qk_nope_head_dim = r.Field("mla.qk_nope_head_dim", {"qk_nope_head_dim"}, false, 0);
  m.mla.v_head_dim = r.Field("mla.v_head_dim", {"v_head_dim"}, false, 0);

  for (const auto& [name, value] :
       std::initializer_list<std::pair<const char*, int>>{{"hidden_size", m.hidden},
                                                          {"num_hidden_layers", m.layers},
                                                          {"num_attention_heads", m.heads},
                                                          {"vocab_size", m.vocab},
                                                          {"max_position_embeddings", m.seq_len}}) {
    const bool seq_len_key = std::string_view(name) == "max_position_embeddings";
    if (value == 0 && !d.HasErrors() && !(seq_len_key && options.seq_len_given)) {
      d.Add({core::Severity::kError, file, 0, r.prefix + name, "must be at least 1", ""});
    }
  }
  // Latent attention has no head_dim of its own (its query and key heads are
  // qk_nope_head_dim + qk_rope_head_dim wide, its value heads v_head_dim: ModelSpec::
  // QkHeadDim, VHeadDim); hidden / heads (56 for DeepSeek-V3) would print a width no layer
  // has. The value heads' width, as the catalog's deepseek-v3 gives it.
  if (m.head_dim == 0 && m.mla.IsMla() && m.mla.v_head_dim > 0) m.head_dim = m.mla.v_head_dim;
  if (m.head_dim == 0 && m.heads > 0) {
    if (m.hidden % m.heads != 0) {
      d.Add({core::Severity::kError, file, 0, r.prefix + "hidden_size",
             std::to_string(m.hidden) + " is not divisible by num_attention_heads (" +
                 std::to_string(m.heads) + ") and no head_dim is given",
             "give head_dim (the width of one head, e.g. 128), or a hidden_size that is a "
             "multiple of " +
                 std::to_string(m.heads)});
    } else {
      m.head_dim = m.hidden / m.heads;
    }
  }
  if (m.heads > 0 && (m.kv_heads == 0 || m.heads % std::max(1, m.kv_heads) != 0)) {
    // The divisors in pairs up to the square root (heads may be a fuzzed 1e9), ascending;
    // the first 16 are shown.
    std::vector<int> low, high;
    for (int k = 1; static_cast<int64_t>(k) * k <= m.heads; ++k) {
      if (m.heads % k != 0) continue;
      low.push_back(k);
      if (k != m.heads / k) high.push_back(m.heads / k);
    }
    low.insert(low.end(), high.rbegin(), high.rend());
    std::vector<std::string> divisors;
    for (size_t i = 0; i < low.size() && i < 16; ++i) divisors.push_back(std::to_string(low[i]));
    std::string list;
    for (size_t i = 0; i < divisors.size(); ++i) {
      list += (i == 0 ? "" : i + 1 == divisors.size() ? " or " : ", ") + divisors[i];
    }
    d.Add({core::Severity::kError, file, 0, r.prefix + "num_key_value_heads",
           "num_key_value_heads (" + std::to_string(m.kv_heads) +
               ") must divide num_attention_heads (" + std::to_string(m.heads) + ")",
           divisors.empty() ? "" : "use one of " + list});
  }
  if (d.HasErrors()) return d;
  // A default the model does not use is not reported: the dense MLP width of a model whose
  // every layer is MoE.
  const bool dense_layers = !m.moe.IsMoe() || model::MoeLayerCount(m) < m.layers;
  std::erase_if(r.defaulted, [&](const std::string& key) {
    return !dense_layers &&
           (key == "intermediate_size_mlp" || (key == "intermediate_size" && !experts_are_mlps));
  });
  if (text_config == nullptr) {
    for (const std::string& key : r.defaulted) {
      const json& v = r.defaults[key];
      // transformers takes the class default for a missing key; an explicit null it keeps
      // (and its modelling code then fails), so that one is Fathom's choice.
      const bool null = j.contains(key);
      d.Add({core::Severity::kWarning, file, 0, key,
             std::string(null ? "null" : "missing") +
                 " in the Hugging Face config, so it is taken as " + defaults.config_class +
                 "'s default, " + (v.is_string() ? v.get<std::string>() : v.dump()) +
                 (null ? " (transformers would keep the null)" : ", as transformers reads it"),
             "that is the size of the config class's example model, likely not this one's: "
             "give " +
                 key + " in the config"});
    }
  } else if (!r.defaulted.empty()) {
    std::string taken;
    for (const std::string& key : r.defaulted) {
      const json& v = r.defaults[key];
      taken += (taken.empty() ? "" : ", ") + key + " " +
               (v.is_string() ? v.get<std::string>() : v.dump());
    }
    d.Add({core::Severity::kWarning, file, 0, "text_config",
           "omits keys, taken as the defaults of " + defaults.config_class + ": " + taken,
           "as transformers reads it; give a key in text_config to state it"});
  }
  // The vision encoder and the projector of a multimodal config are not part of the model.
  if (top.Find({"vision_config"}) != nullptr || OneOf(top_type, kMultimodalTypes)) {
    d.Add({core::Severity::kWarning, file, 0, "vision_config",
           "the vision encoder and projector of this " + top_type +
               " model are not costed: Fathom imports its language model only",
           "parameters, FLOPs, memory and step time are the language model's"});
  }
  return {std::move(m), std::move(d)};  // with the warnings about seq_len and the rest, if any
}

}  // namespace

core::Result<model::ModelSpec> ImportHuggingFace(const std::string& text, const std::string& file,
                                                 const HfImportOptions& options,
                                                 HfSources* sources) {
  core::Result<model::ModelSpec> result = Import(text, file, options, sources);
  // Each diagnostic at a key the config gives is placed at its line.
  const std::map<std::string, int> lines = JsonKeyLines(text);
  for (core::Diagnostic& x : result.diagnostics().items()) {
    const auto it = lines.find(x.key);
    if (x.line == 0 && x.file == file && it != lines.end()) x.line = it->second;
  }
  if (sources != nullptr) {
    for (auto& [path, source] : *sources) {
      if (const auto it = lines.find(source.key); it != lines.end()) source.line = it->second;
    }
  }
  return result;
}

}  // namespace fathom::io
