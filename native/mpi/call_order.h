// Calls on the ring's communicator must start in the same order on every rank.
// A call takes its ticket on the JavaScript thread, where calls are issued in
// program order, and its collective work waits for its turn, whichever
// thread (the event loop's or the libuv pool's) runs it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace siglip::mpi {

class CallOrder {
 public:
  uint64_t take() {
    std::lock_guard<std::mutex> lock(mutex_);
    return issued_++;
  }

  // Holds the turn of `ticket` for its lifetime.
  class Turn {
   public:
    Turn(CallOrder& order, uint64_t ticket) : order_(order) {
      std::unique_lock<std::mutex> lock(order_.mutex_);
      order_.turn_.wait(lock, [&] { return order_.serving_ == ticket; });
    }
    ~Turn() {
      {
        std::lock_guard<std::mutex> lock(order_.mutex_);
        ++order_.serving_;
      }
      order_.turn_.notify_all();
    }
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;

   private:
    CallOrder& order_;
  };

  // Whether every ticket taken has finished its turn.
  bool idle() {
    std::lock_guard<std::mutex> lock(mutex_);
    return serving_ == issued_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable turn_;
  uint64_t issued_ = 0;
  uint64_t serving_ = 0;
};

}  // namespace siglip::mpi
