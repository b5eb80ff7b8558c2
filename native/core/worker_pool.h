// Minimal fork-join helpers for the ring schedule: a reusable barrier and a
// function that runs one body per worker, the calling thread being worker 0.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

namespace siglip {

class Barrier {
 public:
  explicit Barrier(int parties) : parties_(parties) {}
  void wait();

 private:
  std::mutex mutex_;
  std::condition_variable released_;
  int parties_;
  int waiting_ = 0;
  uint64_t generation_ = 0;
};

void runWorkers(int workers, const std::function<void(int worker)>& body);

}  // namespace siglip
