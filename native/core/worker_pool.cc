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
  // The workers wait at a gate until all of them exist: if one cannot be
  // created, the others leave without running (the ring's barrier would wait
  // for the missing one forever) and the failure reaches the caller.
  std::mutex mutex;
  std::condition_variable opened;
  bool open = false, abandoned = false;
  auto gated = [&](int w) {
    {
      std::unique_lock<std::mutex> lock(mutex);
      opened.wait(lock, [&] { return open; });
      if (abandoned) return;
    }
    body(w);
  };
  std::vector<std::thread> threads;
  threads.reserve(workers - 1);
  try {
    for (int w = 1; w < workers; ++w) threads.emplace_back(gated, w);
  } catch (...) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      open = abandoned = true;
    }
    opened.notify_all();
    for (auto& t : threads) t.join();
    throw;
  }
  {
    std::lock_guard<std::mutex> lock(mutex);
    open = true;
  }
  opened.notify_all();
  body(0);
  for (auto& t : threads) t.join();
}

}  // namespace siglip
