// ChipSpec: one accelerator's peak compute per precision, memory, achievable fractions,
// scale-up and scale-out attachment, power and price; and the roofline time of an
// operator on it. Every number comes from a catalog file that names its source.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/units.h"

namespace fathom::hardware {

enum class Precision { kFp32, kTf32, kBf16, kFp16, kFp8, kFp4, kCount };
std::string_view PrecisionName(Precision p);

struct Calibration;  // hardware/calibration.h

// The memory-bound operators a calibration tells apart (hardware/calibration.h). kOther is
// priced at the copy's fractions.
enum class StreamOp : uint8_t {
  kOther,
  kCopy,
  kAdd,
  kRmsNorm,
  kLayerNorm,
  kSwiglu,
  kGelu,
  kSoftmax,
  kAdam,
  kCount
};

// The shape of a fused causal attention pass, for a calibrated chip's lookup: rows =
// micro-batch x heads on the chip (scaled by the share of the sequence's queries the chip
// holds under context parallelism), the keys each query's sequence spans, the head dim.
// rows 0 = not given (the chip's single attention fraction).
// Single precision: a lookup key, and every operator of a step graph carries one.
struct AttentionShape {
  float rows = 0;
  float seq = 0;
  float head_dim = 0;
  bool backward = false;
};

struct ChipSpec {
  std::string name;
  std::string vendor;
  std::string description;
  std::vector<std::string> aliases;

  // Dense peak per precision (no structured sparsity); 0 = not supported.
  std::array<core::FlopsPerSec, static_cast<size_t>(Precision::kCount)> peak{};
  core::Bytes hbm_capacity{0};
  core::BytesPerSec hbm_bandwidth{0};

  // Achievable fractions (kernel-level facts).
  double gemm_efficiency_16bit = 0;  // large GEMM, fraction of bf16/fp16 peak (MAMF)
  double gemm_efficiency_fp8 = 0;    // large GEMM, fraction of fp8 peak
  double gemm_efficiency_fp4 = 0;    // large GEMM, fraction of fp4 peak; 0 = fp8's
  // The GEMM fraction a precision runs at.
  double GemmEfficiency(Precision p) const;
  double attention_efficiency = 0;  // fused attention fwd+bwd, fraction of bf16 peak
  double hbm_efficiency = 0;        // streaming ops, fraction of HBM bandwidth
  // Measured fractions by operator and shape (fathom calibrate import), prepared for this
  // chip's tiles; null = the datasheet-based fractions above. Shared: copies of a chip
  // share its immutable tables.
  std::shared_ptr<const Calibration> calibration;
  // The chip file's `calibration:` as given: a catalog name, a file, or "" (none).
  std::string calibration_ref;

  // GEMM shape model: output tiles spread over compute units in waves.
  int compute_units = 0;
  int tile_m = 128;
  int tile_n = 128;
  // Collectives run as kernels on the compute units (NCCL/RCCL on SMs/CUs), taking some of
  // them from the compute they overlap; false: on engines of their own (DMA, NIC engines).
  bool collectives_on_compute_units = true;

  std::string scale_up_fabric;
  core::BytesPerSec scale_up_bandwidth{0};  // per chip, one direction
  int scale_up_domain = 1;
  // How the chip's scale-up domain is joined, as the cluster's scale_up.kind names it
  // ("switch", "full_mesh", "torus"); "" = not stated. A cluster that gives no kind takes it.
  std::string scale_up_kind;
  core::BytesPerSec scale_out_bandwidth{0};  // per chip, one direction
  core::Watts tdp{0};
  double usd_per_chip_hour = 0;
  std::string price_kind;  // on_demand, capacity_block, reserved, committed_use, spot; "" = unknown
  std::string price_as_of;  // when the price held, as its source says
  // Where the price was given when not in the catalog's files ("--set
  // cluster.chip.price.usd_per_chip_hour", "my-chip.yaml:12"); "" = the catalog's.
  std::string price_given;
  // The file the chip was given in when it is not a catalog entry (a chip file, with or
  // without `base:`, or a scenario's inline chip); "" = the catalog's.
  std::string given_in;

  // Sources, by section (peak, memory, efficiency, gemm, scale_up, scale_out, power, price).
  std::vector<std::pair<std::string, std::string>> sources;

  core::FlopsPerSec Peak(Precision p) const { return peak[static_cast<size_t>(p)]; }
  bool Supports(Precision p) const { return Peak(p).value() > 0; }
};

// Fraction of the ideal wave-filled throughput `batch` GEMMs of (m, n) output each reach
// given tile quantization over the compute units (a grouped kernel pads each GEMM's rows
// and columns to whole tiles, then fills waves with all of them); the best of the catalog
// tile and its half-size variants, as cuBLAS-style heuristics choose. In (0, 1].
double GemmWaveEfficiency(const ChipSpec& chip, int64_t m, int64_t n, int64_t batch = 1);

// What bounds an operator's time: its FLOPs at the achievable compute rate, or its HBM
// bytes at the achievable bandwidth. The cost model has no launch or latency term.
enum class Bound : uint8_t { kCompute, kMemory };
std::string_view BoundName(Bound b);  // "compute", "memory"

// The roofline of one operator on a chip, as the cost model prices it: two legs, each at
// the achievable rate (peak x efficiency; GEMMs also x wave efficiency), and the operator
// takes the longer. A leg the model does not price is 0 (fused attention has no memory
// leg, a streaming operator no compute leg).
struct Roofline {
  double flops = 0;      // executed (a GEMM: 2·m·n·k per batch entry)
  double bytes = 0;      // HBM bytes read and written
  double compute_s = 0;  // flops at the achievable FLOP/s
  double memory_s = 0;   // bytes at the achievable HBM bandwidth
  double Seconds() const { return compute_s > memory_s ? compute_s : memory_s; }
  Bound bound() const { return compute_s >= memory_s ? Bound::kCompute : Bound::kMemory; }
};

// Roofline of `batch` GEMMs C[m,n] = A[m,k]·B[k,n] in `precision` (16-bit or fp8 inputs), as
// one grouped kernel (a layer's local experts, an unfused attention's heads): FLOPs
// 2·m·n·k·batch at peak · gemm efficiency · wave efficiency (GemmWaveEfficiency of batch
// m x n outputs; a chip calibrated in that precision: at peak · its GemmFraction), bytes
// batch·(e·(m·k + k·n) + o·m·n), e the input's bytes per element (1 for fp8, 0.5 for fp4,
// else 2) and o the output's bytes moved per element (2: a 16-bit
// write; a weight gradient accumulated into its buffer reads and writes it), at HBM bw · hbm
// efficiency.
Roofline GemmRoofline(const ChipSpec& chip, Precision precision, int64_t m, int64_t n, int64_t k,
                      int64_t batch = 1, double output_bytes = 2.0);
core::Seconds GemmTime(const ChipSpec& chip, Precision precision, int64_t m, int64_t n, int64_t k);

// A fused attention kernel doing `flops` at the attention efficiency of `precision`'s peak
// (16-bit) and moving `bytes` through HBM (its inputs and outputs once: the scores stay on
// chip) at HBM bw · hbm efficiency; the slower leg.
// A calibrated chip with a `shape` takes the measured fraction of that shape and pass.
Roofline AttentionRoofline(const ChipSpec& chip, Precision precision, double flops,
                           double bytes = 0, const AttentionShape& shape = {});
core::Seconds AttentionTime(const ChipSpec& chip, Precision precision, double flops);

// A memory-bound operator moving `bytes` through HBM (memory leg only); a calibrated chip
// moves them at the measured fraction of operator `op` at that size.
Roofline MemoryRoofline(const ChipSpec& chip, double bytes, StreamOp op = StreamOp::kOther);
// The fraction of HBM bandwidth operator `op` moving `bytes` reaches on the chip.
double StreamEfficiency(const ChipSpec& chip, double bytes, StreamOp op = StreamOp::kOther);
core::Seconds MemoryTime(const ChipSpec& chip, double bytes, StreamOp op = StreamOp::kOther);

}  // namespace fathom::hardware
