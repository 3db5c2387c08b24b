// Transparent huge pages for large arrays. A simulation fills arrays of tens to hundreds
// of megabytes that the allocator maps afresh; touching them page by page costs a fault
// per 4 KiB, and on a virtual machine the faults can take longer than the simulation's own
// work (a plan search at 1,024 chips: 150,000 faults, a third of its time). Backed by 2 MiB
// pages where the kernel allows (Linux with transparent_hugepage "madvise" or "always"),
// the same arrays fault 512 times less often. This is advice only: it changes no value,
// and where the kernel declines it (or on another system) nothing happens.
#pragma once

#include <cstddef>
#include <vector>

namespace fathom::core {

// Advises the kernel to back the 2 MiB-aligned pages inside [data, data + bytes) with huge
// pages; ranges under 4 MiB are left alone (too few whole huge pages to matter).
void AdviseHugePages(const void* data, size_t bytes);

// Reserves room for `n` elements in `v`, keeping its contents, and advises the new storage
// (AdviseHugePages) before anything touches it. A no-op where `v` already has the room.
template <typename T>
void ReserveHuge(std::vector<T>& v, size_t n) {
  if (v.capacity() >= n) return;
  v.reserve(n);
  AdviseHugePages(v.data(), v.capacity() * sizeof(T));
}

}  // namespace fathom::core
