// The two replacements of portable.cmake's --wrap list that are not a jump to an old
// version: symbols of glibc 2.32 and 2.36 that libstdc++ (GCC 12) uses and that older
// glibc does not have at all.
#include <sys/random.h>

#include <cstddef>

extern "C" {

// libstdc++ skips atomics when it is 1 (a single-threaded process): 0, "maybe
// multi-threaded", keeps them, which is always correct.
__attribute__((visibility("hidden"))) char __wrap___libc_single_threaded = 0;

// std::random_device's default source; getrandom exists since glibc 2.25.
__attribute__((visibility("hidden"))) unsigned int __wrap_arc4random(void) {
  unsigned int value = 0;
  std::size_t filled = 0;
  while (filled < sizeof value) {
    const ssize_t got =
        getrandom(reinterpret_cast<char *>(&value) + filled, sizeof value - filled, 0);
    if (got > 0) filled += static_cast<std::size_t>(got);
  }
  return value;
}
}
