#include "io/keys.h"

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace fathom::io {

namespace {

using core::Dimension;
constexpr double kInf = 1e300;

// Plausibility limits (the reliability reference, bad input #10): far beyond any part
// shipping or announced, so a value past them is a unit slip, not a design.
constexpr double kMaxFlopRate = 1e18;            // 1 EFLOP/s per chip
constexpr double kMaxMemory = 4e12;              // 4 TB per chip (4x Rubin Ultra's 1 TB)
constexpr double kMaxMemoryBandwidth = 1e15;     // 1 PB/s per chip
constexpr double kMinMemoryBandwidth = 10e9;     // 10 GB/s per chip
constexpr double kMaxScaleUpBandwidth = 1e14;    // 100 TB/s per chip
constexpr double kMaxNicBandwidth = 100e12 / 8;  // 100 Tbps per chip
constexpr double kMaxLatency = 1;                // 1 s per collective step
constexpr double kMaxHopLatency = 100e-6;        // 100 us per switch hop (ports take 0.1-1 us)
constexpr double kMaxMessageOverhead = 1e-3;     // 1 ms per message to a peer
constexpr double kMaxRampSize = 1099511627776;   // 1 TiB: a size ramp beyond it is no ramp
// Checkpoints and repairs (`fathom run`).
constexpr double kMaxHostBandwidth = 10e12;     // 10 TB/s per writer, device to host
constexpr double kMaxStorageBandwidth = 1e15;   // 1 PB/s aggregate
constexpr double kMaxRepairTime = 365 * 86400;  // a year
constexpr double kMaxDataLoaderState = 1e18;    // 1 EB: beyond any file system
constexpr char kHostBandwidthBound[] =
    "the fastest device-to-host link, NVLink-C2C on GH200/GB200, moves 900 GB/s (PCIe 5.0 x16: "
    "64 GB/s); check the unit";
constexpr char kPeerBandwidthBound[] =
    "a writer reaches a peer through its NIC, at most the NIC bound of 100 Tbps; check the unit";
constexpr char kStorageBandwidthBound[] =
    "the largest file systems sustain a few TB/s to a few tens of TB/s in all (Llama 3's "
    "Tectonic: 2 TB/s sustained, 7 TB/s peak); check the unit";
constexpr char kDataLoaderStateBound[] =
    "the whole job's data-loader state is kilobytes to megabytes per reader; 1 EB is more "
    "than the largest file systems hold (Llama 3's Tectonic: 240 PB); check the unit";
constexpr char kRepairTimeBound[] =
    "a node's mean time to repair is hours (a swap) to weeks (a vendor return); check the unit";

// Builder for one declaration.
struct Decl {
  KeyInfo info;
  Decl(std::string path, ValueType type, std::string help) {
    info.path = std::move(path);
    info.type = type;
    info.help = std::move(help);
  }
  Decl& Unit(Dimension d) {
    info.dim = d;
    return *this;
  }
  Decl& Default(std::string d) {
    info.default_text = std::move(d);
    return *this;
  }
  Decl& Required() {
    info.required = true;
    return *this;
  }
  Decl& Min(double v, bool exclusive = false) {
    info.min = v;
    info.min_exclusive = exclusive;
    return *this;
  }
  Decl& Max(double v) {
    info.max = v;
    return *this;
  }
  Decl& Choices(std::vector<std::string> c) {
    info.choices = std::move(c);
    return *this;
  }
  Decl& Ref(std::string r) {
    info.ref = std::move(r);
    return *this;
  }
  Decl& RangeHint(std::string h) {
    info.range_hint = std::move(h);
    return *this;
  }
  Decl& QuotedInBytes(std::string hint) {
    info.bits_warning = std::move(hint);
    return *this;
  }
  Decl& Auto() {
    info.allow_auto = true;
    return *this;
  }
  Decl& IfMissing(std::string h) {
    info.missing_hint = std::move(h);
    return *this;
  }
};

Decl Int(std::string path, std::string help) {
  return Decl(std::move(path), ValueType::kInt, std::move(help));
}
Decl Num(std::string path, std::string help) {
  return Decl(std::move(path), ValueType::kNumber, std::move(help));
}
Decl Bool(std::string path, std::string help) {
  return Decl(std::move(path), ValueType::kBool, std::move(help));
}
Decl Str(std::string path, std::string help) {
  return Decl(std::move(path), ValueType::kString, std::move(help));
}
Decl List(std::string path, std::string help) {
  return Decl(std::move(path), ValueType::kStringList, std::move(help));
}
Decl IntList(std::string path, std::string help) {
  return Decl(std::move(path), ValueType::kIntList, std::move(help));
}
Decl Enum(std::string path, std::string help) {
  return Decl(std::move(path), ValueType::kEnum, std::move(help));
}
Decl Qty(std::string path, Dimension d, std::string help) {
  return Decl(std::move(path), ValueType::kQuantity, std::move(help)).Unit(d);
}
Decl RefTo(std::string path, std::string ref, std::string help) {
  return Decl(std::move(path), ValueType::kRef, std::move(help)).Ref(std::move(ref));
}

Decl MappingList(std::string path, std::string item_section, std::string help) {
  return Decl(std::move(path), ValueType::kMappingList, std::move(help))
      .Ref(std::move(item_section));
}

// Stable storage for KeyInfo so Field::info pointers stay valid.
template <class T>
std::vector<Field<T>> Build(std::vector<std::pair<Decl, Setter<T>>> defs,
                            std::vector<KeyInfo>& infos) {
  infos.clear();
  infos.reserve(defs.size());
  for (auto& d : defs) infos.push_back(d.first.info);
  std::vector<Field<T>> fields;
  for (size_t i = 0; i < defs.size(); ++i) fields.push_back({&infos[i], defs[i].second});
  return fields;
}

hardware::Precision PrecisionOf(const std::string& s) {
  if (s == "fp16") return hardware::Precision::kFp16;
  if (s == "fp8") return hardware::Precision::kFp8;
  if (s == "fp4") return hardware::Precision::kFp4;
  if (s == "fp32") return hardware::Precision::kFp32;
  if (s == "tf32") return hardware::Precision::kTf32;
  return hardware::Precision::kBf16;
}

template <class T>
using Defs = std::vector<std::pair<Decl, Setter<T>>>;

void SetPeak(hardware::ChipSpec& c, hardware::Precision p, const Value& v) {
  c.peak[static_cast<size_t>(p)] = core::FlopsPerSec(v.d);
}

void AddSource(std::vector<std::pair<std::string, std::string>>& sources, std::string section,
               const Value& v) {
  sources.emplace_back(std::move(section), v.s);
}

std::vector<KeyInfo>& ChipInfos() {
  static std::vector<KeyInfo> infos;
  return infos;
}
std::vector<KeyInfo>& ClusterInfos() {
  static std::vector<KeyInfo> infos;
  return infos;
}
std::vector<KeyInfo>& ModelInfos() {
  static std::vector<KeyInfo> infos;
  return infos;
}
std::vector<KeyInfo>& PlanInfos() {
  static std::vector<KeyInfo> infos;
  return infos;
}
std::vector<KeyInfo>& ScenarioInfos() {
  static std::vector<KeyInfo> infos;
  return infos;
}
std::vector<KeyInfo>& CaseInfos() {
  static std::vector<KeyInfo> infos;
  return infos;
}
std::vector<KeyInfo>& TrainingInfos() {
  static std::vector<KeyInfo> infos;
  return infos;
}
std::vector<KeyInfo>& ReliabilityInfos() {
  static std::vector<KeyInfo> infos;
  return infos;
}
std::vector<KeyInfo>& FailureClassInfos() {
  static std::vector<KeyInfo> infos;
  return infos;
}
std::vector<KeyInfo>& TierInfos() {
  static std::vector<KeyInfo> infos;
  return infos;
}
std::vector<KeyInfo>& SearchInfos() {
  static std::vector<KeyInfo> infos;
  return infos;
}
std::vector<KeyInfo>& SweepInfos() {
  static std::vector<KeyInfo> infos;
  return infos;
}
std::vector<KeyInfo>& SweepAxisInfos() {
  static std::vector<KeyInfo> infos;
  return infos;
}

network::FabricKind FabricKindOf(const std::string& s) {
  if (s == "fat_tree") return network::FabricKind::kFatTree;
  if (s == "dragonfly") return network::FabricKind::kDragonfly;
  if (s == "none") return network::FabricKind::kNone;
  return network::FabricKind::kRailFatTree;
}

reliability::Effect EffectOf(const std::string& s) {
  if (s == "stop_replica") return reliability::Effect::kStopReplica;
  if (s == "fail_slow") return reliability::Effect::kFailSlow;
  if (s == "sdc") return reliability::Effect::kSilentCorruption;
  if (s == "planned") return reliability::Effect::kPlannedMaintenance;
  return reliability::Effect::kStopJob;
}

double AutoOr(const Value& v, double automatic) { return v.is_auto ? automatic : v.d; }

// The hint of a missing network constant of a cluster written from scratch.
constexpr const char* kFromCatalogCluster =
    "; or start from a catalog cluster, `base: dgx-h100-superpod` (`fathom catalog clusters` "
    "lists them), which gives it";

constexpr std::string_view kSourceHelp = "where the numbers of this section come from (citation)";

}  // namespace

network::DomainKind DomainKindOf(const std::string& s) {
  if (s == "full_mesh") return network::DomainKind::kFullMesh;
  if (s == "torus") return network::DomainKind::kTorus;
  return network::DomainKind::kSwitch;
}

const std::vector<Field<hardware::ChipSpec>>& ChipFields() {
  using C = hardware::ChipSpec;
  using P = hardware::Precision;
  static const std::vector<Field<C>> kFields = Build<C>(
      Defs<C>{
          {Str("name", "catalog name of the chip").Required(),
           [](C& c, const Value& v) { c.name = v.s; }},
          {Str("vendor", "manufacturer"), [](C& c, const Value& v) { c.vendor = v.s; }},
          {Str("description", "one line describing the part"),
           [](C& c, const Value& v) { c.description = v.s; }},
          {List("aliases", "other names the chip is found by"),
           [](C& c, const Value& v) { c.aliases = v.list; }},
          // No plan precision is fp32 or tf32 (plan.precision: bf16, fp16, fp8, fp4), so these
          // two peaks are data for a reader, not inputs to a step: said, so that changing
          // them is not expected to change one.
          {Qty("peak.fp32", Dimension::kFlopRate,
               "dense FP32 (vector) peak; recorded, not used: no plan precision runs in fp32")
               .Min(0, true)
               .Max(kMaxFlopRate),
           [](C& c, const Value& v) { SetPeak(c, P::kFp32, v); }},
          {Qty("peak.tf32", Dimension::kFlopRate,
               "dense TF32 tensor peak; recorded, not used: no plan precision runs in tf32")
               .Min(0, true)
               .Max(kMaxFlopRate),
           [](C& c, const Value& v) { SetPeak(c, P::kTf32, v); }},
          {Qty("peak.bf16", Dimension::kFlopRate,
               "dense BF16 tensor peak (no structured sparsity); the MFU denominator, and "
               "needed to train at any precision (attention, the embedding and the output "
               "layer run in bf16): a chip without one (maia200, inference only) trains nothing")
               .Min(0, true)
               .Max(kMaxFlopRate),
           [](C& c, const Value& v) { SetPeak(c, P::kBf16, v); }},
          {Qty("peak.fp16", Dimension::kFlopRate, "dense FP16 tensor peak")
               .Min(0, true)
               .Max(kMaxFlopRate),
           [](C& c, const Value& v) { SetPeak(c, P::kFp16, v); }},
          {Qty("peak.fp8", Dimension::kFlopRate,
               "dense FP8 tensor peak; omit if the chip lacks FP8")
               .Min(0, true)
               .Max(kMaxFlopRate),
           [](C& c, const Value& v) { SetPeak(c, P::kFp8, v); }},
          {Qty("peak.fp4", Dimension::kFlopRate,
               "dense FP4 tensor peak; omit if the chip lacks FP4")
               .Min(0, true)
               .Max(kMaxFlopRate),
           [](C& c, const Value& v) { SetPeak(c, P::kFp4, v); }},
          {Str("peak.source", std::string(kSourceHelp)),
           [](C& c, const Value& v) { AddSource(c.sources, "peak", v); }},
          {Qty("memory.capacity", Dimension::kBytes, "HBM capacity per chip")
               .Required()
               .Min(0, true)
               .Max(kMaxMemory)
               .RangeHint(
                   "the most HBM on one package announced is 1 TB (Rubin Ultra, HBM4E); B300 and "
                   "MI355X ship 288 GB; check the unit"),
           [](C& c, const Value& v) { c.hbm_capacity = core::Bytes(v.d); }},
          // At least 10 GB/s: a DDR4 channel gives 25 GB/s, the slowest chip in the catalog
          // 204.8 GB/s; less is a unit slip (6Gbps for 6TBps), whose step would take minutes.
          {Qty("memory.bandwidth", Dimension::kBandwidth, "HBM bandwidth per chip")
               .Required()
               .Min(kMinMemoryBandwidth)
               .Max(kMaxMemoryBandwidth)
               .RangeHint("no accelerator's memory is that slow (the catalog's slowest: 204.8 "
                          "GB/s); check the unit: HBM bandwidth is quoted in bytes a second "
                          "(H100: 3.35TBps), and Gbps is bits (6Gbps is 750 MB/s)")
               .QuotedInBytes("memory bandwidth is quoted in bytes a second (H100: 3.35 TB/s): "
                              "write TBps or TB/s; Tbps and Tb/s are bits, 8 times less"),
           [](C& c, const Value& v) { c.hbm_bandwidth = core::BytesPerSec(v.d); }},
          {Str("memory.source", std::string(kSourceHelp)),
           [](C& c, const Value& v) { AddSource(c.sources, "memory", v); }},
          {Num("efficiency.gemm_bf16",
               "fraction of the bf16/fp16 peak a large GEMM reaches (measured, e.g. MAMF)")
               .Required()
               .Min(0, true)
               .Max(1),
           [](C& c, const Value& v) { c.gemm_efficiency_16bit = v.d; }},
          {Num("efficiency.gemm_fp8",
               "fraction of the fp8 peak a large fp8 GEMM reaches; needed when peak.fp8 is given")
               .Min(0, true)
               .Max(1),
           [](C& c, const Value& v) { c.gemm_efficiency_fp8 = v.d; }},
          {Num("efficiency.gemm_fp4",
               "fraction of the fp4 peak a large fp4 GEMM reaches (default: efficiency.gemm_fp8)")
               .Min(0, true)
               .Max(1),
           [](C& c, const Value& v) { c.gemm_efficiency_fp4 = v.d; }},
          {Num("efficiency.attention",
               "fraction of the bf16 peak fused attention reaches, forward and backward")
               .Required()
               .Min(0, true)
               .Max(1),
           [](C& c, const Value& v) { c.attention_efficiency = v.d; }},
          {Num("efficiency.hbm",
               "fraction of HBM bandwidth streaming (memory-bound) operators reach")
               .Required()
               .Min(0, true)
               .Max(1),
           [](C& c, const Value& v) { c.hbm_efficiency = v.d; }},
          {Str("efficiency.source", std::string(kSourceHelp)),
           [](C& c, const Value& v) { AddSource(c.sources, "efficiency", v); }},
          {Str("calibration",
               "measured fractions by operator and shape (fathom calibrate import): a name "
               "under the catalog's calibrations/, a file (from the chip file's directory), "
               "or none; they replace the efficiency section's for the operators measured, "
               "the rest keep it"),
           [](C& c, const Value& v) { c.calibration_ref = v.s == "none" ? "" : v.s; }},
          {Int("gemm.compute_units",
               "compute units (SMs, CUs, matrix engines) GEMM tiles are spread over; 0 disables "
               "the wave model")
               .Default("0")
               .Min(0)
               .Max(1e6),
           [](C& c, const Value& v) { c.compute_units = static_cast<int>(v.i); }},
          {Int("gemm.tile_m", "GEMM output tile rows").Default("128").Min(1).Max(4096),
           [](C& c, const Value& v) { c.tile_m = static_cast<int>(v.i); }},
          {Int("gemm.tile_n", "GEMM output tile columns").Default("128").Min(1).Max(4096),
           [](C& c, const Value& v) { c.tile_n = static_cast<int>(v.i); }},
          {Bool("gemm.collectives_on_compute_units",
                "collectives run as kernels on the compute units (NCCL/RCCL on SMs/CUs), slowing "
                "the compute they overlap by plan.overlap.comm_units / compute_units; false: on "
                "engines of their own (DMA, NIC or collective engines), which cost no compute")
               .Default("true"),
           [](C& c, const Value& v) { c.collectives_on_compute_units = v.b; }},
          {Str("gemm.source", std::string(kSourceHelp)),
           [](C& c, const Value& v) { AddSource(c.sources, "gemm", v); }},
          {Str("scale_up.fabric", "scale-up interconnect"),
           [](C& c, const Value& v) { c.scale_up_fabric = v.s; }},
          {Qty("scale_up.bandwidth", Dimension::kBandwidth,
               "scale-up bandwidth per chip, one direction")
               .Required()
               .Min(0, true)
               .Max(kMaxScaleUpBandwidth)
               .QuotedInBytes("scale-up links are quoted in bytes a second per direction (NVLink "
                              "4: 450GBps; every chip in the catalog is in GBps): write GBps or "
                              "GB/s; Gbps and Gb/s are bits, 8 times less"),
           [](C& c, const Value& v) { c.scale_up_bandwidth = core::BytesPerSec(v.d); }},
          // Required: a default of 1 read a chip that gives its scale-up bandwidth (and most
          // have peers: 8 on a board, 72 in a rack) as one with no peers, and every group
          // then crossed the scale-out fabric without a word.
          {Int("scale_up.domain",
               "chips in one scale-up domain: 8 for an HGX/DGX board, 72 for an NVL72 rack, 1 "
               "for a chip with no scale-up peers")
               .Required()
               .Min(1)
               .Max(1e6),
           [](C& c, const Value& v) { c.scale_up_domain = static_cast<int>(v.i); }},
          {Enum("scale_up.kind",
                "how the chip's scale-up domain is joined (switch, full_mesh, torus: as a "
                "cluster's scale_up.kind); a cluster that gives no kind takes the chip's")
               .Choices({"switch", "full_mesh", "torus"}),
           [](C& c, const Value& v) { c.scale_up_kind = v.s; }},
          {Str("scale_up.source", std::string(kSourceHelp)),
           [](C& c, const Value& v) { AddSource(c.sources, "scale_up", v); }},
          {Qty("scale_out.bandwidth", Dimension::kBandwidth,
               "scale-out NIC bandwidth per chip, one direction")
               .Min(0, true)
               .Max(kMaxNicBandwidth),
           [](C& c, const Value& v) { c.scale_out_bandwidth = core::BytesPerSec(v.d); }},
          {Str("scale_out.source", std::string(kSourceHelp)),
           [](C& c, const Value& v) { AddSource(c.sources, "scale_out", v); }},
          // The training section's cost.power bound: 100 kW a chip is 4x a Cerebras
          // WSE-3 system's 23 kW.
          {Qty("power.tdp", Dimension::kPower, "thermal design power per chip")
               .Min(0, true)
               .Max(1e5),
           [](C& c, const Value& v) { c.tdp = core::Watts(v.d); }},
          {Str("power.source", std::string(kSourceHelp)),
           [](C& c, const Value& v) { AddSource(c.sources, "power", v); }},
          {Num("price.usd_per_chip_hour",
               "rental price, US dollars per chip-hour; 0: no price (a chip derived with base: "
               "drops its base's; a run then asks for training.cost.usd_per_chip_hour)")
               .Min(0)
               .Max(1e4),  // as the training section's cost.usd_per_chip_hour
           [](C& c, const Value& v) { c.usd_per_chip_hour = v.d; }},
          {Enum("price.kind",
                "what kind of price: on_demand (list), capacity_block (a reserved block of "
                "capacity), reserved, committed_use (a 1- or 3-year commitment) or spot; prices of "
                "different kinds do not compare")
               .Choices({"on_demand", "capacity_block", "reserved", "committed_use", "spot"}),
           [](C& c, const Value& v) { c.price_kind = v.s; }},
          {Str("price.as_of", "when the price held (\"2024-12\", \"list price at launch\")"),
           [](C& c, const Value& v) { c.price_as_of = v.s; }},
          {Str("price.source", std::string(kSourceHelp)),
           [](C& c, const Value& v) { AddSource(c.sources, "price", v); }},
      },
      ChipInfos());
  return kFields;
}

// The message-size ramp's keys of one level of the cluster (scale_up, scale_out): the same
// four keys, with the level's measured curve as the example.
template <network::Level network::ClusterSpec::*kLevel>
Defs<ClusterDraft> RampDefs(const std::string& level, const std::string& example) {
  using C = ClusterDraft;
  return {
      {Qty(level + ".half_bandwidth_size", Dimension::kBytes,
           "buffer size at which a measured all-reduce (nccl-tests, on half_bandwidth_ranks "
           "ranks) reached half its large-message bus bandwidth (" +
               example +
               "); each algorithm step of m bytes then runs at (m + low_latency_size) / (m + "
               "low_latency_size + h) of the bandwidth, h = half_bandwidth_size / "
               "half_bandwidth_ranks (docs/collectives.md). 0 = no ramp beyond the latency term "
               "(the alpha-beta model alone: fabrics without a measured curve)")
           .Default("0B")
           .Max(kMaxRampSize),
       [](C& c, const Value& v) { (c.spec.*kLevel).half_bandwidth_size = core::Bytes(v.d); }},
      {Int(level + ".half_bandwidth_ranks",
           "ranks of the all-reduce that half_bandwidth_size was measured on (a ring step moves "
           "S / n of its buffer S)")
           .Default("1")
           .Min(1)
           .Max(1e6),
       [](C& c, const Value& v) { (c.spec.*kLevel).half_bandwidth_ranks = static_cast<int>(v.i); }},
      {Qty(level + ".low_latency_size", Dimension::kBytes,
           "step size below which NCCL's low-latency protocols (LL, LL128) carry a step in its "
           "latency: the ramp's deficit per step is scaled by m / (m + low_latency_size); derive "
           "it as latency x achievable bandwidth. 0 = no such protocol (tiny steps pay the whole "
           "deficit, as over EFA)")
           .Default("0B")
           .Max(kMaxRampSize),
       [](C& c, const Value& v) { (c.spec.*kLevel).low_latency_size = core::Bytes(v.d); }},
      {Qty(level + ".p2p_half_bandwidth_size", Dimension::kBytes,
           "the half size of one send/recv message, if it differs from a step's")
           .Default("half_bandwidth_size / half_bandwidth_ranks")
           .Max(kMaxRampSize),
       [](C& c, const Value& v) { (c.spec.*kLevel).p2p_half_bandwidth_size = core::Bytes(v.d); }},
  };
}

template <class T>
Defs<T> Concat(std::initializer_list<Defs<T>> parts) {
  Defs<T> all;
  for (const Defs<T>& p : parts) all.insert(all.end(), p.begin(), p.end());
  return all;
}

const std::vector<Field<ClusterDraft>>& ClusterFields() {
  using C = ClusterDraft;
  static const std::vector<Field<C>> kFields = Build<C>(
      Concat<C>(
          {Defs<C>{
               {Str("name", "catalog name of the cluster").Required(),
                [](C& c, const Value& v) { c.spec.name = v.s; }},
               {Str("description", "one line describing the cluster"),
                [](C& c, const Value& v) { c.spec.description = v.s; }},
               {RefTo("chip", "chip",
                      "the accelerator: catalog name, file, or mapping (may start from `base:`)")
                    .Required(),
                [](C& c, const Value& v) { c.chip = v.node; }},
               {Int("chips", "total chips in the cluster").Required().Min(1).Max(1e8),
                [](C& c, const Value& v) { c.spec.chips = v.i; }},
               {Int("chips_per_node", "chips per server (host)").Default("8").Min(1).Max(1e6),
                [](C& c, const Value& v) { c.spec.chips_per_node = static_cast<int>(v.i); }},
               {Str("scale_up.fabric", "scale-up interconnect"),
                [](C& c, const Value& v) { c.spec.scale_up.fabric = v.s; }},
               {Int("scale_up.domain", "chips per scale-up domain")
                    .Default("the chip's scale_up.domain")
                    .Min(1)
                    .Max(1e6),
                [](C& c, const Value& v) { c.spec.domain = static_cast<int>(v.i); }},
               {Enum("scale_up.kind",
                     "how the domain's chips are joined: switch (each chip has the full bandwidth "
                     "into "
                     "a non-blocking switch: NVSwitch, NVL72), full_mesh (a direct link to every "
                     "peer, "
                     "bandwidth / (domain - 1) each: AMD Infinity Fabric, Gaudi), torus (TPU ICI: "
                     "torus_dims, bandwidth split over 2 links per dimension)")
                    .Default("the chip's scale_up.kind, else switch")
                    .Choices({"switch", "full_mesh", "torus"}),
                [](C& c, const Value& v) {
                  c.spec.domain_kind = DomainKindOf(v.s);
                  c.kind_given = true;
                }},
               {IntList("scale_up.torus_dims",
                        "torus: extents, dimension 0 fastest (consecutive ranks); their product is "
                        "scale_up.domain, e.g. [16, 16, 16] for a 4,096-chip TPU v4 pod")
                    .Min(1)
                    .Max(1e6),
                [](C& c, const Value& v) {
                  c.spec.torus_dims.assign(v.ints.begin(), v.ints.end());
                }},
               {Bool("scale_up.torus_wrap",
                     "torus: wrap-around links on every dimension (false = mesh)")
                    .Default("true"),
                [](C& c, const Value& v) { c.spec.torus_wrap = v.b; }},
               {Int("scale_up.torus_slice_unit",
                    "torus: a cluster of fewer chips than the domain is a slice of whole blocks of "
                    "this extent on every axis (TPU v4/v5p: 4x4x4 cubes joined by optical circuit "
                    "switches), shaped as close to a cube as the torus allows and wired with its "
                    "own "
                    "wrap-around (torus_wrap); 0 = the domain's first chips in rank order, "
                    "wrapping "
                    "only along whole axes")
                    .Default("0")
                    .Min(0)
                    .Max(1024),
                [](C& c, const Value& v) { c.spec.torus_slice_unit = static_cast<int>(v.i); }},
               {Int("scale_up.torus_max_slice",
                    "torus with a torus_slice_unit: the most chips one slice may hold (TPU v5p: "
                    "6,144 of the pod's 8,960); a cluster of more chips runs as equal slices, as "
                    "large as the limit and the torus allow, joined by the scale-out network "
                    "(multislice); above the torus's chips it is the torus; 0 = no limit: a "
                    "cluster of more chips than the torus is whole tori")
                    .Default("0")
                    .Min(0)
                    .Max(1e8),
                [](C& c, const Value& v) { c.spec.torus_max_slice = v.i; }},
               {Qty("scale_up.bandwidth", Dimension::kBandwidth,
                    "scale-up bandwidth per chip, one direction")
                    .Default("the chip's scale_up.bandwidth")
                    .Min(0, true)
                    .Max(kMaxScaleUpBandwidth),
                [](C& c, const Value& v) { c.spec.scale_up.bandwidth = core::BytesPerSec(v.d); }},
               {Qty("scale_up.latency", Dimension::kTime,
                    "latency per collective algorithm step inside the domain (alpha)")
                    .Required()
                    .IfMissing(std::string("e.g. 3us, NVLink 4's (dgx-h100-superpod)") +
                               kFromCatalogCluster)
                    .Max(kMaxLatency),
                [](C& c, const Value& v) { c.spec.scale_up.latency = core::Seconds(v.d); }},
               {Num("scale_up.efficiency",
                    "achievable bus-bandwidth fraction inside the domain (e.g. NCCL ring busbw / "
                    "link)")
                    .Required()
                    .IfMissing(std::string("e.g. 0.82, NVLink 4's ring (dgx-h100-superpod)") +
                               kFromCatalogCluster)
                    .Min(0, true)
                    .Max(1),
                [](C& c, const Value& v) { c.spec.scale_up.efficiency = v.d; }},
           },
           RampDefs<&network::ClusterSpec::scale_up>("scale_up", "NVLink 4: 85MB on 8 ranks"),
           Defs<C>{
               {Bool("scale_up.in_network_reduction", "the domain's switches reduce (NVLS/SHARP)")
                    .Default("false"),
                [](C& c, const Value& v) { c.spec.in_network_reduction = v.b; }},
               {Num("scale_up.in_network_efficiency",
                    "all-reduce bus bandwidth with in-network reduction, as a fraction of the link "
                    "bandwidth (may exceed 1)")
                    .Default("0")
                    .Min(0)
                    .Max(4),
                [](C& c, const Value& v) { c.spec.in_network_efficiency = v.d; }},
               {Str("scale_up.source", std::string(kSourceHelp)),
                [](C& c, const Value& v) { c.spec.sources.emplace_back("scale_up", v.s); }},
               {Str("scale_out.fabric", "scale-out network"),
                [](C& c, const Value& v) { c.spec.scale_out.fabric = v.s; }},
               {Qty("scale_out.bandwidth", Dimension::kBandwidth,
                    "bandwidth of one NIC port, one direction")
                    .Default("the chip's scale_out.bandwidth x chips_per_nic")
                    .Min(0, true)
                    .Max(kMaxNicBandwidth),
                [](C& c, const Value& v) { c.spec.scale_out.bandwidth = core::BytesPerSec(v.d); }},
               {Qty("scale_out.latency", Dimension::kTime,
                    "latency per collective algorithm step across domains (alpha), NICs and "
                    "software; "
                    "the switch hops of the path add theirs (scale_out.hop_latency)")
                    .Required()
                    .IfMissing(std::string("e.g. 5us, InfiniBand NDR's (dgx-h100-superpod)") +
                               kFromCatalogCluster)
                    .Max(kMaxLatency),
                [](C& c, const Value& v) { c.spec.scale_out.latency = core::Seconds(v.d); }},
               {Num("scale_out.efficiency", "achievable fraction of NIC bandwidth")
                    .Required()
                    .IfMissing(std::string("e.g. 0.80, InfiniBand NDR's (dgx-h100-superpod)") +
                               kFromCatalogCluster)
                    .Min(0, true)
                    .Max(1),
                [](C& c, const Value& v) { c.spec.scale_out.efficiency = v.d; }},
           },
           RampDefs<&network::ClusterSpec::scale_out>("scale_out", "EFA: 79MiB on 32 ranks"),
           Defs<C>{
               {Enum("scale_out.topology",
                     "how the domains are joined: rail_fat_tree (chip i of every node on rail i's "
                     "leaves: NVIDIA and Meta reference designs), fat_tree (ToR-based: all NICs of "
                     "a "
                     "node on one leaf), dragonfly (routers, groups joined all-to-all by global "
                     "links), "
                     "none (no scale-out network: one domain is the whole cluster)")
                    .Default("rail_fat_tree")
                    .Choices({"rail_fat_tree", "fat_tree", "dragonfly", "none"}),
                [](C& c, const Value& v) { c.spec.fabric_kind = FabricKindOf(v.s); }},
               {Int("scale_out.planes",
                    "independent parallel fabrics (DeepSeek's multi-plane fat-tree: 8); each plane "
                    "takes the same number of NICs from every node, and a block spans the same "
                    "nodes "
                    "in all planes")
                    .Default("1")
                    .Min(1)
                    .Max(64),
                [](C& c, const Value& v) { c.spec.planes = static_cast<int>(v.i); }},
               {Int("scale_out.chips_per_nic",
                    "chips sharing one NIC port (2: a NIC per two chips)")
                    .Default("1")
                    .Min(1)
                    .Max(1024),
                [](C& c, const Value& v) { c.spec.chips_per_nic = static_cast<int>(v.i); }},
               {Qty("scale_out.message_overhead", Dimension::kTime,
                    "NIC and software cost per message sent (an all-to-all pays it per peer "
                    "outside "
                    "the sender's domain)")
                    .Default("0s")
                    .Max(kMaxMessageOverhead),
                [](C& c, const Value& v) { c.spec.message_overhead = core::Seconds(v.d); }},
               {Bool("scale_out.in_network_reduction",
                     "the fabric's switches reduce (InfiniBand SHARP)")
                    .Default("false"),
                [](C& c, const Value& v) { c.spec.scale_out_in_network_reduction = v.b; }},
               {Num("scale_out.in_network_efficiency",
                    "all-reduce bus bandwidth with in-network reduction, as a fraction of the NIC "
                    "bandwidth (may exceed 1)")
                    .Default("0")
                    .Min(0)
                    .Max(4),
                [](C& c, const Value& v) { c.spec.scale_out_in_network_efficiency = v.d; }},
               {Num("scale_out.tree_efficiency",
                    "bus bandwidth of NCCL's double binary tree as a fraction of the ring's "
                    "between "
                    "domains; default from NCCL's tuning model (src/graph/tuning.cc: tree "
                    "all-reduce "
                    "busBw x 0.92)")
                    .Default("0.92")
                    .Min(0, true)
                    .Max(1),
                [](C& c, const Value& v) { c.spec.tree_efficiency = v.d; }},
               {Qty("scale_out.hop_latency", Dimension::kTime,
                    "one switch hop, one way: of each tier that gives no latency of its own, and "
                    "of "
                    "the one ideal switch of a fabric described without tiers. A path out of a "
                    "domain "
                    "crosses the leaf once and each tier above twice (up and down); "
                    "scale_out.latency "
                    "is the rest (NICs and software). Default: the midpoint of the 130-400 ns "
                    "port-to-port range quoted for NVIDIA Quantum-2 (hardware.json latency_refs "
                    "quantum2_port_to_port_ns_range, Q2_LAT_3P; the only switch latency in the "
                    "data)")
                    .Default("250ns")
                    .Max(kMaxHopLatency),
                [](C& c, const Value& v) { c.spec.hop_latency = core::Seconds(v.d); }},
               {MappingList("scale_out.tiers", "tier",
                            "switching tiers, leaf first, each with a radix or a block; none = one "
                            "non-blocking switch joining the whole cluster (docs/network.md)"),
                [](C& c, const Value& v) { c.tiers = v.node; }},
               {Str("scale_out.source", std::string(kSourceHelp)),
                [](C& c, const Value& v) { c.spec.sources.emplace_back("scale_out", v.s); }},
               {Qty("power.node", Dimension::kPower,
                    "maximum power of one node (server, or compute tray) with its chips, hosts and "
                    "NICs; `fathom run` takes it over chips_per_node as the chips' power")
                    .Min(0, true)
                    .Max(1e8),
                [](C& c, const Value& v) { c.spec.node_power = core::Watts(v.d); }},
               {Str("power.source", std::string(kSourceHelp)),
                [](C& c, const Value& v) { c.spec.sources.emplace_back("power", v.s); }},
           }}),
      ClusterInfos());
  return kFields;
}

const std::vector<Field<network::Tier>>& TierFields() {
  using T = network::Tier;
  static const std::vector<Field<T>> kFields = Build<T>(
      Defs<T>{
          {Str("name", "what the tier is called (leaf, spine, core, rack, pod)"),
           [](T& t, const Value& v) { t.name = v.s; }},
          {Int("radix",
               "ports per switch of this tier (64 for Quantum-2 QM9700 at 400G); the block is "
               "derived from it when `block` is not given")
               .Default("0")
               .Min(0)
               .Max(1e5),
           [](T& t, const Value& v) { t.radix = static_cast<int>(v.i); }},
          {Int("block",
               "chips below one switch group of this tier (a multiple of the level below); "
               "0 = derived from the radixes")
               .Default("0")
               .Min(0)
               .Max(1e8),
           [](T& t, const Value& v) { t.block = v.i; }},
          {Num("oversubscription",
               "down:up bandwidth at this tier's uplinks (7 means 1:7); 1 = non-blocking. "
               "Dragonfly groups: the global-link taper")
               .Default("1")
               .Min(0, true)
               .Max(1000),
           [](T& t, const Value& v) { t.oversubscription = v.d; }},
          {Qty("latency", Dimension::kTime, "one switch hop of this tier, one way")
               .Default("scale_out.hop_latency")
               .Max(kMaxHopLatency),
           [](T& t, const Value& v) { t.latency = core::Seconds(v.d); }},
      },
      TierInfos());
  return kFields;
}

const std::vector<Field<model::ModelSpec>>& ModelFields() {
  using M = model::ModelSpec;
  static const std::vector<Field<M>> kFields = Build<M>(
      Defs<M>{
          {Str("name", "catalog name of the model").Required(),
           [](M& m, const Value& v) { m.name = v.s; }},
          {Str("description", "one line describing the model"),
           [](M& m, const Value& v) { m.description = v.s; }},
          {Str("source", std::string(kSourceHelp)), [](M& m, const Value& v) { m.source = v.s; }},
          {Int("layers", "transformer layers").Required().Min(1).Max(1e5),
           [](M& m, const Value& v) { m.layers = static_cast<int>(v.i); }},
          {Int("hidden", "hidden size h").Required().Min(1).Max(1e7),
           [](M& m, const Value& v) { m.hidden = static_cast<int>(v.i); }},
          {Int("heads", "query attention heads a").Required().Min(1).Max(1e5),
           [](M& m, const Value& v) { m.heads = static_cast<int>(v.i); }},
          {Int("kv_heads", "key/value heads (GQA/MQA)").Default("heads").Min(1).Max(1e5),
           [](M& m, const Value& v) { m.kv_heads = static_cast<int>(v.i); }},
          {Int("head_dim", "dimension per head").Default("hidden / heads").Min(1).Max(1e5),
           [](M& m, const Value& v) { m.head_dim = static_cast<int>(v.i); }},
          {Int("ffn_hidden", "MLP inner width").Required().Min(1).Max(1e8),
           [](M& m, const Value& v) { m.ffn_hidden = static_cast<int>(v.i); }},
          {Int("vocab", "vocabulary size (padded as trained)").Required().Min(1).Max(1e8),
           [](M& m, const Value& v) { m.vocab = static_cast<int>(v.i); }},
          {Int("seq_len", "training sequence length in tokens").Required().Min(1).Max(1e8),
           [](M& m, const Value& v) { m.seq_len = static_cast<int>(v.i); }},
          {Int("max_positions",
               "longest sequence the model accepts (Hugging Face max_position_embeddings, "
               "n_positions); with learned positions, the rows of the position table, and "
               "seq_len may not exceed it; with rotary ones a longer seq_len is a warning; 0 = "
               "not stated")
               .Default("0")
               .Min(0)
               .Max(1e8),
           [](M& m, const Value& v) { m.max_positions = static_cast<int>(v.i); }},
          {Enum("activation",
                "MLP activation; gated ones (swiglu, geglu, reglu) have three matrices")
               .Default("swiglu")
               .Choices({"swiglu", "geglu", "reglu", "gelu", "relu"}),
           [](M& m, const Value& v) {
             m.activation = v.s == "swiglu"  ? model::Activation::kSwiGLU
                            : v.s == "geglu" ? model::Activation::kGeGLU
                            : v.s == "reglu" ? model::Activation::kReGLU
                            : v.s == "gelu"  ? model::Activation::kGeLU
                                             : model::Activation::kReLU;
           }},
          {Enum("norm", "normalisation").Default("rmsnorm").Choices({"rmsnorm", "layernorm"}),
           [](M& m, const Value& v) {
             m.norm = v.s == "rmsnorm" ? model::Norm::kRMSNorm : model::Norm::kLayerNorm;
           }},
          {Enum("position", "position encoding")
               .Default("rope")
               .Choices({"rope", "learned", "alibi"}),
           [](M& m, const Value& v) {
             m.position = v.s == "rope"      ? model::Position::kRoPE
                          : v.s == "learned" ? model::Position::kLearned
                                             : model::Position::kAlibi;
           }},
          {Bool("tied_embeddings", "output projection shares the input embedding").Default("false"),
           [](M& m, const Value& v) { m.tied_embeddings = v.b; }},
          {Bool("bias", "linear layers have biases").Default("false"),
           [](M& m, const Value& v) { m.bias = v.b; }},
          {Enum("attention_bias",
                "with bias false, biases in the attention projections: qkv on query, key and "
                "value (Qwen2), all also on the output projection (Llama, Qwen3 and Gemma's "
                "attention_bias)")
               .Default("none")
               .Choices({"none", "qkv", "all"}),
           [](M& m, const Value& v) {
             m.attention_bias = v.s == "qkv"   ? model::AttentionBias::kQkv
                                : v.s == "all" ? model::AttentionBias::kAll
                                               : model::AttentionBias::kNone;
           }},
          {Bool("mlp_bias",
                "with bias false, biases in the MLPs' up (and gate) and down projections, "
                "and in an MoE layer's router (Llama's mlp_bias; GPT-OSS's router and experts)")
               .Default("false"),
           [](M& m, const Value& v) { m.mlp_bias = v.b; }},
          {Bool("qk_norm", "RMSNorm over each head's query and key (Qwen3, Gemma 3)")
               .Default("false"),
           [](M& m, const Value& v) { m.qk_norm = v.b; }},
          {Enum("qk_norm_width",
                "with qk_norm: each head's d elements, one gain shared by the heads (Qwen3, "
                "Gemma 3: 2·d weights), or all heads' at once (OLMo 2: (heads + kv_heads)·d)")
               .Default("head")
               .Choices({"head", "all_heads"}),
           [](M& m, const Value& v) { m.qk_norm_all_heads = v.s == "all_heads"; }},
          {Bool("post_norms",
                "a norm on the attention and MLP outputs too, four per layer (Gemma 2, Gemma 3)")
               .Default("false"),
           [](M& m, const Value& v) { m.post_norms = v.b; }},
          {Bool("embedding_norm", "a norm after the input embedding (BLOOM)").Default("false"),
           [](M& m, const Value& v) { m.embedding_norm = v.b; }},
          {Bool("parallel_attention", "attention and MLP read the same input (GPT-J, PaLM)")
               .Default("false"),
           [](M& m, const Value& v) { m.parallel_attention = v.b; }},
          {Int("parallel_norms",
               "with parallel_attention: norms per layer, 1 shared by attention and MLP (PaLM, "
               "GPT-J, Falcon-7B) or 2, one each (GPT-NeoX, Falcon-40B/180B)")
               .Default("1")
               .Min(1)
               .Max(2),
           [](M& m, const Value& v) { m.parallel_norms = static_cast<int>(v.i); }},
          {Bool("dropout", "dropout after attention and MLP (GPT-2/3 style)").Default("false"),
           [](M& m, const Value& v) { m.dropout = v.b; }},
          {Int("sliding_window",
               "tokens a sliding-window attention layer attends to; 0 = full attention")
               .Default("0")
               .Min(0)
               .Max(1e8),
           [](M& m, const Value& v) { m.sliding_window = static_cast<int>(v.i); }},
          {Int("attention_chunk",
               "chunked attention (Llama 4's attention_chunk_size): tokens of the chunk a local "
               "layer's query attends within (only the keys of its own chunk); 0 = none; not with "
               "sliding_window")
               .Default("0")
               .Min(0)
               .Max(1e8),
           [](M& m, const Value& v) { m.attention_chunk = static_cast<int>(v.i); }},
          {Int("global_attention_every",
               "with a sliding window or chunked attention: every n-th layer attends to the whole "
               "sequence; 0 = none")
               .Default("0")
               .Min(0)
               .Max(1e5),
           [](M& m, const Value& v) { m.global_attention_every = static_cast<int>(v.i); }},
          {Int("mtp_layers", "multi-token prediction modules (DeepSeek-V3)")
               .Default("0")
               .Min(0)
               .Max(100),
           [](M& m, const Value& v) { m.mtp_layers = static_cast<int>(v.i); }},
          {Int("moe.experts", "routed experts of a mixture-of-experts layer; 0 = dense")
               .Default("0")
               .Min(0)
               .Max(1e6),
           [](M& m, const Value& v) { m.moe.experts = static_cast<int>(v.i); }},
          {Int("moe.top_k", "experts per token").Default("0").Min(0).Max(1e6),
           [](M& m, const Value& v) { m.moe.top_k = static_cast<int>(v.i); }},
          {Int("moe.shared_experts", "shared experts").Default("0").Min(0).Max(1e6),
           [](M& m, const Value& v) { m.moe.shared_experts = static_cast<int>(v.i); }},
          {Int("moe.shared_ffn_hidden", "FFN width of all shared experts together")
               .Default("shared_experts x expert_ffn_hidden")
               .Min(0)
               .Max(1e8),
           [](M& m, const Value& v) { m.moe.shared_ffn_hidden = static_cast<int>(v.i); }},
          {Enum("moe.routing",
                "dropless (every token reaches its experts) or capacity (an expert takes at "
                "most capacity_factor x its mean share)")
               .Default("dropless")
               .Choices({"dropless", "capacity"}),
           [](M& m, const Value& v) {
             m.moe.routing =
                 v.s == "capacity" ? model::Routing::kCapacity : model::Routing::kDropless;
           }},
          {Num("moe.capacity_factor", "capacity routing: tokens an expert accepts / its mean share")
               .Default("1")
               .Min(1)
               .Max(1000),
           [](M& m, const Value& v) { m.moe.capacity_factor = v.d; }},
          {Num("moe.imbalance",
               "load imbalance: routed tokens of the busiest expert-parallel rank over the "
               "mean (>= 1, at most experts / top_k), whatever its number of local experts; the "
               "slowest rank sets the pace (none at ep 1, where every rank holds every expert; "
               "at most min(ep, experts / top_k) at ep > 1, which is taken where it is more)")
               .Default("1")
               .Min(1)
               .Max(1000),
           [](M& m, const Value& v) { m.moe.imbalance = v.d; }},
          {Int("moe.expert_ffn_hidden", "FFN width of one expert; 0: the model's ffn_hidden")
               .Default("0")
               .Min(0)
               .Max(1e8),
           [](M& m, const Value& v) { m.moe.expert_ffn_hidden = static_cast<int>(v.i); }},
          {Int("moe.first_dense_layers", "leading dense layers before MoE layers")
               .Default("0")
               .Min(0)
               .Max(1e5),
           [](M& m, const Value& v) { m.moe.first_dense_layers = static_cast<int>(v.i); }},
          {Int("moe.layer_frequency", "every n-th layer is MoE").Default("1").Min(1).Max(1e5),
           [](M& m, const Value& v) { m.moe.layer_frequency = static_cast<int>(v.i); }},
          {Bool("moe.shared_expert_gate",
                "a sigmoid gate (h -> 1) on the shared experts' output (Qwen1.5/Qwen2-MoE)")
               .Default("false"),
           [](M& m, const Value& v) { m.moe.shared_expert_gate = v.b; }},
          {Int("mla.q_lora_rank", "MLA query low-rank dimension; 0 = full-rank queries")
               .Default("0")
               .Min(0)
               .Max(1e6),
           [](M& m, const Value& v) { m.mla.q_lora_rank = static_cast<int>(v.i); }},
          {Int("mla.kv_lora_rank", "MLA key/value low-rank dimension").Default("0").Min(0).Max(1e6),
           [](M& m, const Value& v) { m.mla.kv_lora_rank = static_cast<int>(v.i); }},
          {Int("mla.qk_rope_head_dim", "MLA rotary part of the query/key head")
               .Default("0")
               .Min(0)
               .Max(1e6),
           [](M& m, const Value& v) { m.mla.qk_rope_head_dim = static_cast<int>(v.i); }},
          {Int("mla.qk_nope_head_dim", "MLA non-rotary part of the query/key head")
               .Default("0")
               .Min(0)
               .Max(1e6),
           [](M& m, const Value& v) { m.mla.qk_nope_head_dim = static_cast<int>(v.i); }},
          {Int("mla.v_head_dim", "MLA value head dimension").Default("0").Min(0).Max(1e6),
           [](M& m, const Value& v) { m.mla.v_head_dim = static_cast<int>(v.i); }},
      },
      ModelInfos());
  return kFields;
}

const std::vector<Field<parallel::ParallelPlan>>& PlanFields() {
  using P = parallel::ParallelPlan;
  static const std::vector<Field<P>> kFields = Build<P>(
      Defs<P>{
          {Int("tp", "tensor-parallel degree").Default("1").Min(1).Max(1e6),
           [](P& p, const Value& v) { p.tp = static_cast<int>(v.i); }},
          {Int("pp", "pipeline-parallel degree").Default("1").Min(1).Max(1e6),
           [](P& p, const Value& v) { p.pp = static_cast<int>(v.i); }},
          {Int("vp", "virtual pipeline stages (model chunks) per pipeline rank")
               .Default("1")
               .Min(1)
               .Max(1e4),
           [](P& p, const Value& v) { p.vp = static_cast<int>(v.i); }},
          {Int("dp", "data-parallel degree; auto: chips / (tp x pp x cp)")
               .Default("auto")
               .Auto()
               .Min(1)
               .Max(1e8),
           [](P& p, const Value& v) { p.dp = v.is_auto ? 0 : static_cast<int>(v.i); }},
          {Int("cp", "context-parallel degree").Default("1").Min(1).Max(1e6),
           [](P& p, const Value& v) { p.cp = static_cast<int>(v.i); }},
          {Enum("cp_comm",
                "context-parallel attention: p2p (ring of K/V blocks, overlapped with "
                "attention) or all_gather (K/V gathered before attention); sliding-window "
                "layers receive only the windows before their chunks, overlapped or before")
               .Default("p2p")
               .Choices({"p2p", "all_gather"}),
           [](P& p, const Value& v) {
             p.cp_comm = v.s == "p2p" ? parallel::CpComm::kP2p : parallel::CpComm::kAllGather;
           }},
          {Int("ep",
               "expert-parallel degree (MoE): experts split over ep ranks, which the expert "
               "layers regroup from tp x cp x dp (Megatron-Core parallel folding)")
               .Default("1")
               .Min(1)
               .Max(1e6),
           [](P& p, const Value& v) { p.ep = static_cast<int>(v.i); }},
          {Int("etp", "expert tensor-parallel degree (MoE), separate from tp")
               .Default("1")
               .Min(1)
               .Max(1e6),
           [](P& p, const Value& v) { p.etp = static_cast<int>(v.i); }},
          {Int("moe_max_domains",
               "node-limited routing (DeepSeek-V3): a token's experts span at most this many "
               "scale-up domains; 0 = unlimited; cuts cross-domain bytes only with "
               "moe_dispatcher deepep")
               .Default("0")
               .Min(0)
               .Max(1e6),
           [](P& p, const Value& v) { p.moe_max_domains = static_cast<int>(v.i); }},
          {Enum("moe_dispatcher",
                "how the expert all-to-all moves a token's top_k copies across scale-up "
                "domains: alltoall, a copy per routed expert, each to its expert's rank "
                "(Megatron-Core moe_token_dispatcher_type alltoall; moe_max_domains then cuts "
                "no bytes); deepep, the token once to each remote domain holding one of its "
                "experts, forwarded there to them (DeepSeek-V3 Sec. 3.2.2, DeepEP, "
                "Megatron-Core flex): (D-1)(1-(1-1/D)^top_k) crossings over D domains, at most "
                "moe_max_domains x (D-1)/D")
               .Default("alltoall")
               .Choices({"alltoall", "deepep"}),
           [](P& p, const Value& v) {
             p.moe_dispatcher = v.s == "deepep" ? parallel::MoeDispatcher::kDeepEp
                                                : parallel::MoeDispatcher::kAllToAll;
           }},
          {Bool("sequence_parallel",
                "shard norms and dropout over tp along the sequence (Korthikanti et al.)")
               .Default("false"),
           [](P& p, const Value& v) { p.sequence_parallel = v.b; }},
          {Int("micro_batch_size", "sequences per micro-batch").Default("1").Min(1).Max(1e6),
           [](P& p, const Value& v) { p.micro_batch_size = static_cast<int>(v.i); }},
          {Int("global_batch_size", "sequences per optimizer step").Required().Min(1).Max(1e9),
           [](P& p, const Value& v) { p.global_batch_size = static_cast<int>(v.i); }},
          {Enum("schedule",
                "pipeline schedule: gpipe, 1f1b, interleaved (Megatron's, over vp chunks), zb-h1 "
                "(zero bubble, weight gradients deferred), dualpipe (DeepSeek-V3's bidirectional "
                "schedule: even pp, at least 2 x pp micro-batches, two stages per rank), "
                "dualpipev (DualPipe cut in half: a V through two chunks per rank, one copy of "
                "the parameters, at least 2 x pp micro-batches)")
               .Default("interleaved if vp > 1, else 1f1b")
               .Choices({"gpipe", "1f1b", "interleaved", "zb-h1", "dualpipe", "dualpipev"}),
           [](P& p, const Value& v) {
             p.schedule = v.s == "gpipe"       ? parallel::Schedule::kGPipe
                          : v.s == "1f1b"      ? parallel::Schedule::k1F1B
                          : v.s == "zb-h1"     ? parallel::Schedule::kZeroBubbleH1
                          : v.s == "dualpipe"  ? parallel::Schedule::kDualPipe
                          : v.s == "dualpipev" ? parallel::Schedule::kDualPipeV
                                               : parallel::Schedule::kInterleaved;
           }},
          {Int("zero",
               "ZeRO stage: 0 plain data parallel, 1 distributed optimizer, 2 + gradients, 3 FSDP "
               "(+ parameters)")
               .Default("1")
               .Min(0)
               .Max(3),
           [](P& p, const Value& v) { p.zero = static_cast<int>(v.i); }},
          {Enum("recompute", "activation recomputation")
               .Default("none")
               .Choices({"none", "selective", "full"}),
           [](P& p, const Value& v) {
             p.recompute = v.s == "none"        ? parallel::Recompute::kNone
                           : v.s == "selective" ? parallel::Recompute::kSelective
                                                : parallel::Recompute::kFull;
           }},
          {Bool("recompute_norm_mla_up",
                "MLA models: recompute every RMSNorm and the MLA up-projections (q_up, kv_up) "
                "in backward instead of storing their outputs (DeepSeek-V3 Sec. 3.2.3; "
                "Megatron-Core recompute_modules layernorm, mla_up_proj)")
               .Default("false"),
           [](P& p, const Value& v) { p.recompute_norm_mla_up = v.b; }},
          {Enum("activation_precision",
                "how the linear layers keep their inputs for the backward pass: auto, as "
                "Transformer Engine keeps them (with precision fp8/fp4 the cast each GEMM "
                "read: 1 byte per element plus its block scale, MXFP4 0.53125; the attention "
                "output also in 16-bit, which attention's backward reads; 16-bit at "
                "bf16/fp16); bf16, the 16-bit inputs; or fp8, as DeepSeek-V3 keeps them (Sec. "
                "3.3.2): 1 byte per element plus its block scale, the attention output "
                "projection's input once in E5M6 (1.5 bytes), the routed experts' SwiGLU "
                "inputs in fp8 and its output recomputed; fp8 needs precision fp8 or fp4")
               .Default("auto")
               .Choices({"auto", "bf16", "fp8"}),
           [](P& p, const Value& v) {
             p.activation_precision = v.s == "fp8"    ? parallel::ActivationPrecision::kFp8
                                      : v.s == "bf16" ? parallel::ActivationPrecision::kBf16
                                                      : parallel::ActivationPrecision::kAuto;
           }},
          {Enum("moe_dispatch_precision",
                "precision of the tokens the expert all-to-all dispatches and of the output "
                "gradients the combine's backward sends: bf16, or fp8 with its scales as "
                "DeepSeek-V3 (Sec. 3.3.2); the combine and the dispatch's backward stay bf16; "
                "needs precision fp8")
               .Default("bf16")
               .Choices({"bf16", "fp8"}),
           [](P& p, const Value& v) {
             p.moe_dispatch_precision =
                 v.s == "fp8" ? hardware::Precision::kFp8 : hardware::Precision::kBf16;
           }},
          {Enum("optimizer_state_precision",
                "precision of the AdamW first and second moments: fp32, or bf16 (DeepSeek-V3 "
                "Sec. 3.3.2); master weights and main gradients stay fp32")
               .Default("fp32")
               .Choices({"fp32", "bf16"}),
           [](P& p, const Value& v) {
             p.optimizer_state_precision =
                 v.s == "bf16" ? hardware::Precision::kBf16 : hardware::Precision::kFp32;
           }},
          {Enum("grad_reduce_precision",
                "precision of the gradient buffer and of its data-parallel reduction "
                "(Megatron-Core/NeMo grad_reduce_in_fp32): fp32 (4 bytes a parameter, moved and "
                "stored), or bf16/fp16 (2 bytes, the same in the model; the optimizer keeps an "
                "fp32 copy of its shard, so 20 bytes a parameter without ZeRO against fp32's "
                "18, 4 + 16/dp against 6 + 12/dp with ZeRO 1); auto: fp32 unless precision is "
                "fp16 (Megatron-LM's defaults)")
               .Default("auto")
               .Choices({"auto", "fp32", "bf16", "fp16"}),
           [](P& p, const Value& v) {
             p.grad_reduce = v.s == "fp32"   ? parallel::GradReduce::kFp32
                             : v.s == "bf16" ? parallel::GradReduce::kBf16
                             : v.s == "fp16" ? parallel::GradReduce::kFp16
                                             : parallel::GradReduce::kAuto;
           }},
          {Enum("precision",
                "precision of the linear layers (fp8, fp4/MXFP4 where the chip has it); the "
                "router, attention core, embedding and output layer stay in bf16")
               .Default("bf16")
               .Choices({"bf16", "fp16", "fp8", "fp4"}),
           [](P& p, const Value& v) { p.precision = PrecisionOf(v.s); }},
          {Enum("fp8_scaling",
                "fp8 scaling: one scale per tensor, or per block (DeepSeek-V3: 1x128 "
                "activations, 128x128 weights)")
               .Default("tensor")
               .Choices({"tensor", "block"}),
           [](P& p, const Value& v) {
             p.fp8_scaling =
                 v.s == "block" ? parallel::Fp8Scaling::kBlock : parallel::Fp8Scaling::kTensor;
           }},
          {Bool("fp8_weight_cache",
                "precision fp8/fp4: keep each linear layer's weight cast to fp8 (fp4), with its "
                "transpose for the backward GEMM, from the step's first micro-batch to its "
                "last, as Transformer Engine does (is_first_microbatch): 2 bytes per linear "
                "weight the chip holds (+ 2 x 4/16384 with block scaling; fp4/MXFP4 1.0625), "
                "under ZeRO-3 only for the two gathered layers; the cast (read 2 bytes, "
                "write both copies: 4 bytes of HBM traffic per weight) runs once per step; "
                "false: cast at each use, every micro-batch's forward and recomputed forward "
                "(Megatron-Core disable_parameter_transpose_cache); no effect at bf16/fp16")
               .Default("true"),
           [](P& p, const Value& v) { p.fp8_weight_cache = v.b; }},
          {Bool("flash_attention", "fused attention kernel (stores no s x s scores)")
               .Default("true"),
           [](P& p, const Value& v) { p.flash_attention = v.b; }},
          {Int("first_stage_layers",
               "layers on the first pipeline rank (with the embedding; with dualpipev also the "
               "output head); 0 = even split")
               .Default("0")
               .Min(0)
               .Max(1e5),
           [](P& p, const Value& v) { p.first_stage_layers = static_cast<int>(v.i); }},
          {Int("last_stage_layers",
               "layers on the last pipeline rank (with the output head, but with dualpipev, "
               "whose rank 0 holds it); 0 = even split")
               .Default("0")
               .Min(0)
               .Max(1e5),
           [](P& p, const Value& v) { p.last_stage_layers = static_cast<int>(v.i); }},
          {Bool("overlap.dp",
                "overlap data-parallel gradient reduction and parameter gathering with compute")
               .Default("true"),
           [](P& p, const Value& v) { p.overlap_dp = v.b; }},
          {Bool("overlap.tp",
                "overlap each tensor-parallel collective with the GEMM of its column/row pair "
                "(Transformer Engine's userbuffers): all but its first or last chunk hides, at "
                "most that GEMM's time; a column-parallel layer's backward calls hide whole, as "
                "with overlap.tp_async (userbuffers' bulk overlap)")
               .Default("false"),
           [](P& p, const Value& v) { p.overlap_tp = v.b; }},
          {Bool("overlap.tp_async",
                "Megatron-LM's asynchronous tensor-parallel backward "
                "(async_tensor_model_parallel_allreduce, its default; Transformer Engine's "
                "linear layers do the same): a column-parallel layer's input gradient all-reduce "
                "or reduce-scatter runs beside its weight-gradient GEMM and, with sequence "
                "parallelism, its input all-gather beside its data-gradient GEMM, each whole; "
                "false: every tensor-parallel call blocks the compute, as in Megatron-LM's "
                "releases of 2021 and the Megatron-DeepSpeed forks taken from them")
               .Default("true"),
           [](P& p, const Value& v) { p.overlap_tp_async = v.b; }},
          {Bool("overlap.pp", "overlap pipeline send/recv with compute in the steady state")
               .Default("true"),
           [](P& p, const Value& v) { p.overlap_pp = v.b; }},
          {Bool("overlap.ep",
                "hide the MoE dispatch/combine all-to-all behind another micro-batch's compute: "
                "DualPipe's (and DualPipeV's) F&B chunks, or the steady state's forward-backward "
                "pairs of 1F1B "
                "and interleaved (Megatron-Core's combined 1F1B a2a overlap); warm-up, "
                "cool-down and GPipe passes and a lone micro-batch still wait for theirs")
               .Default("false"),
           [](P& p, const Value& v) { p.overlap_ep = v.b; }},
          {Int("overlap.comm_units",
               "compute units (SMs) an overlapped collective occupies, slowing the compute beside "
               "it (NCCL channels; Transformer Engine userbuffers num_sm, 16 in its overlap "
               "configs). It sets that slowdown only: the collectives run at their links' "
               "bandwidth whatever the count, so a count below what fills the links (NCCL's "
               "default channels) is optimistic")
               .Default("16")
               .Min(0)
               .Max(1e6),
           [](P& p, const Value& v) { p.overlap_comm_units = static_cast<int>(v.i); }},
          {Str("order", "rank order, fastest-varying first (Megatron)").Default("tp-cp-ep-dp-pp"),
           [](P& p, const Value& v) { p.order = v.s; }},
          {Qty("memory.reserved", Dimension::kBytes,
               "per-chip allowance for the runtime context and communication buffers")
               .Default("2GiB"),
           [](P& p, const Value& v) { p.memory_reserved = core::Bytes(v.d); }},
          {Num("memory.fragmentation", "allocator slack as a fraction of allocated memory")
               .Default("0.05")
               .Min(0)
               .Max(1),
           [](P& p, const Value& v) { p.memory_fragmentation = v.d; }},
          {Int("stragglers.stage",
               "pipeline rank whose chips compute slowdown times slower (simulator only); -1 none")
               .Default("-1")
               .Min(-1)
               .Max(1e6),
           [](P& p, const Value& v) { p.stragglers.stage = static_cast<int>(v.i); }},
          {Num("stragglers.fraction",
               "share of all chips that compute slowdown times slower (simulator only): the "
               "slowest data-parallel replica gets ceil(fraction x chips / dp) slow stages")
               .Default("0")
               .Min(0)
               .Max(1),
           [](P& p, const Value& v) { p.stragglers.fraction = v.d; }},
          {Num("stragglers.slowdown", "compute time multiplier of a slow chip")
               .Default("1")
               .Min(1)
               .Max(1000),
           [](P& p, const Value& v) { p.stragglers.slowdown = v.d; }},
      },
      PlanInfos());
  return kFields;
}

const std::vector<Field<ScenarioDraft>>& ScenarioFields() {
  using S = ScenarioDraft;
  static const std::vector<Field<S>> kFields = Build<S>(
      Defs<S>{
          {Str("name", "scenario name"), [](S& s, const Value& v) { s.name = v.s; }},
          {Str("description", "what the scenario is and where its plan comes from"),
           [](S& s, const Value& v) { s.description = v.s; }},
          {RefTo("model", "model",
                 "the model: catalog name, file (YAML or config.json), or mapping")
               .Required(),
           [](S& s, const Value& v) { s.model = v.node; }},
          {RefTo("cluster", "cluster",
                 "the cluster: catalog name, file, or mapping (e.g. {base: NAME, chips: N})")
               .Required(),
           [](S& s, const Value& v) { s.cluster = v.node; }},
          {RefTo("plan", "plan", "the parallel plan: file or mapping").Required(),
           [](S& s, const Value& v) { s.plan = v.node; }},
          {RefTo("training", "training",
                 "how much to train (`fathom run`): tokens, steps or a wall-clock duration"),
           [](S& s, const Value& v) { s.training = v.node; }},
          {RefTo("reliability", "reliability",
                 "failures, recovery, checkpoints and spares (`fathom run`): a preset name "
                 "(data/reliability), a file, or a mapping"),
           [](S& s, const Value& v) { s.reliability = v.node; }},
          {RefTo("search", "search",
                 "the plans to search (`fathom plan`, `fathom size`): a file or a mapping"),
           [](S& s, const Value& v) { s.search = v.node; }},
          {RefTo("sweep", "sweep",
                 "the grid of key values to evaluate (`fathom sweep`): a file or a mapping"),
           [](S& s, const Value& v) { s.sweep = v.node; }},
      },
      ScenarioInfos());
  return kFields;
}

const std::vector<Field<ValidationCase>>& ValidationCaseFields() {
  using V = ValidationCase;
  static const std::vector<Field<V>> kFields = Build<V>(
      Defs<V>{
          {Str("name", "the published run's id").Required(),
           [](V& c, const Value& v) { c.name = v.s; }},
          {Str("source", "paper and table, or result log").Required(),
           [](V& c, const Value& v) { c.source = v.s; }},
          {Qty("measured.step_time", Dimension::kTime,
               "measured time of one optimizer step (a training-step case)")
               .Min(0, true),
           [](V& c, const Value& v) { c.measured_step_time_s = v.d; }},
          {Qty("measured.layer_forward", Dimension::kTime,
               "measured time of one transformer layer's forward pass for one micro-batch (a "
               "layer case; its plan has pp 1)")
               .Min(0, true),
           [](V& c, const Value& v) { c.measured_layer_forward_s = v.d; }},
          {Qty("measured.layer_backward", Dimension::kTime,
               "measured time of one transformer layer's backward pass for one micro-batch, "
               "recomputation included (a layer case)")
               .Min(0, true),
           [](V& c, const Value& v) { c.measured_layer_backward_s = v.d; }},
          {Qty("measured.busbw", Dimension::kBandwidth,
               "measured nccl-tests bus bandwidth (a collective case)")
               .Min(0, true),
           [](V& c, const Value& v) { c.measured_busbw = v.d; }},
          {Bool("calibration",
                "the measurement also set a constant of the model (an efficiency or a ramp), so "
                "the case checks consistency, not prediction")
               .Default("false"),
           [](V& c, const Value& v) { c.calibration = v.b; }},
          {Str("measured.how", "how the step time was read or derived"),
           [](V& c, const Value& v) { c.how = v.s; }},
          {Qty("tolerance", Dimension::kFraction, "largest acceptable error")
               .Default("25%")
               .Min(0, true)
               .Max(10),
           [](V& c, const Value& v) { c.tolerance = v.d; }},
          {List("assumptions", "what the case assumes where the source is silent"),
           [](V& c, const Value& v) { c.assumptions = v.list; }},
          {RefTo("scenario", "scenario",
                 "model, cluster and plan of the run (a training-step case)"),
           [](V& c, const Value& v) { c.scenario = v.node; }},
          {Str("collective.cluster", "catalog cluster of a collective case"),
           [](V& c, const Value& v) {
             c.collective["cluster"] = v.s;
             c.is_collective = true;
           }},
          {Str("collective.op", "all_reduce, all_gather, reduce_scatter, all_to_all, ...")
               .Default("all_reduce"),
           [](V& c, const Value& v) { c.collective["op"] = v.s; }},
          {Str("collective.size", "buffer size of the measurement, with a unit"),
           [](V& c, const Value& v) { c.collective["size"] = v.s; }},
          {Int("collective.group", "members (nccl-tests ranks)").Default("8").Min(1).Max(1e7),
           [](V& c, const Value& v) { c.collective["group"] = v.i; }},
          {Str("collective.span", "domain (consecutive chips) or nodes (one per node)")
               .Default("domain"),
           [](V& c, const Value& v) { c.collective["span"] = v.s; }},
          {Str("collective.algorithm", "the algorithm the measurement used, or auto")
               .Default("auto"),
           [](V& c, const Value& v) { c.collective["algorithm"] = v.s; }},
          {Str("kernels.measurements",
               "a kernel case: a measurement file of tools/calibrate/measure.py (from the "
               "case's directory); every GEMM, attention pass and memory-bound operator in it "
               "is predicted on kernels.chip"),
           [](V& c, const Value& v) { c.kernels_measurements = v.s; }},
          {Str("kernels.chip", "a kernel case: the chip (catalog name or file) to predict on"),
           [](V& c, const Value& v) { c.kernels_chip = v.s; }},
      },
      CaseInfos());
  return kFields;
}

namespace {

// The choices a plan key declares, for a search key that lists values of it.
std::vector<std::string> PlanChoices(const std::string& key) {
  PlanFields();
  for (const KeyInfo& k : PlanInfos()) {
    if (k.path == key) return k.choices;
  }
  return {};
}

// Each name through the plan key's own setter, so the names are declared once.
template <class E>
std::vector<E> PlanValues(const std::string& key, E parallel::ParallelPlan::*member,
                          const std::vector<std::string>& names) {
  std::vector<E> out;
  for (const Field<parallel::ParallelPlan>& f : PlanFields()) {
    if (f.info->path != key) continue;
    for (const std::string& name : names) {
      parallel::ParallelPlan p;
      Value v;
      v.s = name;
      f.set(p, v);
      out.push_back(p.*member);
    }
  }
  return out;
}

std::vector<int> Ints(const Value& v) {
  std::vector<int> out;
  for (int64_t i : v.ints) out.push_back(static_cast<int>(i));
  return out;
}

}  // namespace

const std::vector<Field<SearchConfig>>& SearchFields() {
  using C = SearchConfig;
  static const std::vector<Field<C>> kFields = Build<C>(
      Defs<C>{
          {IntList("tp", "tensor-parallel degrees to try (fathom plan --tp replaces them)")
               .Default("powers of 2 up to the scale-up domain and the heads")
               .Min(1)
               .Max(1e6),
           [](C& c, const Value& v) { c.space.tp = Ints(v); }},
          {IntList("pp", "pipeline-parallel degrees to try")
               .Default("every divisor of chips / (tp x cp) up to the layers")
               .Min(1)
               .Max(1e6),
           [](C& c, const Value& v) { c.space.pp = Ints(v); }},
          {IntList("vp", "virtual stages to try with the interleaved schedule")
               .Default("every divisor >= 2 of a middle stage's layers")
               .Min(1)
               .Max(1e4),
           [](C& c, const Value& v) { c.space.vp = Ints(v); }},
          {IntList("cp", "context-parallel degrees to try")
               .Default("powers of 2 with seq_len / cp >= 4096")
               .Min(1)
               .Max(1e6),
           [](C& c, const Value& v) { c.space.cp = Ints(v); }},
          {IntList("ep", "expert-parallel degrees to try (MoE)")
               .Default("powers of 2 dividing the experts and a stage's ranks")
               .Min(1)
               .Max(1e6),
           [](C& c, const Value& v) { c.space.ep = Ints(v); }},
          {IntList("etp", "expert tensor-parallel degrees to try (MoE)")
               .Default("1 and tp (Megatron-Core's default), those dividing the expert FFN")
               .Min(1)
               .Max(1e6),
           [](C& c, const Value& v) { c.space.etp = Ints(v); }},
          {List("overlap_ep", "all-to-all overlap (overlap.ep) settings to try: false, true (MoE)")
               .Default("[false, true] at ep > 1, else the plan's")
               .Choices({"false", "true"}),
           [](C& c, const Value& v) {
             c.space.overlap_ep.clear();
             for (const std::string& x : v.list) c.space.overlap_ep.push_back(x == "true");
           }},
          {IntList("micro_batch_size", "micro-batch sizes to try, in sequences")
               .Default("[1, 2, 4, 8]")
               .Min(1)
               .Max(1e6),
           [](C& c, const Value& v) { c.space.micro_batch_size = Ints(v); }},
          {IntList("zero", "ZeRO stages to try (2 is priced optimistically: see docs/planner.md)")
               .Default("[1, 3]")
               .Min(0)
               .Max(3),
           [](C& c, const Value& v) { c.space.zero = Ints(v); }},
          {List("recompute", "recompute modes to try")
               .Default("[none, selective, full]")
               .Choices(PlanChoices("recompute")),
           [](C& c, const Value& v) {
             c.space.recompute =
                 PlanValues("recompute", &parallel::ParallelPlan::recompute, v.list);
           }},
          {List("schedule", "pipeline schedules to try")
               .Default("[1f1b, interleaved] and the plan's")
               .Choices(PlanChoices("schedule")),
           [](C& c, const Value& v) {
             c.space.schedule = PlanValues("schedule", &parallel::ParallelPlan::schedule, v.list);
           }},
          {Int("top", "plans to report (fathom plan --top replaces it)")
               .Default("10")
               .Min(1)
               .Max(1e8),
           [](C& c, const Value& v) { c.top = static_cast<int>(v.i); }},
          {Int("simulate_top", "best estimates to simulate first; 0 turns the pass off")
               .Default("5")
               .Min(0)
               .Max(1e5),
           [](C& c, const Value& v) { c.simulate_top = static_cast<int>(v.i); }},
          {Bool("memory_pass", "drop plans over the chip's memory (false: keep them, ranked last)")
               .Default("true"),
           [](C& c, const Value& v) { c.memory_pass = v.b; }},
          {Enum("idle",
                "leave chips idle: never (plans use every chip), allow (the most the batch "
                "allows), auto (only when no plan can use them all); fathom plan --idle "
                "replaces it, fathom size uses every chip of each count")
               .Default("auto")
               .Choices({"never", "auto", "allow"}),
           [](C& c, const Value& v) { c.idle = plan::IdleChipsOf(v.s); }},
      },
      SearchInfos());
  return kFields;
}

const std::vector<Field<SweepConfig>>& SweepFields() {
  using C = SweepConfig;
  static const std::vector<Field<C>> kFields = Build<C>(
      Defs<C>{
          {MappingList("axes", "sweep axis",
                       "the axes of the grid, first outermost: each point of their Cartesian "
                       "product is one step (fathom sweep --axis adds to them or replaces one)"),
           [](C& c, const Value& v) { c.axes = v.node; }},
          {Enum("engine",
                "how each point's step is predicted: simulate, estimate (closed form), or auto "
                "(simulate, in closed form beyond the simulator's budget); --engine replaces it")
               .Default("auto")
               .Choices({"auto", "simulate", "estimate"}),
           [](C& c, const Value& v) { c.engine = v.s; }},
      },
      SweepInfos());
  return kFields;
}

const std::vector<Field<SweepAxisConfig>>& SweepAxisFields() {
  using A = SweepAxisConfig;
  static const std::vector<Field<A>> kFields = Build<A>(
      Defs<A>{
          {Str("key",
               "the key path the axis varies, as --set names it: plan.tp, cluster.chips, "
               "cluster.chip.memory.capacity, model, ...")
               .Required(),
           [](A& a, const Value& v) { a.key = v.s; }},
          {List("values",
                "the values it takes, in order, as a YAML list (a scalar is an error), each "
                "written as in a YAML file")
               .Required(),
           [](A& a, const Value& v) { a.values = v.list; }},
      },
      SweepAxisInfos());
  return kFields;
}

const std::vector<Field<TrainingConfig>>& TrainingFields() {
  using T = TrainingConfig;
  static const std::vector<Field<T>> kFields = Build<T>(
      Defs<T>{
          {Qty("tokens", Dimension::kCount,
               "tokens to train (e.g. \"15T\"); steps = tokens / (global_batch_size x seq_len), "
               "rounded up. Give exactly one of tokens, steps, duration")
               .Min(0, true)
               .Max(kMaxTokens),
           [](T& t, const Value& v) { t.tokens = v.d; }},
          {Int("steps", "optimizer steps to train").Min(1).Max(1e12),
           [](T& t, const Value& v) { t.steps = v.d; }},
          {Qty("duration", Dimension::kTime,
               "a wall-clock window (e.g. Llama 3's 54-day snapshot, \"54d\"): failures are "
               "counted over it and the report gives the steps done in it")
               .Min(0, true)
               .Max(3.2e9),
           [](T& t, const Value& v) { t.duration_s = v.d; }},
          {Num("cost.usd_per_chip_hour",
               "rental price in US dollars per chip-hour; auto: the chip catalog's price "
               "(data/chips, price.usd_per_chip_hour), and no cost where it has none")
               .Default("auto")
               .Auto()
               .Min(0, true)
               .Max(1e4),
           [](T& t, const Value& v) { t.cost.usd_per_chip_hour = AutoOr(v, -1); }},
          {Qty("cost.power", Dimension::kPower,
               "mean power per chip over the run; auto: the cluster's node power over "
               "chips_per_node (the node's maximum, hosts and NICs included) but at least the "
               "chip's TDP, else the chip's TDP (the accelerators alone, leaving out hosts and "
               "NICs); both are maxima and leave out switches")
               .Default("auto")
               .Auto()
               .Min(0, true)
               .Max(1e5),
           [](T& t, const Value& v) { t.cost.power_w = AutoOr(v, -1); }},
          {Num("cost.pue",
               "power usage effectiveness, facility energy / IT energy (e.g. 1.58, Uptime "
               "Institute's 2023 industry average; 1.1-1.3 for hyperscale sites); 1 counts the "
               "chips' energy only")
               .Default("1")
               .Min(1)
               .Max(5),
           [](T& t, const Value& v) { t.cost.pue = v.d; }},
          {Num("cost.usd_per_kwh",
               "electricity price in US dollars per kWh (e.g. 0.0806, the 2023 US industrial "
               "average, EIA); 0 leaves the energy unpriced")
               .Default("0")
               .Min(0)
               .Max(10),
           [](T& t, const Value& v) { t.cost.usd_per_kwh = v.d; }},
      },
      TrainingInfos());
  return kFields;
}

const std::vector<Field<FailureConfig>>& FailureClassFields() {
  using F = FailureConfig;
  static const std::vector<Field<F>> kFields = Build<F>(
      Defs<F>{
          {Str("name", "the class, e.g. gpu, gpu_hbm, software, switch").Required(),
           [](F& f, const Value& v) { f.name = v.s; }},
          {Enum("per",
                "the component counted (from the cluster: gpu = chips, node = chips / "
                "chips_per_node, nic = chips / chips_per_nic, switch and link = the switches and "
                "cables of the fabric as built from its tiers, radix, oversubscription, planes "
                "and rails; `fathom run` lists them per tier)")
               .Default("node")
               .Choices({"gpu", "node", "nic", "switch", "link"}),
           [](F& f, const Value& v) { f.per = v.s; }},
          {Num("per_1000_node_days",
               "rate: failures of this class per 1000 node-days of the job (counted per node, "
               "so it holds for nodes of the size it was measured on; a part that fails per "
               "chip or per NIC is per: gpu or per: nic with per_component_year or mtbf). Give "
               "exactly one of per_1000_node_days, per_component_year, mtbf")
               .Min(0)
               .Max(1e6),
           [](F& f, const Value& v) { f.per_1000_node_days = v.d; }},
          {Num("per_component_year", "rate: failures per component (of kind `per`) per year")
               .Min(0)
               .Max(1e6),
           [](F& f, const Value& v) { f.per_component_year = v.d; }},
          {Qty("mtbf", Dimension::kTime, "rate: mean time between failures of one component")
               .Min(0, true),
           [](F& f, const Value& v) { f.mtbf_s = v.d; }},
          {Enum("distribution", "time between failures")
               .Default("exponential")
               .Choices({"exponential", "weibull"}),
           [](F& f, const Value& v) {
             f.distribution = v.s == "weibull" ? reliability::Distribution::kWeibull
                                               : reliability::Distribution::kExponential;
           }},
          {Num("weibull_shape",
               "Weibull shape k of the class's failures as one renewal process (< 1: bursty; 1: "
               "exponential); a shape measured on single components does not carry over: "
               "thousands of them pooled fail nearly as a Poisson process")
               .Default("1")
               .Min(0.1)
               .Max(100)
               .RangeHint("shapes measured on failing hardware lie between about 0.5 and 1.5; "
                          "below 0.1 nearly every draw of the Monte Carlo is zero (a burst "
                          "without end)"),
           [](F& f, const Value& v) { f.weibull_shape = v.d; }},
          {Enum("effect",
                "what a failure does: stop_job (restart from a checkpoint), stop_replica (one "
                "data-parallel replica drops; needs replica_fault_tolerance), fail_slow (a "
                "straggler), sdc (silent data corruption, found after detect_latency), planned")
               .Default("stop_job")
               .Choices({"stop_job", "stop_replica", "fail_slow", "sdc", "planned"}),
           [](F& f, const Value& v) { f.effect = EffectOf(v.s); }},
          {Num("slowdown", "fail_slow: step-time factor while it lasts")
               .Default("1")
               .Min(1)
               .Max(1000),
           [](F& f, const Value& v) { f.slowdown = v.d; }},
          {Qty("slow_duration", Dimension::kTime, "fail_slow: how long the slowdown lasts")
               .Default("0s"),
           [](F& f, const Value& v) { f.slow_duration_s = v.d; }},
          {Qty("detect_latency", Dimension::kTime, "sdc: from corruption to detection")
               .Default("0s"),
           [](F& f, const Value& v) { f.detect_latency_s = v.d; }},
          {Bool("needs_repair",
                "the failed node goes to repair and a spare takes its place (false for software)")
               .Default("true"),
           [](F& f, const Value& v) { f.needs_repair = v.b; }},
          {Str("source", std::string(kSourceHelp)), [](F& f, const Value& v) { f.source = v.s; }},
      },
      FailureClassInfos());
  return kFields;
}

const std::vector<Field<ReliabilityDraft>>& ReliabilityFields() {
  using R = ReliabilityDraft;
  static const std::vector<Field<R>> kFields = Build<R>(
      Defs<R>{
          {Str("preset",
               "start from a preset (llama3-table5, rsc1, rsc2 in data/reliability) or a file; "
               "the keys given here override it, and `failures` replaces its list"),
           [](R& r, const Value& v) { r.preset = v.s; }},
          {Str("description", "what the section models"),
           [](R& r, const Value& v) { r.config.description = v.s; }},
          {Str("source", std::string(kSourceHelp)),
           [](R& r, const Value& v) { r.config.sources.push_back(v.s); }},
          {MappingList("failures", "failure class",
                       "failure classes, each with a rate, a distribution and an effect"),
           [](R& r, const Value& v) {
             r.failures = v.node;
             r.failures_given = true;
           }},
          {Str("vendor",
               "the vendor of the accelerators whose failures the rates count (NVIDIA for "
               "Meta's H100 and A100 clusters); a cluster of another vendor's chips is warned "
               "that they are applied as they are. A section that gives its own failures "
               "without it says nothing"),
           [](R& r, const Value& v) {
             r.vendor = v.s;
             r.vendor_given = true;
           }},
          {Qty("recovery.detect", Dimension::kTime,
               "failure to detection (watchdog timeout or health check)")
               .Default("2min"),
           [](R& r, const Value& v) { r.config.recovery.detect_s = v.d; }},
          {Qty("recovery.evict", Dimension::kTime, "diagnose and evict the bad node")
               .Default("1min"),
           [](R& r, const Value& v) { r.config.recovery.evict_s = v.d; }},
          {Qty("recovery.reschedule", Dimension::kTime,
               "swap in a hot spare (time to wait for a node when none is ready: see spare_nodes)")
               .Default("0s"),
           [](R& r, const Value& v) { r.config.recovery.reschedule_s = v.d; }},
          {Qty("recovery.restart", Dimension::kTime,
               "process launch and communicator initialisation")
               .Default("3min"),
           [](R& r, const Value& v) { r.config.recovery.restart_s = v.d; }},
          {Qty("recovery.load", Dimension::kTime,
               "checkpoint read; auto: from peers if they hold a copy, else from storage")
               .Default("auto")
               .Auto(),
           [](R& r, const Value& v) { r.config.recovery.load_s = AutoOr(v, -1); }},
          {Qty("recovery.warmup", Dimension::kTime, "back to full speed after the restart")
               .Default("2min"),
           [](R& r, const Value& v) { r.config.recovery.warmup_s = v.d; }},
          {Qty("checkpoint.interval", Dimension::kTime,
               "useful training time between checkpoints; auto: the optimum of the exact ETTR")
               .Default("auto")
               .Auto()
               .Min(0, true),
           [](R& r, const Value& v) { r.config.checkpoint.interval_s = AutoOr(v, 0); }},
          {List("checkpoint.tiers",
                "where a checkpoint goes, in order: host (host memory), peers (a peer's host "
                "memory), storage (the file system)")
               .Default("[host, storage]"),
           [](R& r, const Value& v) { r.config.checkpoint.tiers = v.list; }},
          {Enum("checkpoint.blocking",
                "training waits until the checkpoint reaches this tier; the later tiers are "
                "written asynchronously")
               .Default("host")
               .Choices({"host", "peers", "storage"}),
           [](R& r, const Value& v) { r.config.checkpoint.blocking = v.s; }},
          {Qty("checkpoint.host_bandwidth", Dimension::kBandwidth,
               "per writer, device to host memory (PCIe)")
               .Default("25GBps")
               .Min(0, true)
               .Max(kMaxHostBandwidth)
               .RangeHint(kHostBandwidthBound),
           [](R& r, const Value& v) { r.config.checkpoint.host_bandwidth = v.d; }},
          {Qty("checkpoint.peer_bandwidth", Dimension::kBandwidth,
               "per writer, to a peer's host memory")
               .Default("the cluster's scale_out.bandwidth")
               .Min(0, true)
               .Max(kMaxNicBandwidth)
               .RangeHint(kPeerBandwidthBound),
           [](R& r, const Value& v) { r.config.checkpoint.peer_bandwidth = v.d; }},
          {Qty("checkpoint.storage_bandwidth", Dimension::kBandwidth,
               "aggregate write and read bandwidth of the file system")
               .Default("1TBps")
               .Min(0, true)
               .Max(kMaxStorageBandwidth)
               .RangeHint(kStorageBandwidthBound),
           [](R& r, const Value& v) { r.config.checkpoint.storage_bandwidth = v.d; }},
          {Qty("checkpoint.data_loader_state", Dimension::kBytes,
               "data-loader and RNG state added to each checkpoint, whole job (kilobytes to "
               "megabytes a reader; warned above 1 GiB per data-parallel replica)")
               .Default("0B")
               .Min(0)
               .Max(kMaxDataLoaderState)
               .RangeHint(kDataLoaderStateBound),
           [](R& r, const Value& v) { r.config.checkpoint.data_loader_state = v.d; }},
          {Qty("checkpoint.blocking_time", Dimension::kTime,
               "w: overrides the blocking time derived from the tiers"),
           [](R& r, const Value& v) { r.config.checkpoint.blocking_time_s = v.d; }},
          {Qty("checkpoint.persist_time", Dimension::kTime,
               "P: overrides the time from the start of a checkpoint until it is durable, derived "
               "from the tiers"),
           [](R& r, const Value& v) { r.config.checkpoint.persist_time_s = v.d; }},
          {Int("checkpoint.retained", "checkpoints kept (SDC needs enough to roll back)")
               .Default("2")
               .Min(1)
               .Max(1e6),
           [](R& r, const Value& v) { r.config.checkpoint.retained = static_cast<int>(v.i); }},
          {Qty("repair_time", Dimension::kTime, "mean time to repair a failed node (MTTR)")
               .Default("1d")
               .Min(0)
               .Max(kMaxRepairTime)
               .RangeHint(kRepairTimeBound),
           [](R& r, const Value& v) { r.config.repair_time_s = v.d; }},
          {Int("spare_nodes",
               "hot spare nodes kept beside the job; auto: the smallest pool in which a failing "
               "node finds a spare with probability spare_confidence (the quantile of the nodes "
               "in repair, M/G/inf, plus one, at most the job's nodes), its rare wait reported but "
               "not charged (charged when capped at the job's nodes); a given pool's expected "
               "wait is charged to the downtime when it is smaller than the automatic pool, and "
               "reported, not charged, as the automatic pool's, when it is not")
               .Default("auto")
               .Auto()
               .Min(0)
               .Max(1e7),
           [](R& r, const Value& v) {
             r.config.spare_nodes = v.is_auto ? -1 : static_cast<int>(v.i);
           }},
          {Qty("spare_confidence", Dimension::kFraction,
               "probability that enough spares are ready when a node fails")
               .Default("99%")
               .Min(0, true)
               .Max(0.999999),
           [](R& r, const Value& v) { r.config.spare_confidence = v.d; }},
          {Enum("spare_unit",
                "what replaces a failed node: node, a spare node in its failure domain (spare "
                "trays in the rack; the domain view informational); domain, a whole spare "
                "domain (an NVL72 rack, a TPU cube), the pool being spare_domains, priced at "
                "the domain's chips and its waits charged as a node pool's are")
               .Default("node")
               .Choices({"node", "domain"}),
           [](R& r, const Value& v) {
             r.config.spare_unit =
                 v.s == "domain" ? reliability::SpareUnit::kDomain : reliability::SpareUnit::kNode;
           }},
          {Enum("spare_pool",
                "how the automatic pool (spare_nodes or spare_domains: auto) is sized: confidence, "
                "the pool spare_confidence "
                "sizes; cheapest, the pool from none up to that one whose chips (the job's and "
                "the spares') times the expected time to train are the fewest, a smaller pool's "
                "waits for a spare charged to the run's time")
               .Default("confidence")
               .Choices({"confidence", "cheapest"}),
           [](R& r, const Value& v) {
             r.config.spare_pool =
                 v.s == "cheapest" ? plan::SparePool::kCheapest : plan::SparePool::kConfidence;
           }},
          {Qty("domain_availability", Dimension::kFraction,
               "share of time a failure domain is whole, where a node's failure breaks its "
               "scale-up domain (an NVL72 rack, a TPU torus's 4x4x4 cube): with the job's k "
               "domains and spare_domains whole spares, the run reports P(at least k whole) "
               "(binomial); auto: no node of the domain in repair, e^(-node repair rate x "
               "nodes a domain x repair_time). The run's time charges the spare domains with "
               "spare_unit: domain, the spare nodes otherwise")
               .Default("auto")
               .Auto()
               .Min(0, true)
               .Max(1),
           [](R& r, const Value& v) { r.config.domain_availability = AutoOr(v, -1); }},
          {Qty("measured_ettr", Dimension::kFraction,
               "an ETTR measured on the cluster (useful training time over wall time): the "
               "report reads it back through the exact form at the run's MTBF and checkpoint "
               "interval as the downtime per failure it implies, beside the model's")
               .Default("none")
               .Min(0, true)
               .Max(1),
           [](R& r, const Value& v) { r.config.measured_ettr = v.d; }},
          {Int("spare_domains",
               "whole spare failure domains beside the job (see domain_availability); auto: "
               "the fewest with which the job finds its domains whole with probability "
               "spare_confidence; the run's pool with spare_unit: domain, a report otherwise")
               .Default("auto")
               .Auto()
               .Min(0)
               .Max(1e6),
           [](R& r, const Value& v) {
             r.config.spare_domains = v.is_auto ? -1 : static_cast<int>(v.i);
           }},
          {Bool("replica_fault_tolerance",
                "a stop_replica failure drops one of the dp replicas instead of stopping the "
                "job: the job stalls for recovery.detect + recovery.evict, then trains on "
                "without it while it restarts and rejoins from its peers")
               .Default("false"),
           [](R& r, const Value& v) { r.config.replica_fault_tolerance = v.b; }},
          {Qty("slow_node_fraction", Dimension::kFraction, "nodes that are persistently slow")
               .Default("0")
               .Max(1),
           [](R& r, const Value& v) { r.config.slow_node_fraction = v.d; }},
          {Num("slow_node_factor", "step-time factor of a slow node").Default("1").Min(1).Max(1000),
           [](R& r, const Value& v) { r.config.slow_node_factor = v.d; }},
          {Int("monte_carlo.trials", "simulated runs (fathom run --trials overrides)")
               .Default("1000")
               .Min(1)
               .Max(1e7),
           [](R& r, const Value& v) { r.config.trials = static_cast<int>(v.i); }},
          {Int("monte_carlo.seed", "seed of the simulated runs (fathom run --seed overrides)")
               .Default("1")
               .Min(0),
           [](R& r, const Value& v) { r.config.seed = static_cast<uint64_t>(v.i); }},
      },
      ReliabilityInfos());
  return kFields;
}

const std::vector<KeyInfo>& Keys(Section s) {
  switch (s) {
    case Section::kChip:
      ChipFields();
      return ChipInfos();
    case Section::kCluster:
      ClusterFields();
      return ClusterInfos();
    case Section::kModel:
      ModelFields();
      return ModelInfos();
    case Section::kPlan:
      PlanFields();
      return PlanInfos();
    case Section::kScenario:
      ScenarioFields();
      return ScenarioInfos();
    case Section::kValidationCase:
      ValidationCaseFields();
      return CaseInfos();
    case Section::kTraining:
      TrainingFields();
      return TrainingInfos();
    case Section::kReliability:
      ReliabilityFields();
      return ReliabilityInfos();
    case Section::kFailureClass:
      FailureClassFields();
      return FailureClassInfos();
    case Section::kTier:
      TierFields();
      return TierInfos();
    case Section::kSearch:
      SearchFields();
      return SearchInfos();
    case Section::kSweep:
      SweepFields();
      return SweepInfos();
    case Section::kSweepAxis:
      SweepAxisFields();
      return SweepAxisInfos();
  }
  return ChipInfos();
}

std::string_view SectionName(Section s) {
  switch (s) {
    case Section::kChip:
      return "chip";
    case Section::kCluster:
      return "cluster";
    case Section::kModel:
      return "model";
    case Section::kPlan:
      return "plan";
    case Section::kScenario:
      return "scenario";
    case Section::kValidationCase:
      return "validation case";
    case Section::kTraining:
      return "training";
    case Section::kReliability:
      return "reliability";
    case Section::kFailureClass:
      return "failure class";
    case Section::kTier:
      return "tier";
    case Section::kSearch:
      return "search";
    case Section::kSweep:
      return "sweep";
    case Section::kSweepAxis:
      return "sweep axis";
  }
  return "?";
}

}  // namespace fathom::io
