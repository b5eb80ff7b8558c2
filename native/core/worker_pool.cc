#include "worker_pool.h"

#include <thread>
#include <vector>

namespace siglip {

void Barrier::wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  const uint64_t generation = generation_;
  if (++waiting_ == parties_) {
    waiting_ = 0;
    ++generation_;
    released_.notify_all();
    return;
  }
  released_.wait(lock, [&] { return generation != generation_; });
}

void runWorkers(int workers, const std::function<void(int worker)>& body) {
  std::vector<std::thread> threads;
  threads.reserve(workers - 1);
  for (int w = 1; w < workers; ++w) threads.emplace_back(body, w);
  body(0);
  for (auto& t : threads) t.join();
}

}  // namespace siglip
