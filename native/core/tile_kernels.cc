#include "tile_kernels.h"

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace siglip::kernels {

std::vector<const InstructionSet*> available() {
  std::vector<const InstructionSet*> sets;
  for (const InstructionSet* set : {avx512(), avx2(), neon(), portable()})
    if (set != nullptr) sets.push_back(set);
  return sets;
}

namespace {
const InstructionSet& choose() {
  const std::vector<const InstructionSet*> sets = available();
  const char* requested = std::getenv("SIGLIP_ISA");
  if (requested == nullptr || *requested == '\0') return *sets.front();
  std::string ids;
  for (const InstructionSet* set : sets) {
    if (std::string(set->id) == requested) return *set;
    ids += (ids.empty() ? "" : ", ") + std::string(set->id);
  }
  throw std::invalid_argument("SIGLIP_ISA=" + std::string(requested) +
                              " names no instruction set this build runs here (" + ids + ")");
}
}  // namespace

const InstructionSet& forThisCpu() {
  static const InstructionSet& set = choose();
  return set;
}

}  // namespace siglip::kernels
