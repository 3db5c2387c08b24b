#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/config.h"
#include "io/report.h"
#include "io/test_catalog.h"
#include "io/test_scratch.h"

namespace fathom::io {
namespace {

namespace fs = std::filesystem;
using test_support::TestCatalog;

const std::string kFixtures = FATHOM_SOURCE_DIR "/tests/fixtures/hf/";

model::ModelSpec Import(const std::string& name) {
  const std::string file = kFixtures + name + ".json";
  core::Result<std::string> text = ReadFile(file);
  EXPECT_TRUE(text.ok()) << text.diagnostics().Format();
  if (!text.ok()) return {};
  core::Result<model::ModelSpec> m = ImportHuggingFace(text.value(), file);
  EXPECT_TRUE(m.ok()) << name << "\n" << m.diagnostics().Format();
  if (!m.ok()) return {};
  return m.value();
}

// A config.json is named after its _name_or_path (or name_or_path) where it gives one, else
// after the directory holding it; a bare `config.json` after the current directory (it was
// named "" there), and a root one without a name after its model_type.
TEST(HfImport, AConfigJsonIsNamedAfterItsDirectory) {
  core::Result<std::string> text = ReadFile(kFixtures + "llama3-8b.json");
  ASSERT_TRUE(text.ok());
  auto name = [&](const std::string& file, const std::string& json) {
    core::Result<model::ModelSpec> m = ImportHuggingFace(json, file);
    EXPECT_TRUE(m.ok()) << m.diagnostics().Format();
    return m.ok() ? m.value().name : "";
  };
  EXPECT_EQ(name("models/Meta-Llama-3-8B/config.json", text.value()), "Meta-Llama-3-8B");
  EXPECT_EQ(name("config.json", text.value()), fs::current_path().filename().string());
  EXPECT_EQ(name("./config.json", text.value()), fs::current_path().filename().string());
  EXPECT_EQ(name("a/b/../config.json", text.value()), "a");
  std::string named = text.value();
  named.insert(named.find('{') + 1, "\"_name_or_path\": \"meta-llama/Meta-Llama-3-8B\",");
  EXPECT_EQ(name("/config.json", named), "Meta-Llama-3-8B");
  EXPECT_EQ(name("review-new/config.json", named), "Meta-Llama-3-8B");
  EXPECT_EQ(name("llama3.json", named), "llama3");  // a named file keeps its name
  std::string plain = text.value();
  plain.insert(plain.find('{') + 1, "\"name_or_path\": \"/models/Llama-3-8B/\",");
  EXPECT_EQ(name("review-new/config.json", plain), "Llama-3-8B");
  EXPECT_EQ(name("/config.json", text.value()), "llama");
}

TEST(HfImport, EveryFixtureImports) {
  int n = 0;
  for (const auto& entry : fs::directory_iterator(kFixtures)) {
    if (entry.path().extension() != ".json") continue;
    const model::ModelSpec m = Import(entry.path().stem().string());
    EXPECT_EQ(m.name, entry.path().stem().string());
    EXPECT_GT(m.layers, 0);
    EXPECT_GT(m.hidden, 0);
    EXPECT_GT(m.heads, 0);
    EXPECT_GT(m.kv_heads, 0);
    EXPECT_EQ(m.heads % m.kv_heads, 0) << m.name;
    EXPECT_GT(m.head_dim, 0);
    EXPECT_GT(m.ffn_hidden, 0);
    EXPECT_GT(m.vocab, 0);
    EXPECT_GT(m.seq_len, 0);
    EXPECT_NE(m.source.find(entry.path().filename().string()), std::string::npos);
    ++n;
  }
  EXPECT_EQ(n, 19);
}

TEST(HfImport, Llama3_8b) {
  const model::ModelSpec m = Import("llama3-8b");
  EXPECT_EQ(m.layers, 32);
  EXPECT_EQ(m.hidden, 4096);
  EXPECT_EQ(m.heads, 32);
  EXPECT_EQ(m.kv_heads, 8);
  EXPECT_EQ(m.head_dim, 128);
  EXPECT_EQ(m.ffn_hidden, 14336);
  EXPECT_EQ(m.vocab, 128256);
  EXPECT_EQ(m.seq_len, 8192);
  EXPECT_EQ(m.activation, model::Activation::kSwiGLU);
  EXPECT_EQ(m.norm, model::Norm::kRMSNorm);
  EXPECT_EQ(m.position, model::Position::kRoPE);
  EXPECT_FALSE(m.tied_embeddings);
  EXPECT_FALSE(m.bias);
  EXPECT_FALSE(m.moe.IsMoe());
  // 8.03 billion parameters (Llama 3 model card).
  EXPECT_NEAR(model::CountParameters(m).total / 1e9, 8.03, 0.01);
}

TEST(HfImport, Llama3_8bMatchesTheCatalogEntry) {
  const model::ModelSpec hf = Import("llama3-8b");
  core::Result<model::ModelSpec> cat = LoadModel(Catalog(FATHOM_SOURCE_DIR "/data"), "llama3-8b");
  ASSERT_TRUE(cat.ok()) << cat.diagnostics().Format();
  EXPECT_DOUBLE_EQ(model::CountParameters(hf).total, model::CountParameters(cat.value()).total);
  EXPECT_DOUBLE_EQ(model::ModelFlopsPerToken(hf), model::ModelFlopsPerToken(cat.value()));
}

TEST(HfImport, MistralGroupedQueryAttention) {
  const model::ModelSpec m = Import("mistral-7b-v0.1");
  EXPECT_EQ(m.heads, 32);
  EXPECT_EQ(m.kv_heads, 8);
  EXPECT_EQ(m.vocab, 32000);
  EXPECT_NEAR(model::CountParameters(m).total / 1e9, 7.24, 0.02);
}

TEST(HfImport, Qwen2) {
  const model::ModelSpec m = Import("qwen2-7b");
  EXPECT_EQ(m.heads, 28);
  EXPECT_EQ(m.kv_heads, 4);
  EXPECT_EQ(m.head_dim, 128);
}

TEST(HfImport, Gpt2LearnedPositionsAndTiedEmbeddings) {
  const model::ModelSpec m = Import("gpt2");
  EXPECT_EQ(m.layers, 12);
  EXPECT_EQ(m.hidden, 768);
  EXPECT_EQ(m.heads, 12);
  EXPECT_EQ(m.kv_heads, 12);
  EXPECT_EQ(m.ffn_hidden, 4 * 768);
  EXPECT_EQ(m.seq_len, 1024);
  EXPECT_EQ(m.position, model::Position::kLearned);
  EXPECT_TRUE(m.tied_embeddings);
  EXPECT_TRUE(m.bias);
  EXPECT_EQ(m.norm, model::Norm::kLayerNorm);
  EXPECT_EQ(m.activation, model::Activation::kGeLU);
  // GPT-2 small: 124,439,808 parameters (the Hub checkpoint), its wpe table n_positions
  // (1024) rows whatever length it is trained at.
  EXPECT_EQ(m.max_positions, 1024);
  EXPECT_DOUBLE_EQ(model::CountParameters(m).total, 124'439'808);
  model::ModelSpec shorter = m;
  shorter.seq_len = 512;
  EXPECT_DOUBLE_EQ(model::CountParameters(shorter).total, 124'439'808);
}

TEST(HfImport, GptNeoxParallelResidual) {
  const model::ModelSpec m = Import("gpt-neox-20b");
  EXPECT_TRUE(m.parallel_attention);
  EXPECT_EQ(m.parallel_norms, 2);  // input_layernorm and post_attention_layernorm
  EXPECT_EQ(m.norm, model::Norm::kLayerNorm);
  EXPECT_EQ(m.activation, model::Activation::kGeLU);
  EXPECT_FALSE(m.tied_embeddings);
  EXPECT_DOUBLE_EQ(model::CountParameters(m).total, 20'554'567'680);  // the Hub checkpoint
  // attention_bias false drops the query_key_value and dense biases (4h a layer, 44 layers)
  // and keeps the MLP's.
  core::Result<std::string> text = ReadFile(kFixtures + std::string("gpt-neox-20b.json"));
  ASSERT_TRUE(text.ok());
  std::string unbiased = text.value();
  unbiased.insert(unbiased.find('{') + 1, R"("attention_bias": false, )");
  core::Result<model::ModelSpec> u = ImportHuggingFace(unbiased, "config.json");
  ASSERT_TRUE(u.ok()) << u.diagnostics().Format();
  EXPECT_DOUBLE_EQ(model::CountParameters(u.value()).total, 20'554'567'680 - 44 * 4 * 6144);
}

// OLMo 2: Llama's shapes with q_norm and k_norm over all heads (a gain per element of the
// query and key projections) and its two norms after attention and the MLP. 7B: embeddings
// 2 x 100352 x 4096, 32 layers of 4 x 4096^2 + 3 x 4096 x 11008 + 4 x 4096 norm gains, and
// the final norm.
TEST(HfImport, Olmo2NormalisesQueriesAndKeysOverAllHeads) {
  const model::ModelSpec m = Import("olmo2-7b");
  EXPECT_TRUE(m.qk_norm);
  EXPECT_TRUE(m.qk_norm_all_heads);
  EXPECT_FALSE(m.tied_embeddings);
  EXPECT_EQ(m.activation, model::Activation::kSwiGLU);
  EXPECT_EQ(m.norm, model::Norm::kRMSNorm);
  const double layer = 4.0 * 4096 * 4096 + 3.0 * 4096 * 11008 + 4 * 4096;
  EXPECT_DOUBLE_EQ(model::CountParameters(m).total, 2.0 * 100352 * 4096 + 32 * layer + 4096);
  EXPECT_DOUBLE_EQ(model::CountParameters(m).total, 7'298'617'344);
}

TEST(HfImport, MixtralKeepsMoeFields) {
  const model::ModelSpec m = Import("mixtral-8x7b");
  EXPECT_TRUE(m.moe.IsMoe());
  EXPECT_EQ(m.moe.experts, 8);
  EXPECT_EQ(m.moe.top_k, 2);
  EXPECT_EQ(m.moe.expert_ffn_hidden, 14336);
  EXPECT_EQ(m.kv_heads, 8);
  EXPECT_FALSE(m.mla.IsMla());
}

TEST(HfImport, QwenMoeKeepsMoeFields) {
  const model::ModelSpec m = Import("qwen2-moe-57b-a14b");
  EXPECT_EQ(m.moe.experts, 64);
  EXPECT_EQ(m.moe.top_k, 8);
  EXPECT_EQ(m.moe.expert_ffn_hidden, 2560);
  EXPECT_EQ(m.moe.shared_experts, 1);
  EXPECT_EQ(m.moe.layer_frequency, 1);
}

TEST(HfImport, DeepSeekV3KeepsMoeAndMlaFields) {
  const model::ModelSpec m = Import("deepseek-v3");
  EXPECT_EQ(m.layers, 61);
  EXPECT_EQ(m.hidden, 7168);
  EXPECT_EQ(m.heads, 128);
  EXPECT_EQ(m.moe.experts, 256);
  EXPECT_EQ(m.moe.top_k, 8);
  EXPECT_EQ(m.moe.shared_experts, 1);
  EXPECT_EQ(m.moe.expert_ffn_hidden, 2048);
  EXPECT_EQ(m.moe.first_dense_layers, 3);
  EXPECT_TRUE(m.mla.IsMla());
  EXPECT_EQ(m.mla.q_lora_rank, 1536);
  EXPECT_EQ(m.mla.kv_lora_rank, 512);
  EXPECT_EQ(m.mla.qk_rope_head_dim, 64);
  EXPECT_EQ(m.mla.qk_nope_head_dim, 128);
  EXPECT_EQ(m.mla.v_head_dim, 128);
}

// Totals and active counts (active excludes the input embedding) against the published.
TEST(HfImport, MoeParameterCounts) {
  struct Case {
    const char* name;
    double total_b, active_b, tolerance_b;
  };
  for (const Case& c :
       {Case{"mixtral-8x7b", 46.7, 12.9, 0.2}, Case{"mixtral-8x22b", 141, 39, 1},
        Case{"qwen2-moe-57b-a14b", 57.4, 14.2, 0.6}, Case{"qwen3-235b-a22b", 235, 22, 0.5},
        Case{"gpt-oss-120b", 116.8, 5.1, 0.3}, Case{"deepseek-v2", 236, 21, 0.6},
        Case{"deepseek-v3", 671, 37, 1}, Case{"llama4-maverick", 400, 17, 1},
        Case{"kimi-k2", 1000, 32, 1}, Case{"glm-4.5", 355, 32, 1}}) {
    const model::ParameterCount p = model::CountParameters(Import(c.name));
    EXPECT_NEAR(p.total / 1e9, c.total_b, c.tolerance_b * c.total_b / c.active_b) << c.name;
    EXPECT_NEAR(p.active / 1e9, c.active_b, c.tolerance_b) << c.name;
  }
}

TEST(HfImport, GptOssAlternatesWindowedAndFullAttention) {
  const model::ModelSpec m = Import("gpt-oss-120b");
  EXPECT_EQ(m.sliding_window, 128);
  EXPECT_EQ(m.global_attention_every, 2);
  EXPECT_TRUE(model::KindOfLayer(m, 0).windowed);
  EXPECT_FALSE(model::KindOfLayer(m, 1).windowed);
  EXPECT_EQ(m.attention_bias, model::AttentionBias::kAll);
  EXPECT_TRUE(m.mlp_bias);
  EXPECT_EQ(m.moe.top_k, 4);
  // The published count less the attention sinks (64 a layer, not counted).
  EXPECT_DOUBLE_EQ(model::CountParameters(m).total, 116'829'156'672.0 - 36 * 64);
}

TEST(HfImport, Llama4ReadsTextConfig) {
  const model::ModelSpec m = Import("llama4-maverick");
  EXPECT_EQ(m.hidden, 5120);
  EXPECT_EQ(m.ffn_hidden, 16384);
  EXPECT_EQ(m.moe.expert_ffn_hidden, 8192);
  EXPECT_EQ(m.moe.shared_experts, 1);
  EXPECT_EQ(m.moe.layer_frequency, 2);
  EXPECT_FALSE(model::KindOfLayer(m, 0).moe);
  EXPECT_TRUE(model::KindOfLayer(m, 1).moe);
  EXPECT_EQ(model::MoeLayerCount(m), 24);
}

TEST(HfImport, DeepSeekV3MultiTokenPrediction) { EXPECT_EQ(Import("deepseek-v3").mtp_layers, 1); }

TEST(HfImport, LoaderRecognisesAConfigJson) {
  const Catalog catalog(FATHOM_SOURCE_DIR "/data");
  core::Result<model::ModelSpec> m = LoadModel(catalog, kFixtures + "mistral-7b-v0.1.json");
  ASSERT_TRUE(m.ok()) << m.diagnostics().Format();
  EXPECT_EQ(m.value().kv_heads, 8);
  EXPECT_EQ(m.value().name, "mistral-7b-v0.1");
}

TEST(HfImport, Errors) {
  struct Case {
    const char* text;
    const char* key;
    const char* fragment;
  };
  const Case cases[] = {
      {R"({"model_type": "llama", "hidden_size": "4096", "num_hidden_layers": 2,
           "num_attention_heads": 4, "vocab_size": 10, "max_position_embeddings": 8})",
       "hidden_size", "expected a non-negative integer, got \"4096\""},
      {R"({"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2,
           "num_attention_heads": 4, "max_position_embeddings": 8})",
       "vocab_size", "missing"},
      {R"({"model_type": "llama", "hidden_size": 64, "num_hidden_layers": -2,
           "num_attention_heads": 4, "vocab_size": 10, "max_position_embeddings": 8})",
       "num_hidden_layers", "non-negative"},
      {R"({"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2,
           "num_attention_heads": 4, "num_key_value_heads": 3, "vocab_size": 10,
           "max_position_embeddings": 8})",
       "num_key_value_heads", "must divide"},
      {R"({"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2,
           "num_attention_heads": 4, "vocab_size": 10, "max_position_embeddings": 8,
           "tie_word_embeddings": "yes"})",
       "tie_word_embeddings", "true or false"},
      {R"({"model_type": "llama", "hidden_size": 64,)", "", "cannot parse JSON"},
      {R"([1, 2, 3])", "", "expected a JSON object"},
      {"", "", "cannot parse JSON"},
  };
  for (const Case& c : cases) {
    core::Result<model::ModelSpec> m = ImportHuggingFace(c.text, "config.json");
    ASSERT_FALSE(m.ok()) << c.text;
    bool found = false;
    for (const core::Diagnostic& d : m.diagnostics().items()) {
      if (d.key == c.key && d.Format().find(c.fragment) != std::string::npos) found = true;
      EXPECT_EQ(d.file, "config.json");
    }
    EXPECT_TRUE(found) << c.text << "\n" << m.diagnostics().Format();
  }
}

// Each error says the bad value, what was expected and a hint.
TEST(HfImport, ErrorsSayTheValueAndAHint) {
  const struct {
    const char* text;
    const char* key;
    const char* fragment;
    const char* hint;
  } cases[] = {
      {R"({"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 2,
           "num_attention_heads": 32, "num_key_value_heads": 5, "vocab_size": 10,
           "max_position_embeddings": 8})",
       "num_key_value_heads", "num_key_value_heads (5) must divide num_attention_heads (32)",
       "1, 2, 4, 8, 16 or 32"},
      {R"({"model_type": "llama", "hidden_size": "4096", "num_hidden_layers": 2,
           "num_attention_heads": 4, "vocab_size": 10, "max_position_embeddings": 8})",
       "hidden_size", "expected a non-negative integer, got \"4096\"",
       "write the number without quotes: 4096"},
      {R"({"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2,
           "num_attention_heads": 4, "vocab_size": 3000000000, "max_position_embeddings": 8})",
       "vocab_size", "3000000000 is out of range: expected between 1 and 100,000,000",
       "model's vocab"},
      {R"({"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2,
           "num_attention_heads": 4, "vocab_size": 3e9, "max_position_embeddings": 8})",
       "vocab_size", "3000000000.0 is out of range: expected between 1 and 100,000,000",
       "model's vocab"},
      {R"({"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2,
           "num_attention_heads": 4, "vocab_size": 500000000, "max_position_embeddings": 8})",
       "vocab_size", "500000000 is out of range: expected between 1 and 100,000,000",
       "model's vocab"},
      {R"({"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2,
           "num_attention_heads": 4, "vocab_size": 10, "max_position_embeddings": 3000000000})",
       "max_position_embeddings", "3000000000 is out of range: expected between 0 and 100,000,000",
       "model's max_positions"},
  };
  for (const auto& c : cases) {
    core::Result<model::ModelSpec> m = ImportHuggingFace(c.text, "config.json");
    ASSERT_FALSE(m.ok()) << c.text;
    const core::Diagnostic* e = nullptr;
    for (const core::Diagnostic& d : m.diagnostics().items()) {
      if (d.severity == core::Severity::kError && d.key == c.key) e = &d;
    }
    ASSERT_NE(e, nullptr) << m.diagnostics().Format();
    EXPECT_NE(e->Format().find(c.fragment), std::string::npos) << e->Format();
    EXPECT_NE(e->hint.find(c.hint), std::string::npos) << e->Format();
  }
}

// A small config of the Llama family; `extra` adds or replaces keys.
std::string Config(const std::string& extra = "") {
  return R"({"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2,
             "num_attention_heads": 4, "vocab_size": 10, "intermediate_size": 128)" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

const core::Diagnostic* Find(const core::Diagnostics& d, core::Severity severity,
                             const std::string& key) {
  for (const core::Diagnostic& x : d.items()) {
    if (x.severity == severity && x.key == key) return &x;
  }
  return nullptr;
}

// max_position_embeddings is the longest sequence the model accepts (131072 for Llama 3.1),
// not the length it is trained at: taken for seq_len only with a warning.
TEST(HfImport, SeqLenFromMaxPositionsWarns) {
  core::Result<model::ModelSpec> m =
      ImportHuggingFace(Config(R"("max_position_embeddings": 131072)"), "config.json");
  ASSERT_TRUE(m.ok()) << m.diagnostics().Format();
  EXPECT_EQ(m.value().seq_len, 131072);
  const core::Diagnostic* w =
      Find(m.diagnostics(), core::Severity::kWarning, "max_position_embeddings");
  ASSERT_NE(w, nullptr) << m.diagnostics().Format();
  EXPECT_EQ(w->file, "config.json");
  EXPECT_NE(w->Format().find("(131072)"), std::string::npos) << w->Format();
  EXPECT_NE(w->Format().find("model.seq_len in the scenario"), std::string::npos) << w->Format();
  EXPECT_NE(w->Format().find("--set model.seq_len=8192"), std::string::npos) << w->Format();
  // GPT-2 names it n_positions.
  core::Result<model::ModelSpec> gpt2 = ImportHuggingFace(
      R"({"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4, "vocab_size": 10,
          "n_positions": 1024})",
      "config.json");
  ASSERT_TRUE(gpt2.ok()) << gpt2.diagnostics().Format();
  EXPECT_NE(Find(gpt2.diagnostics(), core::Severity::kWarning, "n_positions"), nullptr)
      << gpt2.diagnostics().Format();
}

// A config that states the context the model was trained at (GPT-OSS's
// initial_context_length, the original_max_position_embeddings of a scaled RoPE) gives
// seq_len that, with a warning naming the key; max_positions stays the longest accepted.
TEST(HfImport, SeqLenFromTheTrainingContext) {
  const struct {
    std::string extra;
    const char* key;
    int seq_len;
  } cases[] = {
      {R"("max_position_embeddings": 131072, "initial_context_length": 4096,
          "rope_scaling": {"rope_type": "yarn", "factor": 32.0,
                           "original_max_position_embeddings": 4096})",
       "initial_context_length", 4096},
      {R"("max_position_embeddings": 131072, "rope_scaling": {"rope_type": "llama3",
          "factor": 8.0, "original_max_position_embeddings": 8192})",
       "rope_scaling.original_max_position_embeddings", 8192},
      {R"("max_position_embeddings": 131072, "original_max_position_embeddings": 4096,
          "rope_scaling": {"type": "longrope"})",
       "original_max_position_embeddings", 4096},
      {R"("max_position_embeddings": 131072, "rope_scaling": {"rope_type": "linear",
          "factor": 8.0})",
       "max_position_embeddings", 131072},
  };
  for (const auto& c : cases) {
    core::Result<model::ModelSpec> m = ImportHuggingFace(Config(c.extra), "config.json");
    ASSERT_TRUE(m.ok()) << m.diagnostics().Format();
    EXPECT_EQ(m.value().seq_len, c.seq_len) << c.key;
    EXPECT_EQ(m.value().max_positions, 131072) << c.key;
    const core::Diagnostic* w = Find(m.diagnostics(), core::Severity::kWarning, c.key);
    ASSERT_NE(w, nullptr) << m.diagnostics().Format();
    EXPECT_EQ(m.diagnostics().size(), 1u) << m.diagnostics().Format();
    EXPECT_NE(w->message.find(std::string(c.key) + " (" + std::to_string(c.seq_len) + ")"),
              std::string::npos)
        << w->Format();
    EXPECT_NE(w->hint.find("--set model.seq_len="), std::string::npos) << w->Format();
  }
  // DeepSeek-V3 (YaRN from 4096 to 163840).
  EXPECT_EQ(Import("deepseek-v3").seq_len, 4096);
  EXPECT_EQ(Import("deepseek-v3").max_positions, 163840);
  // The caller's seq_len wins, without a warning.
  core::Result<model::ModelSpec> given =
      ImportHuggingFace(Config(cases[1].extra), "config.json", {.seq_len_given = true});
  ASSERT_TRUE(given.ok()) << given.diagnostics().Format();
  EXPECT_TRUE(given.diagnostics().empty()) << given.diagnostics().Format();
  // A context length of 0, or quoted, is an error under its own key, and no warning says it
  // was taken (0 fell back to max_position_embeddings, named as this key).
  for (const char* value : {"0", "\"8192\""}) {
    core::Result<model::ModelSpec> bad = ImportHuggingFace(
        Config(std::string(R"("max_position_embeddings": 131072, "rope_scaling": {"rope_type": )"
                           R"("llama3", "original_max_position_embeddings": )") +
               value + "}"),
        "config.json");
    ASSERT_FALSE(bad.ok()) << value;
    EXPECT_NE(Find(bad.diagnostics(), core::Severity::kError,
                   "rope_scaling.original_max_position_embeddings"),
              nullptr)
        << bad.diagnostics().Format();
    EXPECT_EQ(bad.diagnostics().Format().find("taken as"), std::string::npos)
        << bad.diagnostics().Format();
  }
}

TEST(HfImport, SeqLenGivenByTheCaller) {
  const HfImportOptions given{.seq_len_given = true};
  core::Result<model::ModelSpec> m =
      ImportHuggingFace(Config(R"("max_position_embeddings": 131072)"), "config.json", given);
  ASSERT_TRUE(m.ok()) << m.diagnostics().Format();
  EXPECT_TRUE(m.diagnostics().empty()) << m.diagnostics().Format();
  // Without max_position_embeddings: no error when the caller gives seq_len, else one that
  // says how to give it.
  core::Result<model::ModelSpec> none = ImportHuggingFace(Config(), "config.json", given);
  ASSERT_TRUE(none.ok()) << none.diagnostics().Format();
  EXPECT_EQ(none.value().seq_len, 0);
  core::Result<model::ModelSpec> missing = ImportHuggingFace(Config(), "config.json");
  ASSERT_FALSE(missing.ok());
  const core::Diagnostic* e =
      Find(missing.diagnostics(), core::Severity::kError, "max_position_embeddings");
  ASSERT_NE(e, nullptr) << missing.diagnostics().Format();
  EXPECT_NE(e->Format().find("--set model.seq_len="), std::string::npos) << e->Format();
}

TEST(HfImport, UnsupportedModelTypesAreErrors) {
  const struct {
    const char* type;
    const char* fragment;
  } cases[] = {{"t5", "\"t5\" is an encoder-decoder model"},
               {"bart", "\"bart\" is an encoder-decoder model"},
               {"whisper", "\"whisper\" is an encoder-decoder model"},
               {"bert", "\"bert\" is an encoder-only model"},
               {"mamba", "\"mamba\" is not a model family Fathom imports"}};
  for (const auto& c : cases) {
    core::Result<model::ModelSpec> m = ImportHuggingFace(
        R"({"model_type": ")" + std::string(c.type) +
            R"(", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
               "vocab_size": 10, "max_position_embeddings": 8})",
        "config.json");
    ASSERT_FALSE(m.ok()) << c.type;
    const core::Diagnostic* e = Find(m.diagnostics(), core::Severity::kError, "model_type");
    ASSERT_NE(e, nullptr) << m.diagnostics().Format();
    EXPECT_NE(e->Format().find(c.fragment), std::string::npos) << e->Format();
    EXPECT_NE(e->Format().find("supported model_type values: "), std::string::npos);
    EXPECT_NE(e->Format().find("llama"), std::string::npos);
    EXPECT_NE(e->Format().find("qwen2_moe"), std::string::npos);
  }
  // A config that says it is encoder-decoder, and one without model_type.
  core::Result<model::ModelSpec> flagged = ImportHuggingFace(
      Config(R"("max_position_embeddings": 8, "is_encoder_decoder": true)"), "config.json");
  ASSERT_FALSE(flagged.ok());
  EXPECT_NE(flagged.diagnostics().Format().find("encoder-decoder"), std::string::npos);
  core::Result<model::ModelSpec> untyped = ImportHuggingFace(
      R"({"architectures": ["T5ForConditionalGeneration"], "hidden_size": 64,
          "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 10,
          "max_position_embeddings": 8})",
      "config.json");
  ASSERT_FALSE(untyped.ok());
  EXPECT_NE(Find(untyped.diagnostics(), core::Severity::kError, "model_type"), nullptr)
      << untyped.diagnostics().Format();
}

// A model_type of no family Fathom knows (or none), on an architecture class it reads, is
// read as that class's family, with a warning: Kimi K2 ("kimi_k2") is DeepseekV3ForCausalLM.
TEST(HfImport, UnknownModelTypeOfAKnownClassIsReadAsItsFamily) {
  const model::ModelSpec kimi = Import("kimi-k2");
  EXPECT_EQ(kimi.moe.experts, 384);
  EXPECT_TRUE(kimi.mla.IsMla());
  EXPECT_EQ(kimi.moe.first_dense_layers, 1);
  core::Result<model::ModelSpec> untyped = ImportHuggingFace(
      R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "num_hidden_layers": 2,
          "num_attention_heads": 4, "vocab_size": 10, "intermediate_size": 128,
          "max_position_embeddings": 8})",
      "config.json");
  ASSERT_TRUE(untyped.ok()) << untyped.diagnostics().Format();
  const core::Diagnostic* w = Find(untyped.diagnostics(), core::Severity::kWarning, "model_type");
  ASSERT_NE(w, nullptr) << untyped.diagnostics().Format();
  EXPECT_NE(w->message.find("missing; read as \"llama\", the family of architectures' "
                            "LlamaForCausalLM"),
            std::string::npos)
      << w->message;
}

// GLM-4.5 (glm4_moe): grouped-query attention with q, k and v biases and QK-norm, DeepSeek's
// layout of dense-first MoE layers with a shared expert.
TEST(HfImport, Glm45) {
  const model::ModelSpec m = Import("glm-4.5");
  EXPECT_EQ(m.layers, 92);
  EXPECT_EQ(m.heads, 96);
  EXPECT_EQ(m.kv_heads, 8);
  EXPECT_EQ(m.head_dim, 128);
  EXPECT_EQ(m.attention_bias, model::AttentionBias::kQkv);
  EXPECT_TRUE(m.qk_norm);
  EXPECT_FALSE(m.tied_embeddings);
  EXPECT_EQ(m.moe.experts, 160);
  EXPECT_EQ(m.moe.top_k, 8);
  EXPECT_EQ(m.moe.shared_experts, 1);
  EXPECT_EQ(m.moe.expert_ffn_hidden, 1536);
  EXPECT_EQ(m.moe.first_dense_layers, 3);
  EXPECT_EQ(m.ffn_hidden, 12288);
  EXPECT_EQ(m.mtp_layers, 1);
}

// A null n_shared_experts is DeepSeek's "none" (DeepseekV3MoE), not the class's default.
TEST(HfImport, NullSharedExpertsAreNone) {
  core::Result<std::string> text = ReadFile(kFixtures + "deepseek-v3.json");
  ASSERT_TRUE(text.ok());
  nlohmann::json j = nlohmann::json::parse(text.value());
  j["n_shared_experts"] = nullptr;
  core::Result<model::ModelSpec> m = ImportHuggingFace(j.dump(), "config.json");
  ASSERT_TRUE(m.ok()) << m.diagnostics().Format();
  EXPECT_EQ(m.value().moe.shared_experts, 0);
  EXPECT_EQ(Find(m.diagnostics(), core::Severity::kWarning, "n_shared_experts"), nullptr)
      << m.diagnostics().Format();
}

// DeepSeek-V3's group-limited routing (n_group 8, topk_group 4) is the plan's to price: a
// note names the plan keys. Its latent attention's head_dim is the value heads' 128, not
// hidden / heads (56).
TEST(HfImport, DeepSeekGroupLimitedRoutingNamesThePlanKeys) {
  core::Result<std::string> text = ReadFile(kFixtures + "deepseek-v3.json");
  ASSERT_TRUE(text.ok());
  core::Result<model::ModelSpec> m = ImportHuggingFace(text.value(), "config.json");
  ASSERT_TRUE(m.ok()) << m.diagnostics().Format();
  const core::Diagnostic* note = Find(m.diagnostics(), core::Severity::kNote, "topk_group");
  ASSERT_NE(note, nullptr) << m.diagnostics().Format();
  EXPECT_NE(note->Format().find("plan.moe_max_domains: 4"), std::string::npos) << note->Format();
  EXPECT_NE(note->Format().find("plan.moe_dispatcher: deepep"), std::string::npos)
      << note->Format();
  EXPECT_EQ(m.value().head_dim, 128);
  // One group, or all of them: no limit, no note (Kimi K2's n_group 1).
  nlohmann::json j = nlohmann::json::parse(text.value());
  j["topk_group"] = 8;
  core::Result<model::ModelSpec> free = ImportHuggingFace(j.dump(), "config.json");
  ASSERT_TRUE(free.ok()) << free.diagnostics().Format();
  EXPECT_EQ(Find(free.diagnostics(), core::Severity::kNote, "topk_group"), nullptr);
}

TEST(HfImport, IntegralFloatsAreIntegers) {
  core::Result<model::ModelSpec> m = ImportHuggingFace(
      R"({"model_type": "llama", "hidden_size": 64.0, "num_hidden_layers": 32.0,
          "num_attention_heads": 4, "vocab_size": 10, "max_position_embeddings": 8})",
      "config.json");
  ASSERT_TRUE(m.ok()) << m.diagnostics().Format();
  EXPECT_EQ(m.value().layers, 32);
  EXPECT_EQ(m.value().hidden, 64);
  core::Result<model::ModelSpec> half = ImportHuggingFace(
      R"({"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 32.5,
          "num_attention_heads": 4, "vocab_size": 10, "max_position_embeddings": 8})",
      "config.json");
  ASSERT_FALSE(half.ok());
  const core::Diagnostic* e = Find(half.diagnostics(), core::Severity::kError, "num_hidden_layers");
  ASSERT_NE(e, nullptr) << half.diagnostics().Format();
  EXPECT_NE(e->Format().find("expected a whole number, got 32.5"), std::string::npos)
      << e->Format();
}

// The loader: seq_len given by the scenario (beside `base:`) or by --set wins over the
// config's max_position_embeddings, without a warning, and is needed only then.
class HfLoad : public test_support::ScratchDirTest {
 protected:
  HfLoad() : ScratchDirTest("fathom_hf") {}
  static bool Warns(const core::Diagnostics& d) {
    return Find(d, core::Severity::kWarning, "max_position_embeddings") != nullptr;
  }
};

constexpr const char* kHfPlan = "plan: {global_batch_size: 8}\n";

TEST_F(HfLoad, ScenarioSeqLenWins) {
  const std::string config = Write("config.json", Config(R"("max_position_embeddings": 131072)"));
  const Catalog catalog(FATHOM_SOURCE_DIR "/data");
  const std::string scenario =
      Write("s.yaml", "model: {base: config.json, seq_len: 4096}\ncluster: dgx-h200\n" +
                          std::string(kHfPlan));
  core::Result<LoadedScenario> s = LoadScenario(catalog, scenario);
  ASSERT_TRUE(s.ok()) << s.diagnostics().Format();
  EXPECT_EQ(s.value().scenario.model.seq_len, 4096);
  EXPECT_FALSE(Warns(s.diagnostics())) << s.diagnostics().Format();
  // Without it, the config's value and the warning, passed on by the loader.
  const std::string bare =
      Write("bare.yaml", "model: config.json\ncluster: dgx-h200\n" + std::string(kHfPlan));
  core::Result<LoadedScenario> b = LoadScenario(catalog, bare);
  ASSERT_TRUE(b.ok()) << b.diagnostics().Format();
  EXPECT_EQ(b.value().scenario.model.seq_len, 131072);
  EXPECT_TRUE(Warns(b.diagnostics())) << b.diagnostics().Format();
  // --set wins too.
  core::Result<LoadedScenario> set =
      LoadScenario(catalog, bare, {{"model.seq_len", "8192", "--set"}});
  ASSERT_TRUE(set.ok()) << set.diagnostics().Format();
  EXPECT_EQ(set.value().scenario.model.seq_len, 8192);
  EXPECT_FALSE(Warns(set.diagnostics())) << set.diagnostics().Format();
}

// GPT-2's learned position table has n_positions (1024) rows: a longer seq_len is an
// error at the key that set it; a shorter one is fine.
TEST_F(HfLoad, LearnedPositionsBoundSeqLen) {
  const std::string config = Write("config.json", R"({"model_type": "gpt2", "n_embd": 64,
      "n_layer": 2, "n_head": 4, "vocab_size": 10, "n_positions": 1024})");
  const std::string plan = Write("plan.yaml", "global_batch_size: 8\n");
  const Catalog catalog(FATHOM_SOURCE_DIR "/data");
  core::Result<LoadedScenario> longer =
      LoadParts(catalog, config, "dgx-h200", plan, {{"model.seq_len", "4096", "--set"}});
  ASSERT_FALSE(longer.ok());
  const core::Diagnostic* e = Find(longer.diagnostics(), core::Severity::kError, "model.seq_len");
  ASSERT_NE(e, nullptr) << longer.diagnostics().Format();
  EXPECT_NE(e->Format().find("seq_len (4096) exceeds max_positions (1024)"), std::string::npos)
      << e->Format();
  core::Result<LoadedScenario> shorter =
      LoadParts(catalog, config, "dgx-h200", plan, {{"model.seq_len", "512", "--set"}});
  ASSERT_TRUE(shorter.ok()) << shorter.diagnostics().Format();
  EXPECT_EQ(shorter.value().scenario.model.seq_len, 512);
  EXPECT_EQ(shorter.value().scenario.model.max_positions, 1024);
}

// Rotary positions have no table: a seq_len past max_position_embeddings is a warning (the
// model may extrapolate, or be scaled), not an error.
TEST_F(HfLoad, RotaryPositionsWarnPastTheMaximum) {
  const std::string config = Write("config.json", Config(R"("max_position_embeddings": 131072)"));
  const std::string plan = Write("plan.yaml", "global_batch_size: 8\n");
  const Catalog catalog(FATHOM_SOURCE_DIR "/data");
  core::Result<LoadedScenario> longer =
      LoadParts(catalog, config, "dgx-h200", plan, {{"model.seq_len", "262144", "--set"}});
  ASSERT_TRUE(longer.ok()) << longer.diagnostics().Format();
  EXPECT_EQ(longer.value().scenario.model.seq_len, 262144);
  const core::Diagnostic* w = Find(longer.diagnostics(), core::Severity::kWarning, "model.seq_len");
  ASSERT_NE(w, nullptr) << longer.diagnostics().Format();
  EXPECT_EQ(w->file, "--set");
  EXPECT_NE(w->message.find("seq_len (262144) exceeds max_positions (131072)"), std::string::npos)
      << w->Format();
  EXPECT_FALSE(w->hint.empty());
  core::Result<LoadedScenario> within =
      LoadParts(catalog, config, "dgx-h200", plan, {{"model.seq_len", "131072", "--set"}});
  ASSERT_TRUE(within.ok()) << within.diagnostics().Format();
  EXPECT_TRUE(within.diagnostics().empty()) << within.diagnostics().Format();
}

TEST_F(HfLoad, NoMaxPositionsNeededWhenSeqLenIsGiven) {
  const std::string config = Write("config.json", Config());
  const std::string plan = Write("plan.yaml", "global_batch_size: 8\n");
  const Catalog catalog(FATHOM_SOURCE_DIR "/data");
  core::Result<LoadedScenario> set =
      LoadParts(catalog, config, "dgx-h200", plan, {{"model.seq_len", "2048", "--set"}});
  ASSERT_TRUE(set.ok()) << set.diagnostics().Format();
  EXPECT_EQ(set.value().scenario.model.seq_len, 2048);
  EXPECT_TRUE(set.diagnostics().empty()) << set.diagnostics().Format();
  const std::string scenario =
      Write("s.yaml", "model: {base: config.json, seq_len: 4096}\ncluster: dgx-h200\n" +
                          std::string(kHfPlan));
  core::Result<LoadedScenario> s = LoadScenario(catalog, scenario);
  ASSERT_TRUE(s.ok()) << s.diagnostics().Format();
  EXPECT_EQ(s.value().scenario.model.seq_len, 4096);
  core::Result<LoadedScenario> none = LoadParts(catalog, config, "dgx-h200", plan);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.diagnostics().Format().find("--set model.seq_len="), std::string::npos)
      << none.diagnostics().Format();
}

// A .json file that does not parse is reported as JSON, at the line and column where it
// breaks, not as YAML.
TEST_F(HfLoad, TruncatedJsonIsAJsonError) {
  const std::string text = Config(R"("max_position_embeddings": 8192)");
  const Catalog catalog(FATHOM_SOURCE_DIR "/data");
  for (const char* name : {"config.json", "CONFIG.JSON"}) {
    const std::string path = Write(name, text.substr(0, text.find("num_attention_heads") + 8));
    core::Result<model::ModelSpec> m = LoadModel(catalog, path);
    ASSERT_FALSE(m.ok());
    const std::string all = m.diagnostics().Format();
    EXPECT_NE(all.find("cannot parse JSON: unexpected end of input"), std::string::npos) << all;
    EXPECT_NE(all.find(name + std::string(":2: ")), std::string::npos) << all;
    EXPECT_NE(all.find("column"), std::string::npos) << all;
    EXPECT_EQ(all.find("YAML"), std::string::npos) << all;
  }
}

// A Hugging Face config is recognised by its content (a JSON object with model_type or
// architectures), whatever the file's extension.
TEST_F(HfLoad, ConfigRecognisedWhateverTheExtension) {
  const std::string text = Config(R"("num_key_value_heads": 2, "max_position_embeddings": 8192)");
  const Catalog catalog(FATHOM_SOURCE_DIR "/data");
  for (const char* name : {"LLAMA.JSON", "llama-config.txt", "llama"}) {
    core::Result<model::ModelSpec> m = LoadModel(catalog, Write(name, text));
    ASSERT_TRUE(m.ok()) << name << "\n" << m.diagnostics().Format();
    EXPECT_EQ(m.value().kv_heads, 2) << name;
  }
  // A YAML model file is still read as one.
  core::Result<model::ModelSpec> yaml = LoadModel(
      catalog, Write("m.txt",
                     "name: m\nlayers: 2\nhidden: 64\nheads: 4\nffn_hidden: 128\nvocab: 10\n"
                     "seq_len: 8\n"));
  ASSERT_TRUE(yaml.ok()) << yaml.diagnostics().Format();
  EXPECT_EQ(yaml.value().layers, 2);
}

// A model written as a model file (fathom catalog models NAME) loads as the same model: every
// Hugging Face fixture and every catalog model, its file printed again identically, and the
// same parameters.
TEST_F(HfLoad, ModelFileRoundTrips) {
  std::vector<std::string> refs;
  for (const auto& entry : fs::directory_iterator(kFixtures)) {
    if (entry.path().extension() == ".json") refs.push_back(entry.path().string());
  }
  for (const std::string& name : TestCatalog().Names(Section::kModel)) refs.push_back(name);
  ASSERT_GT(refs.size(), 30u);
  for (const std::string& ref : refs) {
    core::Result<model::ModelSpec> m = LoadModel(TestCatalog(), ref);
    ASSERT_TRUE(m.ok()) << ref << "\n" << m.diagnostics().Format();
    const std::string yaml = ModelFileYaml(m.value());
    core::Result<model::ModelSpec> again = LoadModel(TestCatalog(), Write("model.yaml", yaml));
    ASSERT_TRUE(again.ok()) << ref << "\n" << yaml << again.diagnostics().Format();
    EXPECT_EQ(ModelFileYaml(again.value()), yaml) << ref;
    EXPECT_EQ(model::CountParameters(again.value()).total, model::CountParameters(m.value()).total)
        << ref;
    EXPECT_EQ(model::CountParameters(again.value()).active,
              model::CountParameters(m.value()).active)
        << ref;
  }
}

TEST(HfImport, ReportsAllErrorsAtOnce) {
  core::Result<model::ModelSpec> m = ImportHuggingFace(
      R"({"model_type": "llama", "hidden_size": "a", "num_hidden_layers": "b",
          "num_attention_heads": 4, "vocab_size": 10, "max_position_embeddings": 8})",
      "config.json");
  ASSERT_FALSE(m.ok());
  EXPECT_GE(m.diagnostics().size(), 2u) << m.diagnostics().Format();
}

model::ModelSpec ImportText(const std::string& text, bool seq_len_given = false) {
  core::Result<model::ModelSpec> m = ImportHuggingFace(text, "config.json", {seq_len_given});
  EXPECT_TRUE(m.ok()) << text << "\n" << m.diagnostics().Format();
  if (!m.ok()) return {};
  return m.value();
}

// Without tie_word_embeddings, each family takes its config class's default: true
// (PretrainedConfig's) except for the classes that set false.
TEST(HfImport, TieWordEmbeddingsDefaultsByFamily) {
  const auto tied = [](const std::string& type, const std::string& extra = "") {
    return ImportText(R"({"model_type": ")" + type +
                      R"(", "hidden_size": 64, "num_hidden_layers": 2,
                          "num_attention_heads": 4, "vocab_size": 10,
                          "max_position_embeddings": 8)" +
                      extra + "}")
        .tied_embeddings;
  };
  for (const char* type : {"bloom", "opt", "falcon", "gpt2"}) EXPECT_TRUE(tied(type)) << type;
  for (const char* type :
       {"llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gpt_neox",
        "deepseek_v2", "deepseek_v3", "llama4", "llama4_text", "gpt_oss", "phi3"}) {
    EXPECT_FALSE(tied(type)) << type;
  }
  // The config's value wins.
  EXPECT_FALSE(tied("bloom", R"(, "tie_word_embeddings": false)"));
  EXPECT_TRUE(tied("llama", R"(, "tie_word_embeddings": true)"));
}

// BLOOM-560M: tied embeddings, biases in every linear layer, ALiBi (no
// max_position_embeddings). 559 million parameters (model card).
TEST(HfImport, Bloom560m) {
  const model::ModelSpec m = ImportText(R"({"model_type": "bloom", "hidden_size": 1024,
      "n_head": 16, "n_layer": 24, "vocab_size": 250880})",
                                        /*seq_len_given=*/true);
  EXPECT_TRUE(m.tied_embeddings);
  EXPECT_TRUE(m.bias);
  EXPECT_EQ(m.position, model::Position::kAlibi);
  EXPECT_NEAR(model::CountParameters(m).total / 1e9, 0.559, 0.559 * 0.01);
}

// OPT-1.3B: tied embeddings, biases unless enable_bias is false. 1.316 billion parameters.
TEST(HfImport, Opt1_3b) {
  const std::string config = R"({"model_type": "opt", "hidden_size": 2048,
      "num_attention_heads": 32, "num_hidden_layers": 24, "ffn_dim": 8192, "vocab_size": 50272,
      "max_position_embeddings": 2048)";
  const model::ModelSpec m = ImportText(config + "}");
  EXPECT_TRUE(m.tied_embeddings);
  EXPECT_TRUE(m.bias);
  EXPECT_EQ(m.ffn_hidden, 8192);
  EXPECT_EQ(m.position, model::Position::kLearned);
  EXPECT_NEAR(model::CountParameters(m).total / 1e9, 1.316, 1.316 * 0.01);
  EXPECT_FALSE(ImportText(config + R"(, "enable_bias": false})").bias);
}

// Phi-3-mini: Llama-shaped (RMSNorm, SwiGLU, RoPE, untied); 3.82 billion parameters.
TEST(HfImport, Phi3Mini) {
  const std::string config = R"({"model_type": "phi3", "hidden_size": 3072,
      "intermediate_size": 8192, "num_hidden_layers": 32, "num_attention_heads": 32,
      "num_key_value_heads": 32, "vocab_size": 32064, "hidden_act": "silu",
      "max_position_embeddings": 4096)";
  const model::ModelSpec m = ImportText(config + R"(, "sliding_window": null})");
  EXPECT_EQ(m.norm, model::Norm::kRMSNorm);
  EXPECT_EQ(m.activation, model::Activation::kSwiGLU);
  EXPECT_EQ(m.position, model::Position::kRoPE);
  EXPECT_FALSE(m.tied_embeddings);
  EXPECT_FALSE(m.bias);
  EXPECT_EQ(m.sliding_window, 0);
  EXPECT_NEAR(model::CountParameters(m).total / 1e9, 3.82, 3.82 * 0.01);
  EXPECT_EQ(ImportText(config + "}").sliding_window, 0);
  EXPECT_EQ(ImportText(config + R"(, "sliding_window": 2047})").sliding_window, 2047);
}

// Falcon-7B: parallel attention with one shared input_layernorm per layer (the original
// decoder; parallel_attn), multi-query attention, no biases: 6,921,720,704 parameters (the
// Hub checkpoint). Falcon-40B/180B (new_decoder_architecture) have ln_attn and ln_mlp.
TEST(HfImport, Falcon7bSharesOneNorm) {
  const std::string config = R"({"model_type": "falcon", "hidden_size": 4544,
      "num_attention_heads": 71, "num_hidden_layers": 32, "vocab_size": 65024,
      "multi_query": true, "bias": false, "alibi": false)";
  const model::ModelSpec m = ImportText(config + R"(, "parallel_attn": true})", true);
  EXPECT_TRUE(m.parallel_attention);
  EXPECT_EQ(m.kv_heads, 1);
  EXPECT_TRUE(m.SharedNorm());
  EXPECT_DOUBLE_EQ(model::CountParameters(m).total, 6'921'720'704);
  // parallel_attn is true by default (FalconConfig).
  EXPECT_TRUE(ImportText(config + "}", true).SharedNorm());
  const model::ModelSpec new_arch =
      ImportText(config + R"(, "new_decoder_architecture": true})", true);
  EXPECT_TRUE(new_arch.parallel_attention);
  EXPECT_EQ(new_arch.parallel_norms, 2);
  // Falcon-RW's alibi: true replaces the rotary embedding with ALiBi (FalconAttention).
  EXPECT_EQ(ImportText(config + "}", true).position, model::Position::kRoPE);
  std::string rw = config;
  rw.replace(rw.find(R"("alibi": false)"), 14, R"("alibi": true)");
  EXPECT_EQ(ImportText(rw + "}", true).position, model::Position::kAlibi);
}

// Exact parameter counts of the Hub checkpoints, which depend on the biases and norms
// each family's modelling code adds beyond its config keys.
TEST(HfImport, FamilyBiasesAndNorms) {
  // Qwen2.5-7B: q, k and v biases always (Qwen2Attention), none on o or the MLP.
  const model::ModelSpec qwen25 = ImportText(R"({"model_type": "qwen2", "hidden_size": 3584,
      "intermediate_size": 18944, "num_hidden_layers": 28, "num_attention_heads": 28,
      "num_key_value_heads": 4, "vocab_size": 152064, "tie_word_embeddings": false,
      "max_position_embeddings": 131072})",
                                             true);
  EXPECT_FALSE(qwen25.bias);
  EXPECT_EQ(qwen25.attention_bias, model::AttentionBias::kQkv);
  EXPECT_DOUBLE_EQ(model::CountParameters(qwen25).total, 7'615'616'512);
  // Qwen3-8B: per-head q_norm and k_norm (head_dim each).
  const model::ModelSpec qwen3 = ImportText(R"({"model_type": "qwen3", "hidden_size": 4096,
      "intermediate_size": 12288, "num_hidden_layers": 36, "num_attention_heads": 32,
      "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 151936,
      "attention_bias": false, "tie_word_embeddings": false, "max_position_embeddings": 40960})",
                                            true);
  EXPECT_TRUE(qwen3.qk_norm);
  EXPECT_DOUBLE_EQ(model::CountParameters(qwen3).total, 8'190'735'360);
  // Gemma 2 9B: four norms per layer (pre and post attention, pre and post MLP).
  const model::ModelSpec gemma2 = ImportText(R"({"model_type": "gemma2", "hidden_size": 3584,
      "intermediate_size": 14336, "num_hidden_layers": 42, "num_attention_heads": 16,
      "num_key_value_heads": 8, "head_dim": 256, "vocab_size": 256000,
      "hidden_activation": "gelu_pytorch_tanh", "max_position_embeddings": 8192,
      "sliding_window": 4096})",
                                             true);
  EXPECT_TRUE(gemma2.post_norms);
  EXPECT_DOUBLE_EQ(model::CountParameters(gemma2).total, 9'241'705'984);
  // Qwen1.5-MoE-A2.7B: q, k, v biases and the shared expert's gate (h -> 1).
  const model::ModelSpec qwen_moe = ImportText(R"({"model_type": "qwen2_moe",
      "hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 24,
      "num_attention_heads": 16, "num_key_value_heads": 16, "num_experts": 60,
      "num_experts_per_tok": 4, "moe_intermediate_size": 1408,
      "shared_expert_intermediate_size": 5632, "vocab_size": 151936,
      "tie_word_embeddings": false, "max_position_embeddings": 8192})",
                                               true);
  EXPECT_TRUE(qwen_moe.moe.shared_expert_gate);
  EXPECT_DOUBLE_EQ(model::CountParameters(qwen_moe).total, 14'315'784'192);
  // BLOOM 176B: biases everywhere and a LayerNorm after the word embeddings.
  const model::ModelSpec bloom = ImportText(R"({"model_type": "bloom", "hidden_size": 14336,
      "n_head": 112, "n_layer": 70, "vocab_size": 250880})",
                                            true);
  EXPECT_TRUE(bloom.embedding_norm);
  EXPECT_DOUBLE_EQ(model::CountParameters(bloom).total, 176'247'271'424);
}

// Llama's attention_bias puts biases on q, k, v and o (LlamaAttention), not on the MLP.
TEST(HfImport, AttentionBiasStaysInAttention) {
  const std::string config = R"({"model_type": "llama", "hidden_size": 64,
      "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
      "num_key_value_heads": 2, "vocab_size": 10, "max_position_embeddings": 8)";
  const model::ModelSpec plain = ImportText(config + "}");
  const model::ModelSpec biased = ImportText(config + R"(, "attention_bias": true})");
  EXPECT_FALSE(biased.bias);
  EXPECT_EQ(biased.attention_bias, model::AttentionBias::kAll);
  const double q = 64, kv = 2 * 16, h = 64;
  EXPECT_DOUBLE_EQ(model::CountParameters(biased).total - model::CountParameters(plain).total,
                   2 * (q + 2 * kv + h));
}

// Whether a diagnostic at `key` says `fragment`.
bool Says(const core::Diagnostics& d, const std::string& key, const std::string& fragment) {
  for (const core::Diagnostic& x : d.items()) {
    if (x.key == key && x.message.find(fragment) != std::string::npos) return true;
  }
  return false;
}

// GPT-OSS's router and experts have biases whatever attention_bias says (GptOssTopKRouter,
// GptOssExperts); attention_bias false drops only the attention's (q, k, v, o: 64·64 +
// 2·8·64 + 2880 a layer). It had dropped the router's and the experts' too.
TEST(HfImport, GptOssAttentionBiasIsTheAttentionsOnly) {
  const std::string file = kFixtures + "gpt-oss-120b.json";
  std::string text = ReadFile(file).value();
  const size_t at = text.find("\"attention_bias\": true");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 22, "\"attention_bias\": false");
  const model::ModelSpec m = ImportText(text);
  EXPECT_EQ(m.attention_bias, model::AttentionBias::kNone);
  EXPECT_DOUBLE_EQ(
      model::CountParameters(Import("gpt-oss-120b")).total - model::CountParameters(m).total,
      36.0 * (64 * 64 + 2 * 8 * 64 + 2880));
}

// Mistral's, Mixtral's and Phi-3's attention has no biases in transformers
// (MistralAttention builds q, k, v and o with bias=False): attention_bias true is ignored,
// with a warning. It had added 327,680 parameters to Mistral 7B.
TEST(HfImport, AttentionBiasIgnoredWhereTheAttentionHasNone) {
  for (const char* type : {"mistral", "mixtral", "phi3"}) {
    const std::string config = std::string(R"({"model_type": ")") + type +
                               R"(", "hidden_size": 64, "intermediate_size": 128,
        "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 10,
        "max_position_embeddings": 8)";
    core::Result<model::ModelSpec> biased =
        ImportHuggingFace(config + R"(, "attention_bias": true})", "config.json");
    ASSERT_TRUE(biased.ok()) << biased.diagnostics().Format();
    EXPECT_EQ(biased.value().attention_bias, model::AttentionBias::kNone) << type;
    EXPECT_DOUBLE_EQ(model::CountParameters(biased.value()).total,
                     model::CountParameters(ImportText(config + "}")).total)
        << type;
    EXPECT_TRUE(Says(biased.diagnostics(), "attention_bias", "has no biases")) << type;
  }
}

// A value the config gives is held to the range of the model key it becomes, as a model
// file's is (intermediate_size 0 had imported Llama 3 8B as 2.39B parameters, no MLP).
TEST(HfImport, ValuesAreHeldToTheModelKeysRanges) {
  const std::string file = kFixtures + "llama3-8b.json";
  std::string text = ReadFile(file).value();
  const size_t at = text.find("\"intermediate_size\": 14336");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 26, "\"intermediate_size\": 0");
  HfSources sources;
  const core::Result<model::ModelSpec> m = ImportHuggingFace(text, "llama.json", {}, &sources);
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(Says(m.diagnostics(), "intermediate_size",
                   "0 is out of range: expected between 1 and 100,000,000"))
      << m.diagnostics().Format();
  EXPECT_EQ(sources["ffn_hidden"].key, "intermediate_size");
  EXPECT_GT(sources["ffn_hidden"].line, 1);
}

// hidden_act: a gated family (Llama's gate_proj, up_proj, down_proj) keeps its three
// matrices whatever the activation, so relu is ReGLU there and ReLU in a plain MLP (OPT).
TEST(HfImport, HiddenActivation) {
  const std::string llama = R"({"model_type": "llama", "hidden_size": 64,
      "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
      "vocab_size": 10, "max_position_embeddings": 8)";
  const model::ModelSpec silu = ImportText(llama + R"(, "hidden_act": "silu"})");
  const model::ModelSpec relu = ImportText(llama + R"(, "hidden_act": "relu"})");
  EXPECT_EQ(silu.activation, model::Activation::kSwiGLU);
  EXPECT_EQ(relu.activation, model::Activation::kReGLU);
  EXPECT_TRUE(relu.IsGated());
  EXPECT_DOUBLE_EQ(model::CountParameters(relu).total, model::CountParameters(silu).total);
  EXPECT_EQ(ImportText(llama + R"(, "hidden_act": "gelu_pytorch_tanh"})").activation,
            model::Activation::kGeGLU);
  const std::string opt = R"({"model_type": "opt", "hidden_size": 64, "ffn_dim": 256,
      "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 10,
      "max_position_embeddings": 8)";
  EXPECT_EQ(ImportText(opt + R"(, "activation_function": "relu"})").activation,
            model::Activation::kReLU);
  EXPECT_EQ(ImportText(opt + R"(, "activation_function": "gelu_new"})").activation,
            model::Activation::kGeLU);
  // An unknown name is an error, not SwiGLU; so is silu in a family without a gate.
  const struct {
    std::string text;
    const char* key;
    const char* fragment;
  } bad[] = {
      {llama + R"(, "hidden_act": "quick_gelu_typo_xyz"})", "hidden_act",
       "\"quick_gelu_typo_xyz\" is not an activation Fathom knows"},
      {opt + R"(, "activation_function": "silu"})", "activation_function",
       "\"silu\" in the ungated MLP of opt"},
  };
  for (const auto& c : bad) {
    core::Result<model::ModelSpec> m = ImportHuggingFace(c.text, "config.json");
    ASSERT_FALSE(m.ok()) << c.text;
    const core::Diagnostic* e = Find(m.diagnostics(), core::Severity::kError, c.key);
    ASSERT_NE(e, nullptr) << m.diagnostics().Format();
    EXPECT_NE(e->message.find(c.fragment), std::string::npos) << e->Format();
    EXPECT_NE(e->hint.find("gelu_pytorch_tanh"), std::string::npos) << e->Format();
    EXPECT_NE(e->hint.find("relu"), std::string::npos) << e->Format();
  }
}

// Llama's mlp_bias: biases on gate_proj, up_proj and down_proj (LlamaMLP), 2·f + h per
// layer: 1,048,576 more for Llama 3.1 8B.
TEST(HfImport, MlpBias) {
  const std::string config = R"({"model_type": "llama", "hidden_size": 4096,
      "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
      "num_key_value_heads": 8, "vocab_size": 128256, "max_position_embeddings": 131072)";
  const model::ModelSpec plain = ImportText(config + R"(, "mlp_bias": false})");
  const model::ModelSpec biased = ImportText(config + R"(, "mlp_bias": true})");
  EXPECT_DOUBLE_EQ(model::CountParameters(plain).total, 8'030'261'248);
  EXPECT_TRUE(biased.mlp_bias);
  EXPECT_FALSE(biased.bias);
  EXPECT_EQ(biased.attention_bias, model::AttentionBias::kNone);
  EXPECT_DOUBLE_EQ(model::CountParameters(biased).total - model::CountParameters(plain).total,
                   32.0 * (2 * 14336 + 4096));
}

// Qwen's sliding window applies only with use_sliding_window (false by default), and then
// only to the layers from max_window_layers on (Qwen2Config, Qwen2-MoE, Qwen3, Qwen3-MoE).
TEST(HfImport, QwenSlidingWindowNeedsItsFlag) {
  for (const std::string type : {"qwen2", "qwen2_moe", "qwen3", "qwen3_moe"}) {
    const std::string config = R"({"model_type": ")" + type + R"(", "hidden_size": 64,
        "num_hidden_layers": 8, "num_attention_heads": 4, "vocab_size": 10,
        "max_position_embeddings": 8192, "sliding_window": 4096)";
    EXPECT_EQ(ImportText(config + "}").sliding_window, 0) << type;
    EXPECT_EQ(ImportText(config + R"(, "use_sliding_window": false})").sliding_window, 0);
    // Windowed from layer max_window_layers: none at 8 of 8 layers, or by default (28).
    EXPECT_EQ(ImportText(config + R"(, "use_sliding_window": true, "max_window_layers": 8})")
                  .sliding_window,
              0)
        << type;
    EXPECT_EQ(ImportText(config + R"(, "use_sliding_window": true})").sliding_window, 0) << type;
    const model::ModelSpec all =
        ImportText(config + R"(, "use_sliding_window": true, "max_window_layers": 0})");
    EXPECT_EQ(all.sliding_window, 4096) << type;
    EXPECT_EQ(model::WindowedLayersIn(all, 0, 8), 8) << type;
    // Some layers windowed and some not: not a pattern Fathom can express.
    core::Result<model::ModelSpec> some = ImportHuggingFace(
        config + R"(, "use_sliding_window": true, "max_window_layers": 3})", "config.json");
    ASSERT_FALSE(some.ok()) << type;
    const core::Diagnostic* e =
        Find(some.diagnostics(), core::Severity::kError, "max_window_layers");
    ASSERT_NE(e, nullptr) << some.diagnostics().Format();
    EXPECT_NE(e->message.find("layers 3 to 7"), std::string::npos) << e->Format();
  }
  // Mistral has no such flag: its window covers every layer.
  EXPECT_EQ(ImportText(R"({"model_type": "mistral", "hidden_size": 64, "num_hidden_layers": 2,
      "num_attention_heads": 4, "vocab_size": 10, "max_position_embeddings": 8192,
      "sliding_window": 4096})")
                .sliding_window,
            4096);
}

// Gemma 7B: GeGLU (hidden_activation), head_dim 256 with 16 heads over a 3072 hidden, tied
// embeddings by default; 8.54 billion parameters (model card).
TEST(HfImport, Gemma7b) {
  const model::ModelSpec m = ImportText(R"({"model_type": "gemma", "hidden_size": 3072,
      "intermediate_size": 24576, "num_hidden_layers": 28, "num_attention_heads": 16,
      "num_key_value_heads": 16, "head_dim": 256, "vocab_size": 256000, "hidden_act": "gelu",
      "hidden_activation": null, "max_position_embeddings": 8192})");
  EXPECT_EQ(m.activation, model::Activation::kGeGLU);
  EXPECT_EQ(m.head_dim, 256);
  EXPECT_TRUE(m.tied_embeddings);
  EXPECT_EQ(m.sliding_window, 0);
  EXPECT_NEAR(model::CountParameters(m).total / 1e9, 8.54, 8.54 * 0.005);
}

// Gemma 2 9B: windowed (4096) and global layers alternate, the first windowed; 9.24 billion
// parameters (model card). A config with layer_types says the same.
TEST(HfImport, Gemma2AlternatesWindowedAndGlobalLayers) {
  const std::string config = R"({"model_type": "gemma2", "hidden_size": 3584,
      "intermediate_size": 14336, "num_hidden_layers": 42, "num_attention_heads": 16,
      "num_key_value_heads": 8, "head_dim": 256, "vocab_size": 256000,
      "hidden_activation": "gelu_pytorch_tanh", "max_position_embeddings": 8192,
      "sliding_window": 4096, "attn_logit_softcapping": 50.0)";
  const model::ModelSpec m = ImportText(config + "}");
  EXPECT_EQ(m.activation, model::Activation::kGeGLU);
  EXPECT_EQ(m.sliding_window, 4096);
  EXPECT_EQ(m.global_attention_every, 2);
  EXPECT_TRUE(model::KindOfLayer(m, 0).windowed);
  EXPECT_FALSE(model::KindOfLayer(m, 1).windowed);
  EXPECT_NEAR(model::CountParameters(m).total / 1e9, 9.24, 9.24 * 0.005);
  // layer_types, one per layer (transformers rejects another count), every k-th full.
  auto types = [](int layers, int every, int odd = -1) {
    std::string list;
    for (int i = 0; i < layers; ++i) {
      const bool full = (i + 1) % every == 0;
      list += std::string(i ? ", " : "") +
              ((full != (i == odd)) ? R"("full_attention")" : R"("sliding_attention")");
    }
    return R"(, "layer_types": [)" + list + "]}";
  };
  EXPECT_EQ(ImportText(config + types(42, 2)).global_attention_every, 2);
  EXPECT_EQ(ImportText(config + types(42, 3)).global_attention_every, 3);
  for (const std::string& bad :
       {std::string(R"(, "layer_types": ["sliding_attention", "full_attention"]})"),
        types(42, 2, 7), types(42, 42, 5),
        std::string(R"(, "layer_types": ["linear_attention"]})")}) {
    core::Result<model::ModelSpec> r = ImportHuggingFace(config + bad, "config.json", {true});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.diagnostics().items()[0].key, "layer_types") << r.diagnostics().Format();
  }
}

// GPT-OSS without layer_types alternates windowed and full layers, the first windowed
// (GptOssConfig's default), as its published config lists them.
TEST(HfImport, GptOssAlternatesWithoutLayerTypes) {
  const std::string config = R"({"model_type": "gpt_oss", "hidden_size": 2880,
      "intermediate_size": 2880, "num_hidden_layers": 36, "num_attention_heads": 64,
      "num_key_value_heads": 8, "head_dim": 64, "vocab_size": 201088,
      "num_local_experts": 128, "num_experts_per_tok": 4, "sliding_window": 128,
      "initial_context_length": 4096})";
  const model::ModelSpec m = ImportText(config);
  EXPECT_EQ(m.sliding_window, 128);
  EXPECT_EQ(m.global_attention_every, 2);
  EXPECT_TRUE(model::KindOfLayer(m, 0).windowed);
  EXPECT_FALSE(model::KindOfLayer(m, 1).windowed);
}

// Falcon: one key/value head unless multi_query is false or new_decoder_architecture
// (FalconAttention; FalconConfig defaults multi_query to true); Falcon-40B's published
// config has no max_position_embeddings (FalconConfig's 2048, with a warning).
TEST(HfImport, FalconKeyValueHeadsAndPositionsFollowFalconConfig) {
  auto import = [](const std::string& extra) {
    core::Result<model::ModelSpec> r = ImportHuggingFace(
        R"({"model_type": "falcon", "hidden_size": 4544, "num_hidden_layers": 32,
            "num_attention_heads": 71, "vocab_size": 65024)" +
            extra + "}",
        "config.json", {false});
    EXPECT_TRUE(r.ok()) << r.diagnostics().Format();
    return r;
  };
  core::Result<model::ModelSpec> seven = import("");
  ASSERT_TRUE(seven.ok());
  EXPECT_EQ(seven.value().kv_heads, 1);
  EXPECT_EQ(seven.value().seq_len, 2048);
  EXPECT_NE(seven.diagnostics().Format().find("FalconConfig's default"), std::string::npos);
  // The hint's length is one the model accepts (it said 8192, which then warned).
  EXPECT_NE(seven.diagnostics().Format().find("--set model.seq_len=2048 (the most the model"),
            std::string::npos)
      << seven.diagnostics().Format();
  EXPECT_EQ(import(R"(, "multi_query": false)").value().kv_heads, 71);
  EXPECT_EQ(import(R"(, "multi_query": false, "num_kv_heads": 71)").value().kv_heads, 71);
  EXPECT_EQ(import(R"(, "new_decoder_architecture": true, "num_kv_heads": 71)").value().kv_heads,
            71);
  EXPECT_EQ(import(R"(, "new_decoder_architecture": true)").value().kv_heads, 71);
}

// Gemma 3 27B, multimodal config: the language model under text_config, every sixth layer
// global (sliding_window_pattern); about 27.0 billion parameters without the vision tower.
TEST(HfImport, Gemma3TextConfig) {
  const model::ModelSpec m = ImportText(R"({"model_type": "gemma3", "text_config": {
      "model_type": "gemma3_text", "hidden_size": 5376, "intermediate_size": 21504,
      "num_hidden_layers": 62, "num_attention_heads": 32, "num_key_value_heads": 16,
      "head_dim": 128, "vocab_size": 262208, "hidden_activation": "gelu_pytorch_tanh",
      "max_position_embeddings": 131072, "sliding_window": 1024,
      "sliding_window_pattern": 6}})",
                                        /*seq_len_given=*/true);
  EXPECT_EQ(m.global_attention_every, 6);
  EXPECT_TRUE(model::KindOfLayer(m, 4).windowed);
  EXPECT_FALSE(model::KindOfLayer(m, 5).windowed);
  EXPECT_TRUE(m.tied_embeddings);
  EXPECT_NEAR(model::CountParameters(m).total / 1e9, 27.0, 27.0 * 0.01);
}

// With layer_types, Gemma 3's sliding_window_pattern is neither read nor said to be defaulted.
TEST(HfImport, Gemma3LayerTypesNeedNoPattern) {
  std::string types;
  for (int i = 0; i < 12; ++i) {
    types += std::string(i ? ", " : "") +
             ((i + 1) % 6 == 0 ? "\"full_attention\"" : "\"sliding_attention\"");
  }
  core::Result<model::ModelSpec> m = ImportHuggingFace(
      R"({"model_type": "gemma3", "text_config": {"model_type": "gemma3_text",
          "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 12,
          "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
          "vocab_size": 10, "max_position_embeddings": 8, "sliding_window": 4,
          "hidden_activation": "gelu_pytorch_tanh", "attention_bias": false,
          "layer_types": [)" +
          types + "]}}",
      "config.json", {.seq_len_given = true});
  ASSERT_TRUE(m.ok()) << m.diagnostics().Format();
  EXPECT_EQ(m.value().global_attention_every, 6);
  EXPECT_EQ(m.diagnostics().Format().find("sliding_window_pattern"), std::string::npos)
      << m.diagnostics().Format();
}

// Gemma 3 4B: its text_config gives five keys; the rest are Gemma3TextConfig's defaults (8
// heads, 4 KV heads, head_dim 256, vocab 262208, ...), as transformers reads it. 3,880,263,168
// parameters: the checkpoint's 4,300,079,472 less the SigLIP tower (416,866,032) and the
// projector (2,950,272).
TEST(HfImport, TextConfigFallsBackToTheConfigClassDefaults) {
  const model::ModelSpec m = Import("gemma3-4b-it");
  EXPECT_EQ(m.hidden, 2560);
  EXPECT_EQ(m.layers, 34);
  EXPECT_EQ(m.heads, 8);
  EXPECT_EQ(m.kv_heads, 4);
  EXPECT_EQ(m.head_dim, 256);
  EXPECT_EQ(m.ffn_hidden, 10240);
  EXPECT_EQ(m.vocab, 262208);
  EXPECT_EQ(m.max_positions, 131072);
  EXPECT_EQ(m.activation, model::Activation::kGeGLU);
  EXPECT_EQ(m.sliding_window, 1024);
  EXPECT_EQ(m.global_attention_every, 6);
  EXPECT_DOUBLE_EQ(model::CountParameters(m).total, 3'880'263'168);
  // The defaults taken are named in one warning.
  const std::string file = kFixtures + "gemma3-4b-it.json";
  core::Result<model::ModelSpec> r = ImportHuggingFace(ReadFile(file).value(), file);
  const core::Diagnostic* w = Find(r.diagnostics(), core::Severity::kWarning, "text_config");
  ASSERT_NE(w, nullptr) << r.diagnostics().Format();
  EXPECT_NE(w->message.find("num_attention_heads 8, num_key_value_heads 4"), std::string::npos)
      << w->Format();
  EXPECT_NE(w->message.find("Gemma3TextConfig"), std::string::npos) << w->Format();
  // LLaVA 1.5 7B: a Vicuna (Llama) text_config without sizes: LlamaConfig's defaults, LLaMA
  // 7B's 6,738,415,616 parameters with 64 more rows in each of the untied embeddings.
  const model::ModelSpec llava = Import("llava-1.5-7b");
  EXPECT_EQ(llava.hidden, 4096);
  EXPECT_EQ(llava.layers, 32);
  EXPECT_EQ(llava.heads, 32);
  EXPECT_EQ(llava.kv_heads, 32);
  EXPECT_EQ(llava.ffn_hidden, 11008);
  EXPECT_EQ(llava.vocab, 32064);
  EXPECT_DOUBLE_EQ(model::CountParameters(llava).total, 6'738'415'616 + 2 * 64 * 4096);
  // Qwen2-VL 7B: the language model at the top level, Qwen2-7B's shape (7,615,616,512).
  const model::ModelSpec qwen2_vl = Import("qwen2-vl-7b");
  EXPECT_EQ(qwen2_vl.attention_bias, model::AttentionBias::kQkv);
  EXPECT_EQ(qwen2_vl.sliding_window, 0);
  EXPECT_DOUBLE_EQ(model::CountParameters(qwen2_vl).total, 7'615'616'512);
  // The newer form: the same language model in a text_config of model_type
  // qwen2_5_vl_text (or none, which the top level's implies).
  const std::string text = ReadFile(kFixtures + "qwen2-vl-7b.json").value();
  nlohmann::json flat = nlohmann::json::parse(text);
  for (const char* inner : {"qwen2_5_vl_text", ""}) {
    nlohmann::json language = flat;
    language.erase("vision_config");
    language.erase("model_type");
    if (*inner != 0) language["model_type"] = inner;
    const nlohmann::json nested = {{"model_type", "qwen2_5_vl"},
                                   {"text_config", language},
                                   {"vision_config", flat["vision_config"]}};
    core::Result<model::ModelSpec> vl = ImportHuggingFace(nested.dump(), "config.json", {true});
    ASSERT_TRUE(vl.ok()) << inner << "\n" << vl.diagnostics().Format();
    EXPECT_EQ(vl.value().attention_bias, model::AttentionBias::kQkv) << inner;
    EXPECT_DOUBLE_EQ(model::CountParameters(vl.value()).total, 7'615'616'512) << inner;
  }
}

// A multimodal config's text_config null is its config class's defaults, as {} is
// (Gemma3Config(text_config=None) builds a Gemma3TextConfig()).
TEST(HfImport, ANullTextConfigIsTheDefaults) {
  for (const char* top : {"gemma3", "llava"}) {
    const std::string empty = std::string(R"({"model_type": ")") + top + R"(", "text_config": {}})";
    const std::string null =
        std::string(R"({"model_type": ")") + top + R"(", "text_config": null})";
    core::Result<model::ModelSpec> a = ImportHuggingFace(empty, "config.json", {true});
    core::Result<model::ModelSpec> b = ImportHuggingFace(null, "config.json", {true});
    ASSERT_TRUE(a.ok()) << top << "\n" << a.diagnostics().Format();
    ASSERT_TRUE(b.ok()) << top << "\n" << b.diagnostics().Format();
    EXPECT_EQ(b.value().hidden, a.value().hidden) << top;
    EXPECT_EQ(b.value().layers, a.value().layers) << top;
    EXPECT_DOUBLE_EQ(model::CountParameters(b.value()).total,
                     model::CountParameters(a.value()).total)
        << top;
    EXPECT_NE(Find(b.diagnostics(), core::Severity::kWarning, "text_config"), nullptr) << top;
  }
}

// Errors inside text_config name their key path; keys a text_config omits are errors where
// Fathom does not know the config class's defaults.
TEST(HfImport, TextConfigErrorsNameTheirPath) {
  const struct {
    const char* text;
    const char* key;
    const char* fragment;
  } cases[] = {
      {R"({"model_type": "gemma3", "text_config": {"model_type": "gemma3_text",
           "hidden_size": 2560, "num_hidden_layers": 34, "num_attention_heads": "8"}})",
       "text_config.num_attention_heads", "expected a non-negative integer, got \"8\""},
      {R"({"model_type": "llava", "text_config": {"model_type": "mistral",
           "hidden_size": 4096, "num_hidden_layers": 32, "vocab_size": 32000,
           "max_position_embeddings": 32768}})",
       "text_config.num_attention_heads", "missing"},
      {R"({"model_type": "llava", "text_config": {"model_type": "llama",
           "num_key_value_heads": 5}})",
       "text_config.num_key_value_heads", "num_key_value_heads (5) must divide"},
      {R"({"model_type": "mllama", "text_config": {"model_type": "mllama_text_model",
           "hidden_size": 4096, "num_hidden_layers": 40, "num_attention_heads": 32,
           "vocab_size": 128256, "max_position_embeddings": 131072,
           "cross_attention_layers": [3, 8, 13, 18, 23, 28, 33, 38]}})",
       "text_config.model_type",
       "\"mllama_text_model\", the language model of model_type \"mllama\""},
  };
  for (const auto& c : cases) {
    core::Result<model::ModelSpec> m = ImportHuggingFace(c.text, "config.json");
    ASSERT_FALSE(m.ok()) << c.text;
    const core::Diagnostic* e = Find(m.diagnostics(), core::Severity::kError, c.key);
    ASSERT_NE(e, nullptr) << m.diagnostics().Format();
    EXPECT_NE(e->message.find(c.fragment), std::string::npos) << e->Format();
  }
  core::Result<model::ModelSpec> mllama = ImportHuggingFace(cases[3].text, "config.json");
  EXPECT_NE(mllama.diagnostics().Format().find("cross-attention layers"), std::string::npos)
      << mllama.diagnostics().Format();
}

// A multimodal config is imported as its language model, with a warning that the vision
// encoder and projector are not costed.
TEST(HfImport, VisionTowerIsNotCostedWarns) {
  for (const char* name : {"llava-1.5-7b", "gemma3-4b-it", "qwen2-vl-7b", "llama4-maverick"}) {
    const std::string file = kFixtures + name + ".json";
    core::Result<model::ModelSpec> m = ImportHuggingFace(ReadFile(file).value(), file);
    ASSERT_TRUE(m.ok()) << m.diagnostics().Format();
    const core::Diagnostic* w = Find(m.diagnostics(), core::Severity::kWarning, "vision_config");
    ASSERT_NE(w, nullptr) << name << "\n" << m.diagnostics().Format();
    EXPECT_NE(w->message.find("not costed"), std::string::npos) << w->Format();
  }
  core::Result<model::ModelSpec> text = ImportHuggingFace(
      ReadFile(kFixtures + "llama3-8b.json").value(), "config.json", {.seq_len_given = true});
  ASSERT_TRUE(text.ok());
  EXPECT_TRUE(text.diagnostics().empty()) << text.diagnostics().Format();
}

// A small MoE config of `type` with 8 layers; `extra` adds keys.
std::string MoeConfig(const std::string& type, const std::string& extra) {
  return R"({"model_type": ")" + type + R"(", "hidden_size": 64, "num_hidden_layers": 8,
             "num_attention_heads": 4, "vocab_size": 10, "max_position_embeddings": 8,
             "num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 32)" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

std::vector<int> MoeLayers(const model::ModelSpec& m) {
  std::vector<int> layers;
  for (int i = 0; i < m.layers; ++i) {
    if (model::KindOfLayer(m, i).moe) layers.push_back(i);
  }
  return layers;
}

TEST(HfImport, MlpOnlyLayers) {
  const model::ModelSpec m = ImportText(MoeConfig("qwen3_moe", R"("mlp_only_layers": [0, 1, 2])"));
  EXPECT_EQ(m.moe.first_dense_layers, 3);
  EXPECT_EQ(m.moe.layer_frequency, 1);
  EXPECT_EQ(MoeLayers(m), (std::vector<int>{3, 4, 5, 6, 7}));
  // With decoder_sparse_step 2 the MoE layers are 1, 3, 5, 7; without layer 1, 3, 5, 7.
  const model::ModelSpec q = ImportText(
      MoeConfig("qwen2_moe", R"("decoder_sparse_step": 2, "mlp_only_layers": [0, 1, 2])"));
  EXPECT_EQ(MoeLayers(q), (std::vector<int>{3, 5, 7}));
  // An empty list changes nothing.
  const model::ModelSpec e = ImportText(MoeConfig("qwen3_moe", R"("mlp_only_layers": [])"));
  EXPECT_EQ(e.moe.first_dense_layers, 0);
  EXPECT_EQ(e.moe.layer_frequency, 1);
}

TEST(HfImport, Llama4MoeLayers) {
  const model::ModelSpec m = ImportText(MoeConfig("llama4_text", R"("moe_layers": [1, 3, 5, 7])"));
  EXPECT_EQ(MoeLayers(m), (std::vector<int>{1, 3, 5, 7}));
  const model::ModelSpec every_third =
      ImportText(MoeConfig("llama4_text", R"("moe_layers": [3, 6])"));
  EXPECT_EQ(MoeLayers(every_third), (std::vector<int>{3, 6}));
  // The list replaces interleave_moe_layer_step.
  const model::ModelSpec all = ImportText(MoeConfig(
      "llama4_text", R"("interleave_moe_layer_step": 2, "moe_layers": [0, 1, 2, 3, 4, 5, 6, 7])"));
  EXPECT_EQ(all.moe.layer_frequency, 1);
  EXPECT_EQ(all.moe.first_dense_layers, 0);
  const model::ModelSpec e =
      ImportText(MoeConfig("llama4_text", R"("interleave_moe_layer_step": 2, "moe_layers": [])"));
  EXPECT_EQ(MoeLayers(e), (std::vector<int>{1, 3, 5, 7}));
}

TEST(HfImport, MoeLayerListsThatCannotBeExpressedAreErrors) {
  const struct {
    std::string text;
    const char* key;
    const char* fragment;
  } cases[] = {
      {MoeConfig("qwen3_moe", R"("mlp_only_layers": [0, 5])"), "mlp_only_layers",
       "[0,5] is not a placement Fathom can express"},
      {MoeConfig("llama4_text", R"("moe_layers": [1, 2, 5])"), "moe_layers",
       "[1,2,5] is not a placement Fathom can express"},
      {MoeConfig("llama4_text", R"("moe_layers": [1, 9])"), "moe_layers", "not in [0, 8)"},
      {MoeConfig("qwen3_moe", R"("mlp_only_layers": "0")"), "mlp_only_layers",
       "expected a list of layer indices"},
  };
  for (const auto& c : cases) {
    core::Result<model::ModelSpec> m = ImportHuggingFace(c.text, "config.json");
    ASSERT_FALSE(m.ok()) << c.text;
    const core::Diagnostic* d = Find(m.diagnostics(), core::Severity::kError, c.key);
    ASSERT_NE(d, nullptr) << m.diagnostics().Format();
    EXPECT_NE(d->Format().find(c.fragment), std::string::npos) << d->Format();
    if (std::string(c.fragment).find("express") != std::string::npos) {
      EXPECT_NE(d->Format().find("moe.first_dense_layers"), std::string::npos) << d->Format();
    }
  }
}

// The head width and latent attention a config omits are its config class's, with a
// warning: Qwen3's head_dim 128 and Gemma's 256 (not hidden / heads), DeepSeek's MLA; a null
// q_lora_rank is DeepSeek-V2-Lite's "no query compression".
TEST(HfImport, HeadWidthAndLatentAttentionTakeTheConfigClassDefaults) {
  for (const auto& [type, head_dim] : {std::pair{"qwen3", 128}, {"gemma", 256}, {"gemma2", 256}}) {
    core::Result<model::ModelSpec> m = ImportHuggingFace(
        R"({"model_type": ")" + std::string(type) +
            R"(", "hidden_size": 1024, "num_hidden_layers": 2, "num_attention_heads": 16,
               "num_key_value_heads": 8, "intermediate_size": 3072, "vocab_size": 10,
               "max_position_embeddings": 8, "sliding_window": 8})",
        "config.json", {true});
    ASSERT_TRUE(m.ok()) << type << "\n" << m.diagnostics().Format();
    EXPECT_EQ(m.value().head_dim, head_dim) << type;
    EXPECT_NE(Find(m.diagnostics(), core::Severity::kWarning, "head_dim"), nullptr)
        << type << "\n"
        << m.diagnostics().Format();
  }
  const std::string deepseek =
      R"({"model_type": "deepseek_v2", "hidden_size": 64, "num_hidden_layers": 2,
          "num_attention_heads": 4, "vocab_size": 10, "intermediate_size": 128,
          "moe_intermediate_size": 32, "n_routed_experts": 8, "num_experts_per_tok": 2,
          "first_k_dense_replace": 1)";
  core::Result<model::ModelSpec> mla = ImportHuggingFace(deepseek + "}", "config.json", {true});
  ASSERT_TRUE(mla.ok()) << mla.diagnostics().Format();
  EXPECT_EQ(mla.value().mla.q_lora_rank, 1536);
  EXPECT_EQ(mla.value().mla.kv_lora_rank, 512);
  EXPECT_EQ(mla.value().mla.qk_rope_head_dim, 64);
  EXPECT_EQ(mla.value().mla.qk_nope_head_dim, 128);
  EXPECT_EQ(mla.value().mla.v_head_dim, 128);
  EXPECT_NE(Find(mla.diagnostics(), core::Severity::kWarning, "kv_lora_rank"), nullptr);
  core::Result<model::ModelSpec> lite =
      ImportHuggingFace(deepseek + R"(, "q_lora_rank": null})", "config.json", {true});
  ASSERT_TRUE(lite.ok()) << lite.diagnostics().Format();
  EXPECT_EQ(lite.value().mla.q_lora_rank, 0);
  EXPECT_EQ(lite.value().mla.kv_lora_rank, 512);
  EXPECT_EQ(Find(lite.diagnostics(), core::Severity::kWarning, "q_lora_rank"), nullptr);
}

// DeepSeek's moe_layer_freq counts from layer 0: MoE where layer >= first_k_dense_replace
// and layer % moe_layer_freq == 0 (layers 2, 4, 6 of 8 with k 2, f 2); from layer 0 itself
// Fathom's placement cannot say it, an error.
TEST(HfImport, DeepSeekMoeLayerFrequencyCountsFromLayerZero) {
  auto import = [](int k, int f) {
    return ImportHuggingFace(
        R"({"model_type": "deepseek_v3", "hidden_size": 64, "num_hidden_layers": 8,
            "num_attention_heads": 4, "vocab_size": 10, "intermediate_size": 128,
            "moe_intermediate_size": 32, "n_routed_experts": 8, "num_experts_per_tok": 2,
            "n_shared_experts": 1, "q_lora_rank": 16, "kv_lora_rank": 16,
            "qk_rope_head_dim": 8, "qk_nope_head_dim": 16, "v_head_dim": 16,
            "first_k_dense_replace": )" +
            std::to_string(k) + R"(, "moe_layer_freq": )" + std::to_string(f) + "}",
        "config.json", {true});
  };
  core::Result<model::ModelSpec> m = import(2, 2);
  ASSERT_TRUE(m.ok()) << m.diagnostics().Format();
  std::vector<int> moe;
  for (int i = 0; i < 8; ++i) {
    if (model::KindOfLayer(m.value(), i).moe) moe.push_back(i);
  }
  EXPECT_EQ(moe, (std::vector<int>{2, 4, 6}));
  core::Result<model::ModelSpec> from_zero = import(0, 2);
  ASSERT_FALSE(from_zero.ok());
  EXPECT_NE(from_zero.diagnostics().Format().find("moe_layer_freq"), std::string::npos);
}

// A zero that transformers refuses or that would size nothing is an error at its key, not
// silently replaced (an expert width of 0 took the dense width: 233B for Qwen3-30B-A3B).
TEST(HfImport, ZeroWidthsAndStepsAreErrors) {
  const struct {
    const char* json;
    const char* key;
  } cases[] = {
      {R"({"model_type": "qwen3_moe", "hidden_size": 64, "num_hidden_layers": 4,
           "num_attention_heads": 4, "vocab_size": 10, "num_experts": 8,
           "num_experts_per_tok": 2, "moe_intermediate_size": 0})",
       "moe_intermediate_size"},
      {R"({"model_type": "qwen2_moe", "hidden_size": 64, "num_hidden_layers": 4,
           "num_attention_heads": 4, "vocab_size": 10, "num_experts": 8,
           "num_experts_per_tok": 2, "moe_intermediate_size": 32,
           "shared_expert_intermediate_size": 64, "decoder_sparse_step": 0})",
       "decoder_sparse_step"},
      {R"({"model_type": "gemma3_text", "hidden_size": 64, "num_hidden_layers": 4,
           "num_attention_heads": 4, "num_key_value_heads": 4, "head_dim": 16,
           "intermediate_size": 128, "vocab_size": 10, "max_position_embeddings": 8,
           "sliding_window": 4, "sliding_window_pattern": 0})",
       "sliding_window_pattern"},
  };
  for (const auto& c : cases) {
    core::Result<model::ModelSpec> m = ImportHuggingFace(c.json, "config.json", {true});
    ASSERT_FALSE(m.ok()) << c.key;
    EXPECT_NE(Find(m.diagnostics(), core::Severity::kError, c.key), nullptr)
        << c.key << "\n"
        << m.diagnostics().Format();
  }
}

// Qwen3-30B-A3B (the Hub's config.json, abridged to the keys the importer reads).
std::string Qwen3_30bA3b(const std::string& extra = "") {
  return R"({"model_type": "qwen3_moe", "hidden_size": 2048, "intermediate_size": 6144,
             "num_hidden_layers": 48, "num_attention_heads": 32, "num_key_value_heads": 4,
             "head_dim": 128, "num_experts": 128, "num_experts_per_tok": 8,
             "decoder_sparse_step": 1, "mlp_only_layers": [], "vocab_size": 151936,
             "max_position_embeddings": 40960, "tie_word_embeddings": false)" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

// A config without its MLP or expert width is read as transformers reads it: the config
// class's default (not 4 x hidden in every family), with a warning naming the key and the
// value taken. Qwen3-30B-A3B without moe_intermediate_size took the dense width, 6144, for
// each of its 128 experts: 233.47B parameters instead of 30.53B.
TEST(HfImport, MissingWidthsTakeTheConfigClassDefaultWithAWarning) {
  const model::ModelSpec full = ImportText(Qwen3_30bA3b(R"("moe_intermediate_size": 768)"), true);
  EXPECT_NEAR(model::CountParameters(full).total / 1e9, 30.53, 0.01);
  for (const std::string extra : {"", R"("moe_intermediate_size": null)"}) {
    core::Result<model::ModelSpec> m =
        ImportHuggingFace(Qwen3_30bA3b(extra), "qwen3-30b-a3b/config.json", {true});
    ASSERT_TRUE(m.ok()) << m.diagnostics().Format();
    EXPECT_EQ(m.value().moe.expert_ffn_hidden, 768);  // Qwen3MoeConfig's default
    EXPECT_DOUBLE_EQ(model::CountParameters(m.value()).total, model::CountParameters(full).total);
    const core::Diagnostic* w =
        Find(m.diagnostics(), core::Severity::kWarning, "moe_intermediate_size");
    ASSERT_NE(w, nullptr) << m.diagnostics().Format();
    EXPECT_EQ(w->file, "qwen3-30b-a3b/config.json");
    EXPECT_NE(w->message.find(std::string(extra.empty() ? "missing" : "null") +
                              " in the Hugging Face config, so it is taken as Qwen3MoeConfig's "
                              "default, 768"),
              std::string::npos)
        << w->Format();
    EXPECT_NE(w->hint.find("give moe_intermediate_size"), std::string::npos) << w->Format();
    EXPECT_EQ(m.diagnostics().size(), 1u) << m.diagnostics().Format();
  }
  // Each family's key and its config class's default.
  const struct {
    const char* type;
    const char* key;
    int value;
    int model::ModelSpec::*dense;
    const char* config_class;
  } cases[] = {
      {"llama", "intermediate_size", 11008, &model::ModelSpec::ffn_hidden, "LlamaConfig"},
      {"mistral", "intermediate_size", 14336, &model::ModelSpec::ffn_hidden, "MistralConfig"},
      {"qwen2", "intermediate_size", 22016, &model::ModelSpec::ffn_hidden, "Qwen2Config"},
      {"qwen2_vl", "intermediate_size", 29568, &model::ModelSpec::ffn_hidden, "Qwen2VLConfig"},
      {"qwen3", "intermediate_size", 22016, &model::ModelSpec::ffn_hidden, "Qwen3Config"},
      {"gemma", "intermediate_size", 24576, &model::ModelSpec::ffn_hidden, "GemmaConfig"},
      {"gemma2", "intermediate_size", 9216, &model::ModelSpec::ffn_hidden, "Gemma2Config"},
      {"phi3", "intermediate_size", 8192, &model::ModelSpec::ffn_hidden, "Phi3Config"},
      {"gpt_neox", "intermediate_size", 24576, &model::ModelSpec::ffn_hidden, "GPTNeoXConfig"},
      {"opt", "ffn_dim", 3072, &model::ModelSpec::ffn_hidden, "OPTConfig"},
  };
  for (const auto& c : cases) {
    core::Result<model::ModelSpec> m = ImportHuggingFace(
        R"({"model_type": ")" + std::string(c.type) +
            R"(", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
               "vocab_size": 10})",
        "config.json", {true});
    ASSERT_TRUE(m.ok()) << c.type << "\n" << m.diagnostics().Format();
    EXPECT_EQ(m.value().*c.dense, c.value) << c.type;
    const core::Diagnostic* w = Find(m.diagnostics(), core::Severity::kWarning, c.key);
    ASSERT_NE(w, nullptr) << c.type << "\n" << m.diagnostics().Format();
    EXPECT_NE(
        w->message.find(std::string(c.config_class) + "'s default, " + std::to_string(c.value)),
        std::string::npos)
        << w->Format();
  }
  // MoE families: the experts' width and the dense layers'.
  const struct {
    const char* type;
    const char* extra;
    int expert, dense, shared;
    std::vector<std::string> warned;
  } moe[] = {
      {"qwen2_moe",
       "",
       1408,
       22016,
       5632,
       {"moe_intermediate_size", "shared_expert_intermediate_size"}},
      {"qwen3_moe",
       R"(, "mlp_only_layers": [0])",
       768,
       6144,
       0,
       {"moe_intermediate_size", "intermediate_size"}},
      {"deepseek_v3",
       R"(, "q_lora_rank": 16, "kv_lora_rank": 16, "qk_rope_head_dim": 8, "qk_nope_head_dim": 16, "v_head_dim": 16)",
       2048,
       18432,
       2048,
       {"moe_intermediate_size", "n_shared_experts", "first_k_dense_replace", "intermediate_size"}},
      {"deepseek_v2",
       R"(, "first_k_dense_replace": 1, "q_lora_rank": 16, "kv_lora_rank": 16, "qk_rope_head_dim": 8, "qk_nope_head_dim": 16, "v_head_dim": 16)",
       1407,
       11008,
       0,
       {"moe_intermediate_size", "intermediate_size"}},
      {"mixtral", "", 14336, 14336, 0, {"intermediate_size"}},
      {"gpt_oss", "", 2880, 2880, 0, {"intermediate_size", "sliding_window"}},
      {"llama4_text",
       R"(, "interleave_moe_layer_step": 2)",
       8192,
       16384,
       8192,
       {"intermediate_size", "intermediate_size_mlp", "attention_chunk_size"}},
  };
  for (const auto& c : moe) {
    core::Result<model::ModelSpec> m = ImportHuggingFace(
        R"({"model_type": ")" + std::string(c.type) +
            R"(", "hidden_size": 64, "num_hidden_layers": 4, "num_attention_heads": 4,
               "vocab_size": 10, "num_experts": 8, "num_local_experts": 8,
               "n_routed_experts": 8, "num_experts_per_tok": 2)" +
            c.extra + "}",
        "config.json", {true});
    ASSERT_TRUE(m.ok()) << c.type << "\n" << m.diagnostics().Format();
    EXPECT_EQ(m.value().moe.expert_ffn_hidden, c.expert) << c.type;
    EXPECT_EQ(m.value().ffn_hidden, c.dense) << c.type;
    EXPECT_EQ(m.value().moe.SharedFfn(), c.shared) << c.type;
    for (const std::string& key : c.warned) {
      EXPECT_NE(Find(m.diagnostics(), core::Severity::kWarning, key), nullptr)
          << c.type << " " << key << "\n"
          << m.diagnostics().Format();
    }
    EXPECT_EQ(m.diagnostics().size(), c.warned.size()) << c.type << m.diagnostics().Format();
  }
  // The dense width of a model whose every layer is MoE is not used: no warning for it.
  core::Result<model::ModelSpec> all_moe = ImportHuggingFace(
      R"({"model_type": "qwen3_moe", "hidden_size": 64, "num_hidden_layers": 4,
          "num_attention_heads": 4, "vocab_size": 10, "num_experts": 8,
          "num_experts_per_tok": 2, "moe_intermediate_size": 32})",
      "config.json", {true});
  ASSERT_TRUE(all_moe.ok()) << all_moe.diagnostics().Format();
  EXPECT_TRUE(all_moe.diagnostics().empty()) << all_moe.diagnostics().Format();
  // Widths that follow from the hidden size: 4 x hidden without a warning (GPT-2's n_inner
  // null or absent, GPT2MLP; Falcon's ffn_hidden_size, FalconConfig; BLOOM, BloomMLP).
  for (const std::string type : {"gpt2", "falcon", "bloom"}) {
    core::Result<model::ModelSpec> m = ImportHuggingFace(
        R"({"model_type": ")" + type +
            R"(", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
               "vocab_size": 10, "n_inner": null})",
        "config.json", {true});
    ASSERT_TRUE(m.ok()) << m.diagnostics().Format();
    EXPECT_EQ(m.value().ffn_hidden, 256) << type;
    EXPECT_TRUE(m.diagnostics().empty()) << type << m.diagnostics().Format();
  }
  // Experts in a family whose config class has no expert width: an error, not a guess.
  core::Result<model::ModelSpec> unknown = ImportHuggingFace(
      Config(R"("num_local_experts": 8, "num_experts_per_tok": 2)"), "config.json", {true});
  ASSERT_FALSE(unknown.ok());
  const core::Diagnostic* e =
      Find(unknown.diagnostics(), core::Severity::kError, "moe_intermediate_size");
  ASSERT_NE(e, nullptr) << unknown.diagnostics().Format();
  EXPECT_NE(e->message.find("missing in the Hugging Face config"), std::string::npos);
  EXPECT_NE(e->hint.find("give moe_intermediate_size"), std::string::npos);
}

// sliding_window is honoured only in the families whose attention in transformers uses it;
// elsewhere (LlamaAttention, GemmaAttention, DeepSeek, ...) it is ignored, with a warning.
TEST(HfImport, SlidingWindowOnlyWhereTheFamilyUsesIt) {
  for (const char* type : {"llama", "gemma", "gpt_neox", "deepseek_v2", "falcon", "opt"}) {
    core::Result<model::ModelSpec> m = ImportHuggingFace(
        R"({"model_type": ")" + std::string(type) +
            R"(", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
               "vocab_size": 10, "intermediate_size": 128, "ffn_dim": 128,
               "moe_intermediate_size": 32, "sliding_window": 1024})",
        "config.json", {true});
    ASSERT_TRUE(m.ok()) << type << "\n" << m.diagnostics().Format();
    EXPECT_EQ(m.value().sliding_window, 0) << type;
    const core::Diagnostic* w = Find(m.diagnostics(), core::Severity::kWarning, "sliding_window");
    ASSERT_NE(w, nullptr) << type << "\n" << m.diagnostics().Format();
    EXPECT_NE(w->message.find("1024 is ignored"), std::string::npos) << w->Format();
    EXPECT_NE(w->message.find(std::string("model_type ") + type), std::string::npos) << w->Format();
  }
  // The FLOPs of Llama's attention do not drop with it.
  const model::ModelSpec plain = ImportText(Config(R"("max_position_embeddings": 8192)"), true);
  const model::ModelSpec windowed =
      ImportText(Config(R"("max_position_embeddings": 8192, "sliding_window": 1024)"), true);
  EXPECT_DOUBLE_EQ(model::ModelFlopsPerToken(windowed), model::ModelFlopsPerToken(plain));
  // Families that window: Mistral, Mixtral, Phi-3, Gemma 2; Mistral's window defaults to
  // MistralConfig's 4096 (with a warning), and null is no window.
  for (const char* type : {"mistral", "mixtral", "phi3", "gemma2"}) {
    const model::ModelSpec m =
        ImportText(R"({"model_type": ")" + std::string(type) +
                       R"(", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
               "vocab_size": 10, "intermediate_size": 128, "sliding_window": 1024})",
                   true);
    EXPECT_EQ(m.sliding_window, 1024) << type;
  }
  core::Result<model::ModelSpec> mistral = ImportHuggingFace(
      R"({"model_type": "mistral", "hidden_size": 64, "num_hidden_layers": 2,
          "num_attention_heads": 4, "vocab_size": 10, "intermediate_size": 128})",
      "config.json", {true});
  ASSERT_TRUE(mistral.ok()) << mistral.diagnostics().Format();
  EXPECT_EQ(mistral.value().sliding_window, 4096);
  EXPECT_NE(Find(mistral.diagnostics(), core::Severity::kWarning, "sliding_window"), nullptr)
      << mistral.diagnostics().Format();
  EXPECT_EQ(ImportText(R"({"model_type": "mistral", "hidden_size": 64, "num_hidden_layers": 2,
          "num_attention_heads": 4, "vocab_size": 10, "intermediate_size": 128,
          "sliding_window": null})",
                       true)
                .sliding_window,
            0);
  // Llama 4 chunks its attention by attention_chunk_size; its sliding_window is ignored.
  core::Result<model::ModelSpec> llama4 = ImportHuggingFace(
      MoeConfig("llama4_text", R"("attention_chunk_size": 2048, "sliding_window": 512)"),
      "config.json", {true});
  ASSERT_TRUE(llama4.ok()) << llama4.diagnostics().Format();
  EXPECT_EQ(llama4.value().attention_chunk, 2048);
  EXPECT_EQ(llama4.value().sliding_window, 0);
  EXPECT_EQ(llama4.value().global_attention_every, 4);
  EXPECT_NE(Find(llama4.diagnostics(), core::Severity::kWarning, "sliding_window"), nullptr)
      << llama4.diagnostics().Format();
}

// Llama 4's layers without RoPE (0 in no_rope_layers) attend globally, the others in chunks.
TEST(HfImport, Llama4NoRopeLayersSetTheGlobalLayers) {
  auto with = [](const std::string& extra) {
    return ImportHuggingFace(
        MoeConfig("llama4_text", R"("attention_chunk_size": 2048)" + std::string(extra)),
        "config.json");
  };
  auto every = [&](const std::string& extra) {
    core::Result<model::ModelSpec> m = with(extra);
    EXPECT_TRUE(m.ok()) << extra << "\n" << m.diagnostics().Format();
    return m.ok() ? m.value().global_attention_every : -1;
  };
  EXPECT_EQ(every(""), 4);                           // Llama4TextConfig: every 4th layer global
  EXPECT_EQ(every(R"(, "no_rope_layers": [])"), 4);  // empty: the default, as transformers
  EXPECT_EQ(every(R"(, "no_rope_layer_interval": 2)"), 2);
  EXPECT_EQ(every(R"(, "no_rope_layers": [1, 1, 0, 1, 1, 0, 1, 1])"), 3);
  EXPECT_EQ(every(R"(, "no_rope_layers": [1, 1, 1, 1, 1, 1, 1, 1])"), 0);  // every layer chunked
  EXPECT_EQ(every(R"(, "no_rope_layers": [0, 0, 0, 0, 0, 0, 0, 0])"), 1);  // none chunked
  const struct {
    const char* extra;
    const char* fragment;
  } bad[] = {
      {R"(, "no_rope_layers": [1, 1, 1, 0])", "lists 4 layers, but num_hidden_layers is 8"},
      {R"(, "no_rope_layers": [1, 0, 1, 1, 0, 1, 1, 0])", "layer 3 is chunked (1)"},
      {R"(, "no_rope_layers": [1, 2, 1, 0, 1, 1, 1, 0])", "expected a list of 0s and 1s"},
      {R"(, "no_rope_layers": "1,1,1,0")", "expected a list of 0s and 1s"},
  };
  for (const auto& c : bad) {
    core::Result<model::ModelSpec> m = with(c.extra);
    ASSERT_FALSE(m.ok()) << c.extra;
    const core::Diagnostic* d = Find(m.diagnostics(), core::Severity::kError, "no_rope_layers");
    ASSERT_NE(d, nullptr) << m.diagnostics().Format();
    EXPECT_NE(d->Format().find(c.fragment), std::string::npos) << d->Format();
  }
}

// A key the importer reads with a value of the wrong JSON type is an error naming the key,
// the value and the type expected, whatever else the config gives.
TEST(HfImport, WrongJsonTypesAreErrors) {
  const struct {
    std::string text;
    const char* key;
    const char* fragment;
  } cases[] = {
      {Config(R"("max_position_embeddings": 8192, "rope_scaling": "yes")"), "rope_scaling",
       "expected a mapping (a JSON object) or null, got \"yes\""},
      {Config(R"("max_position_embeddings": 8192, "rope_scaling": [8.0])"), "rope_scaling",
       "expected a mapping (a JSON object) or null, got [8.0]"},
      {R"({"model_type": "llava", "text_config": "llama"})", "text_config",
       "expected a mapping (a JSON object) or null, got \"llama\""},
      {Config(R"("max_position_embeddings": 8192, "layer_types": "full_attention")"), "layer_types",
       "expected a list of layer types, got \"full_attention\""},
  };
  for (const auto& c : cases) {
    for (const bool seq_len_given : {false, true}) {
      core::Result<model::ModelSpec> m = ImportHuggingFace(c.text, "config.json", {seq_len_given});
      ASSERT_FALSE(m.ok()) << c.text;
      const core::Diagnostic* e = Find(m.diagnostics(), core::Severity::kError, c.key);
      ASSERT_NE(e, nullptr) << m.diagnostics().Format();
      EXPECT_EQ(e->file, "config.json");
      EXPECT_NE(e->message.find(c.fragment), std::string::npos) << e->Format();
    }
  }
  // null is no rope_scaling.
  EXPECT_EQ(ImportText(Config(R"("max_position_embeddings": 8192, "rope_scaling": null)")).seq_len,
            8192);
}

// Diagnostics at a key the config gives carry its line; a missing key has none.
TEST(HfImport, DiagnosticsCarryTheLineOfTheirKey) {
  const std::string text = R"({
  "model_type": "llama",
  "hidden_size": 64,
  "num_hidden_layers": 2,
  "num_attention_heads": "4",
  "rope_scaling": "yes",
  "text": {"num_attention_heads": 4}
})";
  core::Result<model::ModelSpec> m = ImportHuggingFace(text, "config.json");
  ASSERT_FALSE(m.ok());
  const core::Diagnostic* heads =
      Find(m.diagnostics(), core::Severity::kError, "num_attention_heads");
  ASSERT_NE(heads, nullptr) << m.diagnostics().Format();
  EXPECT_EQ(heads->line, 5);
  EXPECT_NE(heads->Format().find("config.json:5: num_attention_heads"), std::string::npos)
      << heads->Format();
  const core::Diagnostic* scaling = Find(m.diagnostics(), core::Severity::kError, "rope_scaling");
  ASSERT_NE(scaling, nullptr) << m.diagnostics().Format();
  EXPECT_EQ(scaling->line, 6);
  const core::Diagnostic* vocab = Find(m.diagnostics(), core::Severity::kError, "vocab_size");
  ASSERT_NE(vocab, nullptr) << m.diagnostics().Format();
  EXPECT_EQ(vocab->line, 0);
  // Inside text_config, by the key path.
  core::Result<model::ModelSpec> nested = ImportHuggingFace(R"({"model_type": "gemma3",
    "text_config": {
      "hidden_size": 2560,
      "num_attention_heads": "8"
    }})",
                                                            "config.json");
  const core::Diagnostic* e =
      Find(nested.diagnostics(), core::Severity::kError, "text_config.num_attention_heads");
  ASSERT_NE(e, nullptr) << nested.diagnostics().Format();
  EXPECT_EQ(e->line, 4);
}

}  // namespace
}  // namespace fathom::io
