#include "network/cluster_spec.h"

#include <algorithm>

namespace fathom::network {

namespace {

// Members of a strided group that fall in one block of `block` consecutive ranks.
int64_t MembersPerBlock(int size, int64_t stride, int64_t block) {
  if (block <= 0) return size;
  if (stride >= block) return 1;
  return std::min<int64_t>(size, std::max<int64_t>(1, block / stride));
}

}  // namespace

GroupPlacement PlaceGroup(const ClusterSpec& cluster, int size, int64_t stride) {
  GroupPlacement g;
  g.size = size;
  g.stride = stride;
  g.members_per_domain = static_cast<int>(MembersPerBlock(size, stride, cluster.domain));
  g.domains = (size + g.members_per_domain - 1) / g.members_per_domain;
  const int64_t pod = cluster.pod > 0 ? cluster.pod : cluster.chips;
  g.members_per_pod = MembersPerBlock(size, stride, pod);
  g.crosses_pods = g.members_per_pod < size;
  return g;
}

}  // namespace fathom::network
